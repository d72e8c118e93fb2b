// Heap flatness of the whole forwarding path, NAT and capture included: a Docker-like world (container
// → veth → docker0 → host forward + MASQUERADE → NIC → wire → server's UDP socket, bench/world/docker.ts)
// forwards 200k frames after a warm-up; the heap (after gc) must not grow and no pool slot may leak.
// Not timed: it asserts bytes and counts, never seconds.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getGc } from '../../bench/fabric/fabric.js';
import { buildDockerWorld, bytesPerFrame, CAPTURED, HOST_IP, openForwarder, SERVER_IP, type CaptureMode, type Endpoint } from '../../bench/world/docker.js';
import { PcapWriter } from '../../src/capture/pcap.js';
import { MemorySink } from '../../src/capture/sink.js';
import { readCapture } from '../../src/capture/reader.js';
import { CaptureSet } from '../../src/world/captures.js';

const N = 200_000;
const WARM = 100_000;

async function heapAround(mode: CaptureMode, endpoint: Endpoint = 'socket', startNs = 0) {
  const gc = await getGc();
  const f = openForwarder(mode, endpoint, startNs);
  try {
    const { d } = f;
    const pool = d.world.engine.pool;
    const fwd0 = d.host.host.stats.forwarded;
    f.forward(WARM, 64); // JIT, pool, event queue, capture buffers reach their working size
    gc?.();
    gc?.();
    const warmInUse = pool.inUse;
    const grows = pool.grows;
    const got0 = d.received();
    const before = process.memoryUsage().heapUsed;
    f.forward(N, 64);
    gc?.();
    gc?.();
    const after = process.memoryUsage().heapUsed;
    const r = {
      gc: gc !== null,
      delta: after - before,
      delivered: d.received() - got0,
      forwarded: d.host.host.stats.forwarded - fwd0,
      warmInUse,
      inUse: pool.inUse,
      grew: pool.grows - grows,
      conntrack: d.host.netfilter.conntrackList().length,
      counts: d.captures?.counts() ?? [],
    };
    // Measured last: it forwards more frames.
    return { ...r, perFrame: gc !== null && endpoint === 'nic' ? await bytesPerFrame(f, gc) : NaN };
  } finally {
    f.close();
  }
}

describe('the NAT forwarding path keeps the heap flat', () => {
  for (const mode of ['none', 'memory', 'files'] as const) {
    it(`${N.toLocaleString('en-US')} frames through MASQUERADE, captures: ${mode}`, async () => {
      const r = await heapAround(mode);
      expect(r.gc).toBe(true);
      // Every frame crossed the host's forward path and reached the server's socket, on one flow.
      expect(r.delivered).toBe(N);
      expect(r.forwarded).toBe(N + WARM);
      expect(r.conntrack).toBe(1);
      // No slot leaked (the template slot stays), the pool did not grow after the warm-up.
      expect(r.inUse).toBe(r.warmInUse);
      expect(r.inUse).toBe(1);
      expect(r.grew).toBe(0);
      // A 60-byte frame object per packet would be ≥ 12 MB here; JIT and vitest noise stay far below 1 MB.
      expect(Math.abs(r.delta)).toBeLessThan(1_000_000);
      if (mode !== 'none') {
        expect(r.counts.map((c) => c.captureName)).toEqual(CAPTURED.map((c) => c.captureName));
        for (const c of r.counts) expect(c.frames).toBeGreaterThanOrEqual(N + WARM);
      }
    }, 120_000);
  }

  // Garbage per frame on the forwarding path itself (ending at the server's NIC, so the receiving
  // socket's copy of each datagram for its handler is not counted). Before the fixes that came with this
  // test it was ~600 B with 5 captures (a subarray view per pcap record) and ~180 B without (IPv4
  // addresses above 2^31 boxed into HeapNumbers at calls V8 did not inline, depending on its inlining).
  // Now < 1 B: the capture buffers' 64 KiB flushes. The bound is below one HeapNumber (16 B) a frame.
  for (const mode of ['none', 'memory'] as const) {
    it(`the forwarding path allocates (almost) nothing per frame, captures: ${mode}`, async () => {
      const r = await heapAround(mode, 'nic');
      expect(r.delivered).toBe(N);
      expect(r.perFrame).toBeLessThan(16);
    }, 120_000);
  }

  // Past 2^31 ns of virtual time the clock is a double in V8: handed to calls that are not inlined
  // (conntrack's packet updates, capture taps) it was boxed per packet (per tap) until they stopped
  // taking it as an argument. Open: depending on V8's (concurrent, load-dependent) inlining decisions,
  // one double per frame is still boxed at times here (16 B, attributed by the sampling heap profiler to
  // ipRcv and what V8 inlined into it; the site is not found yet). Measured in a fresh process, bounded
  // at that one boxed number: anything more (a new allocation per frame) fails.
  it('the forwarding path allocates (almost) nothing per frame 10 s into the run (fresh process)', () => {
    const tsx = resolve('node_modules/tsx/dist/cli.mjs');
    const r = spawnSync(process.execPath, ['--expose-gc', tsx, resolve('test/world/alloc-child.ts'), 'none', '10e9'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { perFrame: number; delivered: number };
    expect(out.delivered).toBeGreaterThan(0);
    expect(out.perFrame).toBeLessThan(17);
  }, 120_000);

  it('pcap records are byte-exact for every frame length and offset (the no-allocation copy)', () => {
    const src = new Uint8Array(4096);
    for (let i = 0; i < src.length; i++) src[i] = (i * 131 + 7) & 0xff;
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { bufferSize: 1024 });
    const want: Uint8Array[] = [];
    for (let len = 0; len <= 300; len++) {
      const off = (len * 37) % 1000 + (len & 3);
      w.record(len * 1000, src, off, len);
      want.push(src.slice(off, off + len));
    }
    w.close();
    const recs = readCapture(sink.bytes(), 'copy').records;
    expect(recs.length).toBe(want.length);
    for (let i = 0; i < recs.length; i++) expect(Array.from(recs[i]!.data)).toEqual(Array.from(want[i]!));
  });

  it('what it forwards is the MASQUERADEd datagram, checksums intact', () => {
    const set = CaptureSet.memory();
    const d = buildDockerWorld({ captures: set });
    d.send(3);
    set.close();
    const recs = readCapture(set.bytes('host.eth0'), 'host.eth0').records;
    const last = recs[recs.length - 1]!.data;
    const v = new DataView(last.buffer, last.byteOffset, last.byteLength);
    expect(last.length).toBe(60);
    expect(v.getUint32(14 + 12)).toBe(HOST_IP); // source rewritten to the host's address
    expect(v.getUint32(14 + 16)).toBe(SERVER_IP);
    expect(last[14 + 8]).toBe(63); // TTL decremented by the forward
    expect(d.received()).toBe(3);
    expect(d.world.engine.pool.inUse).toBe(1);
  });
});
