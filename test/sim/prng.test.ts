import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim/prng.js';

const draw = (p: Prng, n: number): number[] => Array.from({ length: n }, () => p.u32());

describe('Prng', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(draw(new Prng(42), 8)).toEqual(draw(new Prng(42), 8));
    expect(draw(new Prng(42), 8)).not.toEqual(draw(new Prng(43), 8));
    for (const x of draw(new Prng(7), 1000)) {
      expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
    }
  });

  it('pins the first outputs of seed 1 (a changed generator changes every capture)', () => {
    // Recorded from this implementation; update only on purpose.
    expect(draw(new Prng(1), 4)).toEqual(PINNED_SEED1);
  });

  it('fork depends on the seed and label only, not on draws made before', () => {
    const a = new Prng(9);
    const fa = draw(a.fork('host:ct1'), 5);
    const b = new Prng(9);
    draw(b, 100);
    b.fork('host:ct0'); // adding another host first
    expect(draw(b.fork('host:ct1'), 5)).toEqual(fa);
    expect(draw(new Prng(9).fork('host:ct2'), 5)).not.toEqual(fa);
    expect(draw(new Prng(10).fork('host:ct1'), 5)).not.toEqual(fa);
    expect(draw(new Prng(9).fork('host:ct1').fork('tcp'), 5)).not.toEqual(fa);
  });

  it('forks are not the parent stream nor each other (no shared prefix)', () => {
    const p = new Prng(3);
    const streams = [draw(new Prng(3), 64), draw(p.fork('a'), 64), draw(p.fork('b'), 64), draw(p.fork('ab'), 64), draw(p.fork(''), 64)];
    const all = new Set(streams.flat());
    expect(all.size).toBe(64 * streams.length);
  });

  it('below(n) is in range and roughly uniform; rejects bad n', () => {
    const p = new Prng(5);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[p.below(6)]!++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    expect(p.below(1)).toBe(0);
    const big = p.below(2 ** 32);
    expect(big >= 0 && big < 2 ** 32).toBe(true);
    expect(() => p.below(0)).toThrow(RangeError);
    expect(() => p.below(2.5)).toThrow(RangeError);
    expect(() => p.below(2 ** 32 + 1)).toThrow(RangeError);
  });

  it('u32 bits are balanced', () => {
    const p = new Prng(11);
    const ones = new Array<number>(32).fill(0);
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const x = p.u32();
      for (let b = 0; b < 32; b++) if ((x >>> b) & 1) ones[b]!++;
    }
    for (const c of ones) expect(Math.abs(c - N / 2)).toBeLessThan(N * 0.03);
  });
});

const PINNED_SEED1 = [2420951833, 2513034076, 3847892949, 4064752930];
