// iptables rules as the planner writes them: parsed from the same argument lists dockerd and libvirt
// pass to iptables (so the models read like their sources), kept in RulePlan form, and printed back in
// iptables-save form (for tests, notes and the real-kernel runner's iptables-restore).
//
// `Tables` replays iptables' own operations (-N, -A, -I, -D, -P, and moby's EnsureJumpRule), so the
// order of rules in each chain is whatever the sequence of calls a daemon makes leaves behind.

import type { ChainPlan, CtState, IptablesPlan, RulePlan, TablePlan, TargetPlan } from './plan.js';
import { formatIptablesSave, formatRule as formatRuleLine, type TableName } from './iptables-save.js';

export type { TableName };

export class RuleSyntaxError extends Error {
  constructor(args: string, why: string) {
    super(`iptables rule "${args}": ${why}`);
    this.name = 'RuleSyntaxError';
  }
}

const CT_STATES: readonly CtState[] = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'DNAT', 'SNAT'];
const REJECT_WITH = [
  'icmp-port-unreachable',
  'icmp-host-unreachable',
  'icmp-net-unreachable',
  'icmp-admin-prohibited',
  'tcp-reset',
] as const;

function cidrArg(v: string): string {
  return v.includes('/') ? v : `${v}/32`;
}

function portArg(args: string, v: string): number {
  if (!/^[0-9]+$/.test(v)) throw new RuleSyntaxError(args, `bad port ${v}`);
  const n = Number(v);
  if (n < 0 || n > 65535) throw new RuleSyntaxError(args, `bad port ${v}`);
  return n;
}

function portRange(args: string, v: string): { min: number; max: number } {
  const [a, b] = v.split('-');
  const min = portArg(args, a!);
  const max = b === undefined ? min : portArg(args, b);
  return { min, max };
}

/**
 * Parse one rule's arguments as given to `iptables -A CHAIN ...` (without the `-A CHAIN`), e.g.
 * `-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`. Matches: -i -o -s -d -p (--src/--dst/--in-interface…
 * long forms too), -m tcp/udp --sport/--dport, -m addrtype --src-type/--dst-type LOCAL,
 * -m conntrack --ctstate, -m comment --comment. Targets: ACCEPT DROP RETURN REJECT MASQUERADE SNAT DNAT
 * REDIRECT and jumps to user chains. `-d 0/0` (any) is dropped as iptables does.
 */
export function rule(args: string): RulePlan {
  const t = tokenize(args);
  const r: Partial<RulePlan> = {};
  let target: TargetPlan | null = null;
  let neg = false;
  let i = 0;
  const next = (): string => {
    const v = t[i++];
    if (v === undefined) throw new RuleSyntaxError(args, 'missing value');
    return v;
  };
  while (i < t.length) {
    const tok = t[i++]!;
    if (tok === '!') {
      neg = true;
      continue;
    }
    switch (tok) {
      case '-i':
      case '--in-interface':
        r.in = { name: next(), neg };
        break;
      case '-o':
      case '--out-interface':
        r.out = { name: next(), neg };
        break;
      case '-s':
      case '--src':
      case '--source': {
        const v = next();
        if (v !== '0/0' && v !== '0.0.0.0/0') r.src = { cidr: cidrArg(v), neg };
        break;
      }
      case '-d':
      case '--dst':
      case '--destination': {
        const v = next();
        if (v !== '0/0' && v !== '0.0.0.0/0') r.dst = { cidr: cidrArg(v), neg };
        break;
      }
      case '-p':
      case '--protocol': {
        const v = next();
        if (v !== 'tcp' && v !== 'udp' && v !== 'icmp') throw new RuleSyntaxError(args, `protocol ${v}`);
        r.proto = { name: v, neg };
        break;
      }
      case '-m':
      case '--match': {
        const m = next();
        if (!['tcp', 'udp', 'addrtype', 'conntrack', 'comment', 'icmp'].includes(m)) {
          throw new RuleSyntaxError(args, `match module ${m}`);
        }
        break;
      }
      case '--sport':
        r.sport = { port: portArg(args, next()), neg };
        break;
      case '--dport':
        r.dport = { port: portArg(args, next()), neg };
        break;
      case '--src-type':
      case '--dst-type': {
        const v = next();
        if (v !== 'LOCAL') throw new RuleSyntaxError(args, `addrtype ${v}`);
        const a = r.addrtype ?? {};
        if (tok === '--src-type') a.src = { type: 'LOCAL', neg };
        else a.dst = { type: 'LOCAL', neg };
        r.addrtype = a;
        break;
      }
      case '--ctstate': {
        const states = next().split(',');
        for (const st of states) {
          if (!CT_STATES.includes(st as CtState)) throw new RuleSyntaxError(args, `ctstate ${st}`);
        }
        r.ctstate = { states: states as CtState[], neg };
        break;
      }
      case '--comment':
        r.comment = next();
        break;
      case '-j':
      case '--jump':
        target = parseTarget(args, next(), t, i);
        i = t.length;
        break;
      default:
        throw new RuleSyntaxError(args, `unknown option ${tok}`);
    }
    neg = false;
  }
  if (neg) throw new RuleSyntaxError(args, 'dangling !');
  if (!target) throw new RuleSyntaxError(args, 'no -j target');
  return { ...r, target } as RulePlan;
}

