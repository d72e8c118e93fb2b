// The alignment is a longest common subsequence: checked against a plain dynamic-programming LCS length
// on random sequences over small alphabets (many repeats, as frame signatures have).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lcsPairs } from '../../src/compare/align.js';

function lcsLength(a: string[], b: string[]): number {
  const dp: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) dp[i]![j] = a[i - 1] === b[j - 1] ? dp[i - 1]![j - 1]! + 1 : Math.max(dp[i - 1]![j]!, dp[i]![j - 1]!);
  return dp[a.length]![b.length]!;
}

describe('lcsPairs', () => {
  it('gives an increasing list of equal pairs as long as the longest common subsequence', () => {
    const seq = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 40 });
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const p = lcsPairs(a, b);
        for (let k = 0; k < p.length; k++) {
          const [i, j] = p[k]!;
          expect(a[i]).toBe(b[j]);
          if (k > 0) {
            expect(i).toBeGreaterThan(p[k - 1]![0]);
            expect(j).toBeGreaterThan(p[k - 1]![1]);
          }
        }
        expect(p.length).toBe(lcsLength(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('one inserted element leaves every other one paired', () => {
    const a = ['S', 'SA', 'A', 'PA', 'A', 'PA', 'A', 'FA', 'FA', 'A'];
    const b = [...a.slice(0, 4), 'PA', ...a.slice(4)];
    const p = lcsPairs(a, b);
    expect(p.length).toBe(a.length);
    expect(p.slice(0, 4)).toEqual([[0, 0], [1, 1], [2, 2], [3, 3]]);
  });
});

describe('lcsPairs on long, unrelated sequences', () => {
  it('stays bounded (greedy past many edits) and still gives increasing equal pairs', () => {
    let x = 12345;
    const rnd = (): string => {
      x = (x * 1103515245 + 12345) >>> 0;
      return String.fromCharCode(97 + ((x >>> 16) % 7));
    };
    const a = Array.from({ length: 6000 }, rnd);
    const b = Array.from({ length: 6000 }, rnd);
    const t0 = Date.now();
    const p = lcsPairs(a, b);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(p.length).toBeGreaterThan(1000);
    for (let k = 0; k < p.length; k++) {
      expect(a[p[k]![0]]).toBe(b[p[k]![1]]);
      if (k > 0) expect(p[k]![0] > p[k - 1]![0] && p[k]![1] > p[k - 1]![1]).toBe(true);
    }
  });
});
