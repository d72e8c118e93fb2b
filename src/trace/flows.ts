// From the recorded events to what a person reads: packets grouped into flows, and for each packet the
// seed notes' step table — stage, namespace and interface, hook/chain/rule, what changed. The table of
// the notes (outbound: POSTROUTING rewrites 172.17.0.2:8080 to the host's address; inbound: PREROUTING
// restores it from conntrack) is what the first packet of each direction of a NAT-ed flow shows here.
//
// A packet belongs to the connection conntrack gave it at its first tracked hook (so the container's
// SYN and the server's SYN-ACK, NAT-ed or not, are one flow, in two directions; an ICMP error is
// RELATED to the flow it quotes); a packet that never met conntrack goes by its addresses and ports.

import { formatIpv4, formatMac } from '../wire/addr.js';
import type { DeviceEvent, HookEvent, Snap, TraceEvent, TraceRecorder } from './recorder.js';

export interface Step {
  /** receive / transmit / a hook name / ip_forward. */
  stage: string;
  timeNs: number;
  ns: string;
  /** The device, or for a hook the devices it ran between ("in docker0 out eth0"). */
  iface: string;
  /** `nat POSTROUTING: -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`, …; conntrack state. */
  rule: string;
  /** What this step changed (before → after), or what the packet is at its first step. */
  changed: string;
  /** The drop, when this step dropped it. */
  drop: string | null;
  /** The frame at a device step (for decode lines), when kept. */
  bytes: Uint8Array | null;
}

export interface PacketTrace {
  pid: number;
  /** The packet where it was first seen. */
  first: Snap;
  dir: 'original' | 'reply';
  summary: string;
  firstNs: number;
  steps: Step[];
  dropped: string | null;
  /** Why this packet is shown beside its direction's first: another path, a drop, an ICMP error, a
   *  retransmission (null for the first packets and the ones that went the same way). */
  other: string | null;
}

export interface FlowTrace {
  /** `tcp 172.17.0.2:49050 → 192.0.2.1:80`, `arp 172.17.0.1 ↔ 172.17.0.2`. */
  key: string;
  proto: string;
  /** Where conntrack translated it: `dh: source NAT to 192.0.2.10:49050`. */
  nat: string[];
  packets: PacketTrace[];
  counts: { original: number; reply: number; dropped: number };
}

/** Every flow of a recorded run, in the order their first packets were seen. */
export function buildFlows(rec: TraceRecorder): FlowTrace[] {
  const byPid = new Map<number, TraceEvent[]>();
  for (const e of rec.events) {
    if (e.pid === 0) continue; // from before the trace began
    let l = byPid.get(e.pid);
    if (l === undefined) byPid.set(e.pid, (l = []));
    l.push(e);
  }
  const flows = new Map<string, FlowTrace>();
  const reversed = new Map<string, string>(); // a 5-tuple key → the flow it is the reply of
  for (const [pid, events] of byPid) {
    const first = events[0]!;
    const tracked = events.find((e): e is HookEvent => e.kind === 'hook' && e.ct !== null && e.ct.connection !== null);
    let key: string;
    let dir: 'original' | 'reply' = 'original';
    const s = first.kind === 'device' ? first.snap : first.after;
    if (tracked !== undefined) {
      key = tracked.ct!.connection!;
      dir = tracked.ct!.reply ? 'reply' : 'original';
    } else if (s.ethertype === 0x0806) {
      const [a, b] = [s.src, s.dst].sort((x, y) => x - y);
      key = `arp ${formatIpv4(a!)} ↔ ${formatIpv4(b!)}`;
      if (s.flags === 2) dir = 'reply';
    } else if (s.ethertype === 0x0800) {
      key = tupleKey(s, false);
      const back = reversed.get(key);
      if (back !== undefined) {
        key = back;
        dir = 'reply';
      } else if (!flows.has(key)) reversed.set(tupleKey(s, true), key);
    } else key = `ethertype 0x${s.ethertype.toString(16).padStart(4, '0')}`;
    let f = flows.get(key);
    if (f === undefined) {
      f = { key, proto: key.split(' ')[0]!, nat: [], packets: [], counts: { original: 0, reply: 0, dropped: 0 } };
      flows.set(key, f);
    }
    const p = packetTrace(pid, dir, events);
    f.packets.push(p);
    f.counts[dir]++;
    if (p.dropped !== null) f.counts.dropped++;
    for (const e of events) {
      if (e.kind !== 'hook' || e.ct === null) continue;
      const n = [e.ct.snat ? `source NAT to ${e.ct.snat}` : '', e.ct.dnat ? `destination NAT to ${e.ct.dnat}` : ''].filter((x) => x).join(', ');
      const line = `${e.ns}: ${n}`;
      if (n && !f.nat.includes(line)) f.nat.push(line);
    }
  }
  const out = [...flows.values()];
  for (const f of out) markOthers(f);
  return out;
}

