// The Docker-like world the end-to-end forwarding benchmark (forward.ts) and the heap-flatness test
// (test/world/alloc.test.ts) share, built with the programmatic World API:
//
//   ct (container)                 host (forwarding on)                               server
//   eth0 172.17.0.2/16  ⇄ vethct ─ docker0 172.17.0.1/16 ... eth0 192.0.2.10/24 ══ wire ══ eth0 192.0.2.1/24
//   default via 172.17.0.1         nat POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
//
// A UDP flow ct:40000 → server:7 (an echo service) is warmed up first: both directions' ARP resolve and
// the conntrack entry sees its reply (ESTABLISHED, SNAT set up). The echo service then only counts.
//
// How frames are driven (`send`): the container's *stack output* — `host.sendL4` with the UDP header and
// payload already in the slot (copied from a 26-byte template with its checksum computed once) and one
// reused L4Header object. So each frame goes: ct IPv4 output (header, OUTPUT, POSTROUTING, neighbour)
// → ct.eth0 → vethct → docker0 (learned unicast, passed up: the MAC is the bridge's) → host ip_rcv →
// PREROUTING (conntrack lookup) → forward (TTL, FORWARD) → POSTROUTING (MASQUERADE rewrite, incremental
// checksums) → neighbour → host.eth0 → wire → server.eth0 → server ip_rcv → INPUT → UDP input → socket.
// Harness cost per frame: one pool alloc and a 26-byte copyWithin inside the pool; the engine runs the
// instant's events with `run(now)` (the wire has no latency, so time does not move).

import { mkdtempSync, rmSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureSet } from '../../src/world/captures.js';
import type { MemorySink } from '../../src/capture/sink.js';
import { World, type Namespace } from '../../src/world/world.js';
import type { IptablesPlan } from '../../src/plan/plan.js';
import type { L4Header } from '../../src/sockets/transport.js';
import type { UdpSocket } from '../../src/sockets/udp.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { fillUdpChecksum } from '../../src/wire/checksum.js';

export const CT_IP = parseIpv4('172.17.0.2');
export const SERVER_IP = parseIpv4('192.0.2.1');
export const HOST_IP = parseIpv4('192.0.2.10');
export const CT_PORT = 40000;
export const ECHO_PORT = 7;
/** UDP payload bytes: 14 + 20 + 8 + 18 = a 60-byte frame (the fabric benchmark's size). */
export const PAYLOAD = 18;
const L4_OFFSET = 34;
const L4_LEN = 8 + PAYLOAD;

/** dockerd's nat table for the default bridge, reduced to the rule this path exercises; filter empty
 *  (policy ACCEPT) so the cost measured is conntrack + NAT, not a filter walk. */
export const DOCKER_NAT_PLAN: IptablesPlan = {
  nat: {
    chains: [
      { name: 'PREROUTING', policy: 'ACCEPT', rules: [] },
      { name: 'INPUT', policy: 'ACCEPT', rules: [] },
      { name: 'OUTPUT', policy: 'ACCEPT', rules: [] },
      {
        name: 'POSTROUTING',
        policy: 'ACCEPT',
        rules: [{ src: { cidr: '172.17.0.0/16', neg: false }, out: { name: 'docker0', neg: true }, target: { kind: 'MASQUERADE', toPorts: null } }],
      },
    ],
  },
  filter: {
    chains: [
      { name: 'INPUT', policy: 'ACCEPT', rules: [] },
      { name: 'FORWARD', policy: 'ACCEPT', rules: [] },
      { name: 'OUTPUT', policy: 'ACCEPT', rules: [] },
    ],
  },
};

export type CaptureMode = 'none' | 'memory' | 'files';

export interface DockerWorld {
  world: World;
  ct: Namespace;
  host: Namespace;
  server: Namespace;
  captures: CaptureSet | null;
  /** Sends `n` frames from the container's stack (all at the current instant) and runs them through. */
  send(n: number): void;
  /** Datagrams the server's socket has received since the warm-up. */
  received(): number;
  /** Datagrams the container got back during the warm-up (echoes through the reverse NAT). */
  echoed(): number;
}

