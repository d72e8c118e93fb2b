// The packet pool: every frame in flight is a *slot*, a region of one ArrayBuffer named by a small
// integer. A slot holds a whole Ethernet frame from its first byte at `base(slot)`, `len[slot]` bytes
// long. Slots come in two size classes, like the kmalloc caches an skb's head comes from:
//   - small: SLOT_SIZE = 2048 bytes (the largest frame with a 1500 MTU is 1514 bytes; 2048 leaves room
//     for a VLAN tag or jumbo-ish tests). `alloc()` hands these out; every wire-sized frame is one.
//   - large: LARGE_SLOT_SIZE = 68 KiB, for a frame carrying up to a whole 64 KiB IPv4 datagram plus its
//     link headers: GSO super-frames (a TCP sender's TSO/GSO skb, up to 65,535 bytes of IP) and datagrams
//     reassembled from fragments (ip_defrag). `allocLarge()` / `allocFor(bytes)` hand these out.
// A slot's number is the index of its first 2048-byte *unit*; a large slot spans LARGE_UNITS consecutive
// units. So `base(slot)` stays one shift (slot << 11) for both classes and every per-slot typed array
// (`len`, reference counts, netfilter's per-slot state) is indexed by unit number, sized `slots`.
//
// Ownership is by reference count, like an skb's users: `alloc` returns a slot with one reference;
// whoever holds a reference either passes it on (transmit/receive take it) or `release`s it. Flooding
// a frame to n ports takes n-1 more references with `ref` instead of copying. Because shared slots
// are read-only by convention, code that rewrites a frame in place (TTL, NAT) must first call
// `unshare(slot)`, which copies only when the slot is shared (skb_unshare). `NetDevice.receive` does
// that before the protocol stack sees a frame, so the stack always owns what it is given.
//
// No allocation per packet: each class has a free list that is a typed-array stack, lengths and
// reference counts are typed arrays. When a class has no free slot the pool grows: the ArrayBuffer is
// extended by as many units again as that class holds (doubling the class), new units going to that
// class only. `bytes`, `view`, `len` are then *new* objects, so hot code reads `pool.bytes` /
// `pool.view` / `pool.len` at each use and never caches them across a call that may allocate.

import { LimitError } from './limit.js';

export const SLOT_SIZE = 2048;
const SLOT_SHIFT = 11;
/** Units (of SLOT_SIZE bytes) in one large slot: 34 × 2048 = 69,632 bytes. */
export const LARGE_UNITS = 34;
/** Bytes in a large slot: a 65,535-byte IPv4 datagram behind Ethernet, a VLAN tag and spare headroom. */
export const LARGE_SLOT_SIZE = LARGE_UNITS * SLOT_SIZE;

/** Largest pool: 1 GiB of units. Reaching it almost surely means slots are leaking. */
export const MAX_POOL_SLOTS = 1 << 19;

/** Class marks per unit (0: a unit inside a large slot, never a slot number): small head, large head. */
const CLS_SMALL = 1;
const CLS_LARGE = 2;

export class PacketPool {
  bytes: Uint8Array;
  view: DataView;
  /** Frame length per slot (indexed by slot number; up to LARGE_SLOT_SIZE). */
  len: Uint32Array;
  /** IPCB(skb)->frag_max_size of a datagram reassembled from fragments (the largest fragment's IP
   *  length, src/stack/defrag.ts), which output refragments to; 0 for every other frame. Kept for
   *  large slots only — reassembly always builds into one — so `alloc` never touches it: a small
   *  slot's entry stays 0. Zeroed by allocLarge, copied by clone. */
  fragMax: Uint16Array;
  /** skb_shinfo(skb)->gso_size per slot: payload bytes per wire segment of a GSO super-frame (a TCP
   *  frame longer than the MTU that a device with offloads passes on whole and a device without cuts
   *  into segments, src/devices/gso.ts); 0 = an ordinary frame. Zeroed by alloc, copied by clone. */
  gsoSize: Uint16Array;
  /** Reference count per slot; 0 = free. */
  private refs: Uint16Array;
  /** Size class of the slot whose first unit this is (CLS_*). */
  private cls: Uint8Array;
  /** Stacks of free small and large slot numbers; `freeTop` / `freeLargeTop` entries are valid. */
  private free: Int32Array;
  private freeTop = 0;
  private freeLarge: Int32Array;
  private freeLargeTop = 0;
  /** Units in the buffer, and how many small / large slots they make. */
  private capacity = 0;
  private smallSlots = 0;
  private largeSlots = 0;
  /** Slots currently allocated (for leak tests: back to its start value when all frames are gone). */
  inUse = 0;
  /** Times the pool grew. */
  grows = 0;
  /** Packet identities for the per-packet trace (src/trace), null while no trace is recorded: a fresh
   *  slot gets a new id, a clone keeps its original's (a flooded or unshared copy is the same packet
   *  going on). The only cost when off is this null check in alloc and clone. */
  ids: Int32Array | null = null;
  private nextId = 0;

