// Netfilter of one network namespace: conntrack, the nat table and the filter table, hooked into the
// host stack at the five IPv4 hooks in Linux's priority order:
//
//   PREROUTING   conntrack in (-200) → nat PREROUTING: DNAT/REDIRECT (-100)
//   INPUT        filter INPUT (0) → nat INPUT: SNAT (100) → confirm (last)
//   FORWARD      filter FORWARD (0)
//   OUTPUT       conntrack in (-200) → nat OUTPUT: DNAT/REDIRECT (-100) → filter OUTPUT (0)
//   POSTROUTING  nat POSTROUTING: SNAT/MASQUERADE (100) → confirm (last)
//
// The nat table is walked only for a connection's first packet (conntrack NEW) at each manip; every
// packet, that one included, is then rewritten from the entry (nat.ts). Linux keeps a packet's conntrack
// on the skb from the first hook to the last; here it is kept per pool slot (`skbEntry`, set at
// PREROUTING/OUTPUT, ended at INPUT/POSTROUTING or on DROP). The stack must therefore run OUTPUT before
// POSTROUTING for every packet it originates (REJECT answers and ICMP errors included), as Linux does.
// A packet that leaves by `lo` keeps its entry for its way back in, as an skb keeps its _nfct over
// loopback_xmit.

import { getU32 } from '../wire/bytes.js';
import type { IptablesPlan } from '../plan/plan.js';
import { formatIpv4 } from '../wire/addr.js';
import type { Engine } from '../sim/engine.js';
import type { Prng } from '../sim/prng.js';
import {
  Conntrack, DIR_ORIGINAL, DIR_REPLY, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IP_CT_NONE, IP_CT_RELATED,
  IP_CT_RELATED_REPLY, IPS_DST_NAT, IPS_NAT_MASK, IPS_SEEN_REPLY, IPS_SRC_NAT, PROTO_ICMP, PROTO_TCP, PROTO_UDP, Tuple,
  icmpInverseType, icmpIsRequest, type ConntrackStats,
} from './conntrack.js';
import { Hook, Verdict, type NetfilterHost, type PacketFilter } from './hooks.js';
import {
  dropCounts, dropReason, dropSummaryLines, type ConnectionNote, type NetfilterDrops, type NetfilterTracer, type TraceCt,
} from './report.js';
import { ASSOC_NONE, BORROWED, LOOPBACK_KEEP, SkbCt } from './skb-ct.js';

export type { ConnectionNote, NetfilterDrops, NetfilterTracer, TraceCt } from './report.js';
import { MANIP_DST, MANIP_SRC, Nat, NatRangeRt } from './nat.js';
import type { TableName } from '../plan/iptables-save.js';
import {
  CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT, CompiledTable, REJECT_KINDS, T_ACCEPT, T_DNAT, T_DROP,
  T_MASQUERADE, T_REDIRECT, T_REJECT, T_SNAT, newWalkStack, walkTable, type PacketFacts, type WalkResult,
} from './rules.js';

export interface NetfilterOptions {
  /** nf_conntrack_max (default 262144). */
  conntrackMax?: number;
  /**
   * 'auto' (default): track connections only when the loaded rules need it — any nat table rule or any
   * `-m conntrack` match — as Linux registers conntrack's hooks in a namespace only for such users
   * (nf_ct_netns_get), so a container with no rules keeps no table. 'always': track regardless.
   */
  conntrack?: 'auto' | 'always';
}

/** Whether a plan has a user of conntrack (a nat rule, or a --ctstate match anywhere). */
export function planNeedsConntrack(plan: IptablesPlan): boolean {
  for (const c of plan.nat.chains) if (c.rules.length !== 0) return true;
  for (const c of plan.filter.chains) for (const r of c.rules) if (r.ctstate) return true;
  return false;
}

const ICMP_ERROR_TYPES = new Uint8Array(256);
ICMP_ERROR_TYPES[3] = 1; // destination unreachable
ICMP_ERROR_TYPES[4] = 1; // source quench
ICMP_ERROR_TYPES[5] = 1; // redirect
ICMP_ERROR_TYPES[11] = 1; // time exceeded
ICMP_ERROR_TYPES[12] = 1; // parameter problem

