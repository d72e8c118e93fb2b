import { parseScenario } from '../../src/scenario/load.js';
import { compilePlan } from '../../src/plan/compile.js';
import type { InterfacePlan, NamespacePlan, WorldPlan } from '../../src/plan/plan.js';
import { chainLines, type TableName } from '../../src/plan/rules.js';

export function planOf(yaml: string): WorldPlan {
  return compilePlan(parseScenario(yaml, 'test.yaml'));
}

export function ns(p: WorldPlan, name: string): NamespacePlan {
  const n = p.namespaces.find((x) => x.name === name);
  if (!n) throw new Error(`no namespace ${name}`);
  return n;
}

export function iface(p: WorldPlan, nsName: string, ifname: string): InterfacePlan {
  const i = ns(p, nsName).interfaces.find((x) => x.name === ifname);
  if (!i) throw new Error(`no interface ${nsName}.${ifname}`);
  return i;
}

export function lines(p: WorldPlan, nsName: string, table: TableName, chain: string): string[] {
  return chainLines(ns(p, nsName).iptables, table, chain);
}

/** The error a compile throws (fails the test when it does not throw). */
export function compileError(yaml: string): Error & { line?: number; path?: string } {
  try {
    planOf(yaml);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the scenario to be refused');
}
