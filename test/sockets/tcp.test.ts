// TCP against Linux 6.18's own segments (fixtures/real-captures), on a two-host rig: each host's Tcp
// sends through a fake Ipv4Sender that writes the IPv4 header and carries the datagram to the other
// host through the engine after a one-way latency (optionally dropping some).

import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { Prng } from '../../src/sim/prng.js';
import type { Ipv4Sender, L4Header } from '../../src/sockets/transport.js';
import { Tcp, TcpError, type TcpConnection } from '../../src/sockets/tcp.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { writeIpv4Header, parse as parseIp } from '../../src/wire/ipv4.js';
import { emit, parse as parseTcp, type TcpRepr } from '../../src/wire/tcp.js';
import { verifyTcpChecksum } from '../../src/wire/checksum.js';
import { readCaptureFile } from '../../src/capture/reader.js';
import { World, type Namespace } from '../../src/world/world.js';
import { R, plan as iptables } from '../netfilter/helpers.js';

const MS = 1_000_000;
const SEC = 1_000_000_000;
const ETH = 14;

interface Pkt {
  t: number;
  src: number;
  dst: number;
  id: number;
  df: boolean;
  ttl: number;
  tos: number;
  tcp: TcpRepr;
  checksumOk: boolean;
}

class Net {
  readonly hosts = new Map<number, FakeHost>();
  readonly log: Pkt[] = [];
  drop: (p: Pkt) => boolean = () => false;
  /** Extra delay per datagram (reordering) and copies delivered twice. */
  jitter: (p: Pkt) => number = () => 0;
  duplicate: (p: Pkt) => boolean = () => false;
  /** A scripted peer for addresses without a FakeHost: sees each datagram on arrival. */
  peer: ((p: Pkt) => void) | null = null;
  constructor(
    readonly engine: Engine,
    readonly latency: number,
  ) {}

  transmit(slot: number, l4len: number, h: L4Header): boolean {
    const pool = this.engine.pool;
    const dstHost = this.hosts.get(h.dst);
    const base = pool.base(slot);
    writeIpv4Header(pool.view, base + ETH, h.tos, 20 + l4len, h.id, h.df, h.ttl, h.proto, h.src, h.dst);
    const bytes = pool.bytes.slice(base + ETH, base + ETH + 20 + l4len);
    const ip = parseIp(bytes, 0, bytes.length);
    const p: Pkt = {
      t: this.engine.now,
      src: h.src,
      dst: h.dst,
      id: ip.id,
      df: ip.df,
      ttl: ip.ttl,
      tos: ip.tos,
      tcp: parseTcp(bytes, 20, l4len),
      checksumOk: verifyTcpChecksum(bytes, 20, l4len, h.src, h.dst),
    };
    this.log.push(p);
    if (!dstHost && this.peer && !this.drop(p)) {
      const peer = this.peer;
      this.engine.after(this.latency, () => peer(p));
    }
    if (!dstHost || this.drop(p)) {
      pool.release(slot);
      return true;
    }
    if (this.duplicate(p)) {
      const copy = this.engine.pool.clone(slot);
      this.engine.after(this.latency + this.jitter(p), () => dstHost.tcp.input(copy, ETH, ETH + 20, l4len));
    }
    this.engine.after(this.latency + this.jitter(p), () => dstHost.tcp.input(slot, ETH, ETH + 20, l4len));
    return true;
  }
}

class FakeHost implements Ipv4Sender {
  readonly tcp: Tcp;
  readonly rng: Prng;
  constructor(
    readonly net: Net,
    readonly addr: number,
    seedLabel: string,
  ) {
    this.rng = net.engine.rng.fork(seedLabel);
    net.hosts.set(addr, this);
    this.tcp = new Tcp(this);
  }
  get engine(): Engine {
    return this.net.engine;
  }
  sendL4(slot: number, l4len: number, h: L4Header): boolean {
    return this.net.transmit(slot, l4len, h);
  }
  sourceFor(dst: number): number {
    return dst === parseIpv4('203.0.113.99') ? 0 : this.addr;
  }
  mtuFor(): number {
    return 1500;
  }
  isLocal(addr: number): boolean {
    return addr === this.addr;
  }
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const REQ43 = enc('GET / HTTP/1.0\r\nHost: wirebox.example\r\n\r\n\r\n'.slice(0, 43).padEnd(43, 'x'));
const REPLY43 = enc('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'.padEnd(43, '!'));
const REQ24 = enc('GET /status HTTP/1.1\r\n\r\n');

interface Rig {
  engine: Engine;
  net: Net;
  client: FakeHost;
  server: FakeHost;
}

function world(seed = 1, latency = 50_000, clientAddr = '172.17.0.2', serverAddr = '198.51.100.1'): Rig {
  const engine = new Engine({ seed });
  const net = new Net(engine, latency);
  const client = new FakeHost(net, parseIpv4(clientAddr), 'client');
  const server = new FakeHost(net, parseIpv4(serverAddr), 'server');
  return { engine, net, client, server };
}

/** The README's services: the server answers the first data it reads, then reads until EOF and
 *  closes; the client sends, reads the reply, closes. */
function requestReply(w: Rig, port: number, request: Uint8Array, reply: Uint8Array): { client: TcpConnection; got: Uint8Array[]; events: string[] } {
  const events: string[] = [];
  w.server.tcp.listen({ addr: 0, port }, (conn) => {
    let answered = false;
    conn.handlers = {
      onData: () => {
        if (!answered) {
          answered = true;
          conn.send(reply);
        }
      },
      onPeerClose: () => conn.close(),
      onClose: () => events.push('server-close'),
    };
  });
  const got: Uint8Array[] = [];
  const client = w.client.tcp.connect(
    { dst: w.server.addr, dport: port },
    {
      onConnect: (c) => {
        events.push('connect');
        c.send(request);
      },
      onData: (b, c) => {
        got.push(b);
        c.close();
      },
      onClose: () => events.push('client-close'),
      onError: (r) => events.push(`error:${r}`),
    },
  );
  return { client, got, events };
}

// ---- normalised segment view, the same for our log and a real capture ----

interface Norm {
  dir: 'C>S' | 'S>C';
  flags: string;
  seq: number;
  ack: number;
  len: number;
  win: number;
  opts: string;
  df: boolean;
  tos: number;
  id: string;
}

function flagString(f: number): string {
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x04) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x10) s += '.';
  return s;
}

function optString(r: TcpRepr): string {
  return r.options
    .map((o) => {
      switch (o.kind) {
        case 'mss':
          return `mss ${o.value}`;
        case 'sack-permitted':
          return 'sackOK';
        case 'timestamps':
          return 'TS';
        case 'wscale':
          return `wscale ${o.shift}`;
        default:
          return o.kind;
      }
    })
    .join(',');
}

/** Relative seq/ack per direction (ISNs out), ids as offsets from each sender's first non-zero id. */
function normalise(pkts: Pkt[], clientAddr: number): Norm[] {
  const isn = new Map<number, number>();
  const firstId = new Map<number, number>();
  for (const p of pkts) if (p.tcp.flags & 0x02 && !isn.has(p.src)) isn.set(p.src, p.tcp.seq);
  return pkts.map((p) => {
    const mine = isn.get(p.src) ?? 0;
    const theirs = isn.get(p.dst) ?? 0;
    let id = 'zero';
    if (p.id !== 0) {
      if (!firstId.has(p.src)) firstId.set(p.src, p.id);
      id = `+${(p.id - firstId.get(p.src)! + 0x10000) & 0xffff}`;
    }
    return {
      dir: p.src === clientAddr ? 'C>S' : 'S>C',
      flags: flagString(p.tcp.flags),
      seq: p.tcp.flags & 0x04 && !(p.tcp.flags & 0x10) ? (p.tcp.seq - theirs) >>> 0 : (p.tcp.seq - mine) >>> 0,
      ack: p.tcp.flags & 0x10 ? (p.tcp.ack - theirs) >>> 0 : 0,
      len: p.tcp.payload.length,
      win: p.tcp.window,
      opts: optString(p.tcp),
      df: p.df,
      tos: p.tos,
      id,
    };
  });
}

