import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LARGE_SLOT_SIZE, PacketPool, SLOT_SIZE } from '../../src/sim/pool.js';

describe('PacketPool', () => {
  it('slots are SLOT_SIZE apart and do not overlap', () => {
    const p = new PacketPool(4);
    const a = p.alloc();
    const b = p.alloc();
    expect(SLOT_SIZE).toBe(2048);
    expect(Math.abs(p.base(a) - p.base(b))).toBe(SLOT_SIZE);
    p.bytes.fill(0xaa, p.base(a), p.base(a) + SLOT_SIZE);
    p.bytes.fill(0x55, p.base(b), p.base(b) + SLOT_SIZE);
    expect(p.bytes[p.base(a) + SLOT_SIZE - 1]).toBe(0xaa);
    expect(p.bytes[p.base(b)]).toBe(0x55);
  });

  it('counts references: the slot is freed with the last release only', () => {
    const p = new PacketPool(2);
    const s = p.alloc();
    p.ref(s);
    p.ref(s);
    expect(p.refCount(s)).toBe(3);
    p.release(s);
    p.release(s);
    expect(p.inUse).toBe(1);
    p.release(s);
    expect(p.inUse).toBe(0);
    expect(p.refCount(s)).toBe(0);
    expect(() => p.release(s)).toThrow(/not allocated/);
    expect(() => p.ref(s)).toThrow(/not allocated/);
  });

  it('grows by doubling, keeping contents; bytes/view/len are new objects', () => {
    const p = new PacketPool(2);
    const first = p.fromBytes(Uint8Array.of(1, 2, 3));
    const second = p.fromBytes(Uint8Array.of(4, 5));
    const oldBytes = p.bytes;
    const oldLen = p.len;
    const third = p.alloc();
    expect(p.slots).toBe(4);
    expect(p.grows).toBe(1);
    expect(p.bytes).not.toBe(oldBytes);
    expect(p.len).not.toBe(oldLen);
    expect(Array.from(p.toBytes(first))).toEqual([1, 2, 3]);
    expect(Array.from(p.toBytes(second))).toEqual([4, 5]);
    expect(p.view.getUint8(p.base(second) + 1)).toBe(5);
    expect(new Set([first, second, third]).size).toBe(3);
    expect(p.inUse).toBe(3);
  });

  it('clone copies; unshare copies only when shared', () => {
    const p = new PacketPool(1);
    const s = p.fromBytes(Uint8Array.of(9, 8, 7, 6));
    const c = p.clone(s);
    expect(c).not.toBe(s);
    expect(Array.from(p.toBytes(c))).toEqual([9, 8, 7, 6]);
    p.bytes[p.base(c)] = 0;
    expect(p.toBytes(s)[0]).toBe(9);
    expect(p.unshare(s)).toBe(s); // sole owner: no copy
    p.ref(s);
    const u = p.unshare(s);
    expect(u).not.toBe(s);
    expect(p.refCount(s)).toBe(1);
    expect(p.refCount(u)).toBe(1);
    expect(Array.from(p.toBytes(u))).toEqual([9, 8, 7, 6]);
    p.release(s);
    p.release(c);
    p.release(u);
    expect(p.inUse).toBe(0);
  });

  it('random alloc/ref/release sequences never leak nor hand out a live slot (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('alloc', 'ref', 'release', 'clone'), fc.nat()), { maxLength: 400 }), (ops) => {
        const p = new PacketPool(1);
        const held: number[] = []; // one entry per reference we hold
        for (const [op, k] of ops) {
          if (op === 'alloc') {
            const s = p.alloc();
            expect(held.includes(s)).toBe(false);
            held.push(s);
          } else if (held.length === 0) {
            continue;
          } else if (op === 'ref') {
            const s = held[k % held.length]!;
            p.ref(s);
            held.push(s);
          } else if (op === 'clone') {
            const c = p.clone(held[k % held.length]!);
            expect(held.includes(c)).toBe(false);
            held.push(c);
          } else {
            const [s] = held.splice(k % held.length, 1);
            p.release(s!);
          }
          expect(p.inUse).toBe(new Set(held).size);
        }
        for (const s of held) p.release(s);
        expect(p.inUse).toBe(0);
      }),
    );
  });

  it('rejects frames larger than a large slot', () => {
    const p = new PacketPool(1);
    expect(() => p.fromBytes(new Uint8Array(LARGE_SLOT_SIZE + 1))).toThrow(RangeError);
    expect(p.inUse).toBe(0);
  });

  it('large slots hold a 65,535-byte datagram behind Ethernet and never overlap small ones', () => {
    const p = new PacketPool(2);
    expect(LARGE_SLOT_SIZE).toBeGreaterThanOrEqual(14 + 4 + 65535);
    const a = p.alloc();
    const big = p.allocFor(14 + 65535);
    const b = p.alloc();
    const c = p.alloc(); // small class grows after the large slots: numbers stay disjoint
    expect(p.room(a)).toBe(SLOT_SIZE);
    expect(p.room(big)).toBe(LARGE_SLOT_SIZE);
    p.bytes.fill(0x11, p.base(big), p.base(big) + LARGE_SLOT_SIZE);
    for (const s of [a, b, c]) {
      p.bytes.fill(0x22, p.base(s), p.base(s) + SLOT_SIZE);
      const lo = p.base(s);
      expect(lo + SLOT_SIZE <= p.base(big) || lo >= p.base(big) + LARGE_SLOT_SIZE).toBe(true);
    }
    expect(p.bytes[p.base(big) + LARGE_SLOT_SIZE - 1]).toBe(0x11);
    p.len[big] = 14 + 65535;
    expect(p.len[big]).toBe(65549); // lengths are not cut at 16 bits
    // A unit inside a large slot is not a slot.
    expect(() => p.ref(big + 1)).toThrow(/not allocated/);
    const copy = p.clone(big);
    expect(p.room(copy)).toBe(LARGE_SLOT_SIZE);
    expect(p.toBytes(copy).length).toBe(65549);
    for (const s of [a, big, b, c, copy]) p.release(s);
    expect(p.inUse).toBe(0);
    // Freed large slots are reused, not grown again.
    const grows = p.grows;
    const again = [p.allocLarge(), p.allocLarge()];
    expect(p.grows).toBe(grows);
    for (const s of again) p.release(s);
  });

  it('mixed small/large alloc/release sequences never hand out overlapping live slots (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('small', 'large', 'release', 'clone'), fc.nat()), { maxLength: 200 }), (ops) => {
        const p = new PacketPool(1);
        const held: number[] = [];
        for (const [op, k] of ops) {
          if (op === 'small' || op === 'large') held.push(op === 'small' ? p.alloc() : p.allocLarge());
          else if (held.length === 0) continue;
          else if (op === 'clone') held.push(p.clone(held[k % held.length]!));
          else p.release(held.splice(k % held.length, 1)[0]!);
          const spans = held.map((s) => [p.base(s), p.base(s) + p.room(s)] as const).sort((x, y) => x[0] - y[0]);
          for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
          for (const [, end] of spans) expect(end).toBeLessThanOrEqual(p.bytes.length);
          expect(p.inUse).toBe(held.length);
        }
        for (const s of held) p.release(s);
        expect(p.inUse).toBe(0);
      }),
    );
  });
});
