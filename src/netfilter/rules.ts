// iptables tables compiled once, at load, into flat typed arrays — gVisor's `stack.Table` of
// `Rule{Matchers, Target}` with jump targets resolved to rule indices, laid out column-wise so a packet
// walks numbers, not plan objects. The walk is Linux's ipt_do_table: rules of a chain in order; a jump
// pushes the return position; RETURN (or the end of a user chain) pops it; RETURN or the end of a
// built-in chain gives the chain's policy.
//
// Matchers (x_tables names): -i/-o (with `!` and the `+` prefix wildcard, ifname_compare), -s/-d
// (address & mask), -p, --sport/--dport (xt_tcpudp; a packet of another protocol does not match),
// -m addrtype --src-type/--dst-type LOCAL, -m conntrack --ctstate.

import type { ChainPlan, CtState, RulePlan, TablePlan, TargetPlan } from '../plan/plan.js';
import type { TableName } from '../plan/iptables-save.js';
import { parseCidr, parseIpv4, prefixMask } from '../wire/addr.js';
import { BUILTIN_CHAINS, IptablesPlanError, formatRule, natPorts, portProto } from '../plan/iptables-save.js';

// ---- what a rule tests (bits of `match`) ----------------------------------------------------------
export const M_IN = 1 << 0;
export const M_IN_NEG = 1 << 1;
export const M_OUT = 1 << 2;
export const M_OUT_NEG = 1 << 3;
export const M_SRC = 1 << 4;
export const M_SRC_NEG = 1 << 5;
export const M_DST = 1 << 6;
export const M_DST_NEG = 1 << 7;
export const M_PROTO = 1 << 8;
export const M_PROTO_NEG = 1 << 9;
export const M_SPORT = 1 << 10;
export const M_SPORT_NEG = 1 << 11;
export const M_DPORT = 1 << 12;
export const M_DPORT_NEG = 1 << 13;
export const M_SRCTYPE = 1 << 14;
export const M_SRCTYPE_NEG = 1 << 15;
export const M_DSTTYPE = 1 << 16;
export const M_DSTTYPE_NEG = 1 << 17;
export const M_CTSTATE = 1 << 18;
export const M_CTSTATE_NEG = 1 << 19;

// ---- conntrack state bits as xt_conntrack sees them ----------------------------------------------
export const CT_INVALID = 1;
export const CT_NEW = 2;
export const CT_ESTABLISHED = 4;
export const CT_RELATED = 8;
export const CT_SNAT = 16;
export const CT_DNAT = 32;

const CTSTATE_BIT: Record<CtState, number> = {
  INVALID: CT_INVALID,
  NEW: CT_NEW,
  ESTABLISHED: CT_ESTABLISHED,
  RELATED: CT_RELATED,
  SNAT: CT_SNAT,
  DNAT: CT_DNAT,
};

// ---- targets ------------------------------------------------------------------------------------
export const T_ACCEPT = 0;
export const T_DROP = 1;
export const T_RETURN = 2;
export const T_REJECT = 3;
export const T_JUMP = 4;
export const T_MASQUERADE = 5;
export const T_SNAT = 6;
export const T_DNAT = 7;
export const T_REDIRECT = 8;

export type RejectKind = Extract<TargetPlan, { kind: 'REJECT' }>['with'];

/** A NAT target's range, nf_nat_range2 style: an address (0 = decided per packet) and a port range
 *  (`portMin` 0 = no --to-ports/port given, NF_NAT_RANGE_PROTO_SPECIFIED unset). */
export interface NatRange {
  addr: number;
  portMin: number;
  portMax: number;
}

/** Protocol numbers of `-p`. */
export const PROTO_NUM: Record<'tcp' | 'udp' | 'icmp', number> = { tcp: 6, udp: 17, icmp: 1 };

