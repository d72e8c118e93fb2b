// Issue 12's promise for the whole run, not only the loader (test/scenario/robust.test.ts covers that):
// every example scenario, mutated the ways a user's edit goes wrong — a key deleted, duplicated into a
// list, retyped, two values swapped, a huge number, unicode, deep nesting, the text truncated — ends
// either in a run or in a user error (what the CLI prints in one line with exit 2: isUserError), never
// in any other exception (exit 70) and never past a bound. Fixed seed, so a failure is reproducible.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { isUserError } from '../../src/cli/common.js';
import { runPlan } from '../../src/cli/run.js';
import { compilePlan } from '../../src/plan/compile.js';
import { parseScenario } from '../../src/scenario/load.js';

const dir = join(import.meta.dirname, '../../fixtures/scenarios');
const examples = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ f, doc: parse(readFileSync(join(dir, f), 'utf8')) as unknown }));

type Json = unknown;
/** Every path to a value inside `doc`. */
function paths(doc: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(doc)) doc.forEach((v, i) => paths(v, [...at, i], out));
  else if (doc !== null && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) paths(v, [...at, k], out);
  return out;
}
function get(doc: Json, p: (string | number)[]): Json {
  let v = doc as Record<string | number, Json>;
  for (const k of p) v = v[k] as Record<string | number, Json>;
  return v;
}
function set(doc: Json, p: (string | number)[], value: Json | undefined): Json {
  if (p.length === 0) return value;
  const parent = get(doc, p.slice(0, -1)) as Record<string | number, Json> | Json[];
  const k = p[p.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(k as number, 1);
    else delete (parent as Record<string, Json>)[k];
  } else (parent as Record<string | number, Json>)[k] = value;
  return doc;
}

const odd: Json[] = [
  0, -1, 1e300, 2 ** 53 + 1, 65536, 4294967296, 1.5, '', 'ü漢字🙂', '\u0000', 'x'.repeat(5000), true, null, [], {},
  '100000000000s', '99999GiB', '1e9/s', '300.1.2.3', '10.0.0.0/99', [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]],
];

const mutation = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('retype' as const), at: fc.nat(), value: fc.constantFrom(...odd) }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 200 }) }),
);

function mutate(doc: Json, ms: { op: string; at: number; value?: Json; with?: number; depth?: number }[]): Json {
  let d = structuredClone(doc);
  for (const m of ms) {
    const ps = paths(d).slice(1);
    if (ps.length === 0) break;
    const p = ps[m.at % ps.length]!;
    const v = get(d, p);
    if (m.op === 'delete') d = set(d, p, undefined);
    else if (m.op === 'duplicate') d = set(d, p, [v, structuredClone(v)]);
    else if (m.op === 'retype') d = set(d, p, structuredClone(m.value));
    else if (m.op === 'swap') {
      const q = ps[m.with! % ps.length]!;
      const w = get(d, q);
      if (p.join('.').startsWith(q.join('.')) || q.join('.').startsWith(p.join('.'))) continue;
      d = set(set(d, p, structuredClone(w)), q, structuredClone(v));
    } else {
      let n: Json = v;
      for (let i = 0; i < m.depth!; i++) n = { x: n };
      d = set(d, p, n);
    }
  }
  return d;
}

function outcome(text: string, out: string): 'ran' | 'user error' {
  try {
    const plan = compilePlan(parseScenario(text, 'fuzz.yaml'));
    runPlan(plan, out, { maxFrames: 50_000 });
    return 'ran';
  } catch (e) {
    if (isUserError(e)) {
      expect(e.message.split('\n').length, e.message).toBeLessThanOrEqual(50);
      return 'user error';
    }
    throw e;
  }
}

describe('the whole run under mutated example scenarios', () => {
  it('ends in a run or a user error (exit 2), never an internal error', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'wirebox-fuzz-'));
    const seen = { ran: 0, 'user error': 0 };
    try {
      fc.assert(
        fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.option(fc.nat(), { nil: undefined }), (which, ms, cut) => {
          const ex = examples[which % examples.length]!;
          let text = stringify(mutate(ex.doc, ms));
          if (cut !== undefined) text = text.slice(0, cut % (text.length + 1));
          const t0 = performance.now();
          seen[outcome(text, join(tmp, 'out'))]++;
          expect(performance.now() - t0, `${ex.f}: one case took too long`).toBeLessThan(60_000);
        }),
        { seed: 12, numRuns: Number(process.env.WIREBOX_FUZZ_RUNS ?? 2000) },
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    console.log(`fuzz: ${JSON.stringify(seen)}`);
    // the mutations must reach both ends, or the test would prove nothing
    expect(seen.ran).toBeGreaterThan(0);
    expect(seen['user error']).toBeGreaterThan(0);
  }, 300_000);
});
