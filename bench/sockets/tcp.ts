// TCP benchmark: whole connections between two namespaces' Tcp instances on the two-host rig of
// test/sockets/tcp.test.ts (a fake Ipv4Sender writes the IPv4 header and hands the datagram to the other
// host after 50 µs). Cases per operation: a 256 kB one-way bulk transfer (handshake, ~180 data segments,
// their ACKs, FIN exchange), and the README's request/reply (43-byte request, 43-byte reply, close).
//
// Old vs new, side by side in the same process: set WIREBOX_BENCH_BASELINE to the root of another
// checkout of wirebox (for instance `git worktree add --detach /tmp/wb-old <commit>`, with node_modules
// linked) and its src/sockets/tcp.ts and src/sim/engine.ts are loaded next to this tree's; the suite's
// baseline is then the old tree's bulk transfer, and "N.NN× baseline" says how many times its time the
// new code takes (≤ 1.00 means no slower). Without the variable the baseline is a copy of the 256 kB.
//
//   WIREBOX_BENCH_BASELINE=/tmp/wb-old npm run bench -- --quick sockets

import Benchmark from 'benchmark';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchResults } from '../run.js';
import * as engineNow from '../../src/sim/engine.js';
import * as tcpNow from '../../src/sockets/tcp.js';
import { writeIpv4Header } from '../../src/wire/ipv4.js';

/** Keeps results observable so V8 cannot drop the work. */
export let blackhole = 0;

const SUITE = 'sockets: TCP connections on a two-host rig (50 µs one way)';
const BULK = 256 * 1024;

interface Header {
  src: number;
  dst: number;
  id: number;
  tos: number;
  df: boolean;
  ttl: number;
  proto: number;
}
interface TcpLike {
  listen(o: { addr: number; port: number }, on: (c: ConnLike) => void): unknown;
  connect(o: { dst: number; dport: number }, h: Record<string, unknown>): ConnLike;
  input(slot: number, l3off: number, l4off: number, l4len: number): void;
}
interface ConnLike {
  handlers: Record<string, unknown>;
  send(b: Uint8Array): void;
  close(): void;
}
interface EngineLike {
  now: number;
  pool: { release(slot: number): void; base(slot: number): number; view: DataView };
  rng: { fork(label: string): unknown };
  after(ns: number, fn: () => void): void;
  run(until?: number): void;
}
interface Impl {
  Engine: new (o: { seed: number }) => EngineLike;
  Tcp: new (ip: unknown) => TcpLike;
}

/** One rig per run: returns the function that runs one whole connection to its end. */
function rig(impl: Impl, what: 'bulk' | 'rr'): () => number {
  const data = new Uint8Array(BULK).map((_, i) => (i * 7) & 0xff);
  const req = new TextEncoder().encode('GET / HTTP/1.0\r\nHost: wirebox.example\r\n\r\n\r\n'.slice(0, 43));
  const reply = new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'.padEnd(43, '!'));
  // One engine for the rig (its pool is what a world allocates once); each operation is a fresh pair
  // of Tcp instances whose connection runs to its end 10 s of virtual time later.
  const engine = new impl.Engine({ seed: 1 });
  let n = 0;
  return () => {
    n++;
    const hosts = new Map<number, TcpLike>();
    const host = (addr: number, label: string): TcpLike => {
      const ip = {
        engine,
        rng: engine.rng.fork(label),
        sendL4: (slot: number, l4len: number, h: Header) => {
          const to = hosts.get(h.dst);
          // the IPv4 header the stack would write (Tcp reads addresses from it)
          writeIpv4Header(engine.pool.view, engine.pool.base(slot) + 14, h.tos, 20 + l4len, h.id, h.df, h.ttl, h.proto, h.src, h.dst);
          if (!to) engine.pool.release(slot);
          else engine.after(50_000, () => to.input(slot, 14, 34, l4len));
          return true;
        },
        sourceFor: () => addr,
        mtuFor: () => 1500,
        isLocal: (a: number) => a === addr,
      };
      const t = new impl.Tcp(ip);
      hosts.set(addr, t);
      return t;
    };
    const client = host(0xac110002, `client${n}`);
    const server = host(0xc6336401, `server${n}`);
    let got = 0;
    server.listen({ addr: 0, port: 80 }, (c) => {
      let answered = false;
      c.handlers = {
        onData: (b: Uint8Array) => {
          got += b.length;
          if (what === 'rr' && !answered) {
            answered = true;
            c.send(reply);
          }
        },
        onPeerClose: () => c.close(),
      };
    });
    client.connect(
      { dst: 0xc6336401, dport: 80 },
      what === 'bulk'
        ? { onConnect: (c: ConnLike) => (c.send(data), c.close()) }
        : { onConnect: (c: ConnLike) => c.send(req), onData: (_b: Uint8Array, c: ConnLike) => c.close() },
    );
    engine.run(engine.now + 10_000_000_000);
    return got;
  };
}

const base = process.env.WIREBOX_BENCH_BASELINE;

export async function suites(): Promise<Benchmark.Suite[]> {
  const s = new Benchmark.Suite(SUITE);
  const now: Impl = { Engine: engineNow.Engine as unknown as Impl['Engine'], Tcp: tcpNow.Tcp as unknown as Impl['Tcp'] };
  if (base) {
    const url = (p: string) => pathToFileURL(join(base, p)).href;
    const old: Impl = {
      Engine: ((await import(url('src/sim/engine.ts'))) as typeof engineNow).Engine as unknown as Impl['Engine'],
      Tcp: ((await import(url('src/sockets/tcp.ts'))) as typeof tcpNow).Tcp as unknown as Impl['Tcp'],
    };
    const oldBulk = rig(old, 'bulk');
    const oldRr = rig(old, 'rr');
    s.add(`baseline: ${base} — 256 kB bulk transfer`, () => (blackhole ^= oldBulk()));
    s.add(`${base} — request/reply`, () => (blackhole ^= oldRr()));
  } else {
    const src = new Uint8Array(BULK);
    const dst = new Uint8Array(BULK);
    s.add('baseline: copy 256 kB', () => {
      dst.set(src);
      blackhole ^= dst[blackhole & 0xff]!;
    });
  }
  const bulk = rig(now, 'bulk');
  const rr = rig(now, 'rr');
  s.add('this tree — 256 kB bulk transfer', () => (blackhole ^= bulk()));
  s.add('this tree — request/reply', () => (blackhole ^= rr()));
  return [s];
}

export function after(results: BenchResults): string[] {
  const r = results.get(SUITE);
  if (!r || !base) return [];
  const hz = (n: string) => [...r.entries()].find(([k]) => k.endsWith(n))?.[1].hz ?? NaN;
  const rows = [...r.keys()];
  const oldRr = hz(rows[1]!.split(' — ')[1]!);
  const ratio = (a: number, b: number) => (a / b).toFixed(3);
  return [
    `TCP new/old time ratios (≤ 1 is no slower): bulk ${ratio(r.get(rows[0]!)!.hz, r.get(rows[2]!)!.hz)}, request/reply ${ratio(oldRr, r.get(rows[3]!)!.hz)}`,
  ];
}
