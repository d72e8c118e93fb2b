// IPv4 reassembly of one network namespace, as net/ipv4/ip_fragment.c and net/ipv4/inet_fragment.c
// do it (ip_defrag, ip_frag_queue, ip_frag_reasm, ip_expire).
//
// Queues are keyed by (source, destination, id, protocol, user): `user` is who asked — local delivery
// (IP_DEFRAG_LOCAL_DELIVER, in ip_local_deliver) or conntrack (IP_DEFRAG_CONNTRACK_IN / _OUT, the
// nf_defrag_ipv4 hooks at PREROUTING and OUTPUT), so the two never share fragments. Per fragment
// (ip_frag_queue):
//   - offset = 8 × fragment offset, end = offset + data length. A last fragment (MF clear) fixes the
//     datagram's length: one ending before data already seen, or a second last fragment ending
//     elsewhere, kills the queue. A non-last fragment's end is cut to a multiple of 8; one reaching
//     past a known last fragment kills the queue, as does a fragment with no data.
//   - inet_frag_queue_insert: a fragment lying wholly inside data already queued is a duplicate and
//     only it is dropped; any other overlap kills the whole queue (IPSTATS_MIB_REASM_OVERLAPS, the
//     RFC 5722-like rule Linux follows for IPv4 since 4.19).
//   - ip_frag_too_far (ipfrag_max_dist 64): more than 64 fragments from the same source between two
//     fragments of one queue and the queue starts over (its fragments dropped).
//   - max_size / max_df_size: the largest fragment (IP length) seen, and the largest with DF.
//   - complete when the first (offset 0) and the last fragment are in and the bytes add up: the
//     datagram is rebuilt from the first fragment's header with tot_len, frag_off DF only when
//     max_df_size == max_size (IPSKB_FRAG_PMTU), else 0, a fresh checksum, and IPCB frag_max_size =
//     max(max_df_size, max_size). A datagram over 65,535 bytes is dropped ("Oversized IP packet").
// Limits (net.ipv4.ipfrag_*): ipfrag_time 30 s from the queue's creation, then ip_expire kills it and,
// if its first fragment had arrived, sends ICMP time exceeded code 1 (fragment reassembly time
// exceeded) quoting that fragment — from local delivery always, from conntrack only when the datagram
// was addressed to this host (frag_expire_skip_icmp). ipfrag_high_thresh 4 MiB of queued skb truesize:
// above it every new fragment is dropped (inet_frag_find returns NULL). ipfrag_low_thresh (3 MiB) has
// had no effect since Linux 4.17 (no evictor), so it is kept only as the documented value.
// Not emulated: the ECN combination check (ip4_frag_ecn) and IP options.

import type { Engine } from '../sim/engine.js';
import { Timer } from '../sim/timer.js';
import { ETH } from '../wire/ethernet.js';
import { IPV4, Ipv4Flag } from '../wire/ipv4.js';
import { fillIpv4Checksum } from '../wire/checksum.js';

/** enum ip_defrag_users (include/net/ip.h): who a queue reassembles for. */
export const DefragUser = Object.freeze({
  LOCAL_DELIVER: 0,
  CONNTRACK_IN: 1,
  CONNTRACK_OUT: 2,
});

/** net.ipv4.ipfrag_* defaults. */
export const IPFRAG_TIME_NS = 30_000_000_000;
export const IPFRAG_HIGH_THRESH = 4 * 1024 * 1024;
export const IPFRAG_LOW_THRESH = 3 * 1024 * 1024;
export const IPFRAG_MAX_DIST = 64;

/** What the reassembler needs from its host. */
export interface DefragHost {
  readonly engine: Engine;
  /** ip_expire's ICMP time exceeded (fragment reassembly) about the first fragment in `slot`
   *  (IPv4 header at 14), when the host decides one is due: `user` says who reassembled. */
  fragTimeExceeded(slot: number, user: number): void;
}

/** Approximates skb->truesize of a queued frame (as the neighbour queue's accounting). */
function truesize(len: number): number {
  return ((len + 63) & ~63) + 832;
}

interface Frag {
  slot: number;
  offset: number;
  end: number;
}

class FragQueue {
  /** Fragments in offset order, non-overlapping. */
  readonly frags: Frag[] = [];
  /** Datagram data length once known (the last fragment's end), else the largest end seen. */
  len = 0;
  meat = 0;
  firstIn = false;
  lastIn = false;
  maxSize = 0;
  maxDfSize = 0;
  /** The source's fragment count when this queue last took one (ip_frag_too_far). */
  rid = 0;
  truesize = 0;
  readonly timer: Timer;

