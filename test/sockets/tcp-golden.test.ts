// TCP golden: the exact bytes and times of every datagram TCP sends on the paths the captures of the
// examples rarely reach — retransmission (RTO doubling, black hole to ETIMEDOUT), SACK and D-SACK,
// tail loss probe and RACK, SYN and SYN-ACK retransmission, path MTU, delayed ACK and quick ACK,
// Nagle, half-close, FIN_WAIT_2, LAST_ACK, TIME_WAIT (retransmitted FIN, reopen by a new SYN),
// out-of-window ACK rate limit, RST, ICMP errors, loopback — hashed per case. Any refactor of
// src/sockets/tcp* must leave every hash as it is; a change meant to alter TCP's bytes regenerates
// test/sockets/tcp-golden.json and says why in its commit message:
//
//   WIREBOX_UPDATE_GOLDEN=1 npx vitest run test/sockets/tcp-golden.test.ts
//
// Keepalive (tcp_keepalive_timer) is not implemented by wirebox's TCP, so it has no case here.
// The rig is the two-host rig of tcp.test.ts: a fake Ipv4Sender writes the IPv4 header and carries the
// datagram to the other host after a one-way latency, dropping, duplicating or delaying as told.

import { createHash, type Hash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { Prng } from '../../src/sim/prng.js';
import type { Ipv4Sender, L4Header } from '../../src/sockets/transport.js';
import { Tcp, type TcpConnection } from '../../src/sockets/tcp.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';
import { World } from '../../src/world/world.js';
import { R, plan as iptables } from '../netfilter/helpers.js';

const MS = 1_000_000;
const SEC = 1_000_000_000;
const ETH = 14;
const GOLDEN = new URL('./tcp-golden.json', import.meta.url).pathname;
const UPDATE = process.env.WIREBOX_UPDATE_GOLDEN === '1';

/** A datagram as logged: time, addresses, TCP flags/seq/len for the drop rules, and its bytes. */
interface Pkt {
  t: number;
  src: number;
  dst: number;
  flags: number;
  seq: number;
  len: number;
  df: boolean;
  sport: number;
  dport: number;
  bytes: Uint8Array;
}

class Net {
  readonly hosts = new Map<number, FakeHost>();
  readonly log: Pkt[] = [];
  drop: (p: Pkt) => boolean = () => false;
  jitter: (p: Pkt) => number = () => 0;
  duplicate: (p: Pkt) => boolean = () => false;
  constructor(
    readonly engine: Engine,
    readonly latency: number,
    readonly hash: Hash,
  ) {}

  transmit(slot: number, l4len: number, h: L4Header): boolean {
    const pool = this.engine.pool;
    const base = pool.base(slot);
    writeIpv4Header(pool.view, base + ETH, h.tos, 20 + l4len, h.id, h.df, h.ttl, h.proto, h.src, h.dst);
    const bytes = pool.bytes.slice(base + ETH, base + ETH + 20 + l4len);
    const v = new DataView(bytes.buffer);
    const p: Pkt = { t: this.engine.now, src: h.src, dst: h.dst, sport: v.getUint16(20), dport: v.getUint16(22), seq: v.getUint32(24), flags: bytes[33]!, len: l4len - (bytes[32]! >> 4) * 4, df: h.df, bytes };
    this.log.push(p);
    this.hash.update(`${p.t} `).update(bytes);
    const dstHost = this.hosts.get(h.dst);
    if (!dstHost || this.drop(p)) {
      pool.release(slot);
      return true;
    }
    this.hash.update('>');
    if (this.duplicate(p)) {
      const copy = pool.clone(slot);
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

interface Rig {
  engine: Engine;
  net: Net;
  client: FakeHost;
  server: FakeHost;
  /** Notes the case adds to its hash (events, outcomes, states). */
  note(s: string): void;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const pattern = (n: number, k: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * k + (i >> 8)) & 0xff);

function rig(hash: Hash, seed: number, latency = 1 * MS): Rig {
  const engine = new Engine({ seed });
  const net = new Net(engine, latency, hash);
  const client = new FakeHost(net, parseIpv4('172.17.0.2'), 'client');
  const server = new FakeHost(net, parseIpv4('198.51.100.1'), 'server');
  return { engine, net, client, server, note: (s) => void hash.update(`|${engine.now} ${s}|`) };
}

/** The README's service: the server answers the first data, reads to EOF and closes; the client closes after the reply. */
function requestReply(w: Rig, port: number, request: Uint8Array, reply: Uint8Array, sport?: number): TcpConnection {
  w.server.tcp.listen({ addr: 0, port, reuseaddr: true }, (conn) => {
    let answered = false;
    conn.handlers = {
      onData: () => (answered ? undefined : ((answered = true), conn.send(reply))),
      onPeerClose: () => conn.close(),
      onClose: () => w.note('server-close'),
      onError: (r) => w.note(`server-error ${r}`),
    };
  });
  return w.client.tcp.connect(
    { dst: w.server.addr, dport: port, sport },
    { onConnect: (c) => (w.note('connect'), c.send(request)), onData: (b, c) => (w.note(`data ${b.length}`), c.close()), onClose: () => w.note('client-close'), onError: (r) => w.note(`error ${r}`) },
  );
}

/** One-way bulk: the client writes `size` bytes and closes; the server reads to EOF and closes. */
function bulk(w: Rig, size: number, port = 5001): TcpConnection {
  const data = pattern(size, 7);
  let got = 0;
  w.server.tcp.listen({ addr: 0, port }, (conn) => {
    conn.handlers = { onData: (b) => void (got += b.length), onPeerClose: (c) => (w.note(`got ${got}`), c.close()), onClose: () => w.note('server-close') };
  });
  return w.client.tcp.connect({ dst: w.server.addr, dport: port }, { onConnect: (c) => (c.send(data), c.close()), onClose: () => w.note('client-close'), onError: (r) => w.note(`error ${r}`) });
}

/** Hand `to` a copy of a logged datagram, its TCP header changed by `edit`, checksum refilled. */
function inject(w: Rig, to: FakeHost, like: Pkt, edit: (v: DataView, b: Uint8Array) => Uint8Array = (_v, b) => b): void {
  const b = edit(new DataView(like.bytes.buffer.slice(0)), like.bytes.slice());
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  writeIpv4Header(v, 0, 0, b.length, 999, true, 64, 6, like.src, like.dst);
  v.setUint16(36, 0);
  let sum = (like.src >>> 16) + (like.src & 0xffff) + (like.dst >>> 16) + (like.dst & 0xffff) + 6 + (b.length - 20);
  for (let i = 20; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(36, ~sum & 0xffff);
  const pool = w.engine.pool;
  const slot = pool.alloc();
  pool.bytes.set(b, pool.base(slot) + ETH);
  to.tcp.input(slot, ETH, ETH + 20, b.length - 20);
}

type Case = (hash: Hash) => void;

const CASES: Record<string, Case> = {};
for (const seed of [1, 2]) {
  CASES[`request-reply@${seed}`] = (h) => {
    const w = rig(h, seed, 50_000);
    const c = requestReply(w, 8000, enc('GET / HTTP/1.0\r\n\r\n'), enc('HTTP/1.0 200 OK\r\n\r\nhi'));
    w.engine.run(70 * SEC);
    w.note(c.state);
  };
  CASES[`bulk-100k@${seed}`] = (h) => {
    const w = rig(h, seed);
    bulk(w, 100_000);
    w.engine.run(70 * SEC);
  };
  CASES[`bulk-1M-autotune@${seed}`] = (h) => {
    const w = rig(h, seed + 4);
    bulk(w, 1_000_000);
    w.engine.run(70 * SEC);
  };
}
for (const [seed, pct] of [
  [1, 2],
  [2, 5],
  [3, 10],
  [4, 20],
] as const) {
  CASES[`random-loss-${pct}%@${seed}`] = (h) => {
    const w = rig(h, seed);
    const rng = new Prng(seed * 1000 + pct);
    w.net.drop = (p) => p.flags !== 0x02 && rng.below(100) < pct;
    bulk(w, 200_000);
    w.engine.run(120 * SEC);
  };
}
for (let seed = 1; seed <= 6; seed++) {
  CASES[`chaos@${seed}`] = (h) => {
    const w = rig(h, seed);
    const rng = new Prng(seed * 7919);
    w.net.drop = () => rng.below(100) < 10;
    w.net.duplicate = () => rng.below(100) < 5;
    w.net.jitter = () => rng.below(3_000_000);
    const up = pattern(40_000 + seed * 1000, 31);
    const down = pattern(30_000 + seed * 777, 17);
    let gotDown = 0;
    let gotUp = 0;
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
      c.send(down);
      c.handlers = { onData: (b) => void (gotUp += b.length), onPeerClose: (x) => (w.note(`up ${gotUp}`), x.close()), onClose: () => w.note('server-close') };
    });
    w.client.tcp.connect(
      { dst: w.server.addr, dport: 80 },
      { onConnect: (c) => c.send(up), onData: (b, c) => ((gotDown += b.length), gotDown === down.length ? c.close() : undefined), onClose: () => w.note('client-close') },
    );
    w.engine.run(600 * SEC);
  };
}
CASES['black-hole-rto-etimedout'] = (h) => {
  const w = rig(h, 10);
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
  const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onError: (r) => w.note(`error ${r}`) });
  w.engine.run(1 * SEC);
  w.net.drop = () => true;
  conn.send(enc('x'.repeat(100)));
  w.engine.run(2000 * SEC);
  w.note(conn.state);
};
CASES['tlp-rack-two-lost-tail'] = (h) => {
  const w = rig(h, 9);
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
  let conn: TcpConnection | undefined;
  w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => (conn = c) });
  w.engine.run(1 * SEC);
  let data = 0;
  let dropped = 0;
  w.net.drop = (p) => p.len > 0 && ++data >= 3 && dropped < 2 && ++dropped > 0;
  conn!.send(new Uint8Array(4 * 1448));
  w.engine.run(3 * SEC);
  w.note(conn!.state);
};
CASES['lost-last-segment-probe'] = (h) => {
  const w = rig(h, 2);
  let done = false;
  w.net.drop = (p) => !done && p.len > 0 && (p.flags & 0x08) !== 0 && (done = true);
  bulk(w, 20_000);
  w.engine.run(70 * SEC);
};
CASES['first-flight-loss-rack'] = (h) => {
  const w = rig(h, 6);
  let n = 0;
  w.net.drop = (p) => p.len > 0 && ++n === 4;
  bulk(w, 60_000);
  w.engine.run(70 * SEC);
};
CASES['ooo-sack-dupack'] = (h) => {
  const w = rig(h, 3);
  let done = false;
  w.net.drop = (p) => !done && p.len === 1448 && (done = true);
  bulk(w, 6000);
  w.engine.run(70 * SEC);
};
CASES['syn-retransmission-timeout'] = (h) => {
  const w = rig(h, 1, 50_000);
  w.net.drop = () => true;
  w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onError: (r) => w.note(`error ${r}`) });
  w.engine.run(300 * SEC);
};
CASES['syn-two-lost'] = (h) => {
  const w = rig(h, 1, 50_000);
  let dropped = 0;
  w.net.drop = (p) => p.flags === 0x02 && dropped < 2 && ++dropped > 0;
  w.server.tcp.listen({ addr: 0, port: 80 }, () => {});
  w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: () => w.note('connect') });
  w.engine.run(10 * SEC);
};
CASES['synack-retransmission'] = (h) => {
  const w = rig(h, 1, 50_000);
  w.net.drop = (p) => p.src === w.server.addr;
  w.server.tcp.listen({ addr: 0, port: 80 }, () => {});
  w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onError: (r) => w.note(`error ${r}`) });
  w.engine.run(200 * SEC);
};
CASES['pmtu-frag-needed'] = (h) => {
  const w = rig(h, 12);
  let got = 0;
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onData: (b) => void (got += b.length) }));
  let conn: TcpConnection | undefined;
  w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => (conn = c) });
  w.engine.run(1 * SEC);
  w.net.drop = (p) => {
    if (20 + p.len + 32 <= 1400 || !p.df) return false;
    w.engine.after(500_000, () => w.client.tcp.err({ type: 3, code: 4, info: 1400, from: parseIpv4('192.0.2.1'), src: p.src, dst: p.dst, proto: 6, sport: p.sport, dport: p.dport }));
    return true;
  };
  conn!.send(pattern(20_000, 1));
  w.engine.run(5 * SEC);
  w.note(`got ${got}`);
};
CASES['cwnd-idle-restart'] = (h) => {
  for (const idle of [false, true]) {
    const w = rig(h, 19);
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
      c.handlers = { onData: (b, s) => s.send(Buffer.from(b).toString() === 'big' ? new Uint8Array(100_000) : enc('ok')) };
    });
    let replies = 0;
    w.client.tcp.connect(
      { dst: w.server.addr, dport: 80 },
      {
        onConnect: (c) => c.send(enc('go')),
        onData: (b, c) => {
          if (b.length !== 2) return;
          if (++replies < 50) c.send(enc('again'));
          else if (idle) {
            c.send(enc('big'));
            w.engine.after(10 * SEC, () => c.send(enc('big')));
          } else c.send(enc('big'));
        },
      },
    );
    w.engine.run(20 * SEC);
  }
};
CASES['delayed-ack-pingpong'] = (h) => {
  const w = rig(h, 4, 50_000);
  let n = 0;
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onData: () => (n++ === 0 ? c.send(enc('HTTP/1.1 200 OK\r\n\r\nhello')) : undefined) }));
  const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => c.send(enc('GET / HTTP/1.1\r\n\r\n')) });
  w.engine.run(1 * SEC);
  conn.send(enc('GET /status HTTP/1.1\r\n\r\n'));
  w.engine.run(2 * SEC);
};
CASES['nagle-and-nodelay'] = (h) => {
  for (const noDelay of [false, true]) {
    const w = rig(h, 13);
    w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
    w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => ((c.noDelay = noDelay), c.send(enc('a')), c.send(enc('b'))) });
    w.engine.run(1 * SEC);
  }
};
CASES['shutdown-half-close'] = (h) => {
  const w = rig(h, 14);
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
    let n = 0;
    c.handlers = { onData: (b) => void (n += b.length), onPeerClose: (s) => (s.send(enc(`got ${n}`)), s.close()) };
  });
  w.client.tcp.connect(
    { dst: w.server.addr, dport: 80 },
    { onConnect: (c) => (c.send(enc('hello')), c.shutdown()), onData: (b) => w.note(`data ${b.length}`), onPeerClose: (c) => (w.note('eof'), c.close()), onClose: () => w.note('close') },
  );
  w.engine.run(70 * SEC);
};
CASES['fin-wait-2-orphan'] = (h) => {
  const w = rig(h, 17);
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onPeerClose: (s) => w.engine.after(100 * MS, () => s.close()) }));
  const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => c.send(enc('bye')) });
  w.engine.run(1 * SEC);
  conn.close();
  w.engine.run(70 * SEC);
  w.note(conn.state);
};
CASES['fin-wait-2-timeout'] = (h) => {
  const w = rig(h, 18);
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
  const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, { onConnect: (c) => c.send(enc('bye')) });
  w.engine.run(1 * SEC);
  conn.close();
  w.engine.run(200 * SEC);
  w.note(conn.state);
};
CASES['time-wait-fin-retransmitted'] = (h) => {
  const w = rig(h, 1, 50_000);
  const client = requestReply(w, 8000, enc('GET / HTTP/1.0\r\n\r\n'), enc('HTTP/1.0 200 OK\r\n\r\nhi'));
  w.engine.run(1 * SEC);
  const fin = w.net.log.filter((p) => p.src === w.server.addr && p.flags & 0x01).at(-1)!;
  inject(w, w.client, fin);
  w.engine.run(2 * SEC);
  inject(w, w.client, fin);
  w.engine.run(70 * SEC);
  w.note(client.state);
};
CASES['last-ack-lost-fin'] = (h) => {
  const w = rig(h, 15);
  let done = false;
  w.net.drop = (p) => !done && p.src === w.server.addr && (p.flags & 0x01) !== 0 && (done = true);
  requestReply(w, 8000, enc('GET / HTTP/1.0\r\n\r\n'), enc('HTTP/1.0 200 OK\r\n\r\nhi'));
  w.engine.run(70 * SEC);
};
CASES['time-wait-reopen-by-syn'] = (h) => {
  const w = rig(h, 16);
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => {
    w.note('accept');
    c.handlers = { onData: () => c.close() };
  });
  w.client.tcp.connect({ dst: w.server.addr, dport: 80, sport: 40000 }, { onConnect: (c) => c.send(enc('x')), onPeerClose: (c) => c.close() });
  w.engine.run(1 * SEC);
  const second = w.client.tcp.connect({ dst: w.server.addr, dport: 80, sport: 40000 }, { onConnect: (c) => (w.note('connect2'), c.send(enc('y'))) });
  w.engine.run(70 * SEC);
  w.note(second.state);
};
CASES['rst-abort'] = (h) => {
  const w = rig(h, 1, 50_000);
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onError: (r) => w.note(`server ${r}`) }));
  const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {});
  w.engine.run(1 * SEC);
  conn.abort();
  w.engine.run(2 * SEC);
};
CASES['closed-port-and-stray-ack'] = (h) => {
  const w = rig(h, 1, 50_000);
  w.client.tcp.connect({ dst: w.server.addr, dport: 81 }, { onError: (r) => w.note(`error ${r}`) });
  w.engine.run(1 * SEC);
  const syn = w.net.log[0]!;
  inject(w, w.server, syn, (v, b) => (v.setUint8(33, 0x10), v.setUint32(28, 12345), b));
  w.engine.run(2 * SEC);
};
CASES['out-of-window-ratelimit-dsack'] = (h) => {
  const w = rig(h, 1, 50_000);
  w.server.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = {}));
  const conn = w.client.tcp.connect({ dst: w.server.addr, dport: 80 }, {});
  w.engine.run(1 * SEC);
  conn.send(enc('hello'));
  w.engine.run(2 * SEC);
  const data = w.net.log.find((p) => p.len === 5)!;
  const last = w.net.log.filter((p) => p.src === w.client.addr).at(-1)!;
  const far = (v: DataView, b: Uint8Array): Uint8Array => (v.setUint32(24, (last.seq + 10_000_000) >>> 0), b);
  inject(w, w.server, last, far);
  inject(w, w.server, last, far);
  w.engine.run(w.engine.now + 600 * MS);
  inject(w, w.server, last, far);
  inject(w, w.server, data);
  inject(w, w.server, data, (v, b) => (v.setUint32(24, (data.seq + 10_000_000) >>> 0), b));
  w.engine.run(5 * SEC);
};
CASES['connect-unroutable'] = (h) => {
  const w = rig(h, 1);
  w.client.tcp.connect({ dst: parseIpv4('203.0.113.99'), dport: 80 }, { onError: (r) => w.note(`error ${r}`) });
  w.engine.run(1 * SEC);
};

