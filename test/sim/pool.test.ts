import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PacketPool, SLOT_SIZE } from '../../src/sim/pool.js';

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

  it('rejects frames larger than a slot', () => {
    const p = new PacketPool(1);
    expect(() => p.fromBytes(new Uint8Array(SLOT_SIZE + 1))).toThrow(RangeError);
    expect(p.inUse).toBe(0);
  });
});