/** Built-in chain indices inside each compiled table (the order of BUILTIN_CHAINS). */
const NAT_CHAIN: Record<number, number> = { [Hook.PREROUTING]: 0, [Hook.INPUT]: 1, [Hook.OUTPUT]: 2, [Hook.POSTROUTING]: 3 };
const FILTER_CHAIN: Record<number, number> = { [Hook.INPUT]: 0, [Hook.FORWARD]: 1, [Hook.OUTPUT]: 2 };

export class Netfilter implements PacketFilter {
  readonly conntrack: Conntrack;
  readonly nat: Nat;
  readonly drops: NetfilterDrops = { tableFull: 0, rawDrop: 0, filterDrop: 0, filterReject: 0, natDrop: 0, insertFailed: 0 };
  /** The plan last loaded (for iptables-save style listings). */
  plan: IptablesPlan | null = null;
  /** Whether connections are tracked (and NATed) at all; see NetfilterOptions.conntrack. */
  tracking: boolean;
  private readonly trackAlways: boolean;
  private rawTable: CompiledTable | null = null;
  private natTable: CompiledTable | null = null;
  private filterTable: CompiledTable | null = null;

  /** Per pool slot: the packet's entry (skb->_nfct), see skb-ct.ts. */
  private readonly skb: SkbCt;

  // Scratch, reused for every packet.
  private readonly facts: PacketFacts = { inDev: '', outDev: '', src: 0, dst: 0, proto: 0, sport: 0, dport: 0, hasPorts: false, ctBits: 0 };
  private readonly walk: WalkResult = { verdict: 0, rule: -1 };
  private readonly stack = newWalkStack();
  private readonly orig = new Tuple();
  private readonly reply = new Tuple();
  private readonly range = new NatRangeRt();
  /** While `host.reject` runs: the slot of the packet being rejected, whose entry the answer borrows. */
  private rejectFrom = -1;

  constructor(
    private readonly engine: Engine,
    rng: Prng,
    private readonly host: NetfilterHost,
    opts: NetfilterOptions = {},
  ) {
    this.conntrack = new Conntrack({ max: opts.conntrackMax ?? 262144 });
    this.trackAlways = opts.conntrack === 'always';
    this.tracking = this.trackAlways;
    this.nat = new Nat(this.conntrack, rng);
    this.skb = new SkbCt(this.conntrack);
  }

  /** iptables-restore: compile both tables (throws IptablesPlanError on a plan iptables would refuse). */
  load(plan: IptablesPlan): void {
    const raw = plan.raw ? new CompiledTable('raw', plan.raw) : null;
    const nat = new CompiledTable('nat', plan.nat);
    const filter = new CompiledTable('filter', plan.filter);
    this.rawTable = raw;
    this.natTable = nat;
    this.filterTable = filter;
    this.plan = plan;
    this.tracking = this.trackAlways || planNeedsConntrack(plan);
  }

  /** The per-packet trace (src/trace), null when off: then `hook` is one null check more. */
  tracer: NetfilterTracer | null = null;

  hook(hook: Hook, slot: number, l3rel: number, inDev: string, outDev: string): Verdict {
    if (this.tracer === null) return this.run(hook, slot, l3rel, inDev, outDev);
    return this.tracedHook(this.tracer, hook, slot, l3rel, inDev, outDev);
  }

  /** `hook` while a trace is recorded: the packet before and after, the conntrack state it has there,
   *  and for a drop the counter that counted it (the rule that decided comes through `walked`). */
  private tracedHook(tr: NetfilterTracer, hook: Hook, slot: number, l3rel: number, inDev: string, outDev: string): Verdict {
    // what the packet carries in (INPUT, FORWARD, POSTROUTING: attached at PREROUTING/OUTPUT)
    const pre = hook === Hook.PREROUTING || hook === Hook.OUTPUT;
    const ctBefore = pre ? null : this.traceCt(slot);
    const counts = dropCounts(this.drops);
    tr.hookStart(hook, slot, l3rel, inDev, outDev);
    const v = this.run(hook, slot, l3rel, inDev, outDev);
    // PREROUTING and OUTPUT attach the entry (a drop there lets it go: raw runs before conntrack)
    const ct = pre ? (v === Verdict.ACCEPT ? this.traceCt(slot) : null) : ctBefore;
    let why: string | null = null;
    if (v === Verdict.DROP) why = dropReason(counts, this.drops);
    tr.hookEnd(hook, slot, l3rel, v, ct, why);
    return v;
  }

