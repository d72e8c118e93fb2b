// End-to-end forwarding benchmark: one 60-byte UDP frame per operation through a Docker-like world
// built with the World API (bench/world/docker.ts): container stack output → veth → docker0 → host
// forward (TTL, FORWARD, POSTROUTING MASQUERADE with incremental checksums) → NIC → wire → server stack
// → UDP socket (or, in one case, ending at the server NIC). ops/s = frames/s. Cases: no captures; captures in memory on the 5 interfaces a frame
// crosses (CaptureSet.memory(), drained every 65536 frames as a reader would, so memory stays bounded);
// pcap files in a temp dir (CaptureSet.files(), removed after the run).
//
// Baselines measured in the same run: the plain fabric (veth → bridge → veth, bench/fabric's buildFabric:
// learned unicast, a counting sink instead of a stack) — the suite's baseline — and a plain memcpy of
// the frame's 60 bytes inside the pool (copyWithin). `after()` prints the ratios against both, what
// captures cost relative to the uncaptured path, and the heap around a million forwarded frames per
// capture mode and endpoint (heapUsed before/after with gc, GC counts while forwarding, pool slots in
// use, and the bytes the heap grows by per frame between two gcs: 0 when nothing is allocated).
//
// Driver (see docker.ts): frames enter at the container's `host.sendL4` (its IPv4 output), the UDP
// bytes copied from a template; harness cost per frame is one pool alloc + a 26-byte copyWithin + a
// `run(now)` of the engine (the fabric baseline pays a comparable alloc, header write and run).
//
// Run with `node --expose-gc` for the heap figures (`npx tsx --expose-gc bench/run.ts --quick world`);
// without it gc is obtained through v8.setFlagsFromString as bench/fabric does.

import Benchmark from 'benchmark';
import { buildFabric, gcWhile, getGc } from '../fabric/fabric.js';
import type { BenchResults } from '../run.js';
import { bytesPerFrame, openForwarder, type Forwarder } from './docker.js';

/** Keeps results observable so V8 cannot drop the work. */
export let blackhole = 0;

const SUITE = 'world: one 60-byte UDP frame, container → docker0 → MASQUERADE → wire → server';
const C_FABRIC = 'baseline: plain fabric veth → bridge → veth (bench/fabric)';
const C_MEMCPY = 'memcpy of the 60 frame bytes (copyWithin in the pool)';
const C_NONE = 'NAT path, no captures';
const C_MEMORY = 'NAT path, captures in memory (5 interfaces)';
const C_FILES = 'NAT path, pcap files in a temp dir (5 interfaces)';
const C_NIC = 'NAT path to the server NIC (no receiving socket), no captures';

let open: Forwarder[] = [];

