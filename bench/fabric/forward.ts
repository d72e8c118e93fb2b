// Fabric benchmarks: frames through the emulated Docker bridge (ct1.eth0 ⇄ veth1 ─ docker0 ─ veth2 ⇄
// ct2.eth0, a third port idle), one frame per operation, ops/s = frames/s; the engine's own cost per
// event and per timer re-arm; and, after the suites, the heap measured around a million forwarded frames
// (heapUsed before/after with gc, and the number of scavenges while forwarding: zero means nothing
// was allocated per frame).

import Benchmark from 'benchmark';
import { Engine } from '../../src/sim/engine.js';
import { Timer } from '../../src/sim/timer.js';
import { Veth } from '../../src/devices/veth.js';
import type { BenchResults } from '../run.js';
import { buildFabric, getGc, heapDelta, gcWhile } from './fabric.js';

/** Keeps results observable so V8 cannot drop the work. */
export let blackhole = 0;

const CT1 = 0x0242ac110002;
const CT2 = 0x0242ac110003;

function frameSuite(): Benchmark.Suite {
  const s = new Benchmark.Suite('fabric: one 60-byte frame, ct1 → ct2');

  // Baseline: the least any frame costs here — a pool slot taken, its Ethernet header written, released.
  const bare = new Engine({ seed: 1 });
  s.add('baseline: alloc a slot, write the Ethernet header, release', () => {
    const pool = bare.pool;
    const slot = pool.alloc();
    const v = pool.view;
    const b = pool.base(slot);
    v.setUint16(b, 0x0242);
    v.setUint32(b + 2, 0xac110003);
    v.setUint16(b + 6, 0x0242);
    v.setUint32(b + 8, 0xac110002);
    v.setUint16(b + 12, 0x0800);
    pool.len[slot] = 60;
    blackhole ^= slot;
    pool.release(slot);
  });

  // A bare veth pair: one engine event per frame.
  const e1 = new Engine({ seed: 1 });
  const [a, bEnd] = Veth.pair(e1, { name: 'a', mac: CT1 }, { name: 'b', mac: CT2 });
  let got1 = 0;
  bEnd.sink = { deliver: (_d, slot) => { got1++; e1.pool.release(slot); } };
  s.add('veth → veth', () => {
    const pool = e1.pool;
    const slot = pool.alloc();
    pool.len[slot] = 60;
    a.transmit(slot);
    e1.run();
    blackhole ^= got1;
  });

  // Through the bridge, known unicast (both stations learned): two events per frame.
  const f = buildFabric();
  s.add('veth → bridge → veth (learned unicast)', () => {
    f.forward(1, 1);
    blackhole ^= f.received();
  });

  // The same with tcpdump on docker0 (the promiscuous pass-up taps every forwarded frame).
  const g = buildFabric();
  let tapped = 0;
  g.bridge.taps.push({ frame: (_t, _b, _o, len) => { tapped += len; } });
  s.add('veth → bridge → veth, docker0 captured', () => {
    g.forward(1, 1);
    blackhole ^= tapped;
  });
  return s;
}

function engineSuite(): Benchmark.Suite {
  const s = new Benchmark.Suite('engine: one event');
  let n = 0;
  const fn = (x: number): void => { n += x; };
  s.add('baseline: call a function', () => {
    fn(1);
    blackhole ^= n;
  });
  const e = new Engine({ seed: 1 });
  s.add('after(0) + run', () => {
    e.after(0, fn, 1);
    e.run();
    blackhole ^= n;
  });
  // 64 events pending at distinct times: the heap has depth, as with many timers.
  const deep = new Engine({ seed: 1 });
  const rng = deep.rng;
  for (let i = 0; i < 64; i++) deep.after(1e12 + rng.below(1e6), fn, 0);
  s.add('after(random) + run one, 64 pending', () => {
    deep.after(rng.below(1000), fn, 1);
    deep.run(deep.nextTime);
    blackhole ^= n;
  });
  const te = new Engine({ seed: 1 });
  const timer = new Timer(te, () => { n++; });
  s.add('Timer re-arm (stale event left in the heap, then skipped)', () => {
    timer.armAfter(10);
    timer.armAfter(20);
    te.run();
    blackhole ^= n;
  });
  return s;
}

export function suites(): Benchmark.Suite[] {
  return [frameSuite(), engineSuite()];
}

export async function after(results: BenchResults): Promise<string[]> {
  const lines: string[] = [];
  const fwd = results.get('fabric: one 60-byte frame, ct1 → ct2')?.get('veth → bridge → veth (learned unicast)');
  if (fwd) lines.push(`bridge forwarding: ${Math.round(fwd.hz).toLocaleString('en-US')} frames/s ±${fwd.rme.toFixed(2)}%`);

  const N = 1_000_000;
  const { deltaBytes, gc } = await heapDelta(N);
  lines.push(`heap over ${N.toLocaleString('en-US')} forwarded frames: ${deltaBytes >= 0 ? '+' : ''}${deltaBytes} bytes heapUsed${gc ? ' (after gc)' : ' (no gc available: run with --expose-gc)'}`);

  const f = buildFabric();
  f.forward(500_000); // warm up until the optimising compiler has finished (slow on a loaded machine)
  (await getGc())?.();
  const s = await gcWhile(() => f.forward(N));
  lines.push(`bulk: ${N.toLocaleString('en-US')} frames in ${s.ms.toFixed(0)} ms = ${Math.round((N / s.ms) * 1000).toLocaleString('en-US')} frames/s; GCs while forwarding: ${s.minor} scavenges, ${s.major} major`);
  return lines;
}