  /** What conntrack holds for the packet in `slot`, for the trace; null where nothing is tracked. */
  private traceCt(slot: number): TraceCt | null {
    if (!this.tracking) return null;
    if (!this.skb.valid(slot)) return { state: 'INVALID', connection: null, reply: false };
    const info = this.skb.info[slot]!;
    const c = this.describe(this.skb.entry[slot]!);
    const state = info === IP_CT_NEW ? 'NEW' : info === IP_CT_RELATED || info === IP_CT_RELATED_REPLY ? 'RELATED' : 'ESTABLISHED';
    return { state, connection: `${c.proto} ${c.from} → ${c.to}`, reply: info >= IP_CT_ESTABLISHED_REPLY, snat: c.snat, dnat: c.dnat };
  }

  private run(hook: Hook, slot: number, l3rel: number, inDev: string, outDev: string): Verdict {
    const pool = this.engine.pool;
    const bytes = pool.bytes;
    const l3 = pool.base(slot) + l3rel;
    if (slot >= this.skb.entry.length) this.skb.grow(Math.max(slot + 1, pool.slots));
    // The raw table runs first at PREROUTING and OUTPUT, before conntrack (NF_IP_PRI_RAW).
    if ((hook === Hook.PREROUTING || hook === Hook.OUTPUT) && this.rawTable !== null && !this.rawHook(hook, slot, bytes, l3, inDev, outDev)) {
      return this.dropped(slot);
    }
    if (!this.tracking) {
      // No conntrack user in this namespace: only the filter table runs.
      if (hook === Hook.PREROUTING || hook === Hook.POSTROUTING) return Verdict.ACCEPT;
      this.skb.entry[slot] = ASSOC_NONE;
      this.skb.flags[slot] = 0;
      return this.filterHook(hook, slot, bytes, l3, l3rel, inDev, outDev) ? Verdict.ACCEPT : Verdict.DROP;
    }
    switch (hook) {
      case Hook.PREROUTING: {
        if ((this.skb.flags[slot]! & LOOPBACK_KEEP) !== 0 && inDev === 'lo' && this.skb.valid(slot)) {
          // Back in from lo with its entry still attached: nothing to look up.
          this.skb.flags[slot] = 0;
        } else {
          this.skb.detach(slot);
          this.skb.flags[slot] = 0;
          if (!this.conntrackIn(slot, bytes, l3)) return this.dropped(slot);
        }
        if (!this.natHook(Hook.PREROUTING, MANIP_DST, slot, bytes, l3, inDev, outDev)) return this.dropped(slot);
        return Verdict.ACCEPT;
      }
      case Hook.INPUT: {
        if (!this.filterHook(Hook.INPUT, slot, bytes, l3, l3rel, inDev, outDev)) return this.dropped(slot);
        if (!this.natHook(Hook.INPUT, MANIP_SRC, slot, bytes, l3, inDev, outDev)) return this.dropped(slot);
        return this.confirm(slot, false);
      }
      case Hook.FORWARD:
        if (!this.filterHook(Hook.FORWARD, slot, bytes, l3, l3rel, inDev, outDev)) return this.dropped(slot);
        return Verdict.ACCEPT;
      case Hook.OUTPUT: {
        this.skb.detach(slot);
        this.skb.flags[slot] = 0;
        const from = this.rejectFrom;
        if (from >= 0 && from !== slot && this.skb.valid(from)) {
          // nf_ct_attach: the answer belongs to the rejected packet's connection, as RELATED.
          this.rejectFrom = -1;
          const info = this.skb.info[from]!;
          this.skb.entry[slot] = this.skb.entry[from]!;
          this.skb.gen[slot] = this.skb.gen[from]!;
          this.skb.info[slot] = info >= IP_CT_ESTABLISHED_REPLY ? IP_CT_RELATED : IP_CT_RELATED_REPLY;
          this.skb.flags[slot] = BORROWED;
        } else if (!this.conntrackIn(slot, bytes, l3)) {
          return this.dropped(slot);
        }
        if (!this.natHook(Hook.OUTPUT, MANIP_DST, slot, bytes, l3, inDev, outDev)) return this.dropped(slot);
        if (!this.filterHook(Hook.OUTPUT, slot, bytes, l3, l3rel, inDev, outDev)) return this.dropped(slot);
        return Verdict.ACCEPT;
      }
      case Hook.POSTROUTING: {
        if (!this.natHook(Hook.POSTROUTING, MANIP_SRC, slot, bytes, l3, inDev, outDev)) return this.dropped(slot);
        return this.confirm(slot, outDev === 'lo');
      }
    }
    return Verdict.ACCEPT;
  }

