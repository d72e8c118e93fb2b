// `wirebox inspect` is `tcpdump -nn` on every capture in fixtures/ — DNS, mDNS, DHCP and SSH lines
// included — against tcpdump's lines stored in fixtures/tcpdump/ (so the check holds without tcpdump),
// and, where tcpdump is installed (always with CI=true), against the live tcpdump as well, which also
// proves the stored lines current. Then the application printers on crafted messages, live.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, readCaptureFile } from '../../src/capture/index.js';
import { captureLines } from '../../src/cli/inspect.js';
import { icmpError, tcp, udp } from '../capture/frames.js';
import { toolAvailable } from '../capture/tools.js';
import { expectedPath, fixtureCaptures, FIXTURES, tcpdumpLines } from './tcpdump-fixtures.js';

const haveTcpdump = toolAvailable('tcpdump');
const captures = fixtureCaptures();

function sameLines(ours: string[], theirs: string[]): void {
  const i = ours.findIndex((l, k) => l !== theirs[k]);
  if (i >= 0) expect({ line: i + 1, ours: ours[i] }).toEqual({ line: i + 1, ours: theirs[i] });
  expect(ours.length).toBe(theirs.length);
}

describe('every capture in fixtures/', () => {
  it('has all of them, each with tcpdump lines stored', () => {
    expect(captures.length).toBeGreaterThanOrEqual(90);
    const missing = captures.filter((c) => !existsSync(expectedPath(c, false)) || !existsSync(expectedPath(c, true)));
    expect(missing, 'record them with: npx tsx test/cli/tcpdump-fixtures.ts').toEqual([]);
  });

  it('DHCP, DNS, mDNS and SSH lines are among them', () => {
    const all = captures.map((c) => readFileSync(expectedPath(c, false), 'utf8')).join('');
    expect(all).toContain('BOOTP/DHCP, Request from 52:54:00:e7:3a:49, length 300');
    expect(all).toContain('BOOTP/DHCP, Reply, length 300');
    expect(all).toContain('4660+ A? example.com. (29)');
    expect(all).toContain('4660+ A (QM)? example.com. (29)');
    expect(all).toContain('SSH: SSH-2.0-OpenSSH_9.6');
  });

  for (const c of captures) {
    it(`${c}: the stored tcpdump lines, with and without -e`, () => {
      const cap = readCaptureFile(join(FIXTURES, c));
      for (const ether of [false, true]) {
        const stored = readFileSync(expectedPath(c, ether), 'utf8').split('\n').filter((l) => l !== '');
        sameLines(captureLines(cap, { ether }), stored);
      }
    });
    it.runIf(haveTcpdump)(`${c}: the live tcpdump's lines`, () => {
      const cap = readCaptureFile(join(FIXTURES, c));
      for (const ether of [false, true]) sameLines(captureLines(cap, { ether }), tcpdumpLines(join(FIXTURES, c), ether));
    });
  }
});

// ---- crafted application messages against the live tcpdump -------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'wirebox-inspect-app-'));
const IP = { src: '172.17.0.2', dst: '192.0.2.1', ttl: 64 };
const MAC_A = '02:42:ac:11:00:02';
const MAC_B = '02:42:c0:00:00:01';

function checkLive(name: string, frames: Uint8Array[]): void {
  const file = join(dir, name);
  const w = PcapWriter.create(file);
  frames.forEach((f, i) => w.record(i * 1_000_000, f, 0, f.length));
  w.close();
  for (const ether of [false, true]) sameLines(captureLines(readCaptureFile(file), { ether }), tcpdumpLines(file, ether));
}

const NAMES = ['example.com', 'a.b.c.example.org', 'x', '_http._tcp.local', 'we ird.n\u00e9t', ''];
function encodeName(n: string): number[] {
  const out: number[] = [];
  for (const l of n.split('.').filter((s) => s !== '')) out.push(l.length, ...[...l].map((c) => c.charCodeAt(0) & 0xff));
  out.push(0);
  return out;
}
const u16b = (n: number) => [(n >> 8) & 0xff, n & 0xff];

const rrArb = fc.oneof(
  fc.tuple(fc.constant(1), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })),
  fc.tuple(fc.constant(5), fc.constantFrom(...NAMES).map((n) => encodeName(n))),
  fc.tuple(fc.constant(5), fc.constant([0xc0, 12])), // a pointer back to the question's name
  fc.tuple(fc.constant(15), fc.constantFrom(...NAMES).map((n) => [0, 10, ...encodeName(n)])),
  fc.tuple(fc.constant(16), fc.array(fc.constantFrom('v=spf1', 'hello world', '\x01\xff'), { minLength: 1, maxLength: 2 }).map((ts) => ts.flatMap((t) => [t.length, ...[...t].map((c) => c.charCodeAt(0))]))),
  fc.tuple(fc.constant(28), fc.constantFrom([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 2, 0x42, 0xac, 0xff, 0xfe, 0x11, 0, 2], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
  fc.tuple(fc.constant(33), fc.constantFrom(...NAMES).map((n) => [0, 1, 0, 2, 0x1f, 0x90, ...encodeName(n)])),
  fc.tuple(fc.constantFrom(6, 99, 1234), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 })),
);