function realTcp(path: string, port: number): Pkt[] {
  const cap = readCaptureFile(path);
  const out: Pkt[] = [];
  for (const r of cap.records) {
    const d = r.data;
    if (d.length < ETH + 20 || ((d[12]! << 8) | d[13]!) !== 0x0800) continue;
    const ip = parseIp(d, ETH, d.length - ETH);
    if (ip.protocol !== 6) continue;
    const ihl = (d[ETH]! & 0x0f) * 4;
    const tcp = parseTcp(d, ETH + ihl, ip.totalLength - ihl);
    if (tcp.srcPort !== port && tcp.dstPort !== port) continue;
    out.push({ t: Number(r.timeNs), src: ip.src, dst: ip.dst, id: ip.id, df: ip.df, ttl: ip.ttl, tos: ip.tos, tcp, checksumOk: true });
  }
  return out;
}

/** Our segments as the client's interface sees them: client's at send time, server's on arrival. */
function atClient(w: Rig): Pkt[] {
  return w.net.log
    .map((p) => (p.src === w.client.addr ? p : { ...p, t: p.t + w.net.latency }))
    .sort((a, b) => a.t - b.t);
}

const FIX = new URL('../../fixtures/real-captures/', import.meta.url).pathname;

describe('SYN and segments as Linux writes them', () => {
  it('SYN: mss 1460,sackOK,TS val ecr 0,nop,wscale 10, window 64240, DF, TTL 64, TOS 0, exact option bytes', () => {
    const w = world();
    w.client.tcp.connect({ dst: w.server.addr, dport: 9 }, {});
    const syn = w.net.log[0]!;
    expect(flagString(syn.tcp.flags)).toBe('S');
    expect(syn.tcp.window).toBe(64240);
    expect(optString(syn.tcp)).toBe('mss 1460,sackOK,TS,nop,wscale 10');
    expect(syn.df).toBe(true);
    expect(syn.ttl).toBe(64);
    expect(syn.tos).toBe(0);
    expect(syn.checksumOk).toBe(true);
    const ts = syn.tcp.options.find((o) => o.kind === 'timestamps');
    expect(ts && ts.kind === 'timestamps' && ts.tsEcr).toBe(0);
    // the same 20 option bytes as the real SYN, TS val aside
    const real = realTcp(FIX + 'nat-basic/ct.eth0.pcap', 8000)[0]!;
    expect(optString(real.tcp)).toBe(optString(syn.tcp));
  });

  it('SYN-ACK options follow what the SYN offered (tcp_synack_options): no TS, no SACK, no WS', () => {
    const cases: [string, { kind: string; [k: string]: unknown }[], string, number][] = [
      ['mss only (a slirp-like peer)', [{ kind: 'mss', value: 1460 }], 'mss 1460', 64240],
      ['no timestamps', [{ kind: 'mss', value: 1460 }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'sack-permitted' }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }], 'mss 1460,nop,nop,sackOK,nop,wscale 10', 64240],
      ['TS without SACK', [{ kind: 'mss', value: 1400 }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 5, tsEcr: 0 }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }], 'mss 1460,nop,nop,TS,nop,wscale 10', 65160],
    ];
    for (const [what, options, want, win] of cases) {
      const w = world();
      w.server.tcp.listen({ addr: 0, port: 80 }, () => {});
      const fake: Pkt = { t: 0, src: w.client.addr, dst: w.server.addr, id: 1, df: true, ttl: 64, tos: 0, checksumOk: true,
        tcp: { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: 0x02, reserved: 0, window: 65535, checksum: 0, urgent: 0, options: options as TcpRepr['options'], payload: new Uint8Array(0) } };
      inject(w, w.server, fake, {});
      const synack = w.net.log[0]!;
      expect(flagString(synack.tcp.flags), what).toBe('S.');
      expect(optString(synack.tcp), what).toBe(want);
      expect(synack.tcp.window, what).toBe(win);
      expect(synack.tcp.ack, what).toBe(1001);
    }
  });

  it('MSS follows the route MTU minus 40', () => {
    const w = world();
    w.client.mtuFor = () => 1400;
    w.client.tcp.connect({ dst: w.server.addr, dport: 9 }, {});
    expect(optString(w.net.log[0]!.tcp)).toBe('mss 1360,sackOK,TS,nop,wscale 10');
  });
});

describe('the real exchanges, segment by segment', () => {
  const cases = [
    { name: 'nat-basic ct.eth0', file: 'nat-basic/ct.eth0.pcap', port: 8000, client: '172.17.0.2', server: '198.51.100.1', req: REQ43, reply: REPLY43 },
    { name: 'bridge-learning ct1.eth0', file: 'bridge-learning/ct1.eth0.pcap', port: 8000, client: '172.17.0.2', server: '172.17.0.3', req: REQ43, reply: REPLY43 },
    { name: 'publish client.eth0', file: 'publish/client.eth0.pcap', port: 8080, client: '198.51.100.1', server: '198.51.100.10', req: REQ24, reply: REPLY43 },
  ];
  for (const c of cases) {
    it(`${c.name}: flags, relative seq/ack, lengths, windows, options, DF, TOS, IP id pattern`, () => {
      const w = world(7, 60_000, c.client, c.server);
      const { got, events } = requestReply(w, c.port, c.req, c.reply);
      w.engine.run(10 * SEC);
      expect(events).toContain('connect');
      expect(Buffer.concat(got).toString()).toBe(Buffer.from(c.reply).toString());
      const real = realTcp(FIX + c.file, c.port);
      const realClient = real[0]!.src;
      const ours = normalise(atClient(w), w.client.addr);
      expect(ours).toEqual(normalise(real, realClient));
      expect(w.net.log.every((p) => p.checksumOk)).toBe(true);
    });
  }

  it('timestamps: every segment after the SYN echoes the peer’s latest TS val', () => {
    const w = world(3);
    requestReply(w, 8000, REQ43, REPLY43);
    w.engine.run(10 * SEC);
    const lastVal = new Map<number, number>();
    for (const p of atClient(w)) {
      const ts = p.tcp.options.find((o) => o.kind === 'timestamps');
      expect(ts).toBeDefined();
      if (ts?.kind !== 'timestamps') continue;
      if (p.tcp.flags & 0x02 && !(p.tcp.flags & 0x10)) expect(ts.tsEcr).toBe(0);
      else expect(ts.tsEcr).toBe(lastVal.get(p.dst));
      lastVal.set(p.src, ts.tsVal);
    }
  });
});

