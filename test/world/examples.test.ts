// Every example scenario in fixtures/scenarios runs, its traffic ends as the seed notes say it must, and
// the captures show the behaviour on the wire: no unsolicited connection reaches an unpublished
// container, user-defined networks are isolated, two containers with one source port leave as two
// flows, a macvlan container is reachable from the LAN without NAT and not from its own host.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/reader.js';
import { captureStreams, compareCaptures } from '../../src/compare/index.js';
import { compilePlan } from '../../src/plan/compile.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { decodeFrame, type DecodedFrame } from '../../src/wire/frame.js';
import { formatIpv4 } from '../../src/wire/addr.js';
import { CaptureSet } from '../../src/world/captures.js';
import { World, type RunSummary } from '../../src/world/world.js';

const DIR = 'fixtures/scenarios';

export function runExample(name: string, seed?: number): { world: World; summary: RunSummary; caps: CaptureSet } {
  const s = loadScenarioFile(join(DIR, `${name}.yaml`));
  if (seed !== undefined) s.seed = seed;
  const plan = compilePlan(s);
  const world = World.fromPlan(plan);
  const caps = CaptureSet.memory();
  world.capture(caps, World.planCaptures(plan));
  return { world, summary: world.run(), caps };
}

function frames(caps: CaptureSet, name: string): DecodedFrame[] {
  return readCapture(caps.bytes(name), name).records.map((r) => decodeFrame(r.data, 0, r.data.length));
}

interface Seg {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  proto: 'tcp' | 'udp';
}

function segments(fs: DecodedFrame[]): Seg[] {
  const out: Seg[] = [];
  for (const f of fs) {
    if (f.network?.kind !== 'ipv4') continue;
    const ip = f.network.repr;
    const t = f.transport;
    if (t?.kind === 'tcp') out.push({ src: formatIpv4(ip.src), dst: formatIpv4(ip.dst), sport: t.repr.srcPort, dport: t.repr.dstPort, flags: t.repr.flags, proto: 'tcp' });
    if (t?.kind === 'udp') out.push({ src: formatIpv4(ip.src), dst: formatIpv4(ip.dst), sport: t.repr.srcPort, dport: t.repr.dstPort, flags: 0, proto: 'udp' });
  }
  return out;
}

const results = (s: RunSummary) => [...s.traffic].sort((a, b) => a.atNs - b.atNs).map((t) => `${t.node}: ${t.what} ${t.result}`);

const SYN = 0x02;
const ACK = 0x10;