function endpoint(a: number, port: number, proto: number): string {
  return port >= 0 && proto !== 1 ? `${formatIpv4(a)}:${port}` : formatIpv4(a);
}

function protoName(p: number): string {
  return p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 1 ? 'icmp' : `proto ${p}`;
}

/** `udp 192.0.2.1:53 → 192.0.2.10:5353` from a snapshot (reversed: the reply's key). */
function tupleKey(s: Snap, reverse: boolean): string {
  const a = endpoint(s.src, s.sport, s.proto);
  const b = endpoint(s.dst, s.dport, s.proto);
  return `${protoName(s.proto)} ${reverse ? b : a} → ${reverse ? a : b}`;
}

const TCP_FLAGS: [number, string][] = [[0x02, 'S'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x10, '.']];

/** One line for what a packet is: `TCP [S] 172.17.0.2:49050 > 192.0.2.1:80`. */
export function describeSnap(s: Snap): string {
  if (s.ethertype === 0x0806) return s.flags === 2 ? `ARP reply ${formatIpv4(s.src)} is-at ${formatMac(s.ethSrc)}` : `ARP who-has ${formatIpv4(s.dst)} tell ${formatIpv4(s.src)}`;
  if (s.ethertype !== 0x0800) return `ethertype 0x${s.ethertype.toString(16).padStart(4, '0')}, ${s.len} bytes`;
  const ends = `${endpoint(s.src, s.sport, s.proto)} > ${endpoint(s.dst, s.dport, s.proto)}`;
  if (s.proto === 6) return `TCP [${TCP_FLAGS.filter(([b]) => (s.flags & b) !== 0).map(([, c]) => c).join('')}] ${ends}`;
  if (s.proto === 17) return `UDP ${ends}`;
  if (s.proto === 1) {
    const t = s.flags === 8 ? 'echo request' : s.flags === 0 ? 'echo reply' : s.flags === 3 ? `unreachable (code ${s.icmpCode})` : s.flags === 11 ? 'time exceeded' : s.flags === 5 ? 'redirect' : `type ${s.flags}`;
    return `ICMP ${t} ${ends}`;
  }
  return `IP proto ${s.proto} ${ends}`;
}

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

/** What differs between two snapshots of one packet, as "field before → after" phrases. */
export function diffSnaps(a: Snap, b: Snap, withEth: boolean): string[] {
  const out: string[] = [];
  if (withEth && a.ethertype !== 0 && b.ethertype !== 0) {
    if (a.ethSrc !== b.ethSrc) out.push(`MAC src ${formatMac(a.ethSrc)} → ${formatMac(b.ethSrc)}`);
    if (a.ethDst !== b.ethDst) out.push(`MAC dst ${formatMac(a.ethDst)} → ${formatMac(b.ethDst)}`);
  }
  if (a.ethertype !== 0x0800 || b.ethertype !== 0x0800) return out;
  if (a.src !== b.src || a.sport !== b.sport) out.push(`src ${endpoint(a.src, a.sport, a.proto)} → ${endpoint(b.src, b.sport, b.proto)}`);
  if (a.dst !== b.dst || a.dport !== b.dport) out.push(`dst ${endpoint(a.dst, a.dport, a.proto)} → ${endpoint(b.dst, b.dport, b.proto)}`);
  if (a.ttl !== b.ttl) out.push(`TTL ${a.ttl} → ${b.ttl}`);
  if (a.ipCsum !== b.ipCsum) out.push(`IP checksum ${hex(a.ipCsum)} → ${hex(b.ipCsum)}`);
  if (a.l4Csum !== b.l4Csum && a.proto === b.proto) out.push(`${protoName(a.proto).toUpperCase()} checksum ${hex(a.l4Csum)} → ${hex(b.l4Csum)}`);
  return out;
}