describe('against a peer that offers only MSS (real vm-nat: the Linux guest and slirp)', () => {
  it('windows 64240 then 64240 − received (never shrunk), no options after the SYN, the last ACK from the timewait sock (id 0)', () => {
    const w = world(18, 200_000, '10.0.2.100', '10.0.2.99');
    const SLIRP = parseIpv4('198.51.100.1');
    let ipId = 1;
    let cport = 0;
    /** slirp's own segments, as vg.tap0.pcap shows them: no DF, ids 1, 2, 3…, window 65535. */
    const slirpSend = (delay: number, seq: number, ack: number, flags: number, payload: Uint8Array, options: TcpRepr['options'] = []) =>
      w.engine.after(delay, () => {
        const tcp: TcpRepr = { srcPort: 8000, dstPort: cport, seq, ack, flags, reserved: 0, window: 65535, checksum: 0, urgent: 0, options, payload };
        const like: Pkt = { t: w.engine.now, src: SLIRP, dst: w.client.addr, id: ipId++, df: false, ttl: 64, tos: 0, tcp, checksumOk: true };
        w.net.log.push(like);
        w.engine.after(w.net.latency, () => inject(w, w.client, like, {}));
      });
    w.net.peer = (p) => {
      cport = p.tcp.srcPort;
      const f = p.tcp.flags;
      if (f === 0x02) slirpSend(0, 64000, (p.tcp.seq + 1) >>> 0, 0x12, new Uint8Array(0), [{ kind: 'mss', value: 1460 }]);
      else if (p.tcp.payload.length > 0) {
        const end = (p.tcp.seq + p.tcp.payload.length) >>> 0;
        slirpSend(0, 64001, end, 0x10, new Uint8Array(0));
        slirpSend(8_000, 64001, end, 0x18, REPLY43);
      } else if (f & 0x01) {
        slirpSend(0, 64044, (p.tcp.seq + 1) >>> 0, 0x10, new Uint8Array(0));
        slirpSend(4 * MS, 64044, (p.tcp.seq + 1) >>> 0, 0x11, new Uint8Array(0));
      }
    };
    const got: Uint8Array[] = [];
    const conn = w.client.tcp.connect({ dst: SLIRP, dport: 8000 }, { onConnect: (c) => c.send(REQ43), onData: (b, c) => (got.push(b), c.close()) });
    w.engine.run(5 * SEC);
    expect(Buffer.concat(got).toString()).toBe(Buffer.from(REPLY43).toString());
    const real = realTcp(FIX + 'vm-nat/vg.tap0.pcap', 8000);
    expect(normalise(atClient(w), w.client.addr)).toEqual(normalise(real, real[0]!.src));
    expect(conn.state).toBe('TIME_WAIT');
  });
});

describe('closed ports, refusals, resets', () => {
  it('a SYN to a closed port gets [R.] seq 0 ack isn+1 win 0, IP id 0, DF, no options, like publish', () => {
    const w = world(5, 50_000, '198.51.100.1', '198.51.100.10');
    const events: string[] = [];
    w.client.tcp.connect({ dst: w.server.addr, dport: 9999 }, { onError: (r) => events.push(r), onClose: () => events.push('close') });
    w.engine.run(5 * SEC);
    const ours = normalise(atClient(w), w.client.addr);
    const real = realTcp(FIX + 'publish/client.eth0.pcap', 9999);
    expect(ours).toEqual(normalise(real, real[0]!.src));
    expect(w.net.log[1]!.ttl).toBe(64);
    expect(w.net.log[1]!.checksumOk).toBe(true);
    expect(events).toEqual(['refused', 'close']);
  });

  it('a stray ACK to a closed port gets a bare RST with seq = its ack', () => {
    const w = world();
    const l = w.server.tcp.listen({ addr: 0, port: 80 }, (conn) => {
      conn.handlers = {};
    });
    const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {});
    w.engine.run(1 * MS);
    l.close();
    // kill the server side silently, then have the client talk to it
    for (const c of w.server.tcp.connections()) c.abortWith(null);
    const before = w.net.log.length;
    let err = '';
    conn.handlers.onError = (r) => (err = r);
    conn.send(enc('hi'));
    w.engine.run(1 * SEC);
    const rst = w.net.log.slice(before).find((p) => p.tcp.flags & 0x04)!;
    expect(flagString(rst.tcp.flags)).toBe('R');
    expect(rst.tcp.seq).toBe((w.net.log[before]!.tcp.ack) >>> 0);
    expect(rst.id).toBe(0);
    expect(err).toBe('reset');
    expect(conn.state).toBe('CLOSED');
  });

  it('connect to an unroutable address reports unreachable', () => {
    const w = world();
    const events: string[] = [];
    w.client.tcp.connect({ dst: parseIpv4('203.0.113.99'), dport: 80 }, { onError: (r) => events.push(r) });
    w.engine.run(1 * SEC);
    expect(events).toEqual(['unreachable']);
    expect(w.net.log.length).toBe(0);
  });
});

describe('SYN retransmission (tcp_syn_linear_timeouts = 4, tcp_syn_retries = 6)', () => {
  it('SYNs at 0,1,2,3,4,5 s linear, then 7, 11, 19, 35, 67 s; ETIMEDOUT at 131 s', () => {
    const w = world();
    w.net.drop = () => true;
    let failedAt = -1;
    let reason = '';
    const t0 = w.engine.now;
    w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onError: (r) => ((reason = r), (failedAt = w.engine.now)) });
    w.engine.run(300 * SEC);
    const times = w.net.log.map((p) => (p.t - t0) / SEC);
    expect(times).toEqual([0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
    expect(reason).toBe('timeout');
    expect((failedAt - t0) / SEC).toBe(131);
    // each retransmission goes through the socket: IP id +1 each time, same ISN, fresh TS val
    const ids = w.net.log.map((p) => p.id);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe((ids[0]! + i) & 0xffff);
    expect(new Set(w.net.log.map((p) => p.tcp.seq)).size).toBe(1);
  });

  it('after two lost SYNs the third (at 2 s) completes the handshake', () => {
    const w = world();
    let dropped = 0;
    w.net.drop = (p) => (p.tcp.flags & 0x02 && !(p.tcp.flags & 0x10) && dropped < 2 ? (dropped++, true) : false);
    w.server.tcp.listen({ addr: 0, port: 80 }, () => {});
    let connectedAt = -1;
    w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: () => (connectedAt = w.engine.now) });
    w.engine.run(10 * SEC);
    expect(Math.round(connectedAt / MS)).toBe(2000);
  });

  it('SYN-ACK retransmissions from the request sock at 1, 3, 7, 15, 31 s (id 0 each)', () => {
    const w = world();
    w.net.drop = (p) => p.src === w.server.addr;
    w.server.tcp.listen({ addr: 0, port: 80 }, () => {});
    w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {});
    w.engine.run(40 * SEC);
    const synacks = w.net.log.filter((p) => p.src === w.server.addr);
    // the client's own SYN retransmissions also trigger immediate SYN-ACKs; the timer-driven ones:
    const times = synacks.map((p) => p.t / SEC);
    for (const t of [1.00005, 3.00005, 7.00005, 15.00005, 31.00005]) expect(times.some((x) => Math.abs(x - t) < 1e-6)).toBe(true);
    expect(synacks.every((p) => p.id === 0 && p.df)).toBe(true);
  });
});

