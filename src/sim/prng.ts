// The seeded random number generator every random choice of a run comes from.
//
// sfc32 (Chris Doty-Humphrey's Small Fast Counter, 128-bit state, period ≥ 2^32) seeded through
// splitmix32, so that nearby seeds (1, 2, 3) still give unrelated streams. It is deterministic across
// platforms: only 32-bit integer arithmetic (`Math.imul`, `>>>`), never `Math.random`.
//
// `fork(label)` derives a child stream from this stream's *seed* and the label, not from how many
// numbers were drawn so far: `rng.fork('host:ct1')` gives the same numbers whether or not a host
// 'ct0' was added, or drew anything, before it. Forks of forks work the same way
// (`rng.fork('ct1').fork('tcp')`).

/** splitmix32 step: returns the next output of the sequence whose state is `x` (a new state is x + 0x9e3779b9). */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** 32-bit FNV-1a of the label's UTF-16 code units, starting from the parent seed. */
function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ splitmix32(seed)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return splitmix32(h ^ label.length);
}

export class Prng {
  /** The seed this stream was made from (forks derive from it). */
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`Prng seed must be an integer, got ${seed}`);
    this.seed = seed >>> 0;
    // splitmix32 over successive states fills the four words; the counter starts at 1.
    let s = this.seed;
    this.a = splitmix32(s);
    s = (s + 0x9e3779b9) | 0;
    this.b = splitmix32(s);
    s = (s + 0x9e3779b9) | 0;
    this.c = splitmix32(s);
    this.d = 1;
    // Discard the first outputs, as sfc32's author recommends, so the state is well mixed.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const a = this.a;
    const b = this.b;
    const c = this.c;
    const d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.c = (r + t) | 0;
    return t >>> 0;
  }

  /** A uniformly distributed integer in [0, n), without modulo bias; 1 ≤ n ≤ 2^32. */
  below(n: number): number {
    if (!(n >= 1 && n <= 0x100000000) || !Number.isInteger(n)) {
      throw new RangeError(`Prng.below(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    }
    // Reject the top partial block of the 2^32 outputs so that every residue is equally likely.
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const r = this.u32();
      if (r < limit) return r % n;
    }
  }

  /** A uniformly distributed float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.u32() / 0x100000000;
  }

  /** An independent stream for `label`, derived from this stream's seed only (see the file comment). */
  fork(label: string): Prng {
    return new Prng(deriveSeed(this.seed, label));
  }
}