/** One table, compiled. Rule i's columns are at index i of every array. */
export class CompiledTable {
  readonly chainNames: string[] = [];
  /** First rule index of each chain; its rules run to the next chain's start. */
  readonly chainStart: number[] = [];
  readonly chainEnd: number[] = [];
  /** T_ACCEPT / T_DROP for built-in chains, -1 for user chains. */
  readonly chainPolicy: number[] = [];

  match: Uint32Array;
  inName: string[];
  /** Length of the prefix to compare when the name ends in '+', else -1 (exact). */
  inPrefix: Int16Array;
  outName: string[];
  outPrefix: Int16Array;
  srcAddr: Uint32Array;
  srcMask: Uint32Array;
  dstAddr: Uint32Array;
  dstMask: Uint32Array;
  proto: Uint8Array;
  sport: Uint16Array;
  dport: Uint16Array;
  ctMask: Uint8Array;
  target: Uint8Array;
  /** T_JUMP: rule index where the chain starts; T_REJECT: index into REJECT_KINDS; NAT: index into `nat`. */
  targetArg: Int32Array;
  readonly nat: NatRange[] = [];
  /** Per rule: packets that reached its target (iptables -v's pcnt). */
  hits: Float64Array;
  readonly size: number;

  constructor(
    readonly name: TableName,
    plan: TablePlan,
  ) {
    const builtins = BUILTIN_CHAINS[name];
    const byName = new Map<string, ChainPlan>();
    for (const c of plan.chains) {
      if (byName.has(c.name)) throw new IptablesPlanError(`${name}: chain ${c.name} declared twice`);
      byName.set(c.name, c);
    }
    const chains: ChainPlan[] = builtins.map((b) => byName.get(b) ?? { name: b, policy: 'ACCEPT', rules: [] });
    for (const c of plan.chains) if (!builtins.includes(c.name)) chains.push(c);

    let n = 0;
    for (const c of chains) n += c.rules.length;
    this.size = n;
    this.match = new Uint32Array(n);
    this.inName = new Array<string>(n).fill('');
    this.inPrefix = new Int16Array(n);
    this.outName = new Array<string>(n).fill('');
    this.outPrefix = new Int16Array(n);
    this.srcAddr = new Uint32Array(n);
    this.srcMask = new Uint32Array(n);
    this.dstAddr = new Uint32Array(n);
    this.dstMask = new Uint32Array(n);
    this.proto = new Uint8Array(n);
    this.sport = new Uint16Array(n);
    this.dport = new Uint16Array(n);
    this.ctMask = new Uint8Array(n);
    this.target = new Uint8Array(n);
    this.targetArg = new Int32Array(n);
    this.hits = new Float64Array(n);

    let at = 0;
    for (const c of chains) {
      const isBuiltin = builtins.includes(c.name);
      this.chainNames.push(c.name);
      this.chainStart.push(at);
      this.chainEnd.push(at + c.rules.length);
      this.chainPolicy.push(isBuiltin ? (c.policy === 'DROP' ? T_DROP : T_ACCEPT) : -1);
      at += c.rules.length;
    }
    at = 0;
    for (const c of chains) {
      for (const r of c.rules) this.compileRule(at++, c.name, r);
    }
    this.checkLoops();
    this.chainPlans = chains;
  }

  /** The chains as planned, in compiled order (for ruleText). */
  private readonly chainPlans: ChainPlan[];

  /** Rule `i` as iptables-save prints it (`-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`),
   *  for the per-packet trace; not used on the packet path. */
  ruleText(i: number): string {
    for (let c = 0; c < this.chainNames.length; c++) {
      if (i >= this.chainStart[c]! && i < this.chainEnd[c]!) {
        const byName = new Map(this.chainPlans.map((p) => [p.name, p] as const));
        return formatRule(this.name, this.chainNames[c]!, this.chainPlans[c]!.rules[i - this.chainStart[c]!]!, byName);
      }
    }
    return `rule ${i}`;
  }

  /** The chain rule `i` is in. */
  chainOf(i: number): string {
    for (let c = 0; c < this.chainNames.length; c++) if (i >= this.chainStart[c]! && i < this.chainEnd[c]!) return this.chainNames[c]!;
    return '?';
  }