describe('example scenarios', () => {
  it('there is an example for each behaviour and every one of them runs', () => {
    const names = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const n of names) {
      const { summary } = runExample(n.replace(/\.yaml$/, ''));
      expect(summary.interfaces.length, n).toBeGreaterThan(0);
      expect(summary.interfaces.some((i) => i.frames > 0), n).toBe(true);
    }
  });

  it('docker-bridge-nat: ping, TCP and UDP reach the server through MASQUERADE (the server sees the host)', () => {
    const { summary, caps } = runExample('docker-bridge-nat');
    expect(results(summary)).toEqual(['web: ping 192.0.2.1 ok', 'web: tcp 192.0.2.1:80 ok', 'web: udp 192.0.2.1:7 ok']);
    const atServer = segments(frames(caps, 'server.eth0'));
    expect(atServer.length).toBeGreaterThan(0);
    for (const s of atServer) expect([s.src, s.dst]).toContain('192.0.2.10');
    const inside = segments(frames(caps, 'web.eth0'));
    expect(inside.every((s) => s.src === '172.17.0.2' || s.dst === '172.17.0.2')).toBe(true);
  });

  it('docker-publish: published ports reach the container; an unpublished one never does', () => {
    const { summary, caps } = runExample('docker-publish');
    expect(results(summary)).toEqual([
      'client: tcp 198.51.100.10:8080 ok',
      'client: udp 198.51.100.10:5353 ok',
      'client: tcp 198.51.100.10:22 refused',
    ]);
    const inside = segments(frames(caps, 'web.eth0'));
    expect(inside.some((s) => s.dport === 80 && s.src === '198.51.100.1')).toBe(true); // DNAT keeps the client's address
    expect(inside.some((s) => s.dport === 53)).toBe(true);
    expect(inside.some((s) => s.dport === 22 || s.sport === 22)).toBe(false);
    // each connection noted once, with its DNAT; the one to closed port 22 (killed by its RST) once too
    expect(summary.connections.map((c) => c.replace(/:\d{5}\b/, ':P'))).toEqual([
      'dh: tcp 198.51.100.1:P → 198.51.100.10:8080, destination NAT to 172.17.0.2:80',
      'dh: udp 198.51.100.1:P → 198.51.100.10:5353, destination NAT to 172.17.0.2:53',
      'dh: tcp 198.51.100.1:P → 198.51.100.10:22',
    ]);
  });

  it('docker-direct-routing: Docker 28 drops direct access to a container in the raw table; publish still works', () => {
    const { summary, caps } = runExample('docker-direct-routing');
    expect(results(summary)).toEqual(['neighbour: tcp 172.17.0.2:80 timeout', 'neighbour: tcp 198.51.100.10:8080 ok']);
    expect(summary.drops).toContainEqual({ where: 'dh', count: 3, why: 'iptables raw DROP' }); // the SYN and its two retries
    expect(segments(frames(caps, 'web.eth0')).filter((s) => s.src === '198.51.100.1' && (s.flags & SYN) !== 0)).toHaveLength(1); // only the published one
  });

  it('docker-user-networks: same network by name works; another network and the default bridge are cut off', () => {
    const { summary, caps } = runExample('docker-user-networks');
    expect(results(summary)).toEqual(['web: tcp 172.18.0.3:8000 ok', 'web: tcp 172.19.0.2:5432 timeout', 'legacy: ping 172.19.0.2 no reply']);
    // nothing from web (frontend) or legacy (docker0) ever arrives at db's interface
    const atDb = frames(caps, 'db.eth0').filter((f) => f.network?.kind === 'ipv4');
    expect(atDb).toEqual([]);
  });

  it('docker-two-containers: the learned bridge keeps unicast off the third container', () => {
    const { summary, caps } = runExample('docker-two-containers');
    expect(results(summary)).toEqual(['a: tcp 172.17.0.3:8000 ok', 'a: udp 172.17.0.3:9000 ok']);
    const atC = frames(caps, 'c.eth0');
    for (const f of atC) {
      const dst = f.ethernet.kind === 'ethernet' ? f.ethernet.repr.dst : 0;
      expect(dst === 0xffffffffffff || f.network?.kind === 'arp', 'only broadcast ARP (or c’s own announcements) at c').toBe(true);
    }
    expect(segments(atC)).toEqual([]);
  });

  it('docker-host-mode and container mode: shared namespaces; none mode is cut off', () => {
    expect(results(runExample('docker-host-mode').summary)).toEqual(['client: tcp 192.0.2.10:3128 ok', 'proxy: ping 192.0.2.1 ok']);
    expect(results(runExample('docker-none-and-container').summary)).toEqual(['side: tcp 192.0.2.1:80 ok', 'jail: ping 192.0.2.1 unreachable']);
  });

  it('docker-macvlan: reachable from the LAN without NAT, not from its own host', () => {
    const { summary, caps } = runExample('docker-macvlan');
    expect(results(summary)).toEqual(['laptop: tcp 192.0.2.40:445 ok', 'dh: ping 192.0.2.40 unreachable']);
    const atNas = segments(frames(caps, 'nas.eth0'));
    expect(atNas.some((s) => s.src === '192.0.2.50' && s.dport === 445)).toBe(true);
    // the host's ARP for the container never reaches it
    const arpsFromHost = (name: string) => frames(caps, name).filter((f) => f.network?.kind === 'arp' && formatIpv4(f.network.repr.senderIp) === '192.0.2.10' && formatIpv4(f.network.repr.targetIp) === '192.0.2.40');
    expect(arpsFromHost('dh.eth0').length).toBe(3); // the host asks three times, on the wire…
    expect(arpsFromHost('nas.eth0')).toEqual([]); // …and its own macvlan child never hears it
  });

  it('docker-same-source-port: two containers with source port 40000 leave as two distinct flows', () => {
    const { summary, caps } = runExample('docker-same-source-port');
    expect(summary.traffic.every((t) => t.result === 'ok')).toBe(true);
    const syns = segments(frames(caps, 'server.eth0')).filter((s) => s.proto === 'tcp' && (s.flags & (SYN | ACK)) === SYN);
    expect(syns.length).toBe(2);
    expect(syns[0]!.sport).toBe(40000); // kept for the first
    expect(syns[1]!.sport).not.toBe(40000); // remapped for the second
    const udpPorts = new Set(segments(frames(caps, 'server.eth0')).filter((s) => s.proto === 'udp' && s.dport === 53).map((s) => s.sport));
    expect(udpPorts.size).toBe(2);
    // the summary tells the same story: the first kept its port, the second was remapped
    const tcp = summary.connections.filter((c) => c.startsWith('dh: tcp'));
    expect(tcp[0]).toBe('dh: tcp 172.17.0.2:40000 → 192.0.2.1:80, source NAT to 192.0.2.10:40000');
    expect(tcp[1]).toMatch(/^dh: tcp 172\.17\.0\.3:40000 → 192\.0\.2\.1:80, source NAT to 192\.0\.2\.10:(\d+)$/);
    expect(tcp[1]).not.toMatch(/:40000$/);
  });

  it('multihomed-bind: 0.0.0.0 answers on both addresses, a specific bind only on its own', () => {
    expect(results(runExample('multihomed-bind').summary)).toEqual([
      'desk: tcp 192.168.1.10:80 ok',
      'phone: tcp 192.168.2.5:80 ok',
      'desk: tcp 192.168.1.10:8080 ok',
      'phone: tcp 192.168.2.5:8080 refused',
    ]);
  });

  it('reuseport: connections to one port are spread over both services', () => {
    const { summary } = runExample('reuseport');
    const workers = new Set(summary.traffic.map((t) => /worker \d/.exec(t.detail)?.[0]));
    expect(summary.traffic.every((t) => t.result === 'ok')).toBe(true);
    expect(workers).toEqual(new Set(['worker 1', 'worker 2']));
  });
});

