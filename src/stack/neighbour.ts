// The neighbour (ARP) cache of one namespace, with Linux's NUD state machine (net/core/neighbour.c):
//
//   send, no entry ──▶ INCOMPLETE ── reply ──▶ REACHABLE ── reachable_time ──▶ STALE
//        (queue packets, broadcast a request        │  (confirmed recently: stay)      │ send
//         every retrans_time, mcast_probes times)    └── used lately ──▶ DELAY ◀────────┘
//        └─ no answer ──▶ FAILED (queued packets get ICMP host unreachable)          │ delay_first_probe_time
//                                                                                    ▼
//   request for us from X: X created STALE (neigh_event_ns)            PROBE: unicast requests, ucast_probes
//                                                                       times, then FAILED
//
// Defaults are ARP's (arp_tbl): base_reachable_time 30 s (each device's reachable_time is drawn in
// [0.5, 1.5) × base and redrawn every 300 s), delay_first_probe_time 5 s, retrans_time 1 s,
// ucast_probes 3, mcast_probes 3, app_probes 0, mcast_reprobes 0, unres_qlen_bytes 212992.
// An INCOMPLETE entry starts with probes = ucast_probes, so it sends mcast_probes broadcasts; its first
// one goes out immediately (immediate_ok), the next ones retrans_time apart, and FAILED comes
// retrans_time after the last.
//
// Entries live in typed arrays indexed by an entry number, found through an open-addressing hash of
// (ifindex, IPv4). Timers are engine events carrying the entry number; an event whose time is no longer
// the entry's deadline is stale and ignored (that is how a timer is "deleted").

import type { Engine } from '../sim/engine.js';
import type { Prng } from '../sim/prng.js';

export const enum Nud {
  NONE = 0x00,
  INCOMPLETE = 0x01,
  REACHABLE = 0x02,
  STALE = 0x04,
  DELAY = 0x08,
  PROBE = 0x10,
  FAILED = 0x20,
  NOARP = 0x40,
  PERMANENT = 0x80,
}

const NUD_IN_TIMER = Nud.INCOMPLETE | Nud.REACHABLE | Nud.DELAY | Nud.PROBE;
const NUD_VALID = Nud.PERMANENT | Nud.NOARP | Nud.REACHABLE | Nud.PROBE | Nud.STALE | Nud.DELAY;
const NUD_CONNECTED = Nud.PERMANENT | Nud.NOARP | Nud.REACHABLE;

export function nudName(state: number): string {
  switch (state) {
    case Nud.NONE: return 'NONE';
    case Nud.INCOMPLETE: return 'INCOMPLETE';
    case Nud.REACHABLE: return 'REACHABLE';
    case Nud.STALE: return 'STALE';
    case Nud.DELAY: return 'DELAY';
    case Nud.PROBE: return 'PROBE';
    case Nud.FAILED: return 'FAILED';
    case Nud.NOARP: return 'NOARP';
    case Nud.PERMANENT: return 'PERMANENT';
    default: return `0x${state.toString(16)}`;
  }
}

const SEC = 1_000_000_000;

export interface NeighbourParams {
  baseReachableNs: number;
  delayFirstProbeNs: number;
  retransNs: number;
  ucastProbes: number;
  mcastProbes: number;
  appProbes: number;
  mcastReprobes: number;
  /** unres_qlen_bytes: bytes (skb truesize) queued per unresolved entry. */
  queueLenBytes: number;
  /** locktime: a different MAC in a reply is ignored this soon after an update (1 s). */
  locktimeNs: number;
}

export function arpDefaults(): NeighbourParams {
  return {
    baseReachableNs: 30 * SEC,
    delayFirstProbeNs: 5 * SEC,
    retransNs: 1 * SEC,
    ucastProbes: 3,
    mcastProbes: 3,
    appProbes: 0,
    mcastReprobes: 0,
    queueLenBytes: 212992,
    locktimeNs: 1 * SEC,
  };
}