function parseTarget(args: string, name: string, t: string[], from: number): TargetPlan {
  const opts = new Map<string, string>();
  for (let i = from; i < t.length; i += 2) {
    const k = t[i]!;
    const v = t[i + 1];
    if (v === undefined) throw new RuleSyntaxError(args, `missing value for ${k}`);
    opts.set(k, v);
  }
  const known = (allowed: string[]): void => {
    for (const k of opts.keys()) if (!allowed.includes(k)) throw new RuleSyntaxError(args, `${name} option ${k}`);
  };
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      known([]);
      return { kind: name };
    case 'REJECT': {
      known(['--reject-with']);
      const w = opts.get('--reject-with') ?? 'icmp-port-unreachable';
      if (!(REJECT_WITH as readonly string[]).includes(w)) throw new RuleSyntaxError(args, `reject-with ${w}`);
      return { kind: 'REJECT', with: w as (typeof REJECT_WITH)[number] };
    }
    case 'MASQUERADE': {
      known(['--to-ports']);
      const p = opts.get('--to-ports');
      return { kind: 'MASQUERADE', toPorts: p === undefined ? null : portRange(args, p) };
    }
    case 'SNAT': {
      known(['--to-source']);
      const v = opts.get('--to-source');
      if (!v) throw new RuleSyntaxError(args, 'SNAT without --to-source');
      const [ip, ports] = v.split(':');
      return { kind: 'SNAT', to: ip!, toPorts: ports === undefined ? null : portRange(args, ports) };
    }
    case 'DNAT': {
      known(['--to-destination']);
      const v = opts.get('--to-destination');
      if (!v) throw new RuleSyntaxError(args, 'DNAT without --to-destination');
      const [ip, port] = v.split(':');
      return { kind: 'DNAT', to: ip!, toPort: port === undefined ? null : portArg(args, port) };
    }
    case 'REDIRECT': {
      known(['--to-ports']);
      const p = opts.get('--to-ports');
      return { kind: 'REDIRECT', toPort: p === undefined ? null : portArg(args, p) };
    }
    default:
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new RuleSyntaxError(args, `target ${name}`);
      known([]);
      return { kind: 'JUMP', chain: name };
  }
}

function tokenize(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) out.push(m[1] ?? m[2]!);
  return out;
}

// ---- printing (iptables-save order) -------------------------------------------------------------


/** The rule as iptables-save prints it, without the leading `-A CHAIN` (printed by netfilter's
 *  iptables-save module, the one printer of rules in the project). */
export function formatRule(r: RulePlan, table: TableName = tableOf(r)): string {
  return formatRuleLine(table, 'X', r).slice('-A X '.length);
}