  /** Start numbering packets (src/trace); slots allocated before keep id 0 ("from before the trace"). */
  enableIds(): void {
    if (this.ids === null) this.ids = new Int32Array(this.capacity);
  }

  constructor(slots = 1024) {
    if (!Number.isInteger(slots) || slots < 1 || slots > MAX_POOL_SLOTS) {
      throw new RangeError(`PacketPool slots must be an integer in 1..${MAX_POOL_SLOTS}, got ${slots}`);
    }
    this.bytes = new Uint8Array(0);
    this.view = new DataView(this.bytes.buffer);
    this.len = new Uint32Array(0);
    this.fragMax = new Uint16Array(0);
    this.gsoSize = new Uint16Array(0);
    this.refs = new Uint16Array(0);
    this.cls = new Uint8Array(0);
    this.free = new Int32Array(0);
    this.freeLarge = new Int32Array(0);
    this.extend(slots, 0);
  }

  /** Number of 2048-byte units the pool holds now (allocated or free): one past the highest slot
   *  number, so per-slot arrays elsewhere are sized with it. */
  get slots(): number {
    return this.capacity;
  }

  /** Large slots the pool holds now (allocated or free). */
  get largeCapacity(): number {
    return this.largeSlots;
  }

  /** Byte offset of the slot's first byte in `bytes` / `view`. */
  base(slot: number): number {
    return slot << SLOT_SHIFT;
  }

  /** Bytes the slot can hold: SLOT_SIZE or LARGE_SLOT_SIZE. */
  room(slot: number): number {
    return this.cls[slot] === CLS_LARGE ? LARGE_SLOT_SIZE : SLOT_SIZE;
  }

  /** A fresh small slot with one reference and length 0. Its bytes hold whatever the last user left. */
  alloc(): number {
    if (this.freeTop === 0) this.grow(CLS_SMALL);
    const slot = this.free[--this.freeTop]!;
    this.refs[slot] = 1;
    this.len[slot] = 0;
    this.gsoSize[slot] = 0;
    this.inUse++;
    if (this.ids !== null) this.ids[slot] = ++this.nextId;
    return slot;
  }

  /** A fresh large slot (LARGE_SLOT_SIZE bytes) with one reference and length 0. */
  allocLarge(): number {
    if (this.freeLargeTop === 0) this.grow(CLS_LARGE);
    const slot = this.freeLarge[--this.freeLargeTop]!;
    this.refs[slot] = 1;
    this.len[slot] = 0;
    this.fragMax[slot] = 0;
    this.gsoSize[slot] = 0;
    this.inUse++;
    if (this.ids !== null) this.ids[slot] = ++this.nextId;
    return slot;
  }

