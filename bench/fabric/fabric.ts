// The forwarding workload shared by the fabric benchmark and the heap-flatness test: two containers
// on a Linux bridge, as Docker wires them (ct1.eth0 ⇄ veth1 ─ docker0 ─ veth2 ⇄ ct2.eth0), with a
// third, idle port. ct1 sends 60-byte frames to ct2 in bursts; ct2's stack counts and releases them.
// Both MACs are learned first, so every frame is a known-unicast forward: veth → bridge → veth,
// two engine events per frame.

import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Engine } from '../../src/sim/engine.js';
import { Bridge } from '../../src/devices/bridge.js';
import { Veth } from '../../src/devices/veth.js';
import type { FrameSink } from '../../src/devices/device.js';

const CT1 = 0x0242ac110002;
const CT2 = 0x0242ac110003;

export interface Fabric {
  engine: Engine;
  bridge: Bridge;
  /** Sends `frames` frames from ct1 to ct2, `burst` per microsecond, and runs them all through. */
  forward(frames: number, burst?: number): void;
  /** Frames ct2's stack has received. */
  received(): number;
}

function writeMac(view: DataView, off: number, mac: number): void {
  view.setUint16(off, Math.floor(mac / 0x100000000));
  view.setUint32(off + 2, mac >>> 0);
}

export function buildFabric(): Fabric {
  const engine = new Engine({ seed: 1 });
  const bridge = new Bridge(engine, 'docker0', 0x0242c0000001);
  const ends: Veth[] = [];
  for (let i = 1; i <= 3; i++) {
    const [ct, port] = Veth.pair(engine, { name: `ct${i}`, mac: 0x0242ac110001 + i }, { name: `veth${i}`, mac: 0x9a0000000000 + i });
    bridge.addPort(port);
    ends.push(ct);
  }
  let got = 0;
  const pool = engine.pool;
  const drop: FrameSink = { deliver: (_d, slot) => pool.release(slot) };
  const count: FrameSink = {
    deliver: (_d, slot) => {
      got++;
      pool.release(slot);
    },
  };
  const [ct1, ct2, ct3] = ends as [Veth, Veth, Veth];
  ct1.sink = drop;
  ct2.sink = count;
  ct3.sink = drop;
  bridge.sink = drop;

  const frameTo = (dst: number, src: number): number => {
    const slot = pool.alloc();
    const view = pool.view;
    const b = pool.base(slot);
    writeMac(view, b, dst);
    writeMac(view, b + 6, src);
    view.setUint16(b + 12, 0x0800);
    pool.len[slot] = 60;
    return slot;
  };
  // Teach the bridge both stations (the ARP exchange would), then reset the count.
  ct1.transmit(frameTo(0xffffffffffff, CT1));
  ct2.transmit(frameTo(0xffffffffffff, CT2));
  engine.run();
  got = 0;

  let left = 0;
  let perBurst = 64;
  const tick = (): void => {
    const n = Math.min(perBurst, left);
    for (let i = 0; i < n; i++) ct1.transmit(frameTo(CT2, CT1));
    left -= n;
    if (left > 0) engine.after(1000, tick);
  };
  return {
    engine,
    bridge,
    forward(frames: number, burst = 64): void {
      left = frames;
      perBurst = burst;
      engine.after(0, tick);
      engine.run();
    },
    received: () => got,
  };
}

/** A `gc()` when the process allows it (node --expose-gc, or the flag set at run time). */
export async function getGc(): Promise<(() => void) | null> {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

/** heapUsed growth (bytes) across forwarding `frames` frames, after a warm-up of `warm` frames. */
export async function heapDelta(frames: number, warm = 100_000): Promise<{ deltaBytes: number; gc: boolean; fabric: Fabric }> {
  const gc = await getGc();
  const fabric = buildFabric();
  fabric.forward(warm); // JIT, pool and queue reach their working size
  gc?.();
  gc?.();
  const before = process.memoryUsage().heapUsed;
  fabric.forward(frames);
  gc?.();
  gc?.();
  const after = process.memoryUsage().heapUsed;
  return { deltaBytes: after - before, gc: gc !== null, fabric };
}

/** Garbage collections (minor, major) while `work` runs, and its wall time: what the heap-flatness
 *  figures of every forwarding benchmark report. */
export async function gcWhile(work: () => void): Promise<{ minor: number; major: number; ms: number }> {
  let minor = 0;
  let major = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
      else major++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  work();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 20)); // gc entries are delivered asynchronously
  obs.disconnect();
  return { minor, major, ms };
}