describe('data transfer', () => {
  function bulk(seed: number, size: number, drop?: (p: Pkt, n: number) => boolean) {
    const w = world(seed, 1 * MS);
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
    const received: Uint8Array[] = [];
    let serverClosed = false;
    w.server.tcp.listen({ addr: 0, port: 5001 }, (conn) => {
      conn.handlers = { onData: (b) => received.push(b), onPeerClose: (c) => c.close(), onClose: () => (serverClosed = true) };
    });
    let n = 0;
    if (drop) w.net.drop = (p) => drop(p, n++);
    const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 5001 }, { onConnect: (c) => (c.send(data), c.close()) });
    w.engine.run(60 * SEC);
    return { w, data, got: Buffer.concat(received), serverClosed, conn };
  }

  it('100 kB arrive intact in MSS-sized segments, PSH only on the write’s last', () => {
    const { w, data, got, serverClosed } = bulk(1, 100_000);
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0);
    expect(serverClosed).toBe(true);
    const segs = w.net.log.filter((p) => p.src === w.client.addr && p.tcp.payload.length > 0);
    expect(segs.slice(0, -1).every((p) => p.tcp.payload.length === 1448)).toBe(true);
    expect(segs.slice(0, -1).every((p) => !(p.tcp.flags & 0x08))).toBe(true);
    expect(segs.at(-1)!.tcp.flags & 0x08).toBe(0x08);
    expect(segs.reduce((a, p) => a + p.tcp.payload.length, 0)).toBe(100_000);
    // the first flight is the initial window of 10 segments
    const firstAck = w.net.log.findIndex((p) => p.src === w.server.addr && p.tcp.payload.length === 0 && p.tcp.ack !== w.net.log[1]!.tcp.ack && p.t > 0);
    expect(firstAck).toBeGreaterThan(0);
    const before = w.net.log.slice(0, firstAck).filter((p) => p.src === w.client.addr && p.tcp.payload.length > 0);
    expect(before.length).toBeLessThanOrEqual(10);
  });

  it('receive-buffer autotuning: the advertised window grows with what the application reads per RTT', () => {
    const { w, data, got } = bulk(5, 3_000_000);
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0);
    const wins = w.net.log.filter((p) => p.src === w.server.addr && !(p.tcp.flags & 0x02)).map((p) => p.tcp.window);
    expect(wins[0]).toBeGreaterThanOrEqual(63);
    expect(wins[0]).toBeLessThan(80);
    expect(Math.max(...wins)).toBeGreaterThan(1000);
    // never shrinks while data flows
    for (let i = 1; i < wins.length - 1; i++) expect(wins[i]! * 1024).toBeGreaterThanOrEqual(wins[i - 1]! * 1024 - 1448 * 64);
  });

  it('cwnd grows only when used (tcp_is_cwnd_limited) and restarts after idle: a big reply on a chatty or idle connection leaves in a flight of 10', () => {
    for (const idle of [false, true]) {
      const w = world(19, 1 * MS);
      w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
        c.handlers = { onData: (b, s) => s.send(Buffer.from(b).toString() === 'big' ? new Uint8Array(100_000) : enc('ok')) };
      });
      let replies = 0;
      let bigAt = -1;
      const sendBig = (c: TcpConnection) => ((bigAt = w.net.log.length), c.send(enc('big')));
      w.client.tcp.connect(
        { dst: w.server.addr, dport: 80 },
        {
          onConnect: (c) => c.send(enc('go')),
          onData: (b, c) => {
            if (b.length !== 2) return;
            if (++replies < 50) c.send(enc('again'));
            else if (idle) {
              // a first big reply grows cwnd; after 10 s of silence the second starts over from 10
              c.send(enc('big'));
              w.engine.after(10 * SEC, () => sendBig(c));
            } else sendBig(c);
          },
        },
      );
      w.engine.run(20 * SEC);
      expect(replies).toBe(50);
      const after = w.net.log.slice(bigAt);
      const firstAck = after.find((p) => p.src === w.client.addr && p.tcp.payload.length === 0)!;
      const flight = after.filter((p) => p.src === w.server.addr && p.tcp.payload.length > 0 && p.t < firstAck.t + 1 * MS);
      expect(flight.length, idle ? 'after idle' : 'chatty').toBe(10);
    }
  });

  it('a lost last segment, alone in flight, is probed at min(2·srtt + 200 ms, RTO) and the stream is intact', () => {
    let dropped: Pkt | undefined;
    const { w, data, got } = bulk(2, 20_000, (p) => {
      if (!dropped && p.tcp.payload.length > 0 && p.src !== p.dst && p.tcp.flags & 0x08) {
        dropped = p;
        return true;
      }
      return false;
    });
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0);
    expect(dropped).toBeDefined();
    const again = w.net.log.find((p) => p !== dropped && p.tcp.seq === dropped!.tcp.seq && p.tcp.payload.length > 0 && p.t > dropped!.t)!;
    const gap = (again.t - dropped!.t) / MS;
    expect(gap).toBeGreaterThanOrEqual(200);
    expect(gap).toBeLessThan(260);
    // the retransmission is a new IP datagram of the socket: a later id
    expect(again.id).not.toBe(dropped!.id);
  });

  it('tail loss probe + RACK: two lost tail segments; the last re-sent 2·srtt + 2 ms after the ACK, the other when the probe is SACKed', () => {
    const dropped: Pkt[] = [];
    const w = world(9, 1 * MS);
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
    let conn: TcpConnection | undefined;
    w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => (conn = c) });
    w.engine.run(1 * SEC);
    w.net.drop = (p) => {
      if (p.tcp.payload.length > 0 && dropped.length < 2 && p.tcp.seq !== w.net.log.find((q) => q.tcp.payload.length > 0)?.tcp.seq) {
        const idx = w.net.log.filter((q) => q.tcp.payload.length > 0).length;
        if (idx >= 3) {
          dropped.push(p);
          return true;
        }
      }
      return false;
    };
    conn!.send(new Uint8Array(4 * 1448));
    w.engine.run(3 * SEC);
    expect(dropped.length).toBe(2);
    const probe = w.net.log.find((p) => p.t > dropped[1]!.t && p.tcp.seq === dropped[1]!.tcp.seq && p.tcp.payload.length > 0)!;
    const lastAck = w.net.log.filter((p) => p.src === w.server.addr && p.t < probe.t).at(-1)!;
    expect((probe.t - (lastAck.t + 1 * MS)) / MS).toBe(6);
    const sackAck = w.net.log.find((p) => p.t > probe.t && p.src === w.server.addr)!;
    expect(sackAck.tcp.options.some((o) => o.kind === 'sack')).toBe(true);
    const rack = w.net.log.find((p) => p.t > dropped[0]!.t && p.tcp.seq === dropped[0]!.tcp.seq && p.tcp.payload.length > 0)!;
    expect(rack.t).toBe(sackAck.t + 1 * MS);
    const finalAck = w.net.log.filter((p) => p.src === w.server.addr).at(-1)!;
    expect(finalAck.tcp.ack).toBe((dropped[1]!.tcp.seq + 1448) >>> 0);
    expect(conn!.state).toBe('ESTABLISHED');
    expect(w.server.tcp.connections()[0]).toBeDefined();
  });

  it('random loss both ways (seeded): every byte arrives once, in order, and both sides close', () => {
    for (const [seed, lossPct] of [
      [1, 2],
      [2, 5],
      [3, 10],
      [4, 20],
    ] as const) {
      const rng = new Prng(seed * 1000 + lossPct);
      const { w, got, data, serverClosed, conn } = bulk(seed, 200_000, (p) => p.tcp.flags !== 0x02 && rng.below(100) < lossPct);
      expect(Buffer.compare(got, Buffer.from(data)), `seed ${seed} loss ${lossPct}%`).toBe(0);
      // SACK blocks are never empty and never at or below the cumulative ACK (D-SACK first blocks aside)
      for (const p of w.net.log) {
        for (const o of p.tcp.options) {
          if (o.kind !== 'sack') continue;
          o.blocks.forEach((b, i) => {
            expect(((b.right - b.left) | 0) > 0).toBe(true);
            if (i > 0 || ((b.right - p.tcp.ack) | 0) > 0) expect(((b.left - p.tcp.ack) | 0) > 0).toBe(true);
          });
        }
      }
      expect(serverClosed, `seed ${seed} loss ${lossPct}%`).toBe(true);
      expect(['TIME_WAIT', 'CLOSED']).toContain(conn.state);
    }
  });

  it('into a black hole: a loss probe, then RTOs doubling to the 120 s cap, ETIMEDOUT after tcp_retries2 (924.6 s)', () => {
    const w = world(10, 1 * MS);
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
    let err = '';
    let errAt = 0;
    const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onError: (r) => ((err = r), (errAt = w.engine.now)) });
    w.engine.run(1 * SEC);
    w.net.drop = () => true;
    const t0 = w.engine.now;
    conn.send(enc('x'.repeat(100)));
    w.engine.run(t0 + 2000 * SEC);
    const sends = w.net.log.filter((p) => p.t >= t0).map((p) => (p.t - t0) / MS);
    const gaps = sends.slice(1).map((t, i) => t - sends[i]!);
    // the loss probe, at min(2·srtt + 200 ms, RTO); then the RTO itself, doubling
    expect(gaps[0]).toBeGreaterThanOrEqual(200);
    expect(gaps[0]).toBeLessThan(210);
    for (let i = 2; i < gaps.length; i++) expect(gaps[i]).toBe(Math.min(gaps[i - 1]! * 2, 120_000));
    expect(gaps.at(-1)).toBe(120_000);
    expect(err).toBe('timeout');
    expect((errAt - t0) / SEC).toBeGreaterThanOrEqual(924.6);
    expect((errAt - t0) / SEC).toBeLessThan(924.6 + 120);
    expect(conn.state).toBe('CLOSED');
  });

  it('path MTU: an ICMP frag-needed from a router shrinks the segments and re-sends what was too big', () => {
    const w = world(12, 1 * MS);
    const got: Uint8Array[] = [];
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onData: (b) => got.push(b) }));
    let conn: TcpConnection | undefined;
    w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => (conn = c) });
    w.engine.run(1 * SEC);
    let tooBig = 0;
    // a router on the way with MTU 1400: DF datagrams above it are dropped and answered
    w.net.drop = (p) => {
      if (20 + p.tcp.payload.length + 32 <= 1400 || !p.df) return false;
      tooBig++;
      w.engine.after(500_000, () => w.client.tcp.err({ type: 3, code: 4, info: 1400, from: parseIpv4('192.0.2.1'), src: p.src, dst: p.dst, proto: 6, sport: p.tcp.srcPort, dport: p.tcp.dstPort }));
      return true;
    };
    const data = new Uint8Array(20_000).map((_, i) => i & 0xff);
    conn!.send(data);
    w.engine.run(5 * SEC);
    expect(Buffer.compare(Buffer.concat(got), Buffer.from(data))).toBe(0);
    expect(tooBig).toBeGreaterThan(0);
    const sizes = w.net.log.filter((p) => p.src === w.client.addr && p.tcp.payload.length > 0 && p.t > w.net.log.find((q) => q.tcp.payload.length > 0)!.t + 1 * MS).map((p) => p.tcp.payload.length);
    expect(Math.max(...sizes)).toBe(1400 - 52);
  });

  it('one lost segment in the first flight is retransmitted exactly once (RACK, no spurious second copy)', () => {
    let n = 0;
    let lost: Pkt | undefined;
    const { w, got, data } = bulk(6, 60_000, (p) => {
      if (p.tcp.payload.length > 0 && ++n === 4) {
        lost = p;
        return true;
      }
      return false;
    });
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0);
    const copies = w.net.log.filter((p) => p.tcp.payload.length > 0 && p.tcp.seq === lost!.tcp.seq);
    expect(copies.length).toBe(2);
    // and it went out when the SACKs showed the hole, within a couple of RTTs, not at an RTO
    expect((copies[1]!.t - copies[0]!.t) / MS).toBeLessThan(10);
  });

  it('chaos (seeded): loss, duplication and reordering both ways; both byte streams arrive intact and both sides close', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const w = world(seed, 1 * MS);
      const rng = new Prng(seed * 7919);
      w.net.drop = () => rng.below(100) < 10;
      w.net.duplicate = () => rng.below(100) < 5;
      w.net.jitter = () => rng.below(3_000_000);
      const up = new Uint8Array(40_000 + seed * 1000).map((_, i) => (i * 31 + seed) & 0xff);
      const down = new Uint8Array(30_000 + seed * 777).map((_, i) => (i * 17 + seed) & 0xff);
      const gotUp: Uint8Array[] = [];
      const gotDown: Uint8Array[] = [];
      let serverDone = false;
      let clientDone = false;
      w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
        c.send(down);
        c.handlers = { onData: (b) => gotUp.push(b), onPeerClose: (x) => x.close(), onClose: () => (serverDone = true) };
      });
      w.client.tcp.connect(
        { dst: w.server.addr, dport: 80 },
        { onConnect: (c) => c.send(up), onData: (b, c) => (gotDown.push(b), Buffer.concat(gotDown).length === down.length ? c.close() : undefined), onClose: () => (clientDone = true) },
      );
      w.engine.run(600 * SEC);
      expect(Buffer.compare(Buffer.concat(gotDown), Buffer.from(down)), `seed ${seed} down`).toBe(0);
      expect(Buffer.compare(Buffer.concat(gotUp), Buffer.from(up)), `seed ${seed} up`).toBe(0);
      expect(serverDone && clientDone, `seed ${seed} closed`).toBe(true);
    }
  });

  it('under 8 % loss, retransmissions are rarely spurious (few D-SACKs): RACK orders same-instant sends', () => {
    let dsacks = 0;
    let retransmissions = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = new Prng(seed);
      const { w, got, data } = bulk(seed, 300_000, (p) => p.tcp.flags !== 0x02 && rng.below(100) < 8);
      expect(Buffer.compare(got, Buffer.from(data))).toBe(0);
      const seen = new Set<number>();
      for (const p of w.net.log) {
        if (p.src === w.client.addr && p.tcp.payload.length > 0) {
          if (seen.has(p.tcp.seq)) retransmissions++;
          seen.add(p.tcp.seq);
        }
        const sack = p.tcp.options.find((o) => o.kind === 'sack');
        if (sack?.kind === 'sack' && ((sack.blocks[0]!.right - p.tcp.ack) | 0) <= 0) dsacks++;
      }
    }
    expect(retransmissions).toBeGreaterThan(50);
    expect(dsacks / retransmissions).toBeLessThan(0.15);
  });

  it('an out-of-order segment is answered at once with a duplicate ACK carrying a SACK block', () => {
    let dropped: Pkt | undefined;
    const { w, got, data } = bulk(3, 6000, (p) => {
      if (!dropped && p.tcp.payload.length === 1448) {
        dropped = p;
        return true;
      }
      return false;
    });
    expect(Buffer.compare(got, Buffer.from(data))).toBe(0);
    const sackAck = w.net.log.find((p) => p.src === w.server.addr && p.tcp.options.some((o) => o.kind === 'sack'));
    expect(sackAck).toBeDefined();
    expect(sackAck!.tcp.ack).toBe(dropped!.tcp.seq);
    expect(optString(sackAck!.tcp)).toBe('nop,nop,TS,nop,nop,sack');
  });
});

