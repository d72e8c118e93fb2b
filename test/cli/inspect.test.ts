// `wirebox inspect` against the real tcpdump: on every real capture in fixtures/real-captures (with and
// without -e) and on random frames of every kind the printer decodes, our lines must be tcpdump's lines,
// times included (tcpdump runs with TZ=UTC). Then the command itself: exit codes, one-line errors.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PcapWriter, PcapngWriter, readCaptureFile } from '../../src/capture/index.js';
import { captureLines, inspectFiles } from '../../src/cli/inspect.js';
import { fillIpv4Checksum } from '../../src/wire/checksum.js';
import { arp, conversation, icmpEcho, icmpError, tcp, udp, type TestFrame } from '../capture/frames.js';
import { toolAvailable } from '../capture/tools.js';

const FIXTURES = new URL('../../fixtures/real-captures/', import.meta.url).pathname;
const fixtureFiles = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join(FIXTURES, d.name)).filter((f) => f.endsWith('.pcap')).map((f) => join(FIXTURES, d.name, f)));

const haveTcpdump = toolAvailable('tcpdump');
const dir = mkdtempSync(join(tmpdir(), 'wirebox-inspect-'));

function tcpdump(file: string, args: string[]): string[] {
  const r = spawnSync('tcpdump', ['-nn', ...args, '-r', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  if (r.error) throw r.error;
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Our lines and tcpdump's for a file, compared line by line with a readable failure. */
function expectSameAsTcpdump(file: string, ether: boolean, nano = false): void {
  const ours = captureLines(readCaptureFile(file), { ether });
  const theirs = tcpdump(file, [...(ether ? ['-e'] : []), ...(nano ? ['--time-stamp-precision=nano'] : [])]);
  const firstDiff = ours.findIndex((l, i) => l !== theirs[i]);
  if (firstDiff >= 0 || ours.length !== theirs.length) {
    const i = firstDiff >= 0 ? firstDiff : Math.min(ours.length, theirs.length);
    expect({ line: i + 1, ours: ours[i], tcpdump: theirs[i] }).toEqual({ line: i + 1, ours: theirs[i], tcpdump: theirs[i] });
  }
  expect(ours.length).toBe(theirs.length);
}

describe('one line per frame of every real capture', () => {
  it('has the fixtures', () => {
    expect(fixtureFiles.length).toBeGreaterThanOrEqual(15);
  });

  for (const file of fixtureFiles) {
    const short = file.slice(FIXTURES.length);
    it(`${short}: a line per record, none undecoded`, () => {
      const c = readCaptureFile(file);
      const lines = captureLines(c, { ether: true });
      expect(lines.length).toBe(c.records.length);
      for (const l of lines) expect(l).not.toMatch(/\[\||not decoded|\n/);
    });

    it.runIf(haveTcpdump)(`${short}: identical to tcpdump -nn, and with -e`, () => {
      expectSameAsTcpdump(file, false);
      expectSameAsTcpdump(file, true);
    });
  }
});

// ---- random frames of every kind the printer decodes -------------------------------------------------

const MACS = ['02:42:ac:11:00:02', '02:42:c0:00:00:01', '52:54:00:aa:00:10', 'ff:ff:ff:ff:ff:ff'];
const ADDRS = ['172.17.0.2', '198.51.100.1', '10.0.2.100', '172.17.0.3'];
// ports tcpdump has no application printer for (it would go on decoding DNS, SSH… where we stop)
const TCP_PORTS = [35952, 8000, 9999, 39172, 41000];
const UDP_PORTS = [7, 9998, 57817, 40001, 50123];

const macArb = fc.constantFrom(...MACS.slice(0, 3));
const ipArb = fc.record({ src: fc.constantFrom(...ADDRS), dst: fc.constantFrom(...ADDRS), ttl: fc.integer({ min: 1, max: 255 }), id: fc.integer({ min: 0, max: 0xffff }) });
const u32Arb = fc.integer({ min: 0, max: 0xffffffff });
const u16Arb = fc.integer({ min: 0, max: 0xffff });
const bytesArb = (max: number) => fc.uint8Array({ maxLength: max });

function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** A TCP option list as bytes, padded to a multiple of 4 the way senders do (NOPs, or EOL + zeros). */
const tcpOptionsArb = fc
  .array(
    fc.oneof(
      fc.constant([1]),
      u16Arb.map((v) => [2, 4, v >> 8, v & 0xff]),
      fc.integer({ min: 0, max: 14 }).map((s) => [3, 3, s]),
      fc.constant([4, 2]),
      fc.array(fc.tuple(u32Arb, u32Arb), { minLength: 1, maxLength: 3 }).map((bl) => [5, 2 + 8 * bl.length, ...bl.flatMap(([a, b]) => [...be32(a), ...be32(b)])]),
      fc.tuple(u32Arb, u32Arb).map(([a, b]) => [8, 10, ...be32(a), ...be32(b)]),
      bytesArb(4).map((d) => [99, 2 + d.length, ...d]),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((d) => [19, 18, ...d]),
    ),
    { maxLength: 4 },
  )
  .chain((opts) => {
    const flat = opts.flat();
    return fc.boolean().map((eol) => {
      if (flat.length > 40) flat.length = 0;
      const pad = (4 - (flat.length % 4)) % 4;
      if (pad > 0) flat.push(...(eol ? [0, ...Array(pad - 1).fill(0)] : Array(pad).fill(1)));
      return flat;
    });
  });

const HTTP_PAYLOADS = [
  'GET /status HTTP/1.1\r\nHost: x\r\n\r\n',
  'HTTP/1.1 404 Not Found\r\n\r\n',
  'post /form HTTP/1.0\nA: b\n',
  'HEAD / HTTP/1.1',
  'hello world\r\n',
  'GET /\r',
  'GET /\rX',
  'HTTP/1.1 2000 OK\r\n',
  '\x00\x01binary',
];

/** Conversations: a few endpoint pairs so that the relative sequence numbers carry over. */
const tcpArb = fc.record({
  eth: fc.tuple(macArb, macArb),
  ip: ipArb,
  ports: fc.tuple(fc.constantFrom(...TCP_PORTS), fc.constantFrom(...TCP_PORTS)),
  seq: u32Arb,
  ack: u32Arb,
  flags: fc.oneof(fc.constantFrom(0x02, 0x12, 0x10, 0x18, 0x11, 0x14, 0x04), fc.integer({ min: 0, max: 0xff })),
  win: u16Arb,
  urg: u16Arb,
  options: tcpOptionsArb,
  payload: bytesArb(40),
  http: fc.option(fc.tuple(fc.constantFrom(...HTTP_PAYLOADS), fc.constantFrom(80, 8080), fc.boolean()), { freq: 4 }),
});

type TcpCase = typeof tcpArb extends fc.Arbitrary<infer T> ? T : never;

function buildTcp(t: TcpCase): Uint8Array {
  let [sport, dport] = t.ports;
  let payload = t.payload;
  if (t.http !== null) {
    const [text, port, server] = t.http;
    if (server) sport = port;
    else dport = port;
    payload = Uint8Array.from(text, (c) => c.charCodeAt(0));
  }
  return tcp(t.eth[0], t.eth[1], t.ip, { sport, dport, seq: t.seq, ack: t.ack, flags: t.flags, win: t.win, urgent: t.urg, options: t.options, payload });
}

const udpArb = fc.record({
  eth: fc.tuple(macArb, macArb),
  ip: ipArb,
  ports: fc.tuple(fc.constantFrom(...UDP_PORTS), fc.constantFrom(...UDP_PORTS)),
  payload: bytesArb(30),
});

const echoArb = fc.record({ eth: fc.tuple(macArb, macArb), ip: ipArb, type: fc.constantFrom(0 as const, 8 as const), id: u16Arb, seq: u16Arb, len: fc.integer({ min: 0, max: 64 }) });

const icmpErrArb = fc.record({
  eth: fc.tuple(macArb, macArb),
  ip: ipArb,
  type: fc.constantFrom(3 as const, 11 as const),
  code: fc.integer({ min: 0, max: 15 }),
  quotedKind: fc.constantFrom('udp', 'tcp', 'icmp'),
  mtu: u16Arb,
});

/** ICMP types whose non-verbose line is only their name (or a fixed field). */
const icmpOtherArb = fc.record({ eth: fc.tuple(macArb, macArb), ip: ipArb, type: fc.constantFrom(4, 10, 12, 13, 15, 16, 17, 18, 42), code: fc.integer({ min: 0, max: 2 }), rest: u32Arb, data: fc.uint8Array({ minLength: 4, maxLength: 12 }) });

const igmpArb = fc.record({
  eth: fc.tuple(macArb, macArb),
  ip: ipArb,
  kind: fc.constantFrom(0x11, 0x12, 0x16, 0x17, 0x22, 0x99),
  mrt: fc.integer({ min: 0, max: 255 }),
  group: fc.constantFrom('224.0.0.22', '239.1.2.3', '0.0.0.0'),
  v3: fc.boolean(),
  n: fc.integer({ min: 0, max: 3 }),
});

const arpArb = fc.record({ op: fc.constantFrom(1 as const, 2 as const), sha: macArb, tha: fc.constantFrom('00:00:00:00:00:00', '02:42:ac:11:00:03'), spa: fc.constantFrom(...ADDRS), tpa: fc.constantFrom(...ADDRS), pad: fc.constantFrom(0, 18, 22) });

/** An IPv4 frame with an arbitrary L4 payload for `proto` (no transport checksum: none is printed). */
function rawIp(ethSrc: string, ethDst: string, ip: { src: string; dst: string; ttl: number; id: number }, proto: number, l4: Uint8Array): Uint8Array {
  const b = new Uint8Array(34 + l4.length);
  const v = new DataView(b.buffer);
  const mac = (at: number, m: string) => m.split(':').forEach((h, i) => (b[at + i] = parseInt(h, 16)));
  mac(0, ethDst);
  mac(6, ethSrc);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + l4.length);
  v.setUint16(18, ip.id);
  v.setUint8(22, ip.ttl);
  v.setUint8(23, proto);
  ip.src.split('.').forEach((x, i) => (b[26 + i] = Number(x)));
  ip.dst.split('.').forEach((x, i) => (b[30 + i] = Number(x)));
  fillIpv4Checksum(b, 14);
  b.set(l4, 34);
  return b;
}

const frameArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: tcpArb.map(buildTcp) },
  { weight: 2, arbitrary: udpArb.map((u) => udp(u.eth[0], u.eth[1], u.ip, u.ports[0], u.ports[1], u.payload)) },
  { weight: 2, arbitrary: echoArb.map((e) => icmpEcho(e.type, e.eth[0], e.eth[1], e.ip, e.id, e.seq, e.len)) },
  {
    weight: 2,
    arbitrary: icmpErrArb.map((e) => {
      const orig =
        e.quotedKind === 'udp'
          ? udp(e.eth[1], e.eth[0], { src: e.ip.dst, dst: '203.0.113.9' }, 40001, 9998, new Uint8Array(4))
          : e.quotedKind === 'tcp'
            ? tcp(e.eth[1], e.eth[0], { src: e.ip.dst, dst: '203.0.113.9' }, { sport: 41000, dport: 9999, seq: 1, ack: 0, flags: 2, win: 1 })
            : icmpEcho(8, e.eth[1], e.eth[0], { src: e.ip.dst, dst: '203.0.113.9' }, 1, 1, 8);
      const f = icmpError(e.type, e.code, e.eth[0], e.eth[1], e.ip, orig);
      if (e.type === 3 && e.code === 4) {
        // next-hop MTU in bytes 6..7 of the ICMP header; fix the checksum by hand
        f[40] = e.mtu >> 8;
        f[41] = e.mtu & 0xff;
        refillIcmp(f);
      }
      return f;
    }),
  },
  {
    weight: 1,
    arbitrary: icmpOtherArb.map((o) => {
      const l4 = new Uint8Array(8 + o.data.length);
      l4[0] = o.type;
      l4[1] = o.code;
      new DataView(l4.buffer).setUint32(4, o.rest);
      l4.set(o.data, 8);
      const f = rawIp(o.eth[0], o.eth[1], o.ip, 1, l4);
      refillIcmp(f);
      return f;
    }),
  },
  {
    weight: 1,
    arbitrary: igmpArb.map((g) => {
      const len = g.kind === 0x22 ? 8 + 8 * g.n : g.kind === 0x11 && g.v3 ? 12 : 8;
      const l4 = new Uint8Array(len);
      l4[0] = g.kind;
      l4[1] = g.mrt;
      if (g.kind === 0x22) {
        new DataView(l4.buffer).setUint16(6, g.n);
        for (let i = 0; i < g.n; i++) l4.set([4, 0, 0, 0, 239, 1, 1, i], 8 + 8 * i);
      } else g.group.split('.').forEach((x, i) => (l4[4 + i] = Number(x)));
      return rawIp(g.eth[0], g.eth[1], { ...g.ip, dst: '224.0.0.22' }, 2, l4);
    }),
  },
  { weight: 2, arbitrary: arpArb.map((a) => arp(a.op, a.sha, a.spa, a.tha, a.tpa, a.op === 1 ? 'ff:ff:ff:ff:ff:ff' : '02:42:ac:11:00:03', a.pad)) },
  { weight: 1, arbitrary: fc.record({ eth: fc.tuple(macArb, macArb), ip: ipArb, proto: fc.constantFrom(99, 132 + 1, 253), body: bytesArb(20) }).map((r) => rawIp(r.eth[0], r.eth[1], r.ip, r.proto, r.body)) },
);

function refillIcmp(f: Uint8Array): void {
  f[36] = 0;
  f[37] = 0;
  let sum = 0;
  for (let i = 34; i < f.length; i += 2) sum += (f[i]! << 8) | (f[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  f[36] = c >> 8;
  f[37] = c & 0xff;
}

describe.runIf(haveTcpdump)('random frames: the same lines as tcpdump', () => {
  for (const precision of ['us', 'ns'] as const) {
    it(`pcap (${precision}), with and without -e`, () => {
      let run = 0;
      fc.assert(
        fc.property(fc.array(frameArb, { minLength: 1, maxLength: 80 }), fc.integer({ min: 0, max: 2 ** 40 }), (frames, t0) => {
          const file = join(dir, `random-${precision}-${run++}.pcap`);
          const w = PcapWriter.create(file, { precision });
          frames.forEach((f, i) => w.record(t0 + i * 1_234_567, f, 0, f.length));
          w.close();
          expectSameAsTcpdump(file, false, precision === 'ns');
          expectSameAsTcpdump(file, true, precision === 'ns');
        }),
        { numRuns: Number(process.env.WIREBOX_FUZZ_RUNS ?? 12) },
      );
    });
  }

  it('the synthetic conversation (ping, HTTP on 8080, RST, UDP, unreachable, time exceeded, padded ARP)', () => {
    const file = join(dir, 'conversation.pcap');
    const w = PcapWriter.create(file);
    for (const f of conversation()) w.record(f.timeNs, f.bytes, 0, f.bytes.length);
    w.close();
    expectSameAsTcpdump(file, false);
    expectSameAsTcpdump(file, true);
  });

  it('frames cut by the snap length after their headers print as tcpdump prints them', () => {
    for (const snaplen of [100, 90]) {
      const file = join(dir, `snap${snaplen}.pcap`);
      const w = PcapWriter.create(file, { snaplen });
      for (const f of conversation()) w.record(f.timeNs, f.bytes, 0, f.bytes.length);
      w.close();
      expect(readCaptureFile(file).records.some((r) => r.data.length < r.origLen)).toBe(true);
      expectSameAsTcpdump(file, false);
      expectSameAsTcpdump(file, true);
    }
  });

  it('frames cut inside their headers still give exactly one line each', () => {
    for (const snaplen of [64, 40, 20, 10]) {
      const file = join(dir, `cut${snaplen}.pcap`);
      const w = PcapWriter.create(file, { snaplen });
      for (const f of conversation()) w.record(f.timeNs, f.bytes, 0, f.bytes.length);
      w.close();
      const lines = captureLines(readCaptureFile(file));
      expect(lines.length).toBe(tcpdump(file, []).length);
      for (const l of lines) expect(l).toMatch(/\[\|(ether|arp|ip|tcp|udp|icmp|igmp|http)\]|length \d+/);
    }
  });

  it('IPv4 fragments (the first decoded to its transport header, later ones ip-proto) and RARP/InARP', () => {
    const frag = (whole: Uint8Array, start: number, len: number, mf: boolean): Uint8Array => {
      const f = new Uint8Array(34 + len);
      f.set(whole.subarray(0, 34));
      f.set(whole.subarray(34 + start, 34 + start + len), 34);
      const v = new DataView(f.buffer);
      v.setUint16(16, 20 + len);
      v.setUint16(20, (mf ? 0x2000 : 0) | (start / 8));
      fillIpv4Checksum(f, 14);
      return f;
    };
    const a = { src: '172.17.0.2', dst: '198.51.100.1' };
    const [m1, m2] = MACS as [string, string];
    const u = udp(m1, m2, a, 40001, 9998, new Uint8Array(200));
    const e = icmpEcho(8, m1, m2, a, 7, 9, 300);
    const t = tcp(m1, m2, a, { sport: 41000, dport: 9999, seq: 5, ack: 6, flags: 0x18, win: 100, payload: new Uint8Array(100) });
    const frames = [frag(u, 0, 104, true), frag(u, 104, 104, false), frag(e, 0, 152, true), frag(e, 152, 156, false), frag(t, 0, 64, true), frag(t, 64, 56, false)];
    for (const op of [3, 4, 8, 9]) {
      const x = arp(1, m1, '172.17.0.2', '00:00:00:00:00:00', '172.17.0.1', 'ff:ff:ff:ff:ff:ff');
      x[21] = op;
      frames.push(x);
    }
    const file = join(dir, 'frag.pcap');
    const w = PcapWriter.create(file);
    frames.forEach((f, i) => w.record(i * 1000, f, 0, f.length));
    w.close();
    expectSameAsTcpdump(file, false);
    expectSameAsTcpdump(file, true);
  });

  it('802.1Q-tagged frames', () => {
    const inner = conversation().slice(0, 8);
    const tagged: TestFrame[] = inner.map((f, i) => {
      const b = new Uint8Array(f.bytes.length + 4);
      b.set(f.bytes.subarray(0, 12));
      b.set([0x81, 0x00, (i % 8) << 5, 10 + i], 12);
      b.set(f.bytes.subarray(12), 16);
      return { timeNs: f.timeNs, bytes: b };
    });
    const file = join(dir, 'vlan.pcap');
    const w = PcapWriter.create(file);
    for (const f of tagged) w.record(f.timeNs, f.bytes, 0, f.bytes.length);
    w.close();
    expectSameAsTcpdump(file, false);
    expectSameAsTcpdump(file, true);
  });
});

describe('pcapng and several files', () => {
  it('puts the interface name after the time', () => {
    const file = join(dir, 'two.pcapng');
    const w = PcapngWriter.create(file);
    w.addInterface({ name: 'eth0' });
    w.addInterface({ name: 'docker0' });
    const frames = conversation();
    frames.slice(0, 3).forEach((f, i) => w.packet(i % 2, f.timeNs, f.bytes, 0, f.bytes.length));
    w.close();
    expect(captureLines(readCaptureFile(file))).toEqual([
      '00:00:01.000000000 eth0 ARP, Request who-has 172.17.0.1 tell 172.17.0.2, length 28',
      '00:00:01.000123458 docker0 ARP, Reply 172.17.0.1 is-at 02:42:c0:00:00:01, length 28',
      '00:00:01.000246916 eth0 IP 172.17.0.2 > 198.51.100.1: ICMP echo request, id 18782, seq 1, length 64',
    ]);
  });

  it('prefixes each line with its file when given several, and goes on past a bad one', () => {
    const a = join(FIXTURES, 'bridge-learning/ct3.eth0.pcap');
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, 'not a capture at all');
    const out: string[] = [];
    const err: string[] = [];
    const code = inspectFiles([a, bad, a], { noTime: true }, (t) => out.push(t), (t) => err.push(t));
    expect(code).toBe(2);
    expect(err).toEqual([`wirebox inspect: ${bad}: byte 0: not a pcap or pcapng file (magic 0x6e6f7420)\n`]);
    const lines = out.join('').trimEnd().split('\n');
    expect(lines).toEqual([
      `${a}: IP 172.17.0.1 > 224.0.0.22: igmp v3 report, 1 group record(s)`,
      `${a}: ARP, Request who-has 172.17.0.3 tell 172.17.0.2, length 28`,
      `${a}: IP 172.17.0.1 > 224.0.0.22: igmp v3 report, 1 group record(s)`,
      `${a}: ARP, Request who-has 172.17.0.3 tell 172.17.0.2, length 28`,
    ]);
  });
});

describe('the command', () => {
  const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
  const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;
  const cli = (...args: string[]) => spawnSync(tsx, [main, 'inspect', ...args], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });

  it('prints every frame and exits 0', () => {
    const file = join(FIXTURES, 'publish/ct.eth0.pcap');
    const r = cli('-e', file);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(readCaptureFile(file).records.length);
    expect(lines[0]).toMatch(/^12:39:02\.634659 02:42:c0:00:00:01 > 01:00:5e:00:00:16, ethertype IPv4 \(0x0800\), length 54: /);
  });

  it('a missing, a foreign and a truncated file: one line each naming file and offset, exit 2, no stack', () => {
    const cut = join(dir, 'cut.pcap');
    const whole = readCaptureFile(join(FIXTURES, 'nat-basic/ct.eth0.pcap'));
    const w = PcapWriter.create(cut);
    for (const rec of whole.records.slice(0, 3)) w.record(0, rec.data, 0, rec.data.length);
    w.close();
    // cut in the middle of the third record
    const bytes = new Uint8Array(readFileSync(cut));
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const foreign = join(dir, 'foreign.pcap');
    writeFileSync(foreign, '{"json": true}');

    const missing = cli('/nonexistent/x.pcap');
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))).toEqual(['wirebox inspect: /nonexistent/x.pcap: cannot read: no such file']);

    const f = cli(foreign);
    expect(f.status).toBe(2);
    expect(f.stderr).toContain(`wirebox inspect: ${foreign}: byte 0: not a pcap or pcapng file`);

    const t = cli('-t', cut);
    expect(t.status).toBe(2);
    // the whole records before the damage are still shown, as tcpdump does
    expect(t.stdout.trimEnd().split('\n')).toEqual([
      'IP 172.17.0.1 > 224.0.0.22: igmp v3 report, 1 group record(s)',
      'ARP, Request who-has 172.17.0.1 tell 172.17.0.2, length 28',
    ]);
    const errLines = t.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
    expect(errLines).toEqual([`wirebox inspect: ${cut}: byte ${24 + 16 + 54 + 16 + 42 + 16}: record data truncated (42 bytes needed, 32 left)`]);
    for (const r of [missing, f, t]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