  constructor(
    readonly key: string,
    readonly src: number,
    readonly user: number,
    engine: Engine,
    expire: (q: FragQueue) => void,
  ) {
    this.timer = new Timer(engine, () => expire(this));
  }
}

export interface DefragStats {
  /** IPSTATS_MIB_REASMREQDS, REASMOKS, REASMFAILS, REASM_OVERLAPS, REASMTIMEOUT. */
  reqds: number;
  oks: number;
  fails: number;
  overlaps: number;
  timeouts: number;
}

export class Defrag {
  /** net.ipv4.ipfrag_time, ipfrag_high_thresh, ipfrag_max_dist. */
  timeNs = IPFRAG_TIME_NS;
  highThresh = IPFRAG_HIGH_THRESH;
  maxDist = IPFRAG_MAX_DIST;
  /** Bytes (truesize) held in queues (frag_mem_limit). */
  mem = 0;
  readonly stats: DefragStats = { reqds: 0, oks: 0, fails: 0, overlaps: 0, timeouts: 0 };
  private readonly queues = new Map<string, FragQueue>();
  /** inet_peer rid: fragments seen per source address. */
  private readonly peerRid = new Map<number, number>();

  constructor(private readonly host: DefragHost) {}

  /** Queues in progress (for tests and the summary). */
  get pending(): number {
    return this.queues.size;
  }

  /**
   * ip_defrag: takes the reference to the fragment in `slot` (IPv4 header at 14). Returns the slot of
   * the whole datagram (a large slot holding Ethernet + IPv4 + data, IPCB frag_max_size in
   * `pool.fragMax`) when this fragment completed it, else -1 (the fragment is queued or dropped).
   */
  defrag(slot: number, user: number): number {
    const pool = this.host.engine.pool;
    this.stats.reqds++;
    if (this.highThresh === 0 || this.mem > this.highThresh) {
      // inet_frag_find: over the memory limit, no fragment is queued.
      this.stats.fails++;
      pool.release(slot);
      return -1;
    }
    const view = pool.view;
    const l3 = pool.base(slot) + ETH.HEADER_LEN;
    const src = view.getUint32(l3 + IPV4.SRC);
    const dst = view.getUint32(l3 + IPV4.DST);
    const id = view.getUint16(l3 + IPV4.ID);
    const proto = view.getUint8(l3 + IPV4.PROTOCOL);
    const key = `${src}:${dst}:${id}:${proto}:${user}`;
    let q = this.queues.get(key);
    if (q === undefined) {
      q = new FragQueue(key, src, user, this.host.engine, this.expire);
      q.timer.armAfter(this.timeNs);
      q.rid = this.peerRid.get(src) ?? 0;
      this.queues.set(key, q);
    }
    return this.queue(q, slot);
  }

  /** ip_frag_queue (+ ip_frag_reasm when complete). */
  private queue(q: FragQueue, slot: number): number {
    const pool = this.host.engine.pool;
    const view = pool.view;
    const l3 = pool.base(slot) + ETH.HEADER_LEN;
    const hlen = (view.getUint8(l3) & 0x0f) << 2;
    const tot = view.getUint16(l3 + IPV4.TOTAL_LEN);
    const word = view.getUint16(l3 + IPV4.FLAGS_FRAG);
    const offset = (word & Ipv4Flag.OFFSET_MASK) << 3;
    const mf = (word & Ipv4Flag.MF) !== 0;
    let end = offset + tot - hlen;

    // ip_frag_too_far
    if (this.maxDist > 0) {
      const rid = (this.peerRid.get(q.src) ?? 0) + 1;
      this.peerRid.set(q.src, rid);
      const start = q.rid;
      q.rid = rid;
      if (q.frags.length > 0 && rid - start > this.maxDist) this.reinit(q);
    }

    if (!mf) {
      if (end < q.len || (q.lastIn && end !== q.len)) return this.discardQueue(q, slot);
      q.lastIn = true;
      q.len = end;
    } else {
      end &= ~7;
      if (end > q.len) {
        if (q.lastIn) return this.discardQueue(q, slot);
        q.len = end;
      }
    }
    if (end === offset) return this.discardQueue(q, slot);

    // inet_frag_queue_insert
    const frags = q.frags;
    let at = frags.length;
    while (at > 0 && frags[at - 1]!.offset >= end) at--;
    // frags[at-1] is the last fragment starting before `end`.
    for (let i = at - 1; i >= 0; i--) {
      const f = frags[i]!;
      if (f.end <= offset) break;
      if (offset >= f.offset && end <= f.end) {
        // IPFRAG_DUP: wholly inside a fragment already queued.
        this.stats.fails++;
        pool.release(slot);
        return -1;
      }
      // IPFRAG_OVERLAP
      this.stats.overlaps++;
      return this.discardQueue(q, slot);
    }
    frags.splice(at, 0, { slot, offset, end });
    const ts = truesize(pool.len[slot]!);
    q.truesize += ts;
    this.mem += ts;
    q.meat += end - offset;
    if (offset === 0) q.firstIn = true;
    const fragsize = tot;
    if (fragsize > q.maxSize) q.maxSize = fragsize;
    if ((word & Ipv4Flag.DF) !== 0 && fragsize > q.maxDfSize) q.maxDfSize = fragsize;

    if (q.firstIn && q.lastIn && q.meat === q.len) return this.reasm(q);
    return -1;
  }

