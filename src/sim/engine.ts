// The discrete-event engine: one virtual clock in nanoseconds and a queue of callbacks due at given
// times. Nothing reads a wall clock; everything that happens in a run is an event here, so a run is a
// pure function of its plan and seed.
//
// The queue is a binary min-heap over typed arrays, ordered by (time, sequence number): events due at
// the same time run in the order they were scheduled (FIFO), which is what makes `after(0, …)` a safe
// "later in this instant" for devices (a veth delivers to its peer with `after(0)` instead of
// recursing). Each heap entry names a handle; the handle's callback and argument live in parallel arrays,
// and handles are recycled through a typed-array free list — scheduling allocates nothing once the
// arrays have grown to the run's high-water mark (they double when full).
//
// Callbacks take one number (a pool slot, a generation, an index) so that callers pass state without
// closures: a device keeps one bound function and passes the slot as the argument.

import { PacketPool } from './pool.js';
import { Prng } from './prng.js';

export type EventFn = (arg: number) => void;

export interface EngineOptions {
  seed: number;
  /** Initial packet pool size in slots (it doubles when full). */
  poolSlots?: number;
  /** Initial event queue capacity (it doubles when full). */
  queueSlots?: number;
}

const noop: EventFn = () => {};

export class Engine {
  /** Virtual time in nanoseconds. */
  now = 0;
  readonly rng: Prng;
  readonly pool: PacketPool;
  /** Events run since the engine was made. */
  eventsRun = 0;

  // Heap, entries 0..size-1: due time, FIFO sequence number, handle.
  private hTime: Float64Array;
  private hSeq: Float64Array;
  private hHandle: Int32Array;
  private size = 0;
  private seq = 0;
  // Per handle: callback and argument; free handles on a stack.
  private fns: EventFn[];
  private args: Float64Array;
  private freeHandles: Int32Array;
  private freeTop: number;
  private stopped = false;
  private running = false;

  constructor(opts: EngineOptions) {
    this.rng = new Prng(opts.seed);
    this.pool = new PacketPool(opts.poolSlots ?? 1024);
    const n = opts.queueSlots ?? 256;
    this.hTime = new Float64Array(n);
    this.hSeq = new Float64Array(n);
    this.hHandle = new Int32Array(n);
    this.fns = new Array<EventFn>(n).fill(noop);
    this.args = new Float64Array(n);
    this.freeHandles = new Int32Array(n);
    for (let i = 0; i < n; i++) this.freeHandles[i] = n - 1 - i;
    this.freeTop = n;
  }

  /** Events waiting in the queue (cancelled timers included until their time comes). */
  get pending(): number {
    return this.size;
  }

  /** Time of the next event, or Infinity when the queue is empty. */
  get nextTime(): number {
    return this.size === 0 ? Infinity : this.hTime[0]!;
  }

  /** Runs `fn(arg)` at virtual time `timeNs` (≥ now); events at equal times run in scheduling order. */
  at(timeNs: number, fn: EventFn, arg = 0): void {
    if (!(timeNs >= this.now)) {
      throw new RangeError(`Engine.at: time ${timeNs} ns is before now (${this.now} ns) or not a number`);
    }
    if (this.freeTop === 0) this.grow();
    this.hTime[this.size] = timeNs;
    this.push(fn, arg);
  }

  /** Runs `fn(arg)` `delayNs` (≥ 0) after now. */
  after(delayNs: number, fn: EventFn, arg = 0): void {
    if (!(delayNs >= 0)) throw new RangeError(`Engine.after: delay ${delayNs} ns must be ≥ 0`);
    if (this.freeTop === 0) this.grow();
    // The due time goes straight into the heap's leaf: a time past 2^31 ns is not a small integer,
    // and passing it to another call would box it (an allocation per event).
    this.hTime[this.size] = this.now + delayNs;
    this.push(fn, arg);
  }

