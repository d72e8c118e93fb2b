// Choosing what to capture: `capture: { interfaces: [GLOB, …] }` narrows the captured set for both back
// ends (the plan's `capture` flags, which `wirebox real`'s tcpdumps and the emulator's taps both read),
// a glob matching nothing is refused at its place, and the World attaches no tap to the rest.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildTopology } from '../../src/real/topology.js';
import { globRegExp, isCaptureGlob } from '../../src/scenario/glob.js';
import { CaptureSet } from '../../src/world/captures.js';
import { World } from '../../src/world/world.js';
import { compileError, planOf } from './helpers.js';

const base = readFileSync('fixtures/scenarios/docker-bridge-nat.yaml', 'utf8');
const captured = (yaml: string) =>
  planOf(yaml)
    .namespaces.flatMap((n) => n.interfaces.filter((i) => i.capture).map((i) => i.captureName))
    .sort();

describe('capture: { interfaces }', () => {
  it('by default every interface but lo is captured', () => {
    const names = captured(base);
    expect(names).toEqual(expect.arrayContaining(['dh.docker0', 'dh.eth0', 'server.eth0', 'web.eth0']));
    expect(names.some((n) => /^dh\.veth[0-9a-f]{7}$/.test(n))).toBe(true);
    expect(names.some((n) => n.endsWith('.lo'))).toBe(false);
  });

  it('an exact name and a glob select exactly those', () => {
    expect(captured(base + 'capture: { interfaces: [dh.docker0, "*.eth0"] }\n')).toEqual(['dh.docker0', 'dh.eth0', 'server.eth0', 'web.eth0']);
    expect(captured(base + 'capture:\n  interfaces: ["dh.veth???????"]\n')).toHaveLength(1);
    expect(captured(base + 'capture: { interfaces: ["dh.*"] }\n').every((n) => n.startsWith('dh.'))).toBe(true);
  });

  it('lo stays uncaptured even under "*" (it has its own key)', () => {
    expect(captured(base + 'capture: { interfaces: ["*"] }\n')).toEqual(captured(base));
  });

  it('`wirebox real` builds one tcpdump per selected interface, the same set', () => {
    const t = buildTopology(planOf(base + 'capture: { interfaces: [dh.eth0, web.eth0] }\n'));
    expect(t.captures.map((c) => c.captureName).sort()).toEqual(['dh.eth0', 'web.eth0']);
  });

  it('the emulator attaches taps only to selected interfaces', () => {
    const plan = planOf(base + 'capture: { interfaces: [dh.docker0] }\n');
    const world = World.fromPlan(plan);
    const set = CaptureSet.memory();
    world.capture(set, World.planCaptures(plan));
    const s = world.run();
    expect(s.interfaces.map((i) => i.captureName)).toEqual(['dh.docker0']);
    expect(s.interfaces[0]!.frames).toBeGreaterThan(10);
    expect(world.ns('dh').device('eth0').taps).toHaveLength(0);
    expect(world.ns('web').device('eth0').taps).toHaveLength(0);
  });

  it('a glob that matches nothing is refused at its place, naming what there is', () => {
    const e = compileError(base + 'capture:\n  interfaces: [dh.eth0, dh.eth9]\n');
    expect(e.message).toMatch(/^test\.yaml:\d+:\d+: capture\.interfaces\[1\]: dh\.eth9 matches no interface; the interfaces are .*dh\.eth0/);
  });

  it('a glob with other characters, or a non-list, is a schema error', () => {
    expect(compileError(base + 'capture: { interfaces: ["../x"] }\n').message).toMatch(/capture\.interfaces\[0\]: expected an interface glob/);
    expect(compileError(base + 'capture: { interfaces: dh.eth0 }\n').message).toMatch(/capture\.interfaces: expected a list of interface globs/);
    expect(compileError(base + 'capture: { ifaces: [dh.eth0] }\n').message).toMatch(/capture/);
  });
});

describe('globs', () => {
  it('* spans dots, ? is one character, the rest is literal', () => {
    expect(globRegExp('*.eth0').test('dh.eth0')).toBe(true);
    expect(globRegExp('*.eth0').test('dh.eth01')).toBe(false);
    expect(globRegExp('dh.*').test('dh.veth1234567')).toBe(true);
    expect(globRegExp('d?.eth0').test('dh.eth0')).toBe(true);
    expect(globRegExp('dh.eth0').test('dhxeth0')).toBe(false);
    expect(isCaptureGlob('a/b')).toBe(false);
    expect(isCaptureGlob('')).toBe(false);
  });
});