/** Cases through the real Host (src/stack): a veth pair, iptables REJECT, ICMP errors, loopback. */
function worldCase(h: Hash, seed: number, body: (w: World, note: (s: string) => void) => void): void {
  const w = new World({ seed });
  body(w, (s) => void h.update(`|${w.engine.now} ${s}|`));
}
function tapAll(w: World, h: Hash): void {
  for (const ns of w.namespaces.values()) {
    for (const d of ns.order) d.taps.push({ frame: (t, b, o, l, dir) => void h.update(`${ns.name}.${d.name} ${dir} ${t} `).update(b.subarray(o, o + l)) });
  }
}
function pairWorld(w: World) {
  const ct1 = w.namespace('ct1');
  const ct2 = w.namespace('ct2');
  w.vethPair(ct1, 'eth0', { mac: '02:42:ac:11:00:02', addrs: ['172.17.0.2/16'] }, ct2, 'eth0', { mac: '02:42:ac:11:00:03', addrs: ['172.17.0.3/16'] });
  return { ct1, ct2 };
}
CASES['host-veth-exchange-reject-closed'] = (h) =>
  worldCase(h, 5, (w, note) => {
    const { ct1, ct2 } = pairWorld(w);
    tapAll(w, h);
    ct2.tcp.listen({ addr: 0, port: 8000 }, (conn) => (conn.handlers = { onData: (_b, c) => c.send(enc('HTTP/1.1 200 OK\r\n\r\nhello')), onPeerClose: (c) => c.close() }));
    ct1.tcp.connect({ dst: parseIpv4('172.17.0.3'), dport: 8000 }, { onConnect: (c) => c.send(enc('GET / HTTP/1.1\r\n\r\n')), onData: (_b, c) => c.close(), onClose: () => note('close') });
    w.engine.run(5 * SEC);
    ct1.tcp.connect({ dst: parseIpv4('172.17.0.3'), dport: 9999 }, { onError: (r) => note(`closed ${r}`) });
    w.engine.run(10 * SEC);
    ct2.netfilter.load(iptables({}, { INPUT: [R({ kind: 'REJECT', with: 'icmp-port-unreachable' }, { proto: { name: 'tcp', neg: false }, dport: { port: 8001, neg: false } })] }));
    ct1.tcp.connect({ dst: parseIpv4('172.17.0.3'), dport: 8001 }, { onError: (r) => note(`reject ${r}`) });
    w.engine.run(20 * SEC);
    const c = ct1.tcp.connect({ dst: parseIpv4('172.17.0.3'), dport: 8000 }, { onError: (r) => note(`est ${r}`) });
    w.engine.run(21 * SEC);
    ct1.tcp.err({ type: 3, code: 1, info: 0, from: parseIpv4('172.17.0.3'), src: c.localAddress, dst: c.remoteAddress, proto: 6, sport: c.localPort, dport: 8000 });
    note(c.state);
  });