  /** Index of a chain by name, -1 if none. */
  chainIndex(name: string): number {
    return this.chainNames.indexOf(name);
  }

  private compileRule(i: number, chain: string, r: RulePlan): void {
    const where = `${this.name} ${chain} rule ${i - this.chainStart[this.chainIndex(chain)]! + 1}`;
    let m = 0;
    if (r.in) {
      m |= M_IN | (r.in.neg ? M_IN_NEG : 0);
      this.inName[i] = r.in.name;
      this.inPrefix[i] = r.in.name.endsWith('+') ? r.in.name.length - 1 : -1;
    }
    if (r.out) {
      m |= M_OUT | (r.out.neg ? M_OUT_NEG : 0);
      this.outName[i] = r.out.name;
      this.outPrefix[i] = r.out.name.endsWith('+') ? r.out.name.length - 1 : -1;
    }
    if (r.src) {
      m |= M_SRC | (r.src.neg ? M_SRC_NEG : 0);
      const { addr, len } = parseCidr(r.src.cidr);
      this.srcMask[i] = prefixMask(len);
      this.srcAddr[i] = (addr & prefixMask(len)) >>> 0;
    }
    if (r.dst) {
      m |= M_DST | (r.dst.neg ? M_DST_NEG : 0);
      const { addr, len } = parseCidr(r.dst.cidr);
      this.dstMask[i] = prefixMask(len);
      this.dstAddr[i] = (addr & prefixMask(len)) >>> 0;
    }
    if (r.proto) {
      m |= M_PROTO | (r.proto.neg ? M_PROTO_NEG : 0);
      this.proto[i] = PROTO_NUM[r.proto.name];
    }
    if (r.sport || r.dport) {
      if (!r.proto || r.proto.neg || r.proto.name === 'icmp') throw new IptablesPlanError(`${where}: --sport/--dport need -p tcp or -p udp`);
    }
    if (r.sport) {
      m |= M_SPORT | (r.sport.neg ? M_SPORT_NEG : 0);
      this.sport[i] = r.sport.port;
    }
    if (r.dport) {
      m |= M_DPORT | (r.dport.neg ? M_DPORT_NEG : 0);
      this.dport[i] = r.dport.port;
    }
    if (r.addrtype?.src) m |= M_SRCTYPE | (r.addrtype.src.neg ? M_SRCTYPE_NEG : 0);
    if (r.addrtype?.dst) m |= M_DSTTYPE | (r.addrtype.dst.neg ? M_DSTTYPE_NEG : 0);
    if (r.ctstate) {
      m |= M_CTSTATE | (r.ctstate.neg ? M_CTSTATE_NEG : 0);
      let bits = 0;
      for (const s of r.ctstate.states) bits |= CTSTATE_BIT[s];
      this.ctMask[i] = bits;
    }
    this.match[i] = m;

    const t = r.target;
    if (natPorts(t) && !portProto(r)) throw new IptablesPlanError(`${where}: ${t.kind} with ports needs -p tcp or -p udp`);
    const natOnly = (): void => {
      if (this.name !== 'nat') throw new IptablesPlanError(`${where}: ${t.kind} belongs to the nat table`);
    };
    switch (t.kind) {
      case 'ACCEPT':
        this.target[i] = T_ACCEPT;
        break;
      case 'DROP':
        this.target[i] = T_DROP;
        break;
      case 'RETURN':
        this.target[i] = T_RETURN;
        break;
      case 'REJECT':
        this.target[i] = T_REJECT;
        this.targetArg[i] = REJECT_KINDS.indexOf(t.with);
        if (this.targetArg[i]! < 0) throw new IptablesPlanError(`${where}: unknown --reject-with ${t.with}`);
        break;
      case 'JUMP': {
        const c = this.chainIndex(t.chain);
        if (c < 0) throw new IptablesPlanError(`${where}: jump to unknown chain ${t.chain}`);
        if (this.chainPolicy[c] !== -1) throw new IptablesPlanError(`${where}: jump to built-in chain ${t.chain}`);
        this.target[i] = T_JUMP;
        this.targetArg[i] = c;
        break;
      }
      case 'MASQUERADE':
        natOnly();
        this.target[i] = T_MASQUERADE;
        this.targetArg[i] = this.addNat(0, t.toPorts);
        break;
      case 'SNAT':
        natOnly();
        this.target[i] = T_SNAT;
        this.targetArg[i] = this.addNat(parseIpv4(t.to), t.toPorts);
        break;
      case 'DNAT':
        natOnly();
        this.target[i] = T_DNAT;
        this.targetArg[i] = this.addNat(parseIpv4(t.to), t.toPort === null ? null : { min: t.toPort, max: t.toPort });
        break;
      case 'REDIRECT':
        natOnly();
        this.target[i] = T_REDIRECT;
        this.targetArg[i] = this.addNat(0, t.toPort === null ? null : { min: t.toPort, max: t.toPort });
        break;
    }
  }