describe('VM network modes (the seed notes’ table)', () => {
  it('vm-user: slirp carries the guest out through the host’s own sockets; hostfwd reaches the guest', () => {
    const { summary, caps } = runExample('vm-user');
    expect(results(summary)).toEqual(['guest: ping 192.168.1.1 ok', 'guest: tcp 192.168.1.1:80 ok', 'server: tcp 192.168.1.10:2222 ok']);
    // the server sees the laptop's own address, never the guest's 10.0.2.15
    const atServer = segments(frames(caps, 'server.eth0'));
    expect(atServer.some((x) => x.src === '192.168.1.10' && x.dport === 80)).toBe(true);
    expect(atServer.some((x) => x.src.startsWith('10.0.2.') || x.dst.startsWith('10.0.2.'))).toBe(false);
  });

  it('vm-nat: DHCP from virbr0 first, then MASQUERADE to the LAN; the LAN cannot open a connection to the VM', () => {
    const { summary, caps } = runExample('vm-nat');
    expect(results(summary)).toEqual(['vm1: ping 192.168.1.1 ok', 'vm1: tcp 192.168.1.1:80 ok', 'vm1: udp 192.168.1.1:7 ok', 'server: tcp 192.168.1.10:80 refused']);
    const guest = segments(frames(caps, 'vm1.eth0'));
    expect(guest[0]).toMatchObject({ proto: 'udp', sport: 68, dport: 67 }); // DHCP before anything else
    const atServer = segments(frames(caps, 'server.eth0'));
    const toServer = atServer.filter((x) => x.dst === '192.168.1.1' && (x.dport === 80 || x.dport === 7));
    expect(toServer.length).toBeGreaterThan(0);
    expect(toServer.every((x) => x.src === '192.168.1.10')).toBe(true);
  });

  it('bridged, host-only, internal: who reaches whom', () => {
    expect(results(runExample('vm-bridged-hostonly-internal').summary)).toEqual([
      'printer: tcp 192.168.1.50:80 ok', // bridged: a new host on the LAN
      'web: tcp 192.168.1.30:631 ok',
      'lab: tcp 192.168.56.1:8080 ok', // host-only: the host, yes
      'lab: ping 192.168.1.30 unreachable', // …the LAN, no
      'db2: tcp 192.168.100.1:5432 ok', // internal: VM to VM
      'db2: ping 192.168.1.10 unreachable', // …not even the host
    ]);
  });
});

describe('determinism', () => {
  it('the same scenario and seed give byte-identical captures', () => {
    const a = runExample('docker-bridge-nat');
    const b = runExample('docker-bridge-nat');
    for (const name of a.caps.names()) expect(Buffer.from(b.caps.bytes(name)).equals(Buffer.from(a.caps.bytes(name))), name).toBe(true);
  });

  it('another seed changes the bytes but not the shape of the exchange', () => {
    const a = runExample('docker-bridge-nat', 1);
    const b = runExample('docker-bridge-nat', 2);
    const name = 'server.eth0';
    expect(Buffer.from(b.caps.bytes(name)).equals(Buffer.from(a.caps.bytes(name)))).toBe(false);
    const shape = (fs: DecodedFrame[]) => fs.map((f) => `${f.length} ${f.network?.kind} ${f.transport?.kind ?? ''} ${f.transport?.kind === 'tcp' ? f.transport.repr.flags : ''}`);
    expect(shape(frames(b.caps, name))).toEqual(shape(frames(a.caps, name)));
    // and what differs is only what a seed decides (ISNs, ports, ids, random MACs): with those
    // normalised, every interface compares equal, even strictly (IP id patterns, windows)
    const side = (r: ReturnType<typeof runExample>, n: string) => ({ name: n, streams: r.caps.names().flatMap((c) => captureStreams(`${c}.pcap`, readCapture(r.caps.bytes(c), c))) });
    // Docker's veth names are random too: pair the one host-side veth of each run by hand
    const veth = (r: ReturnType<typeof runExample>) => r.caps.names().find((n) => n.startsWith('dh.veth'))!;
    expect(veth(a)).not.toBe(veth(b));
    const pairs = a.caps.names().map((n): [string, string] => [n, n.startsWith('dh.veth') ? veth(b) : n]);
    const report = compareCaptures(side(a, 'seed 1'), side(b, 'seed 2'), { strict: true, pairs });
    expect(report.files.map((f) => `${f.key} ${f.verdict}`)).toEqual(report.files.map((f) => `${f.key} match`));
  });
});