export function suites(): Benchmark.Suite[] {
  const s = new Benchmark.Suite(SUITE);

  const f = buildFabric();
  s.add(C_FABRIC, () => {
    f.forward(1, 1);
    blackhole ^= f.received();
  });

  const fabricPool = f.engine.pool;
  const a = fabricPool.alloc();
  const b = fabricPool.alloc();
  fabricPool.len[a] = 60;
  s.add(C_MEMCPY, () => {
    const from = fabricPool.base(a);
    fabricPool.bytes.copyWithin(fabricPool.base(b), from, from + 60);
    blackhole ^= fabricPool.bytes[from + 59]!;
  });

  const none = openForwarder('none');
  const mem = openForwarder('memory');
  const files = openForwarder('files');
  const nic = openForwarder('none', 'nic');
  open = [none, mem, files, nic];
  s.add(C_NONE, () => {
    none.forward(1, 1);
    blackhole ^= none.d.received();
  });
  s.add(C_MEMORY, () => {
    mem.forward(1, 1);
    blackhole ^= mem.d.received();
  });
  s.add(C_FILES, () => {
    files.forward(1, 1);
    blackhole ^= files.d.received();
  });
  s.add(C_NIC, () => {
    nic.forward(1, 1);
    blackhole ^= nic.d.received();
  });
  return [s];
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function after(results: BenchResults): Promise<string[]> {
  const lines: string[] = [];
  for (const b of open) b.close();
  open = [];

  const r = results.get(SUITE);
  const hz = (name: string): number | null => r?.get(name)?.hz ?? null;
  const fabric = hz(C_FABRIC);
  const memcpy = hz(C_MEMCPY);
  const none = hz(C_NONE);
  const ratio = (x: number | null, base: number | null): string => (x === null || base === null ? 'n/a' : `${(base / x).toFixed(2)}×`);
  for (const [label, name] of [['NAT path, no captures', C_NONE], ['captures in memory', C_MEMORY], ['pcap files', C_FILES], ['ending at the server NIC', C_NIC]] as const) {
    const x = hz(name);
    if (x === null) continue;
    lines.push(`${label}: ${fmt(x)} frames/s = ${ratio(x, fabric)} the plain fabric's time per frame, ${ratio(x, memcpy)} a 60-byte memcpy's` +
      (name !== C_NONE ? `, ${ratio(x, none)} the uncaptured NAT path's` : ''));
  }
  if (fabric !== null && memcpy !== null) lines.push(`plain fabric: ${fmt(fabric)} frames/s = ${ratio(fabric, memcpy)} a 60-byte memcpy's time`);

  // Heap and GCs around a million forwarded frames, per capture mode; the same million timed in bursts
  // of 64 (less harness per frame than one frame per Benchmark.js op), against the plain fabric and a
  // memcpy timed the same way in this run.
  const N = 1_000_000;
  const gc = await getGc();
  const fab = buildFabric();
  fab.forward(500_000); // warm up until the optimising compiler has finished
  const tf = performance.now();
  fab.forward(N, 64);
  const fabricMs = performance.now() - tf;
  const mp = fab.engine.pool;
  const ma = mp.alloc();
  const mb = mp.alloc();
  const copyAll = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const from = mp.base(ma);
      mp.bytes.copyWithin(mp.base(mb), from, from + 60);
      blackhole ^= mp.bytes[from + 59]!;
    }
  };
  copyAll(N);
  const tm = performance.now();
  copyAll(N);
  const memcpyMs = performance.now() - tm;
  lines.push(`bulk, ${fmt(N)} frames in bursts of 64: plain fabric ${fmt((N / fabricMs) * 1000)} frames/s; 60-byte memcpy ${fmt((N / memcpyMs) * 1000)}/s`);
  const runs = [
    ['none', 'socket', 0], ['memory', 'socket', 0], ['files', 'socket', 0],
    ['none', 'nic', 0], ['memory', 'nic', 0], ['files', 'nic', 0],
    ['none', 'nic', 10e9], ['memory', 'nic', 10e9],
  ] as const;
  for (const [mode, endpoint, startNs] of runs) {
    const b = openForwarder(mode, endpoint, startNs);
    const pool = b.d.world.engine.pool;
    b.forward(300_000, 64); // JIT, pool, queue and capture buffers reach their working size
    gc?.();
    gc?.();
    const warmInUse = pool.inUse;
    const before = process.memoryUsage().heapUsed;
    const got0 = b.d.received();
    const s = await gcWhile(() => b.forward(N, 64));
    gc?.();
    gc?.();
    const afterHeap = process.memoryUsage().heapUsed;
    const delivered = b.d.received() - got0;
    const perFrame = gc !== null ? await bytesPerFrame(b, gc) : NaN;
    b.close();
    const delta = afterHeap - before;
    lines.push(
      `heap over ${fmt(N)} frames to the server ${endpoint === 'socket' ? 'socket' : 'NIC'}, ${mode === 'none' ? 'no captures' : mode === 'memory' ? 'captures in memory' : 'pcap files'}` +
        `${startNs > 0 ? `, ${startNs / 1e9} s into the run` : ''}: ` +
        `${delta >= 0 ? '+' : ''}${delta} bytes heapUsed${gc ? ' (after gc)' : ' (no gc: run with --expose-gc)'}; ` +
        `GCs while forwarding: ${s.minor} scavenges, ${s.major} major; pool in use ${warmInUse} → ${pool.inUse}; ` +
        `${fmt(delivered)} delivered in ${s.ms.toFixed(0)} ms = ${fmt((delivered / s.ms) * 1000)} frames/s; ` +
        `${(s.ms / fabricMs).toFixed(2)}× the plain fabric's time, ${(s.ms / memcpyMs).toFixed(1)}× a memcpy's; ` +
        `heap allocated per frame (no gc in between): ${Number.isNaN(perFrame) ? 'too much to measure without a scavenge (> ~50 B)' : `${perFrame.toFixed(1)} B`}`,
    );
  }
  return lines;
}