  private addNat(addr: number, ports: { min: number; max: number } | null): number {
    let portMin = 0;
    let portMax = 0;
    if (ports) {
      portMin = Math.min(ports.min, ports.max);
      portMax = Math.max(ports.min, ports.max);
      if (portMin < 1 || portMax > 65535) throw new IptablesPlanError(`${this.name}: bad port range ${ports.min}-${ports.max}`);
    }
    this.nat.push({ addr, portMin, portMax });
    return this.nat.length - 1;
  }

  /** iptables-restore refuses jump loops (ELOOP); so do we, at load. */
  private checkLoops(): void {
    const n = this.chainNames.length;
    const state = new Uint8Array(n); // 0 unseen, 1 on the path, 2 done
    const visit = (c: number): void => {
      if (state[c] === 2) return;
      if (state[c] === 1) throw new IptablesPlanError(`${this.name}: chain ${this.chainNames[c]} jumps back into itself (loop)`);
      state[c] = 1;
      for (let i = this.chainStart[c]!; i < this.chainEnd[c]!; i++) {
        if (this.target[i] === T_JUMP) visit(this.targetArg[i]!);
      }
      state[c] = 2;
    };
    for (let c = 0; c < n; c++) visit(c);
  }
}

export const REJECT_KINDS: readonly RejectKind[] = [
  'icmp-port-unreachable',
  'icmp-host-unreachable',
  'icmp-net-unreachable',
  'icmp-admin-prohibited',
  'tcp-reset',
];

/** The fields of the packet the matchers read, filled once per hook by the caller. */
export interface PacketFacts {
  inDev: string;
  outDev: string;
  src: number;
  dst: number;
  proto: number;
  /** TCP/UDP ports (valid when `hasPorts`). */
  sport: number;
  dport: number;
  hasPorts: boolean;
  /** xt_conntrack state bits of the packet (CT_*). */
  ctBits: number;
}

/** Answers -m addrtype LOCAL questions. */
export interface AddrTypeOracle {
  isLocalAddress(addr: number): boolean;
}

function ifMatches(name: string, prefix: number, dev: string): boolean {
  if (prefix < 0) return name === dev;
  // "eth+" matches every name that starts with "eth"; "+" matches all (ifname_compare with a mask).
  return dev.length >= prefix && dev.startsWith(name.slice(0, prefix));
}