  // ---- per-slot association (skb->_nfct) ----------------------------------------------------------

  /** The entry of the packet in `slot`, or -1 (untracked / INVALID). */
  entryOf(slot: number): number {
    return this.skb.valid(slot) ? this.skb.entry[slot]! : -1;
  }

  /** ctinfo of the packet in `slot` (IP_CT_*). */
  ctinfoOf(slot: number): number {
    return this.skb.valid(slot) ? this.skb.info[slot]! : IP_CT_NONE;
  }

  private dropped(slot: number): Verdict {
    this.skb.detach(slot);
    this.skb.flags[slot] = 0;
    return Verdict.DROP;
  }

  private confirm(slot: number, keepForLoopback: boolean): Verdict {
    if (!this.skb.valid(slot) || (this.skb.flags[slot]! & BORROWED) !== 0) {
      this.skb.entry[slot] = ASSOC_NONE;
      this.skb.flags[slot] = 0;
      return Verdict.ACCEPT;
    }
    const e = this.skb.entry[slot]!;
    // An entry confirmed already needs nothing (confirm would return true at once); not calling it
    // keeps the time, a double past 2^31 ns, from being boxed into a HeapNumber per packet.
    const unconfirmed = !this.conntrack.isConfirmed(e);
    if (unconfirmed && !this.conntrack.confirm(e, this.engine.now)) {
      this.drops.insertFailed++;
      this.skb.entry[slot] = ASSOC_NONE;
      this.skb.flags[slot] = 0;
      return Verdict.DROP;
    }
    // Told once per connection: when this confirm really entered it in the table (an entry killed under
    // its packet, e.g. by the RST answering a SYN to a closed port, is released instead).
    if (unconfirmed && this.onConfirm !== null && this.conntrack.isConfirmed(e)) this.onConfirm(this.describe(e));
    if (keepForLoopback) {
      this.skb.flags[slot] = LOOPBACK_KEEP;
      return Verdict.ACCEPT;
    }
    this.skb.detach(slot);
    return Verdict.ACCEPT;
  }

  /** Told of every connection as conntrack confirms it (for the run summary), with its translation. */
  onConfirm: ((c: ConnectionNote) => void) | null = null;

  /** A confirmed entry as the summary shows it: the original direction and what NAT made of it. */
  private describe(e: number): ConnectionNote {
    const ct = this.conntrack;
    const o = ct.readTuple(e, DIR_ORIGINAL, new Tuple());
    const r = ct.readTuple(e, DIR_REPLY, new Tuple());
    const proto = o.proto === PROTO_TCP ? 'tcp' : o.proto === PROTO_UDP ? 'udp' : o.proto === PROTO_ICMP ? 'icmp' : `proto ${o.proto}`;
    const ep = (a: number, p: number) => (o.proto === PROTO_ICMP ? formatIpv4(a) : `${formatIpv4(a)}:${p}`);
    let snat: string | null;
    let dnat: string | null;
    if (o.proto === PROTO_ICMP) {
      // ICMP tuples hold the echo id as the source "port" in both directions and the type as the
      // destination "port" (8 one way, 0 the other): only addresses and the id can be translated.
      snat = r.dst !== o.src || r.sport !== o.sport ? `${formatIpv4(r.dst)}${r.sport !== o.sport ? ` id ${r.sport}` : ''}` : null;
      dnat = r.src !== o.dst ? formatIpv4(r.src) : null;
    } else {
      snat = r.dst !== o.src || r.dport !== o.sport ? ep(r.dst, r.dport) : null;
      dnat = r.src !== o.dst || r.sport !== o.dport ? ep(r.src, r.sport) : null;
    }
    return { atNs: this.engine.now, proto, from: ep(o.src, o.sport), to: ep(o.dst, o.dport), snat, dnat };
  }