  /** Adds the event whose time is already in hTime[size]: takes a handle, sifts the leaf up. */
  private push(fn: EventFn, arg: number): void {
    const h = this.freeHandles[--this.freeTop]!;
    this.fns[h] = fn;
    this.args[h] = arg;
    const hTime = this.hTime;
    const hSeq = this.hSeq;
    const hHandle = this.hHandle;
    const seq = this.seq++;
    let i = this.size++;
    const timeNs = hTime[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = hTime[p]!;
      if (pt < timeNs || (pt === timeNs && hSeq[p]! < seq)) break;
      hTime[i] = pt;
      hSeq[i] = hSeq[p]!;
      hHandle[i] = hHandle[p]!;
      i = p;
    }
    hTime[i] = timeNs;
    hSeq[i] = seq;
    hHandle[i] = h;
  }

  /**
   * Runs events in time order until the queue is empty, or until the next event is later than
   * `untilNs` (events due exactly at `untilNs` run). With `untilNs`, `now` ends at `untilNs` even when
   * the queue ran dry earlier, so `run(t)` twice in a row continues from t. `stop()` from inside an
   * event ends the run after that event. An event may not call `run` (time would jump under it).
   */
  run(untilNs = Infinity): void {
    if (this.running) throw new Error('Engine.run called from inside an event');
    this.running = true;
    this.stopped = false;
    try {
      while (this.size !== 0 && !this.stopped) {
        const t = this.hTime[0]!;
        if (t > untilNs) break;
        const h = this.pop();
        const fn = this.fns[h]!;
        const arg = this.args[h]!;
        this.fns[h] = noop;
        this.freeHandles[this.freeTop++] = h;
        this.now = t;
        this.eventsRun++;
        fn(arg);
      }
      if (untilNs !== Infinity && !this.stopped && this.now < untilNs) this.now = untilNs;
    } finally {
      this.running = false;
    }
  }

  /** Ends the current `run` after the event that calls it. */
  stop(): void {
    this.stopped = true;
  }

  /** Removes the root and restores the heap; returns the root's handle. */
  private pop(): number {
    const hTime = this.hTime;
    const hSeq = this.hSeq;
    const hHandle = this.hHandle;
    const top = hHandle[0]!;
    const n = --this.size;
    if (n === 0) return top;
    // Sift the last entry down from the root.
    const t = hTime[n]!;
    const s = hSeq[n]!;
    const h = hHandle[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n) {
        const ct = hTime[c]!;
        const rt = hTime[r]!;
        if (rt < ct || (rt === ct && hSeq[r]! < hSeq[c]!)) c = r;
      }
      const ct = hTime[c]!;
      if (t < ct || (t === ct && s < hSeq[c]!)) break;
      hTime[i] = ct;
      hSeq[i] = hSeq[c]!;
      hHandle[i] = hHandle[c]!;
      i = c;
    }
    hTime[i] = t;
    hSeq[i] = s;
    hHandle[i] = h;
    return top;
  }

  private grow(): void {
    const old = this.hTime.length;
    const n = old * 2;
    const hTime = new Float64Array(n);
    hTime.set(this.hTime);
    const hSeq = new Float64Array(n);
    hSeq.set(this.hSeq);
    const hHandle = new Int32Array(n);
    hHandle.set(this.hHandle);
    const args = new Float64Array(n);
    args.set(this.args);
    const free = new Int32Array(n);
    free.set(this.freeHandles.subarray(0, this.freeTop));
    for (let i = n - 1; i >= old; i--) free[this.freeTop++] = i;
    for (let i = old; i < n; i++) this.fns.push(noop);
    this.hTime = hTime;
    this.hSeq = hSeq;
    this.hHandle = hHandle;
    this.args = args;
    this.freeHandles = free;
  }
}

// The rest of the engine's API, importable from here as well as from their own files.
export { Timer } from './timer.js';
export { Prng } from './prng.js';
export { PacketPool, SLOT_SIZE } from './pool.js';