describe('ACK timing', () => {
  it('after the first exchange (pingpong) a request with no reply is acked by the delayed-ACK timer, 40 ms later', () => {
    const w = world(4, 50_000);
    let sconn: TcpConnection | undefined;
    let n = 0;
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
      sconn = c;
      c.handlers = { onData: () => (n++ === 0 ? c.send(REPLY43) : undefined) };
    });
    const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => c.send(REQ43) });
    w.engine.run(1 * SEC);
    expect(sconn).toBeDefined();
    const before = w.net.log.length;
    const sentAt = w.engine.now;
    conn.send(REQ24);
    w.engine.run(2 * SEC);
    const ack = w.net.log.slice(before).find((p) => p.src === w.server.addr)!;
    expect(flagString(ack.tcp.flags)).toBe('.');
    const delay = ack.t - (sentAt + 50_000);
    expect(delay).toBe(40 * MS);
  });

  it('two full-sized segments are acked at once (more than one rcv_mss unacknowledged)', () => {
    const w = world(4, 1 * MS);
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
    w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => c.send(new Uint8Array(30 * 1448)) });
    w.engine.run(5 * SEC);
    const acks = w.net.log.filter((p) => p.src === w.server.addr && p.tcp.payload.length === 0 && p.tcp.flags === 0x10);
    // every ACK is sent upon arrival of data (no timer-driven ACK in a bulk transfer)
    const dataArrivals = new Set(w.net.log.filter((p) => p.src === w.client.addr && p.tcp.payload.length > 0).map((p) => p.t + 1 * MS));
    expect(acks.every((a) => dataArrivals.has(a.t))).toBe(true);
    expect(acks.length).toBeGreaterThan(10);
  });
});

