// fixtures/real-captures were recorded with only the MASQUERADE and DNAT rules quoted in their README;
// the full engine-27 rule set the planner emits must decide every packet of those flows the same way.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../src/scenario/load.js';
import { compilePlan } from '../../src/plan/compile.js';
import type { IptablesPlan } from '../../src/plan/plan.js';
import { emptyIptables, Tables } from '../../src/plan/rules.js';
import { CompiledTable, CT_DNAT, CT_ESTABLISHED, CT_NEW, newWalkStack, walkTable, type PacketFacts } from '../../src/netfilter/rules.js';
import { parseIpv4 } from '../../src/wire/addr.js';

/** The rules the README says the captures were recorded with. */
function recorded(publish: boolean): IptablesPlan {
  const plan = emptyIptables();
  const t = new Tables(plan);
  t.append('nat', 'POSTROUTING', '-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE');
  if (publish) {
    t.newChain('nat', 'DOCKER');
    t.append('nat', 'PREROUTING', '-m addrtype --dst-type LOCAL -j DOCKER');
    t.append('nat', 'DOCKER', '! -i docker0 -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:8000');
  }
  return plan;
}

function planned(name: string): IptablesPlan {
  const path = `fixtures/real-captures/${name}/scenario.yaml`;
  return compilePlan(parseScenario(readFileSync(path, 'utf8'), path)).namespaces.find((n) => n.name === 'dh')!.iptables;
}

const LOCAL = new Set(['198.51.100.10', '172.17.0.1'].map(parseIpv4));
const oracle = { isLocalAddress: (a: number) => LOCAL.has(a) || a >>> 24 === 127 };

type Step = { table: 'nat' | 'filter'; chain: string; p: Partial<Omit<PacketFacts, 'src' | 'dst'>> & { src: string; dst: string } };

function decide(plan: IptablesPlan, s: Step): unknown {
  const t = new CompiledTable(s.table, plan[s.table]);
  const facts: PacketFacts = {
    inDev: '',
    outDev: '',
    proto: 6,
    sport: 40000,
    dport: 0,
    hasPorts: true,
    ctBits: CT_NEW,
    ...s.p,
    src: parseIpv4(s.p.src),
    dst: parseIpv4(s.p.dst),
  };
  const r = walkTable(t, t.chainNames.indexOf(s.chain), facts, oracle, newWalkStack(), { verdict: -1, rule: -1 });
  const natRange = r.rule >= 0 && t.targetArg[r.rule]! >= 0 && s.table === 'nat' ? t.nat[t.targetArg[r.rule]!] : null;
  return { verdict: r.verdict, nat: natRange ?? null };
}

const OUT = { inDev: 'docker0', outDev: 'eth0', src: '172.17.0.2', dst: '198.51.100.1' };
const BACK = { inDev: 'eth0', outDev: 'docker0', src: '198.51.100.1', dst: '172.17.0.2', ctBits: CT_ESTABLISHED };

const NAT_BASIC: Step[] = [
  { table: 'nat', chain: 'PREROUTING', p: { ...OUT, outDev: '', proto: 1, hasPorts: false } },
  { table: 'filter', chain: 'FORWARD', p: { ...OUT, proto: 1, hasPorts: false } },
  { table: 'nat', chain: 'POSTROUTING', p: { ...OUT, inDev: '', proto: 1, hasPorts: false } },
  { table: 'filter', chain: 'FORWARD', p: { ...BACK, proto: 1, hasPorts: false } },
  { table: 'nat', chain: 'PREROUTING', p: { ...OUT, outDev: '', dport: 8000 } },
  { table: 'filter', chain: 'FORWARD', p: { ...OUT, dport: 8000 } },
  { table: 'nat', chain: 'POSTROUTING', p: { ...OUT, inDev: '', dport: 8000 } },
  { table: 'filter', chain: 'FORWARD', p: { ...BACK, sport: 8000, dport: 40000 } },
  { table: 'nat', chain: 'POSTROUTING', p: { ...OUT, inDev: '', proto: 17, dport: 7 } },
  { table: 'filter', chain: 'FORWARD', p: { ...OUT, proto: 17, dport: 7 } },
  { table: 'filter', chain: 'FORWARD', p: { ...BACK, proto: 17, sport: 7, dport: 40000 } },
];

const CLIENT = { inDev: 'eth0', src: '198.51.100.1', dst: '198.51.100.10' };
const PUBLISH: Step[] = [
  { table: 'nat', chain: 'PREROUTING', p: { ...CLIENT, dport: 8080 } },
  { table: 'filter', chain: 'FORWARD', p: { ...CLIENT, outDev: 'docker0', dst: '172.17.0.2', dport: 8000, ctBits: CT_NEW | CT_DNAT } },
  { table: 'nat', chain: 'POSTROUTING', p: { ...CLIENT, inDev: '', outDev: 'docker0', dst: '172.17.0.2', dport: 8000 } },
  { table: 'filter', chain: 'FORWARD', p: { inDev: 'docker0', outDev: 'eth0', src: '172.17.0.2', dst: '198.51.100.1', sport: 8000, dport: 40000, ctBits: CT_ESTABLISHED | CT_DNAT } },
  { table: 'nat', chain: 'PREROUTING', p: { ...CLIENT, dport: 9999 } },
  { table: 'filter', chain: 'INPUT', p: { ...CLIENT, dport: 9999 } },
  { table: 'nat', chain: 'PREROUTING', p: { ...CLIENT, proto: 17, dport: 9998 } },
  { table: 'filter', chain: 'INPUT', p: { ...CLIENT, proto: 17, dport: 9998 } },
  { table: 'nat', chain: 'OUTPUT', p: { outDev: 'eth0', src: '198.51.100.10', dst: '198.51.100.1', proto: 1, hasPorts: false } },
];

describe('full engine-27 rules decide the recorded flows as the recorded rules did', () => {
  it('nat-basic', () => {
    const full = planned('nat-basic');
    const rec = recorded(false);
    for (const s of NAT_BASIC) expect(decide(full, s), JSON.stringify(s)).toEqual(decide(rec, s));
    // and the outbound packets really are masqueraded
    expect(decide(full, NAT_BASIC[2]!)).toMatchObject({ nat: { addr: 0 } });
  });

  it('publish', () => {
    const full = planned('publish');
    const rec = recorded(true);
    for (const s of PUBLISH) expect(decide(full, s), JSON.stringify(s)).toEqual(decide(rec, s));
    expect(decide(full, PUBLISH[0]!)).toMatchObject({ nat: { addr: parseIpv4('172.17.0.2'), portMin: 8000 } });
  });
});