/** What the table asks its host to do. */
export interface NeighbourOwner {
  /** arp_solicit: send a request for `target` out of `ifindex`, to `dstMac` (-1: broadcast). `queued`
   *  is the newest packet waiting for the answer (-1 if none): its source address is the request's. */
  solicit(ifindex: number, target: number, dstMac: number, queued: number): void;
  /** Fill the Ethernet destination with `mac` and transmit the frame (takes the slot's reference). */
  transmit(ifindex: number, slot: number, mac: number): void;
  /** Optional: transmit a frame whose Ethernet destination the table has already written. With it, a
   *  usable entry's frames go out without the MAC being handed over: a 48-bit MAC is not a small
   *  integer, and passed to a call V8 does not inline it is boxed (a HeapNumber per packet). */
  transmitFilled?(ifindex: number, slot: number): void;
  /** neigh_invalidate → arp_error_report: the packet could not be delivered (ICMP host unreachable);
   *  takes the slot's reference. */
  unreachable(slot: number): void;
}

/** Approximates skb->truesize of a queued frame: data rounded to a cache line plus the sk_buff and
 *  shared-info overhead (SKB_TRUESIZE on x86_64 ≈ 576 + 256). */
function truesize(len: number): number {
  return ((len + 63) & ~63) + 832;
}

export class NeighbourTable {
  private cap = 0;
  private count = 0;
  // Entry columns.
  private ip: Uint32Array = new Uint32Array(0);
  private ifx: Int32Array = new Int32Array(0);
  private stateA: Uint8Array = new Uint8Array(0);
  private probes: Uint8Array = new Uint8Array(0);
  private macA: Float64Array = new Float64Array(0);
  private updated: Float64Array = new Float64Array(0);
  private confirmed: Float64Array = new Float64Array(0);
  private used: Float64Array = new Float64Array(0);
  private deadline: Float64Array = new Float64Array(0);
  private queueBytes: Uint32Array = new Uint32Array(0);
  private queues: (number[] | null)[] = [];
  // Hash: slot → entry number + 1 (0 = empty).
  private hash: Int32Array = new Int32Array(0);
  private hashMask = 0;

  /** Each device's reachable_time (neigh_rand_reach_time), redrawn every 300 s. */
  private reachable = new Map<number, { ns: number; drawnAt: number }>();

  /** Packets dropped from full queues, and packets that met a FAILED entry. */
  drops = 0;

  private readonly onTimer = (e: number): void => this.timer(e);

  constructor(
    private readonly engine: Engine,
    private readonly rng: Prng,
    private readonly owner: NeighbourOwner,
    readonly params: NeighbourParams = arpDefaults(),
  ) {
    this.grow(16);
  }

  // ---- lookup -------------------------------------------------------------------------------------