describe('Nagle and half-close', () => {
  it('a second small write waits for the ACK of the first (Nagle/Minshall); TCP_NODELAY sends it at once', () => {
    for (const noDelay of [false, true]) {
      const w = world(13, 1 * MS);
      w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
      w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => ((c.noDelay = noDelay), c.send(enc('a')), c.send(enc('b'))) });
      w.engine.run(1 * SEC);
      const [a, b] = w.net.log.filter((p) => p.tcp.payload.length > 0);
      expect(flagString(a!.tcp.flags)).toBe('P.');
      expect(flagString(b!.tcp.flags)).toBe('P.');
      if (noDelay) expect(b!.t).toBe(a!.t);
      else expect(b!.t).toBe(w.net.log.find((p) => p.src === w.server.addr && p.tcp.ack === b!.tcp.seq)!.t + 1 * MS);
    }
  });

  it('shutdown(SHUT_WR): our FIN goes out, the reply still comes in, then the peer’s FIN', () => {
    const w = world(14, 1 * MS);
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
      const parts: Uint8Array[] = [];
      c.handlers = { onData: (b) => parts.push(b), onPeerClose: (s) => (s.send(enc(`got ${Buffer.concat(parts).length}`)), s.close()) };
    });
    const events: string[] = [];
    const conn = w.client.tcp.connect(
      { dst: w.server.addr, dport: 80 },
      { onConnect: (c) => (c.send(enc('hello')), c.shutdown()), onData: (b) => events.push(Buffer.from(b).toString()), onPeerClose: (c) => (events.push('eof'), c.close()), onClose: () => events.push('close') },
    );
    w.engine.run(5 * SEC);
    expect(events).toEqual(['got 5', 'eof', 'close']);
    expect(conn.state).toBe('TIME_WAIT');
    expect(() => conn.send(enc('x'))).toThrow();
  });
});

describe('closing', () => {
  it('the active closer holds TIME_WAIT for 60 s, then the socket is gone', () => {
    const w = world();
    const { client } = requestReply(w, 8000, REQ43, REPLY43);
    w.engine.run(1 * SEC);
    expect(client.state).toBe('TIME_WAIT');
    expect(w.server.tcp.connections().length).toBe(0);
    const finT = w.net.log.at(-1)!.t;
    w.engine.run(finT + 60 * SEC - 1);
    expect(client.state).toBe('TIME_WAIT');
    w.engine.run(finT + 60 * SEC + 1);
    expect(client.state).toBe('CLOSED');
    expect(w.client.tcp.connections().length).toBe(0);
  });

  it('when the peer acks our FIN alone, the orphan waits in FIN_WAIT_2 and its last ACK comes from the timewait sock (id 0)', () => {
    const w = world(17, 1 * MS);
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onPeerClose: (s) => w.engine.after(100 * MS, () => s.close()) }));
    const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => c.send(enc('bye')) });
    w.engine.run(1 * SEC);
    conn.close();
    w.engine.run(2 * SEC);
    const tail = w.net.log.slice(-4).map((p) => `${p.src === w.client.addr ? 'C' : 'S'} ${flagString(p.tcp.flags)} ${p.id === 0 ? 'id0' : 'id'}`);
    // our FIN; the server's delayed ACK of it (40 ms, pingpong after the FIN); its FIN 100 ms later; our ACK
    expect(tail).toEqual(['C F. id', 'S . id', 'S F. id', 'C . id0']);
    expect(conn.state).toBe('TIME_WAIT');
  });

  it('a retransmitted FIN in TIME_WAIT is acked again (from the control socket: IP id 0)', () => {
    const w = world();
    const { client } = requestReply(w, 8000, REQ43, REPLY43);
    w.engine.run(1 * SEC);
    const fin = w.net.log.filter((p) => p.src === w.server.addr && p.tcp.flags & 0x01).at(-1)!;
    // replay the server's FIN into the client
    const pool = w.engine.pool;
    const slot = pool.alloc();
    const bytes = new Uint8Array(20 + 32);
    writeIpv4Header(new DataView(bytes.buffer), 0, 0, 52, 1234, true, 64, 6, fin.src, fin.dst);
    // rebuild the FIN's bytes from its repr
    emit(fin.tcp, bytes, 20, { src: fin.src, dst: fin.dst });
    pool.bytes.set(bytes, pool.base(slot) + ETH);
    const before = w.net.log.length;
    w.client.tcp.input(slot, ETH, ETH + 20, 32);
    const ack = w.net.log[before]!;
    expect(flagString(ack.tcp.flags)).toBe('.');
    expect(ack.id).toBe(0);
    expect(ack.tcp.ack).toBe((fin.tcp.seq + 1) >>> 0);
    expect(client.state).toBe('TIME_WAIT');
  });

  it('LAST_ACK: a retransmitted FIN is acked at once; the lost FIN is retransmitted; both sides end', () => {
    const w = world(15, 1 * MS);
    let droppedFin: Pkt | undefined;
    w.net.drop = (p) => (!droppedFin && p.src === w.server.addr && p.tcp.flags & 0x01 ? ((droppedFin = p), true) : false);
    const { client } = requestReply(w, 8000, REQ43, REPLY43);
    w.engine.run(1 * MS);
    const server = w.server.tcp.connections()[0];
    w.engine.run(5 * SEC);
    expect(droppedFin).toBeDefined();
    const clientFins = w.net.log.filter((p) => p.src === w.client.addr && p.tcp.flags & 0x01);
    expect(clientFins.length).toBeGreaterThanOrEqual(2);
    const again = clientFins[1]!;
    const answers = w.net.log.filter((p) => p.src === w.server.addr && p.t === again.t + 1 * MS);
    expect(answers.some((a) => flagString(a.tcp.flags) === '.' && a.tcp.ack === ((again.tcp.seq + 1) >>> 0))).toBe(true);
    expect(w.net.log.filter((p) => p.src === w.server.addr && p.tcp.flags & 0x01).length).toBe(2);
    expect(server!.state).toBe('CLOSED');
    expect(client.state).toBe('TIME_WAIT');
  });

  it('a new SYN for the 4-tuple of a TIME_WAIT socket ends it; the SYN-ACK starts at tw_snd_nxt + 65537', () => {
    const w = world(16, 1 * MS);
    let accepted = 0;
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
      accepted++;
      c.handlers = { onData: () => c.close() };
    });
    const first = w.client.tcp.connect({ dst: w.server.addr, dport: 80, sport: 40000 }, { onConnect: (c) => c.send(enc('x')), onPeerClose: (c) => c.close() });
    w.engine.run(1 * SEC);
    expect(first.state).toBe('CLOSED');
    const tw = w.server.tcp.connections()[0]!;
    expect(tw.state).toBe('TIME_WAIT');
    const serverFin = w.net.log.filter((p) => p.src === w.server.addr && p.tcp.flags & 0x01).at(-1)!;
    const before = w.net.log.length;
    const second = w.client.tcp.connect({ dst: w.server.addr, dport: 80, sport: 40000 }, {});
    w.engine.run(2 * SEC);
    expect(second.state).toBe('ESTABLISHED');
    expect(accepted).toBe(2);
    const synack = w.net.log.slice(before).find((p) => p.tcp.flags === 0x12)!;
    expect(synack.tcp.seq).toBe((serverFin.tcp.seq + 1 + 65537) >>> 0);
    // the same 4-tuple keeps its TS offset: the new SYN's TS val is later than anything before
    const tsOf = (p: Pkt) => (p.tcp.options.find((o) => o.kind === 'timestamps') as { tsVal: number }).tsVal;
    const syn2 = w.net.log[before]!;
    expect(tsOf(syn2) - tsOf(w.net.log[0]!)).toBe(Math.floor(syn2.t / MS) - Math.floor(w.net.log[0]!.t / MS));
  });

  it('RST for a connection: the peer sees reset', () => {
    const w = world();
    let serverErr = '';
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onError: (r) => (serverErr = r) }));
    const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {});
    w.engine.run(1 * SEC);
    conn.abort();
    w.engine.run(2 * SEC);
    expect(serverErr).toBe('reset');
    const rst = w.net.log.at(-1)!;
    expect(flagString(rst.tcp.flags)).toBe('R.');
  });

  it('an out-of-window segment is answered with an ACK and dropped', () => {
    const w = world();
    const got: Uint8Array[] = [];
    let sconn: TcpConnection | undefined;
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
      sconn = c;
      c.handlers = { onData: (b) => got.push(b) };
    });
    w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {});
    w.engine.run(1 * SEC);
    const last = w.net.log.filter((p) => p.src === w.client.addr).at(-1)!;
    const before = w.net.log.length;
    inject(w, w.server, last, { seq: (last.tcp.seq + 10_000_000) >>> 0, payload: enc('junk'), flags: 0x18 });
    expect(got.length).toBe(0);
    const ack = w.net.log[before]!;
    expect(flagString(ack.tcp.flags)).toBe('.');
    expect(ack.tcp.ack).toBe(last.tcp.seq);
    expect(sconn!.state).toBe('ESTABLISHED');
  });

  it('out-of-window segments without data get at most one ACK per 500 ms (tcp_invalid_ratelimit); old data a D-SACK', () => {
    const w = world();
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
    const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {});
    w.engine.run(1 * SEC);
    conn.send(enc('hello'));
    w.engine.run(2 * SEC);
    const data = w.net.log.find((p) => p.tcp.payload.length === 5)!;
    const last = w.net.log.filter((p) => p.src === w.client.addr).at(-1)!;
    const answers = () => w.net.log.filter((p) => p.src === w.server.addr && p.t >= w.engine.now).length;
    const far = { seq: (last.tcp.seq + 10_000_000) >>> 0, payload: new Uint8Array(0), flags: 0x10 };
    inject(w, w.server, last, far);
    inject(w, w.server, last, far);
    expect(answers()).toBe(1);
    w.engine.run(w.engine.now + 600 * MS);
    inject(w, w.server, last, far);
    expect(answers()).toBe(1);
    // a retransmission of data already received: immediate ACK with a D-SACK block for it
    const before = w.net.log.length;
    inject(w, w.server, data, {});
    const dup = w.net.log[before]!;
    const sack = dup.tcp.options.find((o) => o.kind === 'sack');
    expect(sack?.kind === 'sack' && sack.blocks[0]).toEqual({ left: data.tcp.seq, right: (data.tcp.seq + 5) >>> 0 });
  });
});