/** The table a rule can live in, judged by its target (nat targets in nat, the rest in filter). */
function tableOf(r: RulePlan): TableName {
  const k = r.target.kind;
  return k === 'MASQUERADE' || k === 'SNAT' || k === 'DNAT' || k === 'REDIRECT' ? 'nat' : 'filter';
}

export { formatIptablesSave };

/** Rules of one chain as iptables-save lines (`-A CHAIN ...`), for tests and notes. */
export function chainLines(plan: IptablesPlan, table: TableName, chain: string): string[] {
  const t = plan[table];
  const c = t?.chains.find((x) => x.name === chain);
  return c ? c.rules.map((r) => formatRuleLine(table, chain, r)) : [];
}

// ---- a table set replaying iptables operations ---------------------------------------------------

export function emptyIptables(): IptablesPlan {
  const chain = (name: string): ChainPlan => ({ name, policy: 'ACCEPT', rules: [] });
  return {
    raw: { chains: [chain('PREROUTING'), chain('OUTPUT')] },
    nat: { chains: [chain('PREROUTING'), chain('INPUT'), chain('OUTPUT'), chain('POSTROUTING')] },
    filter: { chains: [chain('INPUT'), chain('FORWARD'), chain('OUTPUT')] },
  };
}

/** Same rule as iptables compares them (the option order in which they were written does not matter). */
function sameRule(a: RulePlan, b: RulePlan): boolean {
  return formatRule(a) === formatRule(b);
}

/** iptables operations on an IptablesPlan (mutated in place). */
export class Tables {
  constructor(readonly plan: IptablesPlan) {}

  private table(t: TableName): TablePlan {
    let table = this.plan[t];
    if (!table) {
      table = emptyIptables()[t]!;
      this.plan[t] = table;
    }
    return table;
  }

  chain(t: TableName, name: string): ChainPlan {
    const c = this.table(t).chains.find((x) => x.name === name);
    if (!c) throw new Error(`no chain ${name} in table ${t}`);
    return c;
  }

  hasChain(t: TableName, name: string): boolean {
    return this.table(t).chains.some((x) => x.name === name);
  }

  /** `iptables -t T -N NAME` unless it exists (moby's NewChain is idempotent too). */
  newChain(t: TableName, name: string): void {
    if (!this.hasChain(t, name)) this.table(t).chains.push({ name, policy: null, rules: [] });
  }

  exists(t: TableName, chain: string, args: string): boolean {
    const r = rule(args);
    return this.chain(t, chain).rules.some((x) => sameRule(x, r));
  }

  /** `iptables -A`. With `unique` (moby's Rule.Append, ProgramRule after Exists) a present rule is kept. */
  append(t: TableName, chain: string, args: string, unique = true): void {
    const r = rule(args);
    const c = this.chain(t, chain);
    if (unique && c.rules.some((x) => sameRule(x, r))) return;
    c.rules.push(r);
  }

  /** `iptables -I CHAIN [pos]` (1-based). With `unique` a present rule is kept where it is. */
  insert(t: TableName, chain: string, args: string, pos = 1, unique = true): void {
    const r = rule(args);
    const c = this.chain(t, chain);
    if (unique && c.rules.some((x) => sameRule(x, r))) return;
    c.rules.splice(Math.min(pos - 1, c.rules.length), 0, r);
  }

  /** `iptables -D CHAIN rule` if present. */
  delete(t: TableName, chain: string, args: string): void {
    const r = rule(args);
    const c = this.chain(t, chain);
    const i = c.rules.findIndex((x) => sameRule(x, r));
    if (i >= 0) c.rules.splice(i, 1);
  }

  /** moby's EnsureJumpRule: delete `-j TARGET` (with extra args) if present, then insert it at the top. */
  ensureJump(t: TableName, chain: string, target: string, extra = ''): void {
    const args = `${extra} -j ${target}`.trim();
    this.delete(t, chain, args);
    this.insert(t, chain, args, 1, false);
  }

  policy(t: TableName, chain: string, policy: 'ACCEPT' | 'DROP'): void {
    const c = this.chain(t, chain);
    if (c.policy === null) throw new Error(`${chain} is a user chain`);
    c.policy = policy;
  }
}