  private hashOf(ifindex: number, ip: number): number {
    let h = Math.imul(ip ^ Math.imul(ifindex, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h & this.hashMask;
  }

  /** Entry number of (ifindex, ip), or -1. */
  find(ifindex: number, ip: number): number {
    ip = ip >>> 0;
    let h = this.hashOf(ifindex, ip);
    for (;;) {
      const v = this.hash[h]!;
      if (v === 0) return -1;
      const e = v - 1;
      if (this.ip[e] === ip && this.ifx[e] === ifindex) return e;
      h = (h + 1) & this.hashMask;
    }
  }

  private create(ifindex: number, ip: number): number {
    if (this.count + 1 > this.cap) this.grow(this.cap * 2);
    const e = this.count++;
    this.ip[e] = ip >>> 0;
    this.ifx[e] = ifindex;
    this.stateA[e] = Nud.NONE;
    this.probes[e] = 0;
    this.macA[e] = -1;
    const now = this.engine.now;
    this.updated[e] = now;
    // A new entry is not confirmed: Linux backdates it by 2 × base_reachable_time.
    this.confirmed[e] = now - 2 * this.params.baseReachableNs;
    this.used[e] = now;
    this.deadline[e] = -1;
    this.queueBytes[e] = 0;
    this.queues[e] = null;
    this.insertHash(e);
    return e;
  }

  private insertHash(e: number): void {
    let h = this.hashOf(this.ifx[e]!, this.ip[e]!);
    while (this.hash[h] !== 0) h = (h + 1) & this.hashMask;
    this.hash[h] = e + 1;
  }

  private grow(cap: number): void {
    const copyU32 = (a: Uint32Array): Uint32Array => { const b = new Uint32Array(cap); b.set(a); return b; };
    const copyF64 = (a: Float64Array): Float64Array => { const b = new Float64Array(cap); b.set(a); return b; };
    const copyU8 = (a: Uint8Array): Uint8Array => { const b = new Uint8Array(cap); b.set(a); return b; };
    this.ip = copyU32(this.ip);
    const ifx = new Int32Array(cap); ifx.set(this.ifx); this.ifx = ifx;
    this.stateA = copyU8(this.stateA);
    this.probes = copyU8(this.probes);
    this.macA = copyF64(this.macA);
    this.updated = copyF64(this.updated);
    this.confirmed = copyF64(this.confirmed);
    this.used = copyF64(this.used);
    this.deadline = copyF64(this.deadline);
    this.queueBytes = copyU32(this.queueBytes);
    this.cap = cap;
    this.hash = new Int32Array(cap * 2);
    this.hashMask = cap * 2 - 1;
    for (let e = 0; e < this.count; e++) this.insertHash(e);
  }

  // ---- inspection (ip neigh show) -------------------------------------------------------------------

  state(ifindex: number, ip: number): Nud {
    const e = this.find(ifindex, ip);
    return e < 0 ? Nud.NONE : (this.stateA[e]! as Nud);
  }

  /** The entry's MAC, or -1 when it has none. */
  mac(ifindex: number, ip: number): number {
    const e = this.find(ifindex, ip);
    return e < 0 ? -1 : this.macA[e]!;
  }

  entries(): { ifindex: number; ip: number; mac: number; state: Nud }[] {
    const out = [];
    for (let e = 0; e < this.count; e++) {
      out.push({ ifindex: this.ifx[e]!, ip: this.ip[e]!, mac: this.macA[e]!, state: this.stateA[e]! as Nud });
    }
    return out;
  }

  /** This device's current reachable_time. */
  reachableTime(ifindex: number): number {
    const now = this.engine.now;
    let r = this.reachable.get(ifindex);
    if (r === undefined || now - r.drawnAt >= 300 * SEC) {
      const base = this.params.baseReachableNs;
      // neigh_rand_reach_time: base/2 + random below base.
      const ns = base / 2 + Math.floor((this.rng.u32() / 0x100000000) * base);
      r = { ns, drawnAt: now };
      this.reachable.set(ifindex, r);
    }
    return r.ns;
  }

  // ---- output: neigh_resolve_output / __neigh_event_send --------------------------------------------

  /** Send `slot` (an Ethernet frame whose source MAC and type are written) to neighbour `ip` on
   *  `ifindex`: at once when the entry is usable, else queued while ARP resolves it. */
  output(ifindex: number, ip: number, slot: number): void {
    let e = this.find(ifindex, ip);
    if (e < 0) e = this.create(ifindex, ip);
    const now = this.engine.now;
    let st = this.stateA[e]!;
    if ((st & NUD_CONNECTED) !== 0) {
      // neigh_connected_output / the hh cache: no neigh_event_send, so `used` is not touched.
      this.send(ifindex, slot, e);
      return;
    }
    this.used[e] = now; // neigh_resolve_output → neigh_event_send
    if ((st & (Nud.DELAY | Nud.PROBE)) !== 0) {
      this.send(ifindex, slot, e);
      return;
    }
    let immediateProbe = false;
    const p = this.params;
    if ((st & (Nud.STALE | Nud.INCOMPLETE)) === 0) {
      // NONE or FAILED: start resolving.
      if (p.mcastProbes + p.appProbes === 0) {
        this.stateA[e] = Nud.FAILED;
        this.updated[e] = now;
        this.drops++;
        this.engine.pool.release(slot);
        return;
      }
      this.probes[e] = p.ucastProbes;
      this.stateA[e] = st = Nud.INCOMPLETE;
      this.updated[e] = now;
      immediateProbe = true;
      this.arm(e, now + Math.max(p.retransNs, 10_000_000));
    } else if (st === Nud.STALE) {
      this.stateA[e] = st = Nud.DELAY;
      this.updated[e] = now;
      this.arm(e, now + p.delayFirstProbeNs);
    }
    if (st === Nud.INCOMPLETE) {
      const size = truesize(this.engine.pool.len[slot]!);
      let q = this.queues[e];
      if (q == null) q = this.queues[e] = [];
      while (q.length > 0 && this.queueBytes[e]! + size > p.queueLenBytes) {
        const old = q.shift()!;
        this.queueBytes[e] -= truesize(this.engine.pool.len[old]!);
        this.drops++;
        this.engine.pool.release(old);
      }
      q.push(slot);
      this.queueBytes[e] += size;
    } else {
      this.owner.transmit(ifindex, slot, this.macA[e]!);
    }
    if (immediateProbe) this.probe(e);
  }

  /** Out with entry `e`'s address: written here (the MAC stays in registers, split in two integers)
   *  when the owner has `transmitFilled`, else handed to `transmit`. */
  private send(ifindex: number, slot: number, e: number): void {
    const owner = this.owner;
    const mac = this.macA[e]!;
    if (owner.transmitFilled === undefined) {
      owner.transmit(ifindex, slot, mac);
      return;
    }
    const pool = this.engine.pool;
    const view = pool.view;
    const b = pool.base(slot);
    const hi = Math.floor(mac / 0x100000000);
    view.setUint16(b, hi & 0xffff);
    view.setUint32(b + 2, (mac - hi * 0x100000000) | 0);
    owner.transmitFilled(ifindex, slot);
  }

  /** neigh_event_send(n, NULL): start resolving (or refreshing) an entry without a packet to send. */
  kick(ifindex: number, ip: number): void {
    let e = this.find(ifindex, ip);
    if (e < 0) e = this.create(ifindex, ip);
    const st = this.stateA[e]!;
    if ((st & (NUD_CONNECTED | Nud.DELAY | Nud.PROBE | Nud.INCOMPLETE)) !== 0) return;
    const now = this.engine.now;
    this.used[e] = now;
    if (st === Nud.STALE) {
      this.stateA[e] = Nud.DELAY;
      this.updated[e] = now;
      this.arm(e, now + this.params.delayFirstProbeNs);
      return;
    }
    this.probes[e] = this.params.ucastProbes;
    this.stateA[e] = Nud.INCOMPLETE;
    this.updated[e] = now;
    this.arm(e, now + Math.max(this.params.retransNs, 10_000_000));
    this.probe(e);
  }

  // ---- input: neigh_update -------------------------------------------------------------------------

  /**
   * neigh_update(n, lladdr, new, flags) with `create` deciding whether a missing entry is made (it is for
   * neigh_event_ns, not for a reply from a stranger). `override`: NEIGH_UPDATE_F_OVERRIDE.
   */
  update(ifindex: number, ip: number, mac: number, newState: Nud, override: boolean, create: boolean): void {
    let e = this.find(ifindex, ip);
    if (e < 0) {
      if (!create) return;
      e = this.create(ifindex, ip);
    }
    const now = this.engine.now;
    const old = this.stateA[e]!;
    if ((old & (Nud.NOARP | Nud.PERMANENT)) !== 0) return;
    let lladdr = mac;
    let nw: number = newState;
    if ((nw & NUD_CONNECTED) !== 0) this.confirmed[e] = now;
    if ((old & NUD_VALID) !== 0) {
      if (lladdr !== this.macA[e] && !override) {
        return;
      }
      // Same address: a STALE update leaves a valid entry's state alone.
      if (lladdr === this.macA[e] && nw === Nud.STALE) nw = old;
    }
    if (nw !== old || lladdr !== this.macA[e]) this.updated[e] = now;
    if (nw !== old) {
      this.deadline[e] = -1;
      if ((nw & Nud.PROBE) !== 0) this.probes[e] = 0;
      if ((nw & NUD_IN_TIMER) !== 0) {
        this.arm(e, now + ((nw & Nud.REACHABLE) !== 0 ? this.reachableTime(ifindex) : 0));
      }
      this.stateA[e] = nw;
    }
    if (lladdr !== this.macA[e]) {
      this.macA[e] = lladdr;
      if ((nw & NUD_CONNECTED) === 0) this.confirmed[e] = now - 2 * this.params.baseReachableNs;
    }
    if (nw === old) return;
    if ((old & NUD_VALID) === 0) {
      // Resolved: send what waited, in order.
      const q = this.queues[e];
      this.queues[e] = null;
      this.queueBytes[e] = 0;
      if (q != null) for (const s of q) this.owner.transmit(ifindex, s, lladdr);
    }
  }

  /** Whether locktime has passed since the entry last changed (a different MAC may then override). */
  pastLocktime(e: number): boolean {
    return this.engine.now > this.updated[e]! + this.params.locktimeNs;
  }

  /** Upper-layer confirmation (dst_confirm_neigh: TCP saw forward progress): the entry is reachable. */
  confirm(ifindex: number, ip: number): void {
    const e = this.find(ifindex, ip);
    if (e >= 0) this.confirmed[e] = this.engine.now;
  }

  // ---- timers: neigh_timer_handler -----------------------------------------------------------------

  private arm(e: number, at: number): void {
    this.deadline[e] = at;
    this.engine.at(at, this.onTimer, e);
  }

  private timer(e: number): void {
    const now = this.engine.now;
    if (this.deadline[e] !== now) return; // re-armed or deleted since
    this.deadline[e] = -1;
    const st = this.stateA[e]!;
    if ((st & NUD_IN_TIMER) === 0) return;
    const p = this.params;
    const ifindex = this.ifx[e]!;
    let next = now + Math.max(p.retransNs, 10_000_000);
    if ((st & Nud.REACHABLE) !== 0) {
      const reach = this.reachableTime(ifindex);
      if (now <= this.confirmed[e]! + reach) {
        next = this.confirmed[e]! + reach;
      } else if (now <= this.used[e]! + p.delayFirstProbeNs) {
        this.stateA[e] = Nud.DELAY;
        this.updated[e] = now;
        next = now + p.delayFirstProbeNs;
      } else {
        this.stateA[e] = Nud.STALE;
        this.updated[e] = now;
      }
    } else if ((st & Nud.DELAY) !== 0) {
      if (now <= this.confirmed[e]! + p.delayFirstProbeNs) {
        this.stateA[e] = Nud.REACHABLE;
        this.updated[e] = now;
        next = this.confirmed[e]! + this.reachableTime(ifindex);
      } else {
        this.stateA[e] = Nud.PROBE;
        this.updated[e] = now;
        this.probes[e] = 0;
      }
    }
    const cur = this.stateA[e]!;
    if ((cur & (Nud.INCOMPLETE | Nud.PROBE)) !== 0 && this.probes[e]! >= this.maxProbes(cur)) {
      this.stateA[e] = Nud.FAILED;
      this.updated[e] = now;
      this.invalidate(e);
      return;
    }
    if ((cur & NUD_IN_TIMER) !== 0) {
      if (next < now + 10_000_000) next = now + 10_000_000;
      this.arm(e, next);
    }
    if ((cur & (Nud.INCOMPLETE | Nud.PROBE)) !== 0) this.probe(e);
  }

  private maxProbes(state: number): number {
    const p = this.params;
    return p.ucastProbes + p.appProbes + ((state & Nud.PROBE) !== 0 ? p.mcastReprobes : p.mcastProbes);
  }

  /** neigh_probe → arp_solicit: unicast to the known MAC while probes < ucast_probes, else broadcast. */
  private probe(e: number): void {
    const n = this.probes[e]!;
    this.probes[e] = n + 1;
    const p = this.params;
    const q = this.queues[e];
    // neigh_probe hands arp_solicit the newest waiting packet (skb_peek_tail).
    const queued = q != null && q.length > 0 ? q[q.length - 1]! : -1;
    if (n < p.ucastProbes) {
      this.owner.solicit(this.ifx[e]!, this.ip[e]!, this.macA[e]!, queued);
    } else if (n - p.ucastProbes < p.appProbes) {
      // app_probes go to a user-space daemon (none here).
    } else {
      this.owner.solicit(this.ifx[e]!, this.ip[e]!, -1, queued);
    }
  }

  /** neigh_invalidate: every queued packet gets its error report, then the queue is gone. */
  private invalidate(e: number): void {
    const q = this.queues[e];
    this.queues[e] = null;
    this.queueBytes[e] = 0;
    if (q != null) for (const s of q) this.owner.unreachable(s);
  }
}