function packetTrace(pid: number, dir: 'original' | 'reply', events: TraceEvent[]): PacketTrace {
  const steps: Step[] = [];
  let lastIp: Snap | null = null;
  let lastEth: Snap | null = null;
  let dropped: string | null = null;
  const first = events[0]!;
  const firstSnap = first.kind === 'device' ? first.snap : first.after;
  for (const e of events) {
    if (e.kind === 'device') {
      const d: DeviceEvent = e;
      const changes = [...(lastEth !== null ? diffSnaps(lastEth, d.snap, true).filter((c) => c.startsWith('MAC')) : []), ...(lastIp !== null ? diffSnaps(lastIp, d.snap, false) : [])];
      steps.push({
        stage: d.dir === 'out' ? 'transmit' : 'receive',
        timeNs: d.timeNs,
        ns: d.ns,
        iface: d.dev,
        rule: d.devKind,
        changed: steps.length === 0 ? `sent: ${describeSnap(d.snap)}` : changes.join(', '),
        drop: null,
        bytes: d.bytes,
      });
      lastIp = d.snap;
      lastEth = d.snap;
    } else {
      const h: HookEvent = e;
      if (lastIp !== null) {
        const fwd = diffSnaps(lastIp, h.before, false);
        if (fwd.length > 0) steps.push({ stage: 'ip_forward', timeNs: h.timeNs, ns: h.ns, iface: '', rule: '', changed: fwd.join(', '), drop: null, bytes: null });
      }
      const rules = h.decisions.map((x) => `${x.table} ${x.chain}: ${x.rule}`);
      if (h.ct !== null) rules.push(`conntrack ${h.ct.state}${h.ct.reply ? ' (reply)' : ''}${h.ct.connection !== null ? ` ${h.ct.connection}` : ''}`);
      const nat = diffSnaps(h.before, h.after, false);
      let changed = nat.join(', ');
      if (nat.length > 0 && !h.decisions.some((x) => ['MASQUERADE', 'SNAT', 'DNAT', 'REDIRECT'].includes(x.verdict))) {
        changed = `${h.ct?.reply ? 'de-NAT' : 'NAT'} from the conntrack entry: ${changed}`;
      }
      if (h.verdict === 'DROP') {
        dropped = h.drop ?? 'dropped';
        changed = `DROPPED (${dropped})${changed ? `; ${changed}` : ''}`;
      }
      if (steps.length === 0) changed = `sent: ${describeSnap(h.before)}${changed ? `; ${changed}` : ''}`;
      steps.push({
        stage: h.hook,
        timeNs: h.timeNs,
        ns: h.ns,
        iface: [h.inDev ? `in ${h.inDev}` : '', h.outDev ? `out ${h.outDev}` : ''].filter((x) => x).join(' '),
        rule: rules.join('; '),
        changed,
        drop: h.verdict === 'DROP' ? dropped : null,
        bytes: null,
      });
      lastIp = h.after;
    }
  }
  return { pid, first: firstSnap, dir, summary: describeSnap(firstSnap), firstNs: first.timeNs, steps, dropped, other: null };
}

/** The way a packet went, for comparing packets of one direction. */
function pathOf(p: PacketTrace): string {
  return p.steps.map((s) => `${s.stage}@${s.ns}/${s.iface}`).join(' ');
}

function markOthers(f: FlowTrace): void {
  const firstPath = new Map<string, string>();
  const seen = new Set<string>();
  for (const p of f.packets) {
    const path = pathOf(p);
    const fp = firstPath.get(p.dir);
    const s = p.first;
    // a TCP segment that holds data, SYN or FIN again, at the same sequence number: sent again
    const sig = s.proto === 6 && (s.dataLen > 0 || (s.flags & 0x03) !== 0) ? `${p.dir} ${s.seq} ${s.flags & 0x07}` : null;
    if (fp === undefined) firstPath.set(p.dir, path);
    else if (p.dropped !== null) p.other = `dropped: ${p.dropped}`;
    else if (p.summary.startsWith('ICMP') && !/echo/.test(p.summary)) p.other = 'ICMP error';
    else if (sig !== null && seen.has(sig)) p.other = 'retransmission';
    else if (path !== fp) p.other = 'another path';
    if (fp === undefined && p.dropped !== null) p.other = `dropped: ${p.dropped}`;
    if (sig !== null) seen.add(sig);
  }
}

/** The packets a step table shows for a flow: the first of each direction and every other one. */
export function shownPackets(f: FlowTrace): PacketTrace[] {
  const firsts = new Set<PacketTrace>();
  for (const d of ['original', 'reply'] as const) {
    const p = f.packets.find((x) => x.dir === d);
    if (p) firsts.add(p);
  }
  return f.packets.filter((p) => firsts.has(p) || p.other !== null);
}