CASES['host-loopback-100k'] = (h) =>
  worldCase(h, 3, (w) => {
    const ns = w.namespace('solo');
    if (!ns.host.isLocal(parseIpv4('127.0.0.1'))) ns.host.addAddress('lo', '127.0.0.1/8');
    tapAll(w, h);
    ns.tcp.listen({ addr: 0, port: 80 }, (c) => (c.handlers = { onData: () => undefined, onPeerClose: (x) => x.close() }));
    ns.tcp.connect({ dst: parseIpv4('127.0.0.1'), dport: 80 }, { onConnect: (c) => (c.send(pattern(100_000, 13)), c.close()) });
    w.engine.run(70 * SEC);
  });

describe('TCP golden (bytes and times of every datagram, per path)', () => {
  const want: Record<string, string> = existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, 'utf8')) : {};
  const got: Record<string, string> = {};
  for (const [name, run] of Object.entries(CASES)) {
    it(name, () => {
      const h = createHash('sha256');
      run(h);
      got[name] = h.digest('hex').slice(0, 16);
      if (UPDATE) return;
      expect(got[name], `${name}: TCP's bytes differ from test/sockets/tcp-golden.json (a change meant to alter them regenerates it with WIREBOX_UPDATE_GOLDEN=1 and says why)`).toBe(want[name]);
    });
  }
  it('tcp-golden.json names exactly these cases', () => {
    if (UPDATE) {
      writeFileSync(GOLDEN, JSON.stringify(got, null, 1) + '\n');
      return;
    }
    expect(Object.keys(want).sort()).toEqual(Object.keys(CASES).sort());
  });
});