/** The captured interfaces: every interface a frame crosses on this path (lo excluded). */
export const CAPTURED = [
  { ns: 'ct', ifname: 'eth0', captureName: 'ct.eth0' },
  { ns: 'host', ifname: 'vethct', captureName: 'host.vethct' },
  { ns: 'host', ifname: 'docker0', captureName: 'host.docker0' },
  { ns: 'host', ifname: 'eth0', captureName: 'host.eth0' },
  { ns: 'server', ifname: 'eth0', captureName: 'server.eth0' },
];

/** Builds the world, warms the flow up (`warmEchoes` echoed datagrams), and returns the driver. With
 *  `captures`, `CAPTURED` is captured into it (memory or files); the caller closes it. */
/** Where measured frames end: the server's UDP socket (its whole stack: ip_rcv, INPUT, udp_rcv, a
 *  counting handler), or the server's NIC (a counting sink in place of its stack: the forwarding path
 *  alone, without the receiving socket layer, which copies each datagram out for its handler). */
export type Endpoint = 'socket' | 'nic';

export function buildDockerWorld(opts: { captures?: CaptureSet | null; warmEchoes?: number; endpoint?: Endpoint } = {}): DockerWorld {
  const w = new World({ seed: 1 });
  const lan = w.wire('lan');
  const ct = w.namespace('ct');
  const host = w.namespace('host', { forward: true });
  const server = w.namespace('server');

  host.bridge('docker0', { mac: '02:42:c0:a8:00:01', addrs: ['172.17.0.1/16'] });
  w.vethPair(ct, 'eth0', { mac: '02:42:ac:11:00:02', addrs: ['172.17.0.2/16'] }, host, 'vethct', { mac: '9a:00:00:00:00:01' });
  host.enslave('vethct', 'docker0');
  host.nic('eth0', lan, { mac: '02:00:00:00:00:0a', addrs: ['192.0.2.10/24'] });
  server.nic('eth0', lan, { mac: '02:00:00:00:00:01', addrs: ['192.0.2.1/24'] });
  ct.route({ to: 'default', via: '172.17.0.1', dev: null, src: null });
  host.netfilter.load(DOCKER_NAT_PLAN);
  const captures = opts.captures ?? null;
  if (captures !== null) w.capture(captures, CAPTURED);

  // Warm-up: a real UDP exchange through the sockets (ARP both ways, conntrack NEW → ESTABLISHED).
  let got = 0;
  let echoed = 0;
  const echo: UdpSocket = server.host.udp.bind({ port: ECHO_PORT }, (data, _from, _port, reply) => reply(data));
  const client = ct.host.udp.bind({ port: CT_PORT }, () => { echoed++; });
  const warm = opts.warmEchoes ?? 3;
  const engine = w.engine;
  for (let i = 0; i < warm; i++) {
    client.send(new Uint8Array(PAYLOAD), SERVER_IP, ECHO_PORT);
    engine.run(engine.now + 1_000_000); // ARP and the echo settle within the millisecond
  }
  if (echoed !== warm) throw new Error(`warm-up: ${echoed} of ${warm} echoes came back`);
  if (host.netfilter.conntrack.stats.found === 0 && warm > 1) throw new Error('warm-up: conntrack found no entry');
  echo.onDatagram = () => { got++; };
  if (opts.endpoint === 'nic') {
    const pool = engine.pool;
    server.device('eth0').sink = { deliver: (_dev, slot) => { got++; pool.release(slot); } };
  }

  // The template: UDP header + payload with its checksum, as ct's socket would write it.
  const pool = engine.pool;
  const tpl = pool.alloc();
  {
    const v = pool.view;
    const off = pool.base(tpl) + L4_OFFSET;
    v.setUint16(off, CT_PORT);
    v.setUint16(off + 2, ECHO_PORT);
    v.setUint16(off + 4, L4_LEN);
    v.setUint16(off + 6, 0);
    for (let i = 0; i < PAYLOAD; i++) pool.bytes[off + 8 + i] = 0x61 + (i % 26);
    fillUdpChecksum(pool.bytes, off, L4_LEN, CT_IP, SERVER_IP);
  }
  const hdr: L4Header = { src: CT_IP, dst: SERVER_IP, proto: 17, ttl: 64, tos: 0, df: true, id: 0 };
  const ctHost = ct.host;

  return {
    world: w,
    ct,
    host,
    server,
    captures,
    send(n: number): void {
      for (let i = 0; i < n; i++) {
        const slot = pool.alloc();
        const to = pool.base(slot) + L4_OFFSET;
        const from = pool.base(tpl) + L4_OFFSET; // the pool may have grown (new buffer, same offsets)
        pool.bytes.copyWithin(to, from, from + L4_LEN);
        hdr.id = (hdr.id + 1) & 0xffff;
        ctHost.sendL4(slot, L4_LEN, hdr);
      }
      engine.run(engine.now);
    },
    received: () => got,
    echoed: () => echoed,
  };
}

