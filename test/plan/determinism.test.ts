// Same seed, same plan; another seed changes only the random choices; adding a node changes nobody else.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { WorldPlan } from '../../src/plan/plan.js';
import { iface, planOf } from './helpers.js';

const WORLD = (seed: number, extraHost = '', extraCt = '') => `
version: 1
name: det
seed: ${seed}
wires: { lan: {} }
hosts:
${extraHost}
  dh:
    interfaces:
      eth0: { wire: lan, ip: 192.0.2.10/24 }
      eth1: { wire: lan, ip: 198.51.100.10/24 }
    docker:
      networks:
        back: { driver: bridge }
      containers:
${extraCt}
        web: { network: bridge }
        db: { network: back }
    vms:
      v1: { mode: nat }
`;

/** The plan with every seeded value (MACs, br-/veth names) replaced by a placeholder. */
function unseeded(p: WorldPlan): unknown {
  const names = new Map<string, string>();
  const text = JSON.stringify(p).replace(/\b(br-[0-9a-f]{12}|veth[0-9a-f]{7})\b/g, (m) => {
    if (!names.has(m)) names.set(m, `<name${names.size}>`);
    return names.get(m)!;
  });
  const v = JSON.parse(text) as WorldPlan;
  v.seed = 0;
  for (const ns of v.namespaces) for (const i of ns.interfaces) i.mac = '<mac>';
  for (const ns of v.namespaces) for (const d of ns.dhcpServers) for (const h of d.hosts ?? []) h.mac = '<mac>';
  return v;
}

describe('determinism', () => {
  it('the same seed gives an identical plan', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        expect(planOf(WORLD(seed))).toEqual(planOf(WORLD(seed)));
      }),
      { numRuns: 20 },
    );
  });

  it('a different seed changes random MACs and names, and nothing else', () => {
    const a = planOf(WORLD(1));
    const b = planOf(WORLD(2));
    expect(iface(a, 'dh', 'eth0').mac).not.toBe(iface(b, 'dh', 'eth0').mac);
    expect(iface(a, 'dh', 'docker0').mac).not.toBe(iface(b, 'dh', 'docker0').mac);
    expect(iface(a, 'v1', 'eth0').mac).not.toBe(iface(b, 'v1', 'eth0').mac);
    const nameOf = (p: WorldPlan) => p.namespaces.find((n) => n.name === 'dh')!.interfaces.filter((i) => i.kind === 'bridge').map((i) => i.name);
    expect(nameOf(a)[1]).not.toBe(nameOf(b)[1]);
    expect(unseeded(a)).toEqual(unseeded(b));
  });

  it('unset MACs are unicast and locally administered', () => {
    const p = planOf(WORLD(5));
    for (const [n, i] of [
      ['dh', 'eth0'],
      ['dh', 'eth1'],
      ['dh', 'docker0'],
      ['web', 'eth0'],
    ] as const) {
      const first = parseInt(iface(p, n, i).mac.slice(0, 2), 16);
      expect(first & 3).toBe(2);
    }
    expect(iface(p, 'dh', 'eth0').mac).not.toBe(iface(p, 'dh', 'eth1').mac);
  });

  it('adding a host or a container does not change anyone else\'s MACs or names', () => {
    const base = planOf(WORLD(9));
    const more = planOf(
      WORLD(9, '  other:\n    interfaces:\n      eth0: { wire: lan, ip: 192.0.2.20/24 }', '        first: { network: none }'),
    );
    for (const ns of base.namespaces) {
      const twin = more.namespaces.find((n) => n.name === ns.name)!;
      expect(twin.interfaces.map((i) => [i.name, i.mac])).toEqual(ns.interfaces.map((i) => [i.name, i.mac]));
    }
  });
});
