// Two seeds of one scenario name Docker's veths and user-network bridges differently; `compare` pairs
// the captures by role (node + veth peer, bridge addresses + port peers) from interfaces.json, which
// `run` writes beside the captures.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPlan } from '../../src/cli/run.js';
import { loadPlan } from '../../src/cli/common.js';
import { runCompare } from '../../src/cli/compare.js';
import { interfaceRoles, ROLES_FILE } from '../../src/plan/roles.js';
import { tempDir } from './helpers.js';

const SCENARIO = new URL('../../fixtures/scenarios/docker-two-containers.yaml', import.meta.url).pathname;

function runSeed(seed: number): string {
  const dir = tempDir(`roles-seed${seed}`);
  runPlan(loadPlan(SCENARIO, seed), dir, {});
  return dir;
}

describe('compare pairs captures by role across seeds', () => {
  const one = runSeed(1);
  const two = runSeed(2);
  const veths = (d: string) => readdirSync(d).filter((f) => f.startsWith('dh.veth')).sort();

  it('the seeds name the veths differently, and the roles say whose they are', () => {
    expect(veths(one)).toHaveLength(3);
    expect(veths(one).filter((f) => veths(two).includes(f))).toEqual([]);
    const roles = interfaceRoles(loadPlan(SCENARIO, 1)).filter((r) => r.kind === 'veth').map((r) => r.role).sort();
    // the container ends keep their own names (eth0): they are their own role
    expect(roles).toEqual(['a.eth0', 'b.eth0', 'c.eth0', 'dh veth to a.eth0', 'dh veth to b.eth0', 'dh veth to c.eth0']);
  });

  it('by role: every capture paired, a match, each veth pair noted', () => {
    const r = runCompare([one, two]);
    expect(r.report.files.filter((f) => f.verdict !== 'match').map((f) => f.key)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report.files).toHaveLength(7);
    expect(r.text).toMatch(/dh\.veth\w+\.pcap=dh\.veth\w+\.pcap: note: paired by role \(dh veth to c\.eth0\)/);
  });

  it('without the roles, by name only: the veths are on one side each', () => {
    const bare = tempDir('roles-bare');
    for (const f of readdirSync(two)) if (f !== ROLES_FILE) writeFileSync(join(bare, f), readFileSync(join(two, f)));
    const r = runCompare([one, bare]);
    expect(r.code).toBe(1);
    expect(r.report.files.filter((f) => f.verdict === 'only-a')).toHaveLength(3);
    expect(r.report.files.filter((f) => f.verdict === 'only-b')).toHaveLength(3);
  });

  it('a wrong role pairs the wrong veths, and the frames then differ', () => {
    const swapped = tempDir('roles-swapped');
    for (const f of readdirSync(two)) writeFileSync(join(swapped, f), readFileSync(join(two, f)));
    const roles = JSON.parse(readFileSync(join(two, ROLES_FILE), 'utf8')) as { interfaces: Record<string, { role: string }> };
    const vs = Object.values(roles.interfaces).filter((v) => v.role.includes(' veth to a.') || v.role.includes(' veth to c.'));
    [vs[0]!.role, vs[1]!.role] = [vs[1]!.role, vs[0]!.role];
    writeFileSync(join(swapped, ROLES_FILE), JSON.stringify(roles));
    expect(runCompare([one, swapped]).code).toBe(1);
    rmSync(swapped, { recursive: true, force: true });
  });
});