/** The in-memory sinks of a CaptureSet.memory(), to drain them (CaptureSet keeps them private). */
function memorySinks(set: CaptureSet): MemorySink[] {
  const entries = (set as unknown as { entries: { memory: MemorySink | null }[] }).entries;
  return entries.map((e) => e.memory).filter((m): m is MemorySink => m !== null);
}

export interface Forwarder {
  d: DockerWorld;
  mode: CaptureMode;
  /** Forwards `n` frames, `burst` per engine run. In memory mode the sinks are drained every 65536
   *  frames (as a reader consuming the capture would), so memory stays bounded. */
  forward(n: number, burst: number): void;
  /** Closes the captures; removes the temp dir of file captures. */
  close(): void;
}

/** The Docker world with captures on CAPTURED: none, in memory, or pcap files in a fresh temp dir. */
export function openForwarder(mode: CaptureMode, endpoint: Endpoint = 'socket', startNs = 0): Forwarder {
  let set: CaptureSet | null = null;
  let dir: string | null = null;
  if (mode === 'memory') set = CaptureSet.memory();
  else if (mode === 'files') {
    dir = mkdtempSync(join(tmpdir(), 'wirebox-bench-'));
    set = CaptureSet.files(dir);
  }
  const d = buildDockerWorld({ captures: set, endpoint });
  if (startNs > d.world.engine.now) {
    // Later in virtual time (past 2^31 ns the time is no longer a small integer in V8): the idle
    // flow's neighbours go stale meanwhile; a few frames and a millisecond settle them again.
    const engine = d.world.engine;
    engine.run(startNs);
    d.send(16);
    engine.run(engine.now + 1_000_000);
  }
  const sinks = set !== null && mode === 'memory' ? memorySinks(set) : [];
  let sinceDrain = 0;
  return {
    d,
    mode,
    forward(n: number, burst: number): void {
      for (let left = n; left > 0; left -= burst) {
        const k = left < burst ? left : burst;
        d.send(k);
        if (sinks.length !== 0 && (sinceDrain += k) >= 65536) {
          sinceDrain = 0;
          for (let i = 0; i < sinks.length; i++) sinks[i]!.clear();
        }
      }
    },
    close(): void {
      try {
        set?.close();
      } finally {
        if (dir !== null) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Bytes the JS heap grows by per forwarded frame, measured without a collection in between: after a
 * full gc, `frames` frames, heapUsed read before and after; a try during which any gc ran (seen by a
 * PerformanceObserver) does not count. Needs `gc` (node --expose-gc, or bench/fabric's getGc). The
 * smallest of `tries` clean runs (JIT work between runs only ever adds); NaN when none was clean (the
 * garbage did not fit the young generation: far more than the path should allocate). 0 means nothing
 * is allocated per frame.
 */
export async function bytesPerFrame(f: Forwarder, gc: () => void, frames = 20_000, tries = 3): Promise<number> {
  let gcs = 0;
  const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20)); // gc entries arrive asynchronously
  let best = NaN;
  try {
    for (let i = 0; i < tries; i++) {
      gc();
      gc();
      await settle();
      gcs = 0;
      const before = process.memoryUsage().heapUsed;
      f.forward(frames, 64);
      const after = process.memoryUsage().heapUsed;
      await settle();
      if (gcs !== 0) continue;
      const per = (after - before) / frames;
      if (Number.isNaN(best) || per < best) best = Math.max(0, per);
    }
  } finally {
    obs.disconnect();
  }
  return best;
}