const dnsArb = fc.record({
  port: fc.constantFrom(53, 5353),
  server: fc.boolean(),
  id: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.oneof(fc.constantFrom(0x0100, 0x8180, 0x8183, 0x8580, 0x0000, 0x8400, 0x2800, 0x0110, 0x81a0, 0x8382), fc.integer({ min: 0, max: 0xffff })),
  questions: fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(1, 28, 15, 255, 33, 12, 4321), fc.constantFrom(1, 1, 3, 255, 0x8001, 77)), { maxLength: 2 }),
  answers: fc.array(fc.tuple(rrArb, fc.constantFrom(1, 0x8001, 3)), { maxLength: 3 }),
  extraCounts: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  cut: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 4 }),
});

function buildDns(d: typeof dnsArb extends fc.Arbitrary<infer T> ? T : never): Uint8Array {
  const body: number[] = [...u16b(d.id), ...u16b(d.flags), ...u16b(d.questions.length), ...u16b(d.answers.length), ...u16b(d.extraCounts[0]), ...u16b(d.extraCounts[1])];
  for (const [n, t, c] of d.questions) body.push(...encodeName(n), ...u16b(t), ...u16b(c));
  for (const [[type, rdata], cls] of d.answers) body.push(0xc0, 12, ...u16b(type), ...u16b(cls), 0, 0, 0x0e, 0x10, ...u16b(rdata.length), ...rdata);
  const bytes = Uint8Array.from(d.cut !== null ? body.slice(0, d.cut) : body);
  const [sport, dport] = d.server ? [d.port, 40000] : [40000, d.port];
  return udp(MAC_A, MAC_B, IP, sport, dport, bytes);
}

describe.runIf(haveTcpdump)('application lines: the same as tcpdump', () => {
  it('DNS and mDNS queries and answers (types, classes, flags, pointers, cut messages)', () => {
    let n = 0;
    fc.assert(
      fc.property(fc.array(dnsArb, { minLength: 1, maxLength: 30 }), (ds) => checkLive(`dns-${n++}.pcap`, ds.map(buildDns))),
      { numRuns: Number(process.env.WIREBOX_FUZZ_RUNS ?? 12) },
    );
  });

  it('BOOTP/DHCP requests and replies, other ops and hardware types, short ones', () => {
    const frames: Uint8Array[] = [];
    for (const op of [1, 2, 3]) {
      for (const [htype, hlen] of [[1, 6], [6, 6], [1, 8]]) {
        for (const len of [300, 40, 2]) {
          const p = new Uint8Array(len);
          p[0] = op;
          if (len > 1) p[1] = htype!;
          if (len > 2) p[2] = hlen!;
          for (let i = 28; i < Math.min(len, 34); i++) p[i] = 0x50 + i;
          frames.push(udp(MAC_A, 'ff:ff:ff:ff:ff:ff', { src: '0.0.0.0', dst: '255.255.255.255' }, 68, 67, p));
          frames.push(udp(MAC_B, MAC_A, { src: '192.168.122.1', dst: '192.168.122.2' }, 67, 68, p));
        }
      }
    }
    checkLive('bootp.pcap', frames);
  });

  it('SSH banners: CRLF, LF, unfinished, CR then other, not a banner', () => {
    const texts = ['SSH-2.0-OpenSSH_9.6\r\n', 'SSH-2.0-client\n', 'SSH-2.0-cut', 'SSH-1.99-x\ry', 'SSH-2.0-\x01\r\n', 'SSX-2.0\r\n', 'SS', 'hello\r\n', 'SSH-\r\n'];
    const frames = texts.map((t, i) =>
      tcp(MAC_A, MAC_B, IP, { sport: 40000 + i, dport: 22, seq: 1000, ack: 2000, flags: 0x18, win: 502, payload: Uint8Array.from([...t].map((c) => c.charCodeAt(0))) }),
    );
    checkLive('ssh.pcap', frames);
  });
});

describe.runIf(haveTcpdump)('ICMP redirects: the same as tcpdump', () => {
  it('net, host, TOS-net, TOS-host and unknown codes, quoting UDP and TCP', () => {
    const frames: Uint8Array[] = [];
    const quoted = [udp(MAC_A, MAC_B, { src: '192.168.1.10', dst: '198.51.100.7' }, 40000, 53, new Uint8Array(12)), tcp(MAC_A, MAC_B, { src: '192.168.1.10', dst: '203.0.113.9' }, { sport: 40001, dport: 80, seq: 1, ack: 0, flags: 2, win: 64240 })];
    for (const code of [0, 1, 2, 3, 7]) {
      for (const q of quoted) frames.push(icmpError(5, code, MAC_B, MAC_A, { src: '192.168.1.1', dst: '192.168.1.10', ttl: 64 }, q, 0xc0a80102));
    }
    checkLive('redirect.pcap', frames);
    expect(captureLines(readCaptureFile(join(dir, 'redirect.pcap')), {})[2]).toMatch(/ICMP redirect 198\.51\.100\.7 to host 192\.168\.1\.2, length 48$/);
  });
});
