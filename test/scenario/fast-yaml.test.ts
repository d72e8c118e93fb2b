// The fast YAML reader (src/scenario/fast-yaml.ts) must never read a file differently from the `yaml`
// package: for every fixture, every docs example and thousands of generated documents it either gives
// exactly the tree ./tree.ts builds from `yaml` (positions included) or gives up (null).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastParseTree } from '../../src/scenario/fast-yaml.js';
import { parseTree } from '../../src/scenario/tree.js';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.(ya?ml|json)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** The reference: the `yaml` package through ./tree.ts; null when it reports a problem. */
function reference(text: string) {
  const r = parseTree(text, 'x.yaml');
  return r.issues.length ? null : r.tree;
}

function agree(text: string): 'same' | 'gave-up' {
  const fast = fastParseTree(text);
  if (fast === null) return 'gave-up';
  expect(fast, text).toEqual(reference(text));
  return 'same';
}

describe('fast YAML reader', () => {
  it('reads every fixture scenario exactly as the yaml package does', () => {
    const all = files('fixtures/scenarios');
    let same = 0;
    for (const f of all) if (agree(readFileSync(f, 'utf8')) === 'same') same++;
    // It must actually take the fast path for ordinary files, not just give up on everything.
    expect(same).toBeGreaterThan(all.length * 0.8);
  });

  it('reads the docs examples the same', () => {
    const blocks = [...readFileSync('docs/SCENARIO.md', 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(agree(b)).toBe('same');
  });

  it('resolves plain scalars by the core schema and quoted ones by their escapes', () => {
    const text = [
      'a: [~, null, Null, NULL, true, False, TRUE, 0o17, 017, -5, +5, 0x1F, .inf, -.Inf, .NaN, 1e3, 1.5e-2, .5, 1., 192.0.2.1, 10ms, yes, no, 0x, "x\\ty\\u00e9\\x41", \'it\'\'s\']',
      'b: { k: v w, "q": 1, \'s\': 2, url: http://x/y:80 }',
      'c: plain with # not a comment#x  # a comment',
      'd:',
      '- 1',
      '- e: 2',
      '  f: [a, b]',
      '- { g: 3 }',
      '"quoted key": 4',
      '7: seven',
      'h:',
      '  i: {',
      '    j: 1,',
      '    k: [2, 3],',
      '  }',
    ].join('\n');
    expect(agree(text)).toBe('same');
  });

  it('gives up on what it does not cover, so the full parser decides', () => {
    for (const t of [
      'a: &x 1\nb: *x\n',
      'a: !!str 1\n',
      'a: |\n  text\n',
      'a: one\n  two\n',
      'a:\nb: 1\n',
      'a: 1\na: 2\n',
      '---\na: 1\n',
      'a:\n\t- 1\n',
      'a: 1\r\n',
      'a: "multi\n  line"\n',
      '- - 1\n',
      'a: [b: c]\n',
      'a: {b}\n',
      '? a\n: b\n',
      'a: b: c\n',
      'a: 1\n b: 2\n',
      '',
    ]) {
      expect(fastParseTree(t), JSON.stringify(t)).toBeNull();
    }
  });

  it('agrees with the yaml package on generated documents', () => {
    const scalar = fc.oneof(
      fc.constantFrom('a', 'web', '192.0.2.1', '10ms', '1', '-1', '0x10', '0o7', '1.5', 'true', 'null', '~', '.inf', 'a b', 'a:b', 'a#b', 'a #b', '"q"', "'s'", '"a\\"b"', '"\\u0041"', "'it''s'", '', ':', '-', '- a', '[]', '{}', '#', '%x', '&a', '*a', '!t', '|', '>', '?', '@', 'x,y', 'x]', 'a: b'),
      fc.stringMatching(/^[a-z0-9 .:#,"'\-\[\]{}]{0,8}$/),
    );
    const key = fc.constantFrom('a', 'b', 'hosts', 'eth0', '7', '"k"', "'k'", 'a b', '"a: b"', 'x-y');
    const flow: fc.Arbitrary<string> = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('map'), tie('seq')),
      map: fc.array(fc.tuple(key, tie('node')), { maxLength: 4 }).map((es) => `{ ${es.map(([k, v]) => `${k}: ${v}`).join(', ')} }`),
      seq: fc.array(tie('node'), { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`),
    })).node as fc.Arbitrary<string>;
    const block: fc.Arbitrary<string[]> = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, tie('map'), tie('seq')),
      map: fc.array(fc.tuple(key, fc.oneof(flow.map((v) => [` ${v}`]), tie('node').map((ls) => (ls as string[]).map((l) => `  ${l}`)))), { minLength: 1, maxLength: 4 }).map((es) =>
        es.flatMap(([k, v]) => (v.length === 1 && v[0]!.startsWith(' ') && !v[0]!.startsWith('  ') ? [`${k}:${v[0]}`] : [`${k}:`, ...v])),
      ),
      seq: fc.array(fc.oneof(flow.map((v) => [v]), tie('map') as fc.Arbitrary<string[]>), { minLength: 1, maxLength: 4 }).map((xs) =>
        xs.flatMap((ls) => ls.map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`))),
      ),
    })).node as fc.Arbitrary<string[]>;
    let same = 0;
    fc.assert(
      fc.property(block, fc.constantFrom('', '  # c', '\n', '\n# c\n'), (lines, tail) => {
        const text = lines.join('\n') + tail;
        if (agree(text) === 'same') same++;
      }),
      { numRuns: 3000, seed: 13 },
    );
    expect(same).toBeGreaterThan(100);
  });
});