/** Whether rule `i` of `t` matches the packet (every matcher, each possibly negated). */
export function ruleMatches(t: CompiledTable, i: number, p: PacketFacts, addrs: AddrTypeOracle): boolean {
  const m = t.match[i]!;
  if (m === 0) return true;
  if ((m & M_IN) !== 0 && ifMatches(t.inName[i]!, t.inPrefix[i]!, p.inDev) === ((m & M_IN_NEG) !== 0)) return false;
  if ((m & M_OUT) !== 0 && ifMatches(t.outName[i]!, t.outPrefix[i]!, p.outDev) === ((m & M_OUT_NEG) !== 0)) return false;
  if ((m & M_SRC) !== 0 && (((p.src & t.srcMask[i]!) >>> 0) === t.srcAddr[i]) === ((m & M_SRC_NEG) !== 0)) return false;
  if ((m & M_DST) !== 0 && (((p.dst & t.dstMask[i]!) >>> 0) === t.dstAddr[i]) === ((m & M_DST_NEG) !== 0)) return false;
  if ((m & M_PROTO) !== 0 && (p.proto === t.proto[i]) === ((m & M_PROTO_NEG) !== 0)) return false;
  if ((m & (M_SPORT | M_DPORT)) !== 0) {
    // xt_tcpudp: the protocol is the rule's (-p tcp|udp, checked above); no ports (a later fragment) → no match.
    if (!p.hasPorts) return false;
    if ((m & M_SPORT) !== 0 && (p.sport === t.sport[i]) === ((m & M_SPORT_NEG) !== 0)) return false;
    if ((m & M_DPORT) !== 0 && (p.dport === t.dport[i]) === ((m & M_DPORT_NEG) !== 0)) return false;
  }
  if ((m & M_CTSTATE) !== 0 && ((p.ctBits & t.ctMask[i]!) !== 0) === ((m & M_CTSTATE_NEG) !== 0)) return false;
  if ((m & M_SRCTYPE) !== 0 && addrs.isLocalAddress(p.src) === ((m & M_SRCTYPE_NEG) !== 0)) return false;
  if ((m & M_DSTTYPE) !== 0 && addrs.isLocalAddress(p.dst) === ((m & M_DSTTYPE_NEG) !== 0)) return false;
  return true;
}

/** ipt_do_table's answer: the rule whose target ended the walk, or -1 with the built-in chain's policy. */
export interface WalkResult {
  /** T_ACCEPT, T_DROP, T_REJECT or a NAT target. */
  verdict: number;
  /** The rule that decided, -1 for a policy. */
  rule: number;
}

const MAX_DEPTH = 64;

/** Walks table `t` from built-in chain `chain` (an index) for the packet. `out` is reused, not allocated. */
export function walkTable(t: CompiledTable, chain: number, p: PacketFacts, addrs: AddrTypeOracle, stack: Int32Array, out: WalkResult): WalkResult {
  let sp = 0;
  let i = t.chainStart[chain]!;
  let end = t.chainEnd[chain]!;
  let cur = chain;
  for (;;) {
    if (i >= end) {
      // End of a chain: a built-in gives its policy, a user chain returns.
      if (sp === 0) {
        out.verdict = t.chainPolicy[cur]!;
        out.rule = -1;
        return out;
      }
      sp -= 2;
      cur = stack[sp]!;
      i = stack[sp + 1]!;
      end = t.chainEnd[cur]!;
      continue;
    }
    if (!ruleMatches(t, i, p, addrs)) {
      i++;
      continue;
    }
    const target = t.target[i]!;
    t.hits[i]!++;
    if (target === T_JUMP) {
      if (sp >= MAX_DEPTH * 2 || sp + 2 > stack.length) {
        // Cannot happen with a loop-free table of sane depth; iptables limits it too.
        out.verdict = T_DROP;
        out.rule = i;
        return out;
      }
      stack[sp] = cur;
      stack[sp + 1] = i + 1;
      sp += 2;
      cur = t.targetArg[i]!;
      i = t.chainStart[cur]!;
      end = t.chainEnd[cur]!;
      continue;
    }
    if (target === T_RETURN) {
      i = end; // handled as the end of the chain
      continue;
    }
    out.verdict = target;
    out.rule = i;
    return out;
  }
}

/** A stack big enough for walkTable. */
export function newWalkStack(): Int32Array {
  return new Int32Array(MAX_DEPTH * 2);
}
