// An impaired link: Linux's netem qdisc (net/sched/sch_netem.c) on a device's egress, as
// `tc qdisc add dev IF root netem delay … loss … rate … limit …` sets it up. It sits where the root
// qdisc sits, between dev_queue_xmit and the driver, so a capture on the device (tcpdump's packet
// socket, fed from dev_hard_start_xmit) sees a frame when netem lets it go — delayed, duplicated,
// corrupted — and never sees a frame netem dropped.
//
// netem_enqueue's order of operations, followed here:
//   1. duplicate? (count++)   2. loss? (count--)   3. count 0: drop
//   4. corrupt? one random bit of one random byte of the frame flipped (the duplicate keeps the
//      original bytes: the clone is unshared first)
//   5. queue full (limit, default 1000 packets)? tail drop
//   6. reorder? (gap 1, as tc sets it when only a probability is given, and only with a delay) the
//      frame goes to the head of the queue and leaves now; otherwise
//      time_to_send = now + tabledist(latency, jitter) — uniform in [latency − jitter, latency + jitter)
//      (no distribution table, tc's default) — and with `rate` the delay counts from the last queued
//      frame's time (less what that wait already covers) plus the frame's serialisation time,
//      len × 10^9 / (rate in bytes/s), len being the frame without FCS (qdisc_pkt_len);
//      frames leave in time_to_send order (tfifo), equal times in arrival order
//   7. the duplicate then goes through the qdisc itself (its own loss, delay), duplication off.
// Every random number is a u32 from a Prng forked from the run's seed for this device, compared as
// netem compares them (`probability ≥ rnd`, probability = percent × 2^32 / 100), so a seed gives the
// same impairments every run. Correlation, distribution tables, ECN marking, slot and loss models
// are not emulated (no scenario key sets them).

import type { Prng } from '../sim/prng.js';
import { Timer } from '../sim/timer.js';
import type { NetDevice } from './device.js';

export interface NetemConfig {
  latencyNs: number;
  jitterNs: number;
  /** Percentages 0-100. */
  loss: number;
  duplicate: number;
  reorder: number;
  corrupt: number;
  /** bits per second; 0: no rate limit. */
  rateBps: number;
  /** Queue length in packets (netem's default 1000). */
  limit: number;
}

/** tc's percentage as the u32 netem compares with (get_percent: percent × UINT32_MAX / 100). */
function prob(percent: number): number {
  return Math.round((percent / 100) * 0xffffffff);
}

export class Netem {
  private readonly loss: number;
  private readonly duplicate: number;
  private readonly reorder: number;
  private readonly corrupt: number;
  /** Bytes per second (tc's rate is given in bits). */
  private readonly rateBytes: number;
  /** tfifo: a binary heap of (time_to_send, arrival order, slot). */
  private readonly time: number[] = [];
  private readonly order: number[] = [];
  private readonly slots: number[] = [];
  private arrivals = 0;
  /** Latest time_to_send queued (the rate's reference point), valid while the queue is not empty. */
  private lastTime = 0;
  private dupOff = false;
  private readonly timer: Timer;
  /** Frames dropped: lost, and tail-dropped at the limit. */
  lost = 0;
  overLimit = 0;
  duplicated = 0;
  corrupted = 0;
  reordered = 0;

  constructor(
    private readonly dev: NetDevice,
    readonly config: NetemConfig,
    private readonly rng: Prng,
    /** The device's own transmit (tap + link), called when a frame leaves the qdisc. */
    private readonly output: (slot: number) => void,
  ) {
    this.loss = prob(config.loss);
    this.duplicate = prob(config.duplicate);
    this.reorder = prob(config.reorder);
    this.corrupt = prob(config.corrupt);
    this.rateBytes = config.rateBps / 8;
    this.timer = new Timer(dev.engine, () => this.dequeue());
  }

  get queued(): number {
    return this.slots.length;
  }