  /** ip_frag_reasm: the datagram in a fresh large slot; the queue's fragments released. */
  private reasm(q: FragQueue): number {
    const pool = this.host.engine.pool;
    const first = q.frags[0]!.slot;
    const fb = pool.base(first);
    const hlen = (pool.view.getUint8(fb + ETH.HEADER_LEN) & 0x0f) << 2;
    if (hlen + q.len > 0xffff) {
      // "Oversized IP packet": dropped.
      this.stats.fails++;
      this.kill(q);
      return -1;
    }
    const head = ETH.HEADER_LEN + hlen;
    const out = pool.allocLarge(); // may grow the pool: read bytes/view afterwards
    const bytes = pool.bytes;
    const view = pool.view;
    const ob = pool.base(out);
    bytes.copyWithin(ob, fb, fb + head);
    for (const f of q.frags) {
      const b = pool.base(f.slot);
      const fl3 = b + ETH.HEADER_LEN;
      const fh = (bytes[fl3]! & 0x0f) << 2;
      bytes.copyWithin(ob + head + f.offset, fl3 + fh, fl3 + fh + (f.end - f.offset));
    }
    const l3 = ob + ETH.HEADER_LEN;
    view.setUint16(l3 + IPV4.TOTAL_LEN, hlen + q.len);
    const pmtu = q.maxDfSize === q.maxSize;
    view.setUint16(l3 + IPV4.FLAGS_FRAG, pmtu ? Ipv4Flag.DF : 0);
    view.setUint16(l3 + IPV4.CHECKSUM, 0);
    fillIpv4Checksum(bytes, l3);
    pool.len[out] = head + q.len;
    pool.fragMax[out] = Math.max(q.maxDfSize, q.maxSize);
    this.stats.oks++;
    this.kill(q);
    return out;
  }

  /** ip_frag_reinit: the queue starts over, its fragments dropped (ip_frag_too_far). */
  private reinit(q: FragQueue): void {
    const pool = this.host.engine.pool;
    this.stats.fails += q.frags.length;
    for (const f of q.frags) pool.release(f.slot);
    q.frags.length = 0;
    this.mem -= q.truesize;
    q.truesize = 0;
    q.len = 0;
    q.meat = 0;
    q.firstIn = false;
    q.lastIn = false;
    q.maxSize = 0;
    q.maxDfSize = 0;
    q.timer.armAfter(this.timeNs);
  }

  /** discard_qp: inet_frag_kill and the fragment in hand dropped. */
  private discardQueue(q: FragQueue, slot: number): number {
    this.stats.fails++;
    this.host.engine.pool.release(slot);
    this.kill(q);
    return -1;
  }

  /** inet_frag_kill + freeing the queue: its fragments released, its timer stopped. */
  private kill(q: FragQueue): void {
    const pool = this.host.engine.pool;
    q.timer.cancel();
    for (const f of q.frags) pool.release(f.slot);
    q.frags.length = 0;
    this.mem -= q.truesize;
    q.truesize = 0;
    this.queues.delete(q.key);
  }

  /** ip_expire: the queue timed out; ICMP time exceeded (reassembly) if its first fragment came. */
  private readonly expire = (q: FragQueue): void => {
    if (this.queues.get(q.key) !== q) return;
    this.stats.timeouts++;
    this.stats.fails++;
    if (q.firstIn && q.frags.length > 0 && q.frags[0]!.offset === 0) this.host.fragTimeExceeded(q.frags[0]!.slot, q.user);
    this.kill(q);
  };
}
