// The per-packet trace, recorded as a run goes (only when asked: `World.trace()`). Three narrow hooks
// feed it, each a null check when no trace is recorded:
//   - PacketPool.ids: a fresh slot is a new packet, a clone the same packet going on (flooding,
//     skb_unshare), so a packet keeps its id from the socket that built it to the one that takes it;
//   - NetDevice.trace: every device it crosses, in and out (where tcpdump -i would see it);
//   - Netfilter.tracer: each hook with the table, chain and rule that decided (as iptables-save prints
//     it), the conntrack state and connection there, the packet before and after (NAT), and for a drop
//     the counter that counted it.
// What changed between two points of a packet's way (TTL, MACs, addresses, ports, checksums) is worked
// out from the header snapshots (flows.ts). Allocates freely: it is a tool, not the packet path.

import type { NetDevice, DeviceTracer } from '../devices/device.js';
import { Hook, Verdict } from '../netfilter/hooks.js';
import type { NetfilterTracer, TraceCt } from '../netfilter/netfilter.js';
import type { CompiledTable } from '../netfilter/rules.js';
import { T_ACCEPT, T_DNAT, T_DROP, T_MASQUERADE, T_REDIRECT, T_REJECT, T_SNAT } from '../netfilter/rules.js';
import type { Engine } from '../sim/engine.js';
import { formatIpv4 } from '../wire/addr.js';

/** The header fields a trace compares between two points of a packet's way. */
export interface Snap {
  len: number;
  ethSrc: number;
  ethDst: number;
  ethertype: number;
  /** IPv4 (0 elsewhere). */
  ttl: number;
  src: number;
  dst: number;
  proto: number;
  ipId: number;
  ipCsum: number;
  /** TCP/UDP ports, or the ICMP echo id as sport (-1 when none). */
  sport: number;
  dport: number;
  l4Csum: number;
  /** TCP flags, or the ICMP type (-1 when none). */
  flags: number;
  icmpCode: number;
  /** TCP sequence number and payload bytes (0 elsewhere): what tells a retransmission. */
  seq: number;
  dataLen: number;
}

export interface Decision {
  table: string;
  chain: string;
  /** `-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`, or `policy ACCEPT`. */
  rule: string;
  verdict: string;
}

export interface DeviceEvent {
  kind: 'device';
  seq: number;
  timeNs: number;
  pid: number;
  ns: string;
  dev: string;
  devKind: string;
  dir: 'in' | 'out';
  snap: Snap;
  /** The frame as it was there (null past the recorder's cap). */
  bytes: Uint8Array | null;
}

export interface HookEvent {
  kind: 'hook';
  seq: number;
  timeNs: number;
  pid: number;
  ns: string;
  hook: HookName;
  inDev: string;
  outDev: string;
  before: Snap;
  after: Snap;
  decisions: Decision[];
  ct: TraceCt | null;
  verdict: 'ACCEPT' | 'DROP';
  /** For a drop: the counter that counted it. */
  drop: string | null;
}