  // ---- nf_conntrack_in ---------------------------------------------------------------------------

  /** Classify the packet and attach its entry; false means drop (table full). */
  private conntrackIn(slot: number, b: Uint8Array, l3: number): boolean {
    const ct = this.conntrack;
    const now = this.engine.now;
    this.skb.detach(slot);
    const ihl = (b[l3]! & 0x0f) << 2;
    const total = (b[l3 + 2]! << 8) | b[l3 + 3]!;
    const proto = b[l3 + 9]!;
    const fragOff = ((b[l3 + 6]! << 8) | b[l3 + 7]!) & 0x1fff;
    // int32: a uint32 above 2^31 handed to Tuple.set (not always inlined) would be boxed into a
    // HeapNumber, an allocation per packet; Tuple.set stores them >>> 0.
    const src = readI32(b, l3 + 12);
    const dst = readI32(b, l3 + 16);
    const l4 = l3 + ihl;
    const l4len = total - ihl;
    if ((b[l3]! >>> 4) !== 4 || ihl < 20 || l4len < 0 || fragOff !== 0) {
      // Not reassembled here (nf_defrag would); later fragments go on untracked.
      ct.stats.invalid++;
      return true;
    }
    const t = this.orig;
    let tcpFlags = 0;
    if (proto === PROTO_TCP || proto === PROTO_UDP) {
      if (l4len < 8 || (proto === PROTO_TCP && l4len < 20)) {
        ct.stats.invalid++;
        return true;
      }
      t.set(proto, src, dst, (b[l4]! << 8) | b[l4 + 1]!, (b[l4 + 2]! << 8) | b[l4 + 3]!);
      if (proto === PROTO_TCP) tcpFlags = b[l4 + 13]!;
    } else if (proto === PROTO_ICMP) {
      if (l4len < 8) {
        ct.stats.invalid++;
        return true;
      }
      const type = b[l4]!;
      if (ICMP_ERROR_TYPES[type] === 1) return this.icmpError(slot, b, l4, l4len, dst >>> 0);
      if (icmpInverseType(type) < 0) {
        ct.stats.invalid++;
        return true;
      }
      t.set(proto, src, dst, (b[l4 + 4]! << 8) | b[l4 + 5]!, (type << 8) | b[l4 + 1]!);
    } else {
      t.set(proto, src, dst, 0, 0);
    }

    // The packet path's calls take the time from ct.now (see Conntrack.now): no double crosses a call.
    ct.now = now;
    for (let repeat = 0; repeat < 2; repeat++) {
      const k = ct.findTuple(t);
      if (k < 0) break;
      const e = k >> 1;
      const dir = k & 1;
      ct.stats.found++;
      let info = dir === DIR_REPLY ? IP_CT_ESTABLISHED_REPLY : (ct.status[e]! & IPS_SEEN_REPLY) !== 0 ? IP_CT_ESTABLISHED : IP_CT_NEW;
      if (proto === PROTO_TCP) {
        const st = ct.tcpPacket(e, dir, tcpFlags);
        if (st === -2) {
          // A SYN reopening a closed connection: the old entry goes, the packet starts a new one.
          ct.kill(e);
          ct.packetGone(e);
          continue;
        }
        if (st === -1) {
          ct.stats.invalid++;
          return true;
        }
      } else if (proto === PROTO_UDP) {
        ct.udpPacket(e);
      } else if (proto === PROTO_ICMP) {
        ct.icmpPacket(e);
      } else {
        ct.genericPacket(e);
      }
      if (dir === DIR_REPLY) ct.seenReply(e);
      if (info === IP_CT_NEW && (ct.status[e]! & IPS_SEEN_REPLY) !== 0) info = IP_CT_ESTABLISHED;
      this.skb.attach(slot, e, info);
      return true;
    }

    // A new connection: may this packet start one?
    if (proto === PROTO_ICMP && !icmpIsRequest(t.dport >>> 8)) {
      ct.stats.invalid++;
      return true;
    }
    const tcpState = proto === PROTO_TCP ? Conntrack.tcpNewState(tcpFlags) : 0;
    if (tcpState < 0) {
      ct.stats.invalid++;
      return true;
    }
    t.invertInto(this.reply);
    const e = ct.alloc(t, this.reply, now);
    if (e < 0) {
      this.drops.tableFull++;
      return false;
    }
    if (proto === PROTO_TCP) {
      ct.tcpNew(e, tcpState, now);
    } else if (proto === PROTO_UDP) {
      ct.udpPacket(e, now);
    } else if (proto === PROTO_ICMP) {
      ct.icmpPacket(e, now);
    } else {
      ct.genericPacket(e, now);
    }
    this.skb.attach(slot, e, IP_CT_NEW);
    return true;
  }