/** Hand `to` a copy of a logged segment with some fields changed, as if it came off the wire now. */
function inject(w: Rig, to: FakeHost, like: Pkt, change: Partial<TcpRepr>): void {
  const seg = { ...like.tcp, ...change };
  const bytes = new Uint8Array(20 + 60 + seg.payload.length);
  const l4 = emit(seg, bytes, 20, { src: like.src, dst: like.dst });
  writeIpv4Header(new DataView(bytes.buffer), 0, 0, 20 + l4, 999, true, 64, 6, like.src, like.dst);
  const pool = w.engine.pool;
  const slot = pool.alloc();
  pool.bytes.set(bytes.subarray(0, 20 + l4), pool.base(slot) + ETH);
  to.tcp.input(slot, ETH, ETH + 20, l4);
}

describe('ports', () => {
  it('ephemeral ports are even, in 32768..60999, distinct, and the same for the same seed', () => {
    const ports = (seed: number) => {
      const w = world(seed);
      const out: number[] = [];
      for (let i = 0; i < 50; i++) out.push(w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {}).localPort);
      return out;
    };
    const a = ports(11);
    expect(a.every((p) => p >= 32768 && p <= 60999 && p % 2 === 0)).toBe(true);
    expect(new Set(a).size).toBe(50);
    expect(ports(11)).toEqual(a);
    expect(ports(12)).not.toEqual(a);
  });

  it('EADDRINUSE where Linux refuses; SO_REUSEADDR over TIME_WAIT; addresses that do not overlap are fine', () => {
    const w = world();
    const t = w.server.tcp;
    t.listen({ addr: 0, port: 80 }, () => {});
    expect(() => t.listen({ addr: 0, port: 80 }, () => {})).toThrow(TcpError);
    expect(() => t.listen({ addr: w.server.addr, port: 80 }, () => {})).toThrow(/EADDRINUSE|in use/);
    const l = t.listen({ addr: w.server.addr, port: 81 }, () => {});
    expect(() => t.listen({ addr: 0, port: 81 }, () => {})).toThrow(TcpError);
    l.close();
    t.listen({ addr: 0, port: 81 }, () => {});
    try {
      t.listen({ addr: 0, port: 80 }, () => {});
    } catch (e) {
      expect((e as TcpError).code).toBe('EADDRINUSE');
    }
    // a server that closed first leaves TIME_WAIT: rebinding needs SO_REUSEADDR
    const w2 = world();
    const l2 = w2.server.tcp.listen({ addr: 0, port: 90 }, (c) => (c.handlers = { onData: () => c.close() }));
    w2.client.tcp.connect({ dst: w2.server.addr, dport: 90 }, { onConnect: (c) => c.send(enc('x')), onPeerClose: (c) => c.close() });
    w2.engine.run(1 * SEC);
    expect(w2.server.tcp.connections().map((c) => c.state)).toEqual(['TIME_WAIT']);
    l2.close();
    expect(() => w2.server.tcp.listen({ addr: 0, port: 90 }, () => {})).toThrow(TcpError);
    const w3 = world();
    const l3 = w3.server.tcp.listen({ addr: 0, port: 90, reuseaddr: true }, (c) => (c.handlers = { onData: () => c.close() }));
    w3.client.tcp.connect({ dst: w3.server.addr, dport: 90 }, { onConnect: (c) => c.send(enc('x')), onPeerClose: (c) => c.close() });
    w3.engine.run(1 * SEC);
    l3.close();
    expect(() => w3.server.tcp.listen({ addr: 0, port: 90, reuseaddr: true }, () => {})).not.toThrow();
  });

  it('binding a connect to an address that is not ours is EADDRNOTAVAIL; so is listening on one', () => {
    const w = world();
    expect(() => w.client.tcp.connect({ dst: w.server.addr, dport: 80, src: parseIpv4('192.0.2.77') }, {})).toThrow(/not local/);
    expect(() => w.client.tcp.listen({ addr: parseIpv4('192.0.2.77'), port: 80 }, () => {})).toThrow(TcpError);
  });

  it('an explicit source port already connected to the same destination is EADDRINUSE', () => {
    const w = world();
    w.server.tcp.listen({ addr: 0, port: 80 }, () => {});
    w.client.tcp.connect({ dst: w.server.addr, dport: 80, sport: 40000 }, {});
    expect(() => w.client.tcp.connect({ dst: w.server.addr, dport: 80, sport: 40000 }, {})).toThrow(TcpError);
  });

  it('SO_REUSEPORT: listeners share a port and connections spread over them by 4-tuple hash', () => {
    const w = world();
    const counts = [0, 0, 0];
    for (let i = 0; i < 3; i++) w.server.tcp.listen({ addr: 0, port: 80, reuseport: true }, () => counts[i]!++);
    expect(() => w.server.tcp.listen({ addr: 0, port: 80 }, () => {})).toThrow(TcpError);
    for (let i = 0; i < 60; i++) w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {});
    w.engine.run(1 * SEC);
    expect(counts.reduce((a, b) => a + b)).toBe(60);
    expect(counts.every((c) => c >= 8)).toBe(true);
  });

  it('a listener on the address beats the wildcard one', () => {
    const w = world();
    const hits: string[] = [];
    w.server.tcp.listen({ addr: 0, port: 8080, reuseport: true }, () => hits.push('any'));
    w.server.tcp.listen({ addr: w.server.addr, port: 8080, reuseport: true }, () => hits.push('exact'));
    w.client.tcp.connect({ dst: w.server.addr, dport: 8080 }, {});
    w.engine.run(1 * SEC);
    expect(hits).toEqual(['exact']);
  });
});