export type TraceEvent = DeviceEvent | HookEvent;
export type HookName = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
const HOOK_NAMES: HookName[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

const VERDICTS: Record<number, string> = {
  [T_ACCEPT]: 'ACCEPT', [T_DROP]: 'DROP', [T_REJECT]: 'REJECT', [T_MASQUERADE]: 'MASQUERADE', [T_SNAT]: 'SNAT',
  [T_DNAT]: 'DNAT', [T_REDIRECT]: 'REDIRECT',
};

export interface RecorderOptions {
  /** Frames kept as bytes (for decode lines); events past it keep their header snapshot only. */
  maxFrames?: number;
  /** Keep the events (default); false when only frame comments are wanted. */
  keepEvents?: boolean;
}

/** Everything recorded in one run, in the order it happened. */
export class TraceRecorder {
  readonly events: TraceEvent[] = [];
  private framesKept = 0;
  private readonly maxFrames: number;
  /** Frames not kept as bytes because of the cap. */
  framesDropped = 0;
  /** Where frame comments go (a pcapng CaptureSet with annotations on), or null. */
  annotator: ((dev: NetDevice, text: string) => void) | null = null;
  /** Per pool slot (so memory stays bounded by the pool, not the run): the packet last there, what
   *  happened to it since the device it was last seen on, and that device. */
  private notePid: number[] = [];
  private notes: (string[] | null)[] = [];
  private lastDev: (NetDevice | null)[] = [];
  /** Whether events are kept (false when only frame comments are wanted). */
  readonly keepEvents: boolean;

  /** The comment state of the packet in `slot` (reset when another packet holds the slot). */
  private noteSlot(slot: number, pid: number): void {
    if (this.notePid[slot] !== pid) {
      this.notePid[slot] = pid;
      this.notes[slot] = null;
      this.lastDev[slot] = null;
    }
  }

  /** A device saw the packet: it carries the notes gathered since its last device. */
  noteDevice(slot: number, pid: number, dev: NetDevice): void {
    this.noteSlot(slot, pid);
    const n = this.notes[slot];
    if (n !== null && n !== undefined) this.annotator!(dev, n.join('; '));
    this.notes[slot] = null;
    this.lastDev[slot] = dev;
  }

  /** A hook did something worth a comment: on the next frame captured, or (a drop) on the last. */
  noteHook(slot: number, pid: number, note: string, dropped: boolean): void {
    this.noteSlot(slot, pid);
    if (dropped) {
      const dev = this.lastDev[slot];
      if (dev !== null && dev !== undefined) this.annotator!(dev, `${note}, dropped after this capture`);
      return;
    }
    const n = this.notes[slot];
    if (n === null || n === undefined) this.notes[slot] = [note];
    else n.push(note);
  }

  constructor(
    readonly engine: Engine,
    opts: RecorderOptions = {},
  ) {
    this.maxFrames = opts.maxFrames ?? 200_000;
    this.keepEvents = opts.keepEvents ?? true;
    engine.pool.enableIds();
  }

  /** The tracer of one namespace (its devices and its netfilter). */
  forNamespace(ns: string): NamespaceTracer {
    return new NamespaceTracer(this, ns);
  }

  pid(slot: number): number {
    return this.engine.pool.ids![slot]!;
  }

  /** At a device the whole frame; at a hook the IPv4 packet only (its Ethernet header may not be
   *  written yet, as on the way out before the neighbour is known). */
  snap(slot: number, l3off: number, frame: boolean): Snap {
    return snapshot(this.engine.pool.bytes, this.engine.pool.base(slot), this.engine.pool.len[slot]!, l3off, frame);
  }

  frameBytes(slot: number): Uint8Array | null {
    if (this.framesKept >= this.maxFrames) {
      this.framesDropped++;
      return null;
    }
    this.framesKept++;
    return this.engine.pool.toBytes(slot);
  }

  push<E extends TraceEvent>(e: E): E {
    e.seq = this.events.length;
    if (this.keepEvents) this.events.push(e);
    return e;
  }
}

interface OpenHook {
  slot: number;
  inDev: string;
  outDev: string;
  before: Snap;
  decisions: Decision[];
}

/** One namespace's devices and netfilter report here. */
export class NamespaceTracer implements DeviceTracer, NetfilterTracer {
  private readonly open: OpenHook[] = [];

  constructor(
    private readonly rec: TraceRecorder,
    readonly ns: string,
  ) {}

  device(dev: NetDevice, slot: number, dir: 'in' | 'out'): void {
    const r = this.rec;
    const pid = r.pid(slot);
    if (r.keepEvents) {
      r.push<DeviceEvent>({
        kind: 'device',
        seq: 0,
        timeNs: r.engine.now,
        pid,
        ns: this.ns,
        dev: dev.name,
        devKind: dev.constructor.name.toLowerCase(),
        dir,
        snap: r.snap(slot, 14, true),
        bytes: r.frameBytes(slot),
      });
    }
    if (r.annotator !== null) r.noteDevice(slot, pid, dev);
  }

  hookStart(_hook: Hook, slot: number, l3off: number, inDev: string, outDev: string): void {
    this.open.push({ slot, inDev, outDev, before: this.rec.snap(slot, l3off, false), decisions: [] });
  }

  walked(table: CompiledTable, chain: number, rule: number, verdict: number): void {
    const top = this.open[this.open.length - 1];
    if (top === undefined) return;
    top.decisions.push({
      table: table.name,
      chain: rule >= 0 ? table.chainOf(rule) : table.chainNames[chain]!,
      rule: rule >= 0 ? table.ruleText(rule) : `policy ${VERDICTS[verdict] ?? verdict}`,
      verdict: VERDICTS[verdict] ?? String(verdict),
    });
  }

  hookEnd(hook: Hook, slot: number, l3off: number, verdict: Verdict, ct: TraceCt | null, drop: string | null): void {
    const o = this.open.pop();
    if (o === undefined || o.slot !== slot) return;
    const r = this.rec;
    const e = r.push<HookEvent>({
      kind: 'hook',
      seq: 0,
      timeNs: r.engine.now,
      pid: r.pid(slot),
      ns: this.ns,
      hook: HOOK_NAMES[hook]!,
      inDev: o.inDev,
      outDev: o.outDev,
      before: o.before,
      after: r.snap(slot, l3off, false),
      decisions: o.decisions,
      ct,
      verdict: verdict === Verdict.DROP ? 'DROP' : 'ACCEPT',
      drop,
    });
    if (r.annotator !== null) {
      const note = hookNote(e);
      if (note !== null) r.noteHook(slot, e.pid, note, e.verdict === 'DROP');
    }
  }
}

function ep(a: number, port: number, proto: number): string {
  return port >= 0 && proto !== 1 ? `${formatIpv4(a)}:${port}` : formatIpv4(a);
}

/** A frame comment for what a hook did, or null when it only let the packet pass by policy:
 *  `dh: POSTROUTING nat MASQUERADE 172.17.0.2:49050 → 192.0.2.10:49050`,
 *  `dh: PREROUTING conntrack de-NAT 192.0.2.10:49050 → 172.17.0.2:49050`,
 *  `dh: FORWARD filter ACCEPT by -A DOCKER-FORWARD -i docker0 -j ACCEPT`. */
export function hookNote(e: HookEvent): string | null {
  const a = e.before;
  const b = e.after;
  const parts: string[] = [];
  const rewrite: string[] = [];
  if (a.src !== b.src || a.sport !== b.sport) rewrite.push(`${ep(a.src, a.sport, a.proto)} → ${ep(b.src, b.sport, b.proto)}`);
  if (a.dst !== b.dst || a.dport !== b.dport) rewrite.push(`${ep(a.dst, a.dport, a.proto)} → ${ep(b.dst, b.dport, b.proto)}`);
  const nat = e.decisions.find((d) => d.verdict === 'MASQUERADE' || d.verdict === 'SNAT' || d.verdict === 'DNAT' || d.verdict === 'REDIRECT');
  if (rewrite.length > 0) parts.push(nat !== undefined ? `${nat.table} ${nat.verdict} ${rewrite.join(', ')}` : `conntrack ${e.ct?.reply ? 'de-NAT' : 'NAT'} ${rewrite.join(', ')}`);
  for (const d of e.decisions) {
    if (d === nat || d.rule.startsWith('policy ACCEPT')) continue;
    parts.push(d.rule.startsWith('policy') ? `${d.table} ${d.chain} ${d.rule}` : `${d.table} ${d.verdict} by ${d.rule}`);
  }
  if (e.verdict === 'DROP' && parts.length === 0) parts.push(`DROP (${e.drop ?? 'dropped'})`);
  return parts.length === 0 ? null : `${e.ns}: ${e.hook} ${parts.join(', ')}`;
}

/** The fields of a frame at `base` (IPv4 header at base + l3off). */
export function snapshot(b: Uint8Array, base: number, len: number, l3off: number, frame: boolean): Snap {
  const u16 = (at: number) => (b[at]! << 8) | b[at + 1]!;
  const u32 = (at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  const mac = (at: number) => u16(at) * 0x100000000 + u32(at + 2);
  const s: Snap = { len, ethSrc: 0, ethDst: 0, ethertype: 0, ttl: 0, src: 0, dst: 0, proto: 0, ipId: 0, ipCsum: 0, sport: -1, dport: -1, l4Csum: 0, flags: -1, icmpCode: -1, seq: 0, dataLen: 0 };
  if (frame && len >= 14) {
    s.ethDst = mac(base);
    s.ethSrc = mac(base + 6);
    s.ethertype = u16(base + 12);
  }
  if (s.ethertype === 0x0806 && len >= 42) {
    s.flags = u16(base + 20); // ARP op
    s.src = u32(base + 28);
    s.dst = u32(base + 38);
    return s;
  }
  const l3 = base + l3off;
  if ((!frame || s.ethertype === 0x0800) && len >= l3off + 20 && b[l3]! >> 4 === 4) {
    s.ethertype = 0x0800;
    s.ttl = b[l3 + 8]!;
    s.proto = b[l3 + 9]!;
    s.ipId = u16(l3 + 4);
    s.ipCsum = u16(l3 + 10);
    s.src = u32(l3 + 12);
    s.dst = u32(l3 + 16);
    const l4 = l3 + (b[l3]! & 0x0f) * 4;
    const frag = u16(l3 + 6) & 0x1fff;
    if (frag === 0 && (s.proto === 6 || s.proto === 17) && base + len >= l4 + 8) {
      s.sport = u16(l4);
      s.dport = u16(l4 + 2);
      if (s.proto === 6 && base + len >= l4 + 18) {
        s.flags = b[l4 + 13]!;
        s.l4Csum = u16(l4 + 16);
        s.seq = u32(l4 + 4);
        s.dataLen = Math.max(0, u16(l3 + 2) - (b[l3]! & 0x0f) * 4 - (b[l4 + 12]! >> 4) * 4);
      } else if (s.proto === 17) s.l4Csum = u16(l4 + 6);
    } else if (frag === 0 && s.proto === 1 && base + len >= l4 + 8) {
      s.flags = b[l4]!;
      s.icmpCode = b[l4 + 1]!;
      s.l4Csum = u16(l4 + 2);
      if (s.flags === 0 || s.flags === 8) s.sport = u16(l4 + 4);
    }
  }
  return s;
}
