// Golden captures: the SHA-256 of every capture of every example scenario (fixtures/scenarios and the
// built-in example of docs/SCENARIO.md) at two seeds. A change that is meant to be structural only
// (refactors, splits, renames) must leave every hash as it is; a change that is meant to alter bytes
// regenerates the file and says why in its commit message:
//
//   WIREBOX_UPDATE_GOLDEN=1 npx vitest run test/world/golden.test.ts
//
// test/world/golden.json holds `scenario@seed → capture name → first 16 hex digits of the SHA-256 of the
// pcap` (the memory CaptureSet's pcap, microsecond stamps, as `wirebox run` writes by default), plus each
// run's traffic results, so a changed outcome is named even when no frame moved.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePlan } from '../../src/plan/compile.js';
import { BUILTIN_EXAMPLE, BUILTIN_EXAMPLE_NAME } from '../../src/scenario/example.js';
import { loadScenarioFile, parseScenario, type Scenario } from '../../src/scenario/load.js';
import { CaptureSet } from '../../src/world/captures.js';
import { World } from '../../src/world/world.js';

const DIR = 'fixtures/scenarios';
const GOLDEN = new URL('./golden.json', import.meta.url).pathname;
const SEEDS = [1, 2];
const UPDATE = process.env.WIREBOX_UPDATE_GOLDEN === '1';

export interface GoldenRun {
  captures: Record<string, string>;
  traffic: string[];
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

function scenarios(): { name: string; load: () => Scenario }[] {
  const out = [{ name: 'builtin-example', load: () => parseScenario(BUILTIN_EXAMPLE, BUILTIN_EXAMPLE_NAME) }];
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.yaml')).sort()) {
    out.push({ name: f.replace(/\.yaml$/, ''), load: () => loadScenarioFile(join(DIR, f)) });
  }
  return out;
}

/** Runs one scenario at one seed with every planned capture in memory. */
export function goldenRun(s: Scenario, seed: number): GoldenRun {
  s.seed = seed;
  const plan = compilePlan(s);
  const world = World.fromPlan(plan);
  const caps = CaptureSet.memory();
  const which = World.planCaptures(plan);
  world.capture(caps, which);
  const summary = world.run();
  caps.close();
  const captures: Record<string, string> = {};
  for (const c of which) captures[c.captureName] = sha(caps.bytes(c.captureName));
  const traffic = [...summary.traffic].sort((a, b) => a.atNs - b.atNs || (a.node < b.node ? -1 : 1)).map((t) => `${t.node}: ${t.what} ${t.result}`);
  return { captures, traffic };
}

describe('golden captures (every example, two seeds)', () => {
  const all = scenarios();
  const want: Record<string, GoldenRun> = existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, 'utf8')) : {};
  const got: Record<string, GoldenRun> = {};

  for (const sc of all) {
    for (const seed of SEEDS) {
      const key = `${sc.name}@${seed}`;
      it(key, () => {
        got[key] = goldenRun(sc.load(), seed);
        if (UPDATE) return;
        expect(want[key], `${key} has no golden entry: run WIREBOX_UPDATE_GOLDEN=1 npx vitest run test/world/golden.test.ts`).toBeDefined();
        expect(got[key], `${key}: captures differ from test/world/golden.json (a change meant to alter bytes regenerates it with WIREBOX_UPDATE_GOLDEN=1 and says why)`).toEqual(want[key]);
      });
    }
  }

  it('golden.json names exactly the examples that exist', () => {
    const keys = all.flatMap((sc) => SEEDS.map((s) => `${sc.name}@${s}`)).sort();
    if (UPDATE) {
      const sorted: Record<string, GoldenRun> = {};
      for (const k of keys) sorted[k] = got[k]!;
      writeFileSync(GOLDEN, JSON.stringify(sorted, null, 1) + '\n');
      return;
    }
    expect(Object.keys(want).sort(), 'examples were added or removed: regenerate with WIREBOX_UPDATE_GOLDEN=1').toEqual(keys);
  });
});