  /** A fresh slot of the smallest class that holds `bytes` bytes. */
  allocFor(bytes: number): number {
    if (bytes <= SLOT_SIZE) return this.alloc();
    if (bytes <= LARGE_SLOT_SIZE) return this.allocLarge();
    throw new RangeError(`frame of ${bytes} bytes exceeds LARGE_SLOT_SIZE ${LARGE_SLOT_SIZE}`);
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
      if (this.cls[slot] === CLS_LARGE) this.freeLarge[this.freeLargeTop++] = slot;
      else this.free[this.freeTop++] = slot;
      this.inUse--;
    }
  }

  /** References held on the slot (0 when free). */
  refCount(slot: number): number {
    return this.refs[slot] ?? 0;
  }

  /** A new slot (one reference, of the same size class) holding a copy of the frame in `slot`. */
  clone(slot: number): number {
    if ((this.refs[slot] ?? 0) === 0) throw new Error(`PacketPool.clone: slot ${slot} is not allocated`);
    const copy = this.cls[slot] === CLS_LARGE ? this.allocLarge() : this.alloc(); // may grow: read bytes afterwards
    const n = this.len[slot]!;
    const from = slot << SLOT_SHIFT;
    this.bytes.copyWithin(copy << SLOT_SHIFT, from, from + n);
    this.len[copy] = n;
    this.fragMax[copy] = this.fragMax[slot]!;
    if (this.ids !== null) this.ids[copy] = this.ids[slot]!;
    this.gsoSize[copy] = this.gsoSize[slot]!;
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
    const slot = this.allocFor(frame.length);
    this.bytes.set(frame, slot << SLOT_SHIFT);
    this.len[slot] = frame.length;
    return slot;
  }

  /** A copy of the frame in `slot` (tests and tools; allocates). */
  toBytes(slot: number): Uint8Array {
    const b = slot << SLOT_SHIFT;
    return this.bytes.slice(b, b + this.len[slot]!);
  }

  private grow(cls: number): void {
    const have = cls === CLS_LARGE ? this.largeSlots : this.smallSlots;
    const units = cls === CLS_LARGE ? LARGE_UNITS : 1;
    // Double the class (a first large slot: 2 of them), within MAX_POOL_SLOTS units in all.
    let add = Math.max(have, cls === CLS_LARGE ? 2 : 1);
    const room = Math.floor((MAX_POOL_SLOTS - this.capacity) / units);
    if (add > room) add = room;
    if (add < 1) {
      throw new LimitError(
        `the packet pool is full: ${this.capacity} units of ${SLOT_SIZE} bytes (${(this.capacity * SLOT_SIZE) / 2 ** 30} GiB) in flight at once, wirebox's limit; traffic is queued faster than it drains`,
      );
    }
    if (cls === CLS_LARGE) this.extend(0, add);
    else this.extend(add, 0);
    this.grows++;
  }

  /** Appends `small` small slots and `large` large slots to the buffer. */
  private extend(small: number, large: number): void {
    const old = this.capacity;
    const units = old + small + large * LARGE_UNITS;
    const bytes = new Uint8Array(units * SLOT_SIZE);
    bytes.set(this.bytes);
    const len = new Uint32Array(units);
    len.set(this.len);
    const fragMax = new Uint16Array(units);
    fragMax.set(this.fragMax);
    const gsoSize = new Uint16Array(units);
    gsoSize.set(this.gsoSize);
    const refs = new Uint16Array(units);
    refs.set(this.refs);
    const cls = new Uint8Array(units);
    cls.set(this.cls);
    if (small > 0) {
      const free = new Int32Array(this.smallSlots + small);
      free.set(this.free.subarray(0, this.freeTop));
      // New slots go on the free list highest first, so that alloc hands out low numbers first.
      for (let s = old + small - 1; s >= old; s--) {
        free[this.freeTop++] = s;
        cls[s] = CLS_SMALL;
      }
      this.free = free;
      this.smallSlots += small;
    }
    if (large > 0) {
      const free = new Int32Array(this.largeSlots + large);
      free.set(this.freeLarge.subarray(0, this.freeLargeTop));
      for (let k = large - 1; k >= 0; k--) {
        const s = old + small + k * LARGE_UNITS;
        free[this.freeLargeTop++] = s;
        cls[s] = CLS_LARGE;
      }
      this.freeLarge = free;
      this.largeSlots += large;
    }
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
    this.len = len;
    this.fragMax = fragMax;
    this.gsoSize = gsoSize;
    this.refs = refs;
    this.cls = cls;
    this.capacity = units;
    if (this.ids !== null) {
      const ids = new Int32Array(units);
      ids.set(this.ids);
      this.ids = ids;
    }
  }
}