  /** nf_conntrack_inet_error: an ICMP error is RELATED to the connection its quoted header belongs to. */
  private icmpError(slot: number, b: Uint8Array, l4: number, l4len: number, outerDst: number): boolean {
    const ct = this.conntrack;
    const inner = l4 + 8;
    const avail = l4len - 8;
    if (avail < 20) {
      ct.stats.invalid++;
      return true;
    }
    const ihl = (b[inner]! & 0x0f) << 2;
    const proto = b[inner + 9]!;
    const il4 = inner + ihl;
    const il4avail = avail - ihl;
    const src = getU32(b, inner + 12);
    const dst = getU32(b, inner + 16);
    const t = this.orig;
    if (proto === PROTO_TCP || proto === PROTO_UDP) {
      if (il4avail < 8) {
        ct.stats.invalid++;
        return true;
      }
      t.set(proto, src, dst, (b[il4]! << 8) | b[il4 + 1]!, (b[il4 + 2]! << 8) | b[il4 + 3]!);
    } else if (proto === PROTO_ICMP) {
      if (il4avail < 8 || ICMP_ERROR_TYPES[b[il4]!] === 1) {
        ct.stats.invalid++;
        return true; // no errors about errors
      }
      t.set(proto, src, dst, (b[il4 + 4]! << 8) | b[il4 + 5]!, (b[il4]! << 8) | b[il4 + 1]!);
    } else {
      t.set(proto, src, dst, 0, 0);
    }
    if (!t.invertInto(this.reply)) {
      ct.stats.invalid++;
      return true;
    }
    const k = ct.findTuple(this.reply, this.engine.now);
    if (k < 0) {
      ct.stats.invalid++;
      return true;
    }
    const e = k >> 1;
    const dir = k & 1;
    // The error must travel to where that direction's packets go (outer dst = tuple[dir].dst).
    if (ct.tDst[k] !== outerDst) {
      ct.stats.invalid++;
      return true;
    }
    this.skb.attach(slot, e, dir === DIR_REPLY ? IP_CT_RELATED_REPLY : IP_CT_RELATED);
    return true;
  }

  // ---- nat ---------------------------------------------------------------------------------------

