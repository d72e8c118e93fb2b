// The 32-bit hashes the emulator's tables and Linux-alike choices use (conntrack buckets, SO_REUSEPORT
// selection, IP id buckets, TCP port offsets): murmur3's mixing steps, in one place. Linux uses jhash /
// siphash there with per-boot secrets; only the spread matters, and the seeded key stands for the secret.

/** murmur3's finaliser (fmix32): every input bit reaches every output bit. Unsigned result. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A keyed hash of three 32-bit words (murmur3 rounds, then fmix32), standing for jhash_3words. */
export function hash3(key: number, a: number, b: number, c: number): number {
  let h = key ^ Math.imul(a | 0, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ b;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  return fmix32(h ^ c);
}