  /** netem_enqueue. Takes the slot's reference. */
  enqueue(slot: number): void {
    const engine = this.dev.engine;
    const pool = engine.pool;
    const rng = this.rng;
    let count = 1;
    if (this.duplicate !== 0 && !this.dupOff && this.duplicate >= rng.u32()) count++;
    if (this.loss !== 0 && this.loss >= rng.u32()) count--;
    if (count === 0) {
      this.lost++;
      pool.release(slot);
      return;
    }
    let dup = -1;
    if (count > 1) {
      pool.ref(slot); // skb_clone: the duplicate shares the bytes until one is written
      dup = slot;
      this.duplicated++;
    }
    if (this.corrupt !== 0 && this.corrupt >= rng.u32()) {
      slot = pool.unshare(slot); // skb_unshare before writing: the clone keeps the original bytes
      const len = pool.len[slot]!;
      const at = rng.below(len);
      pool.bytes[pool.base(slot) + at]! ^= 1 << rng.below(8);
      this.corrupted++;
    }
    if (this.slots.length >= this.config.limit) {
      this.overLimit++;
      pool.release(slot);
      if (dup >= 0) pool.release(dup);
      return;
    }
    const now = engine.now;
    if (this.reorder !== 0 && this.config.latencyNs + this.config.jitterNs > 0 && this.reorder >= rng.u32()) {
      // gap 1: this one jumps the queue and leaves now
      this.reordered++;
      this.push(now, slot);
    } else {
      let delay = this.tabledist();
      let from = now;
      if (this.rateBytes > 0) {
        if (this.slots.length > 0) {
          delay = Math.max(0, delay - (this.lastTime - now));
          from = this.lastTime;
        }
        delay += Math.floor((pool.len[slot]! * 1e9) / this.rateBytes);
      }
      this.push(from + delay, slot);
    }
    if (dup >= 0) {
      this.dupOff = true;
      this.enqueue(dup);
      this.dupOff = false;
    }
  }

  /** tabledist(latency, jitter) without a table: uniform in [latency − jitter, latency + jitter). */
  private tabledist(): number {
    const mu = this.config.latencyNs;
    const sigma = this.config.jitterNs;
    if (sigma === 0) return mu;
    return Math.max(0, mu - sigma + (this.rng.u32() % (2 * sigma)));
  }

  private push(t: number, slot: number): void {
    const time = this.time;
    const order = this.order;
    const slots = this.slots;
    const o = this.arrivals++;
    let i = slots.length;
    time.push(t);
    order.push(o);
    slots.push(slot);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (time[p]! < t || (time[p] === t && order[p]! < o)) break;
      time[i] = time[p]!;
      order[i] = order[p]!;
      slots[i] = slots[p]!;
      i = p;
    }
    time[i] = t;
    order[i] = o;
    slots[i] = slot;
    if (slots.length === 1 || t > this.lastTime) this.lastTime = t;
    if (!this.timer.armed || this.timer.deadline > time[0]!) this.timer.armAt(time[0]!);
  }

  private pop(): number {
    const time = this.time;
    const order = this.order;
    const slots = this.slots;
    const top = slots[0]!;
    const lt = time.pop()!;
    const lo = order.pop()!;
    const ls = slots.pop()!;
    const n = slots.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && (time[c + 1]! < time[c]! || (time[c + 1] === time[c] && order[c + 1]! < order[c]!))) c++;
        if (lt < time[c]! || (lt === time[c] && lo < order[c]!)) break;
        time[i] = time[c]!;
        order[i] = order[c]!;
        slots[i] = slots[c]!;
        i = c;
      }
      time[i] = lt;
      order[i] = lo;
      slots[i] = ls;
    }
    return top;
  }

  /** netem_dequeue, woken by its watchdog: every frame whose time has come leaves, in order. */
  private dequeue(): void {
    const now = this.dev.engine.now;
    while (this.slots.length > 0 && this.time[0]! <= now) this.output(this.pop());
    if (this.slots.length > 0) this.timer.armAt(this.time[0]!);
  }
}