describe('determinism', () => {
  it('the same seed gives the same segments byte for byte; another seed other ISNs', () => {
    const run = (seed: number) => {
      const w = world(seed);
      requestReply(w, 8000, REQ43, REPLY43);
      w.engine.run(100 * SEC);
      return w.net.log.map((p) => [p.t, p.id, p.tcp.seq, p.tcp.ack, p.tcp.flags, p.tcp.window, optString(p.tcp)]);
    };
    expect(run(21)).toEqual(run(21));
    expect(run(22)[0]![2]).not.toBe(run(21)[0]![2]);
  });
});

describe('through the real Host (src/stack) on a veth pair', () => {
  /** ct1 ↔ ct2 as in bridge-learning (no bridge: a veth pair carries the same frames), tapped on ct1. */
  function pair(seed: number): { w: World; ct1: Namespace; ct2: Namespace; frames: Pkt[] } {
    const w = new World({ seed });
    const ct1 = w.namespace('ct1');
    const ct2 = w.namespace('ct2');
    const [eth0] = w.vethPair(ct1, 'eth0', { mac: '02:42:ac:11:00:02', addrs: ['172.17.0.2/16'] }, ct2, 'eth0', { mac: '02:42:ac:11:00:03', addrs: ['172.17.0.3/16'] });
    const frames: Pkt[] = [];
    eth0.taps.push({
      frame(t, bytes, offset, length) {
        const d = bytes.slice(offset, offset + length);
        if (((d[12]! << 8) | d[13]!) !== 0x0800) return;
        const ip = parseIp(d, ETH, d.length - ETH);
        if (ip.protocol !== 6) return;
        const tcp = parseTcp(d, ETH + 20, ip.totalLength - 20);
        frames.push({ t, src: ip.src, dst: ip.dst, id: ip.id, df: ip.df, ttl: ip.ttl, tos: ip.tos, tcp, checksumOk: verifyTcpChecksum(d, ETH + 20, ip.totalLength - 20, ip.src, ip.dst) });
      },
    });
    return { w, ct1, ct2, frames };
  }

  it('the bridge-learning exchange on ct1.eth0 matches the real one segment by segment', () => {
    const { w, ct1, ct2, frames } = pair(5);
    let answered = false;
    ct2.tcp.listen({ addr: 0, port: 8000 }, (conn) => {
      conn.handlers = { onData: (_b, c) => (answered ? undefined : ((answered = true), c.send(REPLY43))), onPeerClose: (c) => c.close() };
    });
    const got: Uint8Array[] = [];
    const conn = ct1.tcp.connect({ dst: parseIpv4('172.17.0.3'), dport: 8000 }, { onConnect: (c) => c.send(REQ43), onData: (b, c) => (got.push(b), c.close()) });
    w.engine.run(5 * SEC);
    expect(Buffer.concat(got).toString()).toBe(Buffer.from(REPLY43).toString());
    expect(conn.state).toBe('TIME_WAIT');
    expect(conn.localPort % 2).toBe(0);
    const real = realTcp(FIX + 'bridge-learning/ct1.eth0.pcap', 8000);
    expect(normalise(frames, parseIpv4('172.17.0.2'))).toEqual(normalise(real, real[0]!.src));
    expect(frames.every((f) => f.checksumOk && f.ttl === 64)).toBe(true);
  });

  it('an ICMP port unreachable (iptables REJECT) ends the connect at once: refused, one SYN only', () => {
    const { w, ct1, ct2, frames } = pair(7);
    ct2.netfilter.load(iptables({}, { INPUT: [R({ kind: 'REJECT', with: 'icmp-port-unreachable' }, { proto: { name: 'tcp', neg: false }, dport: { port: 8000, neg: false } })] }));
    ct2.tcp.listen({ addr: 0, port: 8000 }, () => {});
    const events: string[] = [];
    const conn = ct1.tcp.connect({ dst: parseIpv4('172.17.0.3'), dport: 8000 }, { onError: (r) => events.push(r), onClose: () => events.push('close') });
    w.engine.run(30 * SEC);
    expect(events).toEqual(['refused', 'close']);
    expect(conn.state).toBe('CLOSED');
    expect(frames.filter((f) => f.src === parseIpv4('172.17.0.2')).length).toBe(1);
  });

  it('an ICMP host unreachable ends it as unreachable; errors about established connections change nothing', () => {
    const { w, ct1, ct2 } = pair(8);
    ct2.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
    const events: string[] = [];
    const conn = ct1.tcp.connect({ dst: parseIpv4('172.17.0.3'), dport: 80 }, { onError: (r) => events.push(r) });
    w.engine.run(1 * SEC);
    const e = { type: 3, code: 1, info: 0, from: parseIpv4('172.17.0.3'), src: conn.localAddress, dst: conn.remoteAddress, proto: 6, sport: conn.localPort, dport: 80 };
    ct1.tcp.err(e);
    expect(conn.state).toBe('ESTABLISHED');
    const c2 = ct1.tcp.connect({ dst: parseIpv4('172.17.0.9'), dport: 80 }, { onError: (r) => events.push(r) });
    ct1.tcp.err({ ...e, dst: c2.remoteAddress, sport: c2.localPort });
    expect(events).toEqual(['unreachable']);
    expect(c2.state).toBe('CLOSED');
  });

  it('over loopback: mss 65495 and windows 65495/65483 as Linux shows them; segments still fit a pool slot', () => {
    const w = new World({ seed: 3 });
    const ns = w.namespace('solo');
    if (!ns.host.isLocal(parseIpv4('127.0.0.1'))) ns.host.addAddress('lo', '127.0.0.1/8');
    const seen: TcpRepr[] = [];
    ns.device('lo').taps.push({
      frame(_t, bytes, offset, length, dir) {
        if (dir !== 'in') return;
        const d = bytes.slice(offset, offset + length);
        if (d[ETH + 9] === 6) seen.push(parseTcp(d, ETH + 20, length - ETH - 20));
      },
    });
    const got: Uint8Array[] = [];
    ns.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onData: (b) => got.push(b) }));
    const data = new Uint8Array(100_000).map((_, i) => (i * 13) & 0xff);
    ns.tcp.connect({ dst: parseIpv4('127.0.0.1'), dport: 80 }, { onConnect: (c) => c.send(data) });
    w.engine.run(5 * SEC);
    expect(Buffer.compare(Buffer.concat(got), Buffer.from(data))).toBe(0);
    expect(optString(seen[0]!)).toBe('mss 65495,sackOK,TS,nop,wscale 10');
    expect(seen[0]!.window).toBe(65495);
    expect(seen[1]!.window).toBe(65483);
    expect(Math.max(...seen.map((t) => t.payload.length))).toBeLessThanOrEqual(2048 - 34 - 60);
  });

  it('a closed port answers the SYN with RST/ACK through the Host, and connect hears refused', () => {
    const { w, ct1, frames } = pair(6);
    const events: string[] = [];
    ct1.tcp.connect({ dst: parseIpv4('172.17.0.3'), dport: 9999 }, { onError: (r) => events.push(r) });
    w.engine.run(5 * SEC);
    expect(events).toEqual(['refused']);
    const real = realTcp(FIX + 'publish/client.eth0.pcap', 9999);
    expect(normalise(frames, parseIpv4('172.17.0.2'))).toEqual(normalise(real, real[0]!.src));
  });
});
