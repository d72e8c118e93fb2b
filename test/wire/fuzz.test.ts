// Random bytes, truncations and lying length fields: parsers throw nothing but WireError, never read
// past off+len (a parse inside a larger buffer full of garbage agrees with one in an exact-size buffer),
// and decodeFrame never throws at all.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as arp from '../../src/wire/arp.js';
import { checksumData } from '../../src/wire/checksum.js';
import * as ethernet from '../../src/wire/ethernet.js';
import { decodeFrame, emitFrame } from '../../src/wire/frame.js';
import * as icmpv4 from '../../src/wire/icmpv4.js';
import * as ipv4 from '../../src/wire/ipv4.js';
import * as tcp from '../../src/wire/tcp.js';
import * as udp from '../../src/wire/udp.js';
import { hex, parseBounded, toHex, wireErrorOf } from './helpers.js';

const parsers = { ethernet: ethernet.parse, arp: arp.parse, ipv4: ipv4.parse, ipv4Quoted: ipv4.parseQuoted, icmpv4: icmpv4.parse, udp: udp.parse, tcp: tcp.parse };

// Plausible starts make the fuzz reach deep into each parser rather than failing on byte 0.
const SEEDS: Record<string, Uint8Array> = {
  ethernet: hex('0242c0000001 0242ac110002 8100 0064 0800'),
  arp: hex('0001 0800 0604 0001 0242 ac11 0002 ac11 0002 0000 0000 0000 ac11 0001'),
  ipv4: hex('4600 0020 0000 4000 4011 0000 ac11 0002 c633 6401 9404 0000 e1d9 0007 000c 0000'),
  ipv4Quoted: hex('4500 05dc 0000 4000 4011 0000 ac11 0002 c633 6401'),
  icmpv4: hex('0303 0000 0000 0000 4500 0020 b3c6 4000 4011 3294 c633 6401 c633 640a e6a9 270e'),
  udp: hex('e1d9 0007 000c d665 7069 6e67'),
  tcp: hex('8c70 1f40 597e 2366 0000 0000 a002 faf0 d676 0000 0204 05b4 0402 080a 2660 0231 0000 0000 0103 030a'),
};

/** Random bytes, or a seed with random bytes overwritten, cut at a random place. */
function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    fc
      .tuple(fc.array(fc.tuple(fc.nat({ max: seed.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat({ max: seed.length }))
      .map(([edits, cut]) => {
        const b = seed.slice();
        for (const [i, v] of edits) b[i] = v;
        return b.subarray(0, cut);
      }),
  );
}

describe('fuzz', () => {
  for (const [name, parse] of Object.entries(parsers)) {
    it(`${name}: only WireError, never out of bounds`, () => {
      fc.assert(
        fc.property(mutated(SEEDS[name]!), (data) => {
          parseBounded(parse as (b: Uint8Array, o: number, l: number) => unknown, data, 0x00);
          parseBounded(parse as (b: Uint8Array, o: number, l: number) => unknown, data, 0xff);
        }),
        { numRuns: 400 },
      );
    });
  }

  it('a range that lies about the buffer is refused, not read', () => {
    for (const [name, parse] of Object.entries(parsers)) {
      const seed = SEEDS[name]!;
      fc.assert(
        fc.property(fc.integer({ min: -4, max: seed.length + 4 }), fc.integer({ min: -4, max: seed.length + 8 }), (off, len) => {
          if (off >= 0 && len >= 0 && off + len <= seed.length) return;
          const e = wireErrorOf(() => (parse as (b: Uint8Array, o: number, l: number) => unknown)(seed, off, len));
          expect(e.code).toBe('truncated');
          expect(e.protocol).toBe(name === 'ipv4Quoted' ? 'ipv4' : name);
        }),
        { numRuns: 100 },
      );
    }
  });

  it('decodeFrame never throws and always re-emits the same bytes', () => {
    const frame = hex(
      '0242 c000 0001 0242 ac11 0002 0800 4500 003c 8ebe 4000 4006 d5b5 ac11 0002 c633 6401 8c70 1f40 597e 2366 0000 0000 a002 faf0 d676 0000 0204 05b4 0402 080a 2660 0231 0000 0000 0103 030a',
    );
    const frames = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc
        .tuple(fc.array(fc.tuple(fc.nat({ max: frame.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat({ max: frame.length }))
        .map(([edits, cut]) => {
          const b = frame.slice();
          for (const [i, v] of edits) b[i] = v;
          return b.subarray(0, cut);
        }),
    );
    fc.assert(
      fc.property(frames, fc.integer({ min: -3, max: 200 }), (data, lenDelta) => {
        const big = new Uint8Array(data.length + 16).fill(0x77);
        big.set(data, 5);
        // A length that may lie about the buffer: decodeFrame clamps, never reads beyond.
        const f = decodeFrame(big.subarray(0, 5 + data.length), 5, data.length + lenDelta);
        const n = Math.max(0, Math.min(data.length, data.length + lenDelta));
        expect(f.length).toBe(n);
        const out = new Uint8Array(n);
        expect(emitFrame(f, out, 0)).toBe(n);
        expect(toHex(out)).toBe(toHex(data.subarray(0, n)));
        if (f.error !== null) expect(f.error.offset).toBeLessThanOrEqual(n);
      }),
      { numRuns: 1000 },
    );
  });

  it('checksumData never reads outside [off, off+len)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        const a = new Uint8Array(data.length + 8).fill(0);
        const b = new Uint8Array(data.length + 8).fill(0xff);
        a.set(data, 3);
        b.set(data, 3);
        return checksumData(a, 3, data.length) === checksumData(b, 3, data.length);
      }),
    );
  });
});