  /** nf_nat_ipv4_fn: false means drop. */
  private natHook(hook: Hook, manip: number, slot: number, b: Uint8Array, l3: number, inDev: string, outDev: string): boolean {
    if (!this.skb.valid(slot)) return true;
    const ct = this.conntrack;
    const nat = this.nat;
    const e = this.skb.entry[slot]!;
    const info = this.skb.info[slot]!;
    const dir = info >= IP_CT_ESTABLISHED_REPLY ? DIR_REPLY : DIR_ORIGINAL;
    const now = this.engine.now;
    if ((info === IP_CT_RELATED || info === IP_CT_RELATED_REPLY) && b[l3 + 9] === PROTO_ICMP) {
      let statusbit = manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
      if (dir === DIR_REPLY) statusbit ^= IPS_NAT_MASK;
      if ((ct.status[e]! & statusbit) === 0) return true;
      const ihl = (b[l3]! & 0x0f) << 2;
      const total = (b[l3 + 2]! << 8) | b[l3 + 3]!;
      nat.icmpReplyTranslation(b, l3, l3 + ihl, total - ihl, e, dir, manip);
      return true;
    }
    if ((info === IP_CT_NEW || info === IP_CT_RELATED || info === IP_CT_RELATED_REPLY) && !nat.initialized(e, manip)) {
      let mapped = false;
      const table = this.natTable;
      if (table !== null) {
        this.fillFacts(slot, b, l3, inDev, outDev);
        const w = walkTable(table, NAT_CHAIN[hook]!, this.facts, this.host, this.stack, this.walk);
        if (this.tracer !== null) this.tracer.walked(table, NAT_CHAIN[hook]!, w.rule, w.verdict);
        const v = w.verdict;
        if (v === T_DROP || v === T_REJECT) {
          this.drops.natDrop++;
          return false;
        }
        if (v !== T_ACCEPT) {
          const r = table.nat[table.targetArg[w.rule]!]!;
          const range = this.range;
          const hasPorts = r.portMin !== 0;
          if (v === T_MASQUERADE) {
            if (hook !== Hook.POSTROUTING) return true; // iptables allows it only there
            const addr = this.host.masqueradeSource(outDev, getU32(b, l3 + 16));
            if (addr === 0) {
              this.drops.natDrop++;
              return false;
            }
            range.set(true, addr, hasPorts, r.portMin, r.portMax);
          } else if (v === T_SNAT) {
            range.set(true, r.addr, hasPorts, r.portMin, r.portMax);
          } else if (v === T_DNAT) {
            range.set(true, r.addr, hasPorts, r.portMin, r.portMax);
          } else if (v === T_REDIRECT) {
            // nf_nat_redirect_ipv4: 127.0.0.1 for locally generated packets, else the in device's
            // first address.
            let addr: number;
            if (hook === Hook.OUTPUT) addr = 0x7f000001;
            else addr = this.host.primaryAddress ? this.host.primaryAddress(inDev) : this.host.masqueradeSource(inDev, 0);
            if (addr === 0) {
              this.drops.natDrop++;
              return false;
            }
            range.set(true, addr, hasPorts, r.portMin, r.portMax);
          }
          const wantSrc = v === T_MASQUERADE || v === T_SNAT;
          if ((manip === MANIP_SRC) === wantSrc) {
            nat.setupInfo(e, range, manip, now);
            mapped = true;
          }
        }
      }
      if (!mapped) nat.nullBinding(e, manip, now, this.range);
    }
    // nf_nat_packet
    let statusbit = manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
    if (dir === DIR_REPLY) statusbit ^= IPS_NAT_MASK;
    if ((ct.status[e]! & statusbit) !== 0) nat.manipPacket(b, l3, e, dir, manip);
    return true;
  }

  // ---- raw ---------------------------------------------------------------------------------------

  /** Docker 28 puts `-t raw -A PREROUTING -d CONTAINER/32 ! -i BRIDGE -j DROP` here. */
  private rawHook(hook: Hook, slot: number, b: Uint8Array, l3: number, inDev: string, outDev: string): boolean {
    const table = this.rawTable!;
    const chain = hook === Hook.PREROUTING ? 0 : 1;
    if (table.chainStart[chain] === table.chainEnd[chain] && table.chainPolicy[chain] === T_ACCEPT) return true;
    this.fillFacts(slot, b, l3, inDev, outDev);
    const w = walkTable(table, chain, this.facts, this.host, this.stack, this.walk);
    if (this.tracer !== null) this.tracer.walked(table, chain, w.rule, w.verdict);
    if (w.verdict === T_ACCEPT) return true;
    this.drops.rawDrop++;
    return false;
  }

  // ---- filter ------------------------------------------------------------------------------------

