// The packet pool: every frame in flight is a *slot*, a fixed-size 2048-byte region of one ArrayBuffer,
// named by a small integer. A slot holds a whole Ethernet frame from its first byte at `base(slot)`,
// `len[slot]` bytes long (the largest frame with a 1500 MTU is 1514 bytes; 2048 leaves room for
// a VLAN tag or jumbo-ish tests).
//
// Ownership is by reference count, like an skb's users: `alloc` returns a slot with one reference;
// whoever holds a reference either passes it on (transmit/receive take it) or `release`s it. Flooding
// a frame to n ports takes n-1 more references with `ref` instead of copying. Because shared slots
// are read-only by convention, code that rewrites a frame in place (TTL, NAT) must first call
// `unshare(slot)`, which copies only when the slot is shared (skb_unshare). `NetDevice.receive` does
// that before the protocol stack sees a frame, so the stack always owns what it is given.
//
// No allocation per packet: the free list is a typed-array stack, lengths and reference counts are
// typed arrays. When every slot is in use the pool doubles: `bytes`, `view`, `len` are then *new*
// objects, so hot code reads `pool.bytes` / `pool.view` / `pool.len` at each use and never caches them
// across a call that may allocate.

import { LimitError } from './limit.js';

export const SLOT_SIZE = 2048;
const SLOT_SHIFT = 11;

/** Largest pool: 1 GiB of slots. Reaching it almost surely means slots are leaking. */
export const MAX_POOL_SLOTS = 1 << 19;

export class PacketPool {
  bytes: Uint8Array;
  view: DataView;
  /** Frame length per slot. */
  len: Uint16Array;
  /** Reference count per slot; 0 = free. */
  private refs: Uint16Array;
  /** Stack of free slot numbers; `freeTop` entries are valid. */
  private free: Int32Array;
  private freeTop = 0;
  private capacity = 0;
  /** Slots currently allocated (for leak tests: back to its start value when all frames are gone). */
  inUse = 0;
  /** Times the pool doubled. */
  grows = 0;

  constructor(slots = 1024) {
    if (!Number.isInteger(slots) || slots < 1 || slots > MAX_POOL_SLOTS) {
      throw new RangeError(`PacketPool slots must be an integer in 1..${MAX_POOL_SLOTS}, got ${slots}`);
    }
    this.bytes = new Uint8Array(0);
    this.view = new DataView(this.bytes.buffer);
    this.len = new Uint16Array(0);
    this.refs = new Uint16Array(0);
    this.free = new Int32Array(0);
    this.resize(slots);
  }

  /** Number of slots the pool holds now (allocated or free). */
  get slots(): number {
    return this.capacity;
  }

  /** Byte offset of the slot's first byte in `bytes` / `view`. */
  base(slot: number): number {
    return slot << SLOT_SHIFT;
  }

  /** A fresh slot with one reference and length 0. Its bytes hold whatever the last user left. */
  alloc(): number {
    if (this.freeTop === 0) this.grow();
    const slot = this.free[--this.freeTop]!;
    this.refs[slot] = 1;
    this.len[slot] = 0;
    this.inUse++;
    return slot;
  }

  /** One more reference to a live slot. */
  ref(slot: number): void {
    const r = this.refs[slot];
    if (r === undefined || r === 0) throw new Error(`PacketPool.ref: slot ${slot} is not allocated`);
    if (r === 0xffff) throw new Error(`PacketPool.ref: slot ${slot} has too many references`);
    this.refs[slot] = r + 1;
  }

  /** Drops one reference; the slot returns to the free list with the last one. */
  release(slot: number): void {
    const r = this.refs[slot];
    if (r === undefined || r === 0) throw new Error(`PacketPool.release: slot ${slot} is not allocated (double release?)`);
    this.refs[slot] = r - 1;
    if (r === 1) {
      this.free[this.freeTop++] = slot;
      this.inUse--;
    }
  }

  /** References held on the slot (0 when free). */
  refCount(slot: number): number {
    return this.refs[slot] ?? 0;
  }

  /** A new slot (one reference) holding a copy of the frame in `slot`. */
  clone(slot: number): number {
    if ((this.refs[slot] ?? 0) === 0) throw new Error(`PacketPool.clone: slot ${slot} is not allocated`);
    const copy = this.alloc(); // may grow: read bytes afterwards
    const n = this.len[slot]!;
    const from = slot << SLOT_SHIFT;
    this.bytes.copyWithin(copy << SLOT_SHIFT, from, from + n);
    this.len[copy] = n;
    return copy;
  }

  /** skb_unshare: returns `slot` itself when the caller holds the only reference, otherwise a private
   *  copy (and the caller's reference to the shared slot is dropped). Call before writing in place. */
  unshare(slot: number): number {
    const r = this.refs[slot] ?? 0;
    if (r === 0) throw new Error(`PacketPool.unshare: slot ${slot} is not allocated`);
    if (r === 1) return slot;
    const copy = this.clone(slot);
    this.release(slot);
    return copy;
  }

  /** A new slot holding a copy of `frame` (tests, tools, frames built outside the pool). */
  fromBytes(frame: Uint8Array): number {
    if (frame.length > SLOT_SIZE) throw new RangeError(`frame of ${frame.length} bytes exceeds SLOT_SIZE ${SLOT_SIZE}`);
    const slot = this.alloc();
    this.bytes.set(frame, slot << SLOT_SHIFT);
    this.len[slot] = frame.length;
    return slot;
  }

  /** A copy of the frame in `slot` (tests and tools; allocates). */
  toBytes(slot: number): Uint8Array {
    const b = slot << SLOT_SHIFT;
    return this.bytes.slice(b, b + this.len[slot]!);
  }

  private grow(): void {
    if (this.capacity >= MAX_POOL_SLOTS) {
      throw new LimitError(
        `the packet pool is full: ${this.capacity} frames (${(this.capacity * SLOT_SIZE) / 2 ** 30} GiB) in flight at once, wirebox's limit; traffic is queued faster than it drains`,
      );
    }
    this.resize(Math.min(this.capacity * 2, MAX_POOL_SLOTS));
    this.grows++;
  }

  private resize(slots: number): void {
    const old = this.capacity;
    const bytes = new Uint8Array(slots * SLOT_SIZE);
    bytes.set(this.bytes);
    const len = new Uint16Array(slots);
    len.set(this.len);
    const refs = new Uint16Array(slots);
    refs.set(this.refs);
    const free = new Int32Array(slots);
    free.set(this.free.subarray(0, this.freeTop));
    // New slots go on the free list highest first, so that alloc hands out low numbers first.
    for (let s = slots - 1; s >= old; s--) free[this.freeTop++] = s;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
    this.len = len;
    this.refs = refs;
    this.free = free;
    this.capacity = slots;
  }
}
