// What netfilter tells the rest of wirebox about the packets it handled: the connections conntrack
// confirmed (for the run summary's NAT lines), its drop counters with the reason each stands for (the
// names `conntrack -S` and the kernel's log use), and the per-packet trace's view of a hook
// (src/trace/recorder.ts). Kept apart from netfilter.ts, which decides; this only reports.

import type { Hook, Verdict } from './hooks.js';
import type { CompiledTable } from './rules.js';

/** A connection conntrack confirmed: `from → to`, and the addresses NAT gave it (null: untouched). */
export interface ConnectionNote {
  atNs: number;
  proto: string;
  from: string;
  to: string;
  /** The source it left with (SNAT/MASQUERADE). */
  snat: string | null;
  /** The destination it was sent to instead (DNAT/REDIRECT). */
  dnat: string | null;
}

export interface NetfilterDrops {
  /** "nf_conntrack: table full, dropping packet" */
  tableFull: number;
  /** Raw table rules that said DROP (Docker 28's direct-access guard). */
  rawDrop: number;
  /** Filter rules (or policies) that said DROP. */
  filterDrop: number;
  /** Filter rules that said REJECT (an answer was sent, the packet dropped). */
  filterReject: number;
  /** A DROP in the nat table, or MASQUERADE without an address on the way out. */
  natDrop: number;
  /** Confirmation found the tuple taken (a NAT clash Linux also drops). */
  insertFailed: number;
}

/** Conntrack's view of a packet at a hook, for the trace. */
export interface TraceCt {
  /** ctinfo as `-m conntrack --ctstate` names it; INVALID: tracked namespace, no entry. */
  state: 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID';
  /** The entry's original direction, `tcp 172.17.0.2:49050 → 192.0.2.1:80`. */
  connection: string | null;
  /** Whether the packet goes in the entry's reply direction. */
  reply: boolean;
  snat?: string | null;
  dnat?: string | null;
}

/** The per-packet trace's view of netfilter (src/trace/recorder.ts). */
export interface NetfilterTracer {
  hookStart(hook: Hook, slot: number, l3off: number, inDev: string, outDev: string): void;
  /** A table walk ended: `rule` is the compiled index of the rule whose target decided, -1 for the
   *  chain's policy (`chain` indexes `table.chainNames`); `verdict` is the T_* target. */
  walked(table: CompiledTable, chain: number, rule: number, verdict: number): void;
  hookEnd(hook: Hook, slot: number, l3off: number, verdict: Verdict, ct: TraceCt | null, dropWhy: string | null): void;
}

/** What each NetfilterDrops counter means, in the order dropCounts lists them; the names are those
 *  `conntrack -S` and the kernel's log give where there is one. */
const DROP_REASONS = [
  'nf_conntrack: table full, dropping packet (conntrack -S drop)',
  'raw table DROP',
  'filter table DROP',
  'filter table REJECT',
  'nat table DROP, or no address for MASQUERADE/REDIRECT',
  'conntrack -S insert_failed (the translated tuple is taken)',
];

/** The counters, in DROP_REASONS' order, to tell afterwards which one a drop moved. */
export function dropCounts(d: NetfilterDrops): number[] {
  return [d.tableFull, d.rawDrop, d.filterDrop, d.filterReject, d.natDrop, d.insertFailed];
}

/** Why a packet was dropped: the reason of the first counter that moved since `before`. */
export function dropReason(before: number[], d: NetfilterDrops): string {
  const now = dropCounts(d);
  const k = now.findIndex((n, i) => n !== before[i]);
  return k >= 0 ? DROP_REASONS[k]! : 'dropped';
}

/** One line per non-zero drop reason, for the run summary; `invalid`: conntrack -S invalid. */
export function dropSummaryLines(d: NetfilterDrops, invalid: number): string[] {
  const out: string[] = [];
  if (d.tableFull) out.push(`nf_conntrack: table full, dropping packet: ${d.tableFull}`);
  if (d.rawDrop) out.push(`iptables raw DROP: ${d.rawDrop}`);
  if (d.filterDrop) out.push(`iptables filter DROP: ${d.filterDrop}`);
  if (d.filterReject) out.push(`iptables filter REJECT: ${d.filterReject}`);
  if (d.natDrop) out.push(`nat dropped (no address for MASQUERADE/REDIRECT, or DROP in nat): ${d.natDrop}`);
  if (d.insertFailed) out.push(`nf_conntrack: insert failed (tuple clash): ${d.insertFailed}`);
  if (invalid) out.push(`nf_conntrack: invalid packets (passed untracked): ${invalid}`);
  return out;
}