  private filterHook(hook: Hook, slot: number, b: Uint8Array, l3: number, l3rel: number, inDev: string, outDev: string): boolean {
    const table = this.filterTable;
    if (table === null) return true;
    const chain = FILTER_CHAIN[hook]!;
    if (table.chainStart[chain] === table.chainEnd[chain] && table.chainPolicy[chain] === T_ACCEPT) return true;
    this.fillFacts(slot, b, l3, inDev, outDev);
    const w = walkTable(table, chain, this.facts, this.host, this.stack, this.walk);
    if (this.tracer !== null) this.tracer.walked(table, chain, w.rule, w.verdict);
    if (w.verdict === T_ACCEPT) return true;
    if (w.verdict === T_REJECT) {
      this.drops.filterReject++;
      const kind = REJECT_KINDS[table.targetArg[w.rule]!]!;
      // The answer may run through this netfilter again (OUTPUT/POSTROUTING) before reject returns.
      const saved = this.rejectFrom;
      this.rejectFrom = slot;
      try {
        this.host.reject(kind, slot, l3rel, inDev);
      } finally {
        this.rejectFrom = saved;
      }
      return false;
    }
    this.drops.filterDrop++;
    return false;
  }

  private fillFacts(slot: number, b: Uint8Array, l3: number, inDev: string, outDev: string): void {
    const f = this.facts;
    f.inDev = inDev;
    f.outDev = outDev;
    f.src = getU32(b, l3 + 12);
    f.dst = getU32(b, l3 + 16);
    f.proto = b[l3 + 9]!;
    const ihl = (b[l3]! & 0x0f) << 2;
    const fragOff = ((b[l3 + 6]! << 8) | b[l3 + 7]!) & 0x1fff;
    f.hasPorts = (f.proto === PROTO_TCP || f.proto === PROTO_UDP) && fragOff === 0;
    if (f.hasPorts) {
      const l4 = l3 + ihl;
      f.sport = (b[l4]! << 8) | b[l4 + 1]!;
      f.dport = (b[l4 + 2]! << 8) | b[l4 + 3]!;
    } else {
      f.sport = 0;
      f.dport = 0;
    }
    let bits = CT_INVALID;
    if (this.skb.valid(slot)) {
      const info = this.skb.info[slot]!;
      bits = info === IP_CT_NEW ? CT_NEW : info === IP_CT_RELATED || info === IP_CT_RELATED_REPLY ? CT_RELATED : CT_ESTABLISHED;
      const st = this.conntrack.status[this.skb.entry[slot]!]!;
      if ((st & IPS_SRC_NAT) !== 0) bits |= CT_SNAT;
      if ((st & IPS_DST_NAT) !== 0) bits |= CT_DNAT;
    }
    f.ctBits = bits;
  }

  // ---- listings ----------------------------------------------------------------------------------

  /** `conntrack -L` lines for `wirebox show`. */
  conntrackList(): string[] {
    this.conntrack.sweep(this.engine.now);
    return this.conntrack.list(this.engine.now);
  }

  /** Conntrack's own counters (`conntrack -S`). */
  conntrackStats(): ConntrackStats {
    return { ...this.conntrack.stats };
  }

  /** One line per non-zero drop reason, for the run summary. */
  dropSummary(): string[] {
    return dropSummaryLines(this.drops, this.conntrack.stats.invalid);
  }

  /** Packet counters of every rule, as `iptables -t TABLE -L -v` would show them: [table, chain, index, packets]. */
  ruleCounters(): { table: TableName; chain: string; rule: number; packets: number }[] {
    const out: { table: TableName; chain: string; rule: number; packets: number }[] = [];
    for (const t of [this.rawTable, this.natTable, this.filterTable]) {
      if (t === null) continue;
      for (let c = 0; c < t.chainNames.length; c++) {
        for (let i = t.chainStart[c]!; i < t.chainEnd[c]!; i++) {
          out.push({ table: t.name, chain: t.chainNames[c]!, rule: i - t.chainStart[c]! + 1, packets: t.hits[i]! });
        }
      }
    }
    return out;
  }
}

function readI32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}
