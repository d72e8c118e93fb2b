// Connection tracking, as Linux's nf_conntrack_core.c / nf_conntrack_proto_{tcp,udp,icmp}.c and gVisor's
// conntrack.go do it: every connection is one entry holding two tuples, the ORIGINAL (as its first packet
// looked) and the REPLY (what an answer looks like, after NAT altered it); a packet is classified by
// finding its own tuple among all of them, which also tells its direction.
//
//   tuple = (proto, src, dst, sport, dport)        TCP / UDP: the ports
//                                                  ICMP query: sport = echo id, dport = type << 8 | code
//                                                  other protocols: both 0 (nf_conntrack_proto_generic)
//
// Storage is column-wise typed arrays indexed by entry number (tuple `e * 2 + dir`), and an
// open-addressing hash (linear probing, tombstones) maps tuple hashes to `e * 2 + dir`. A second such
// hash, by original source (nf_nat_bysource), lets NAT reuse a source's existing mapping.
//
// Entries are born unconfirmed (in no hash) by the first packet, which may still be dropped, and are
// inserted by `confirm` at the last hook (POSTROUTING / INPUT), as __nf_conntrack_confirm does. Time is
// `engine.now` in ns; an entry is dead once `deadline <= now` and is reaped when a lookup meets it, by a
// sweep when the table is full, and before a listing.

import { formatIpv4 } from '../wire/addr.js';
import { fmix32 } from '../sim/hash.js';
import { IpProto } from '../wire/proto.js';
export const PROTO_ICMP = IpProto.ICMP;
export const PROTO_TCP = IpProto.TCP;
export const PROTO_UDP = IpProto.UDP;

export const DIR_ORIGINAL = 0;
export const DIR_REPLY = 1;

// ctinfo (enum ip_conntrack_info), plus NONE for "no entry" (INVALID / untracked).
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_ESTABLISHED_REPLY = 3;
export const IP_CT_RELATED_REPLY = 4;
export const IP_CT_NONE = 7;

// ct->status bits (enum ip_conntrack_status), same positions as Linux.
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_DYING = 1 << 9;

// TCP states (enum tcp_conntrack), as nf_conntrack_proto_tcp.c numbers them.
export const TCP_NONE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_RECV = 2;
export const TCP_ESTABLISHED = 3;
export const TCP_FIN_WAIT = 4;
export const TCP_CLOSE_WAIT = 5;
export const TCP_LAST_ACK = 6;
export const TCP_TIME_WAIT = 7;
export const TCP_CLOSE = 8;
export const TCP_SYN_SENT2 = 9;
const TCP_MAX = 10; // sIV
const TCP_IGNORE = 11; // sIG

export const TCP_STATE_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
] as const;

const S = 1e9;
/** nf_conntrack_proto_tcp.c tcp_timeouts[], in ns. */
export const TCP_TIMEOUTS: readonly number[] = [
  /* NONE */ 0,
  /* SYN_SENT */ 120 * S,
  /* SYN_RECV */ 60 * S,
  /* ESTABLISHED */ 5 * 24 * 3600 * S,
  /* FIN_WAIT */ 120 * S,
  /* CLOSE_WAIT */ 60 * S,
  /* LAST_ACK */ 30 * S,
  /* TIME_WAIT */ 120 * S,
  /* CLOSE */ 10 * S,
  /* SYN_SENT2 */ 120 * S,
];
/** nf_conntrack_proto_udp.c: unreplied / replied stream; nf_conntrack_proto_icmp.c; generic. */
export const UDP_TIMEOUT = 30 * S;
export const UDP_STREAM_TIMEOUT = 120 * S;
/** A UDP flow still active this long after it began becomes a stream (ASSURED, 120 s). */
export const UDP_STREAM_AFTER = 2 * S;
export const ICMP_TIMEOUT = 30 * S;
export const GENERIC_TIMEOUT = 600 * S;

// TCP flag classes (enum tcp_bit_set) and the state table tcp_conntracks[dir][class][state].
const TCP_SYN_SET = 0;
const TCP_SYNACK_SET = 1;
const TCP_FIN_SET = 2;
const TCP_ACK_SET = 3;
const TCP_RST_SET = 4;
const TCP_NONE_SET = 5;
const sSS = TCP_SYN_SENT, sSR = TCP_SYN_RECV, sES = TCP_ESTABLISHED, sFW = TCP_FIN_WAIT,
  sCW = TCP_CLOSE_WAIT, sLA = TCP_LAST_ACK, sTW = TCP_TIME_WAIT, sCL = TCP_CLOSE, sS2 = TCP_SYN_SENT2,
  sIV = TCP_MAX, sIG = TCP_IGNORE;
// prettier-ignore
const TCP_TABLE: readonly (readonly (readonly number[])[])[] = [
  [ // ORIGINAL       sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
    /* syn    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
    /* synack */ [sIV, sIV, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
    /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    /* ack    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
    /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
  [ // REPLY          sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
    /* syn    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sS2],
    /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
    /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    /* ack    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
    /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
];

/** get_conntrack_index: the flag class of a TCP flags byte. */
export function tcpFlagClass(flags: number): number {
  if ((flags & 0x04) !== 0) return TCP_RST_SET;
  if ((flags & 0x02) !== 0) return (flags & 0x10) !== 0 ? TCP_SYNACK_SET : TCP_SYN_SET;
  if ((flags & 0x01) !== 0) return TCP_FIN_SET;
  if ((flags & 0x10) !== 0) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

/** ICMP query types and their answers (nf_conntrack_proto_icmp.c invmap); -1 = not a query. */
const ICMP_INVERSE = new Int8Array(256).fill(-1);
ICMP_INVERSE[8] = 0; // echo → echo reply
ICMP_INVERSE[0] = 8;
ICMP_INVERSE[13] = 14; // timestamp
ICMP_INVERSE[14] = 13;
ICMP_INVERSE[15] = 16; // information
ICMP_INVERSE[16] = 15;
ICMP_INVERSE[17] = 18; // address mask
ICMP_INVERSE[18] = 17;
/** Types that may start a connection (icmp_new's valid_new). */
export function icmpIsRequest(type: number): boolean {
  return type === 8 || type === 13 || type === 15 || type === 17;
}
/** The reply type of a query type, -1 when it has none. */
export function icmpInverseType(type: number): number {
  return ICMP_INVERSE[type & 0xff]!;
}

/** A tuple as plain numbers; preallocated and reused, never made per packet. */
export class Tuple {
  proto = 0;
  src = 0;
  dst = 0;
  sport = 0;
  dport = 0;

  set(proto: number, src: number, dst: number, sport: number, dport: number): this {
    this.proto = proto;
    this.src = src >>> 0;
    this.dst = dst >>> 0;
    this.sport = sport;
    this.dport = dport;
    return this;
  }

  copy(t: Tuple): this {
    return this.set(t.proto, t.src, t.dst, t.sport, t.dport);
  }

  equals(t: Tuple): boolean {
    return this.proto === t.proto && this.src === t.src && this.dst === t.dst && this.sport === t.sport && this.dport === t.dport;
  }

  /** nf_ct_invert_tuple into `out` (may be `this`); false for an ICMP type without an answer. */
  invertInto(out: Tuple): boolean {
    const { proto, src, dst, sport, dport } = this;
    if (proto === PROTO_ICMP) {
      const inv = icmpInverseType(dport >>> 8);
      if (inv < 0) return false;
      out.set(proto, dst, src, sport, (inv << 8) | (dport & 0xff));
      return true;
    }
    out.set(proto, dst, src, dport, sport);
    return true;
  }
}

function tupleHash(proto: number, src: number, dst: number, sport: number, dport: number): number {
  // murmur3's mixing steps over the five fields.
  let h = Math.imul(src ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593);
  h ^= dst;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h ^= Math.imul(((sport << 16) | dport) ^ (proto << 7), 0xcc9e2d51);
  return fmix32(h);
}

/** nf_nat_bysource's key: the original source (proto, address, port). */
function sourceHash(proto: number, src: number, sport: number): number {
  return tupleHash(proto, src, 0, sport, 0);
}

export interface ConntrackOptions {
  /** nf_conntrack_max (default 262144). */
  max?: number;
}

/** Counters, as `conntrack -S` and the kernel log report them. */
export interface ConntrackStats {
  found: number;
  new: number;
  invalid: number;
  /** Packets dropped because the table was full ("nf_conntrack: table full, dropping packet"). */
  tableFull: number;
  /** Entries dropped early (not assured) to make room. */
  earlyDrop: number;
  /** Confirmations refused because another entry already held the tuple. */
  insertFailed: number;
  /** Entries that timed out. */
  expired: number;
}

const EMPTY = 0;
const TOMBSTONE = -1;
const LIVE_FREE = 0;
const LIVE_UNCONFIRMED = 1;
const LIVE_CONFIRMED = 2;
/** Killed while a packet still held it: out of the hashes, freed when that packet is done. */
const LIVE_DYING = 3;

export class Conntrack {
  readonly max: number;
  /** Entries in use (unconfirmed ones included), as nf_conntrack_count. */
  count = 0;
  /** The time of the packet being tracked, for the packet-path calls made without `now` (netfilter
   *  sets it per packet). A time past 2^31 ns is not a small integer: handed to a call V8 does not
   *  inline it is boxed into a HeapNumber, an allocation per packet; a field store is not. */
  now = 0;
  readonly stats: ConntrackStats = { found: 0, new: 0, invalid: 0, tableFull: 0, earlyDrop: 0, insertFailed: 0, expired: 0 };

  // Entry columns. Tuple columns are indexed e * 2 + dir.
  tSrc: Uint32Array;
  tDst: Uint32Array;
  tSport: Uint16Array;
  tDport: Uint16Array;
  proto: Uint8Array;
  status: Uint16Array;
  tcpState: Uint8Array;
  /** Virtual time (ns) at which the entry dies. */
  deadline: Float64Array;
  /** UDP: when the flow counts as a stream (nf_conn udp.stream_ts). */
  streamTs: Float64Array;
  /** Creation order, for listings. */
  born: Float64Array;
  /** Bumped every time an entry number is reused, so stale references can be recognised. */
  gen: Uint32Array;
  live: Uint8Array;
  private freeList: Int32Array;
  private freeTop = 0;
  private cap = 0;
  private births = 0;

  // Tuple hash: value (e * 2 + dir) + 1; 0 empty; -1 tombstone.
  private idx: Int32Array;
  private idxMask: number;
  private idxUsed = 0; // live keys + tombstones
  // Source hash (nf_nat_bysource): value e + 1; 0 empty; -1 tombstone.
  private bySrc: Int32Array;
  private bySrcMask: number;
  private bySrcUsed = 0;
  private lastSweep = -Infinity;

  constructor(opts: ConntrackOptions = {}) {
    this.max = opts.max ?? 262144;
    if (!(this.max >= 1)) throw new RangeError(`nf_conntrack_max must be ≥ 1, got ${this.max}`);
    const initial = Math.min(256, this.max);
    this.tSrc = new Uint32Array(0);
    this.tDst = new Uint32Array(0);
    this.tSport = new Uint16Array(0);
    this.tDport = new Uint16Array(0);
    this.proto = new Uint8Array(0);
    this.status = new Uint16Array(0);
    this.tcpState = new Uint8Array(0);
    this.deadline = new Float64Array(0);
    this.streamTs = new Float64Array(0);
    this.born = new Float64Array(0);
    this.gen = new Uint32Array(0);
    this.live = new Uint8Array(0);
    this.freeList = new Int32Array(0);
    this.growEntries(initial);
    this.idx = new Int32Array(1024);
    this.idxMask = 1023;
    this.bySrc = new Int32Array(256);
    this.bySrcMask = 255;
  }

  // ---- entries ----------------------------------------------------------------------------------

  private growEntries(cap: number): void {
    const old = this.cap;
    const grow = <T extends Uint32Array | Uint16Array | Uint8Array | Float64Array>(a: T, n: number, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.tSrc = grow(this.tSrc, cap * 2, (n) => new Uint32Array(n));
    this.tDst = grow(this.tDst, cap * 2, (n) => new Uint32Array(n));
    this.tSport = grow(this.tSport, cap * 2, (n) => new Uint16Array(n));
    this.tDport = grow(this.tDport, cap * 2, (n) => new Uint16Array(n));
    this.proto = grow(this.proto, cap, (n) => new Uint8Array(n));
    this.status = grow(this.status, cap, (n) => new Uint16Array(n));
    this.tcpState = grow(this.tcpState, cap, (n) => new Uint8Array(n));
    this.deadline = grow(this.deadline, cap, (n) => new Float64Array(n));
    this.streamTs = grow(this.streamTs, cap, (n) => new Float64Array(n));
    this.born = grow(this.born, cap, (n) => new Float64Array(n));
    this.gen = grow(this.gen, cap, (n) => new Uint32Array(n));
    this.live = grow(this.live, cap, (n) => new Uint8Array(n));
    const free = new Int32Array(cap);
    free.set(this.freeList.subarray(0, this.freeTop));
    for (let e = cap - 1; e >= old; e--) free[this.freeTop++] = e;
    this.freeList = free;
    this.cap = cap;
  }

  /**
   * nf_conntrack_alloc: a new unconfirmed entry with `orig` as its original tuple and the inverse as its
   * reply, or -1 when the table is full and nothing could be dropped early (the caller drops the packet).
   */
  alloc(orig: Tuple, reply: Tuple, now: number): number {
    if (this.count >= this.max) {
      if (now - this.lastSweep >= S) this.sweep(now);
      if (this.count >= this.max && !this.earlyDrop(orig, now)) {
        this.stats.tableFull++;
        return -1;
      }
    }
    if (this.freeTop === 0) this.growEntries(Math.min(this.max + 1, this.cap * 2));
    const e = this.freeList[--this.freeTop]!;
    this.count++;
    this.live[e] = LIVE_UNCONFIRMED;
    this.gen[e] = (this.gen[e]! + 1) >>> 0;
    this.writeTuple(e, DIR_ORIGINAL, orig);
    this.writeTuple(e, DIR_REPLY, reply);
    this.proto[e] = orig.proto;
    this.status[e] = 0;
    this.tcpState[e] = TCP_NONE;
    this.deadline[e] = now;
    this.streamTs[e] = now + UDP_STREAM_AFTER;
    this.born[e] = this.births++;
    this.stats.new++;
    return e;
  }

  writeTuple(e: number, dir: number, t: Tuple): void {
    const k = e * 2 + dir;
    this.tSrc[k] = t.src;
    this.tDst[k] = t.dst;
    this.tSport[k] = t.sport;
    this.tDport[k] = t.dport;
  }

  readTuple(e: number, dir: number, out: Tuple): Tuple {
    const k = e * 2 + dir;
    return out.set(this.proto[e]!, this.tSrc[k]!, this.tDst[k]!, this.tSport[k]!, this.tDport[k]!);
  }

  isConfirmed(e: number): boolean {
    return this.live[e] === LIVE_CONFIRMED;
  }

  isLive(e: number, gen: number): boolean {
    return this.live[e] !== LIVE_FREE && this.gen[e] === gen;
  }

  /** The packet that held an entry is gone (dropped, or lost in the stack): an entry it created and
   *  never confirmed, or one killed under it, is given back. Confirmed entries stay. */
  packetGone(e: number): void {
    if (this.live[e] === LIVE_UNCONFIRMED || this.live[e] === LIVE_DYING) this.release(e);
  }

  private release(e: number): void {
    this.live[e] = LIVE_FREE;
    this.status[e] = 0;
    this.count--;
    this.freeList[this.freeTop++] = e;
  }

  /** __nf_conntrack_confirm: insert into the hash. False (and the packet is to be dropped) when a tuple
   *  is already taken by another live entry. */
  confirm(e: number, now: number): boolean {
    if (this.live[e] === LIVE_DYING || (this.live[e] === LIVE_UNCONFIRMED && (this.status[e]! & IPS_DYING) !== 0)) {
      this.release(e);
      return true;
    }
    if (this.live[e] !== LIVE_UNCONFIRMED) return true;
    for (let dir = 0; dir < 2; dir++) {
      const k = e * 2 + dir;
      if (this.find(this.proto[e]!, this.tSrc[k]!, this.tDst[k]!, this.tSport[k]!, this.tDport[k]!, now) >= 0) {
        this.stats.insertFailed++;
        this.release(e);
        return false;
      }
    }
    this.live[e] = LIVE_CONFIRMED;
    this.status[e]! |= IPS_CONFIRMED;
    this.indexInsert(e, DIR_ORIGINAL);
    this.indexInsert(e, DIR_REPLY);
    if ((this.status[e]! & IPS_SRC_NAT_DONE) !== 0) this.bySrcInsert(e);
    return true;
  }

  /** nf_ct_kill: the entry dies now (the packet holding it may still use its tuples). */
  kill(e: number): void {
    this.status[e]! |= IPS_DYING;
    if (this.live[e] === LIVE_CONFIRMED) {
      this.unhash(e);
      this.live[e] = LIVE_DYING;
    }
  }

  private unhash(e: number): void {
    this.indexRemove(e, DIR_ORIGINAL);
    this.indexRemove(e, DIR_REPLY);
    if ((this.status[e]! & IPS_SRC_NAT_DONE) !== 0) this.bySrcRemove(e);
  }

  private destroy(e: number): void {
    this.unhash(e);
    this.release(e);
  }

  // ---- lookups ----------------------------------------------------------------------------------

  /** The confirmed, live entry holding this tuple, as `e * 2 + dir`; -1 when none. Dead entries met on
   *  the way are reaped. */
  find(proto: number, src: number, dst: number, sport: number, dport: number, now: number): number {
    const k = this.lookup(proto, src, dst, sport, dport);
    if (k >= 0 && this.deadline[k >> 1]! <= now) {
      this.stats.expired++;
      this.destroy(k >> 1);
      return -1;
    }
    return k;
  }

  /** The entry holding this tuple (`e * 2 + dir`, -1 when none), live or not. */
  private lookup(proto: number, src: number, dst: number, sport: number, dport: number): number {
    // Addresses as int32s (either signedness given): a uint32 above 2^31 handed to a call that is not
    // inlined (tupleHash) is boxed into a HeapNumber, an allocation per packet. The hash only mixes bits.
    src |= 0;
    dst |= 0;
    const idx = this.idx;
    const mask = this.idxMask;
    let i = tupleHash(proto, src, dst, sport, dport) & mask;
    for (;;) {
      const v = idx[i]!;
      if (v === EMPTY) return -1;
      if (v > 0) {
        const k = v - 1;
        const e = k >> 1;
        if ((this.tSrc[k]! | 0) === src && (this.tDst[k]! | 0) === dst && this.tSport[k] === sport && this.tDport[k] === dport && this.proto[e] === proto) {
          return k;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /** `find` for a tuple; without `now`, at `this.now` (the packet path: no time crosses a call). */
  findTuple(t: Tuple, now?: number): number {
    const k = this.lookup(t.proto, t.src | 0, t.dst | 0, t.sport, t.dport);
    if (k < 0) return -1;
    const deadline = this.deadline[k >> 1]!;
    if (now === undefined ? deadline <= this.now : deadline <= now) {
      this.stats.expired++;
      this.destroy(k >> 1);
      return -1;
    }
    return k;
  }

  /** nf_conntrack_tuple_taken: does another live entry than `ignore` hold tuple `t`? */
  tupleTaken(t: Tuple, ignore: number, now: number): boolean {
    const k = this.findTuple(t, now);
    return k >= 0 && k >> 1 !== ignore;
  }

  /** Live confirmed entries whose original source is (proto, src, sport) and that did source NAT,
   *  most recent first (nf_nat_bysource is a list with new entries at its head). */
  sameSource(proto: number, src: number, sport: number, now: number, out: number[]): number[] {
    out.length = 0;
    src >>>= 0;
    const tab = this.bySrc;
    const mask = this.bySrcMask;
    let i = sourceHash(proto, src, sport) & mask;
    for (;;) {
      const v = tab[i]!;
      if (v === EMPTY) break;
      if (v > 0) {
        const e = v - 1;
        const k = e * 2;
        if (this.proto[e] === proto && this.tSrc[k] === src && this.tSport[k] === sport && this.deadline[e]! > now) out.push(e);
      }
      i = (i + 1) & mask;
    }
    out.sort((a, b) => this.born[b]! - this.born[a]!);
    return out;
  }

  // ---- the tuple hash -----------------------------------------------------------------------------

  private indexInsert(e: number, dir: number): void {
    if ((this.idxUsed + 1) * 4 > this.idx.length * 3 || (this.idxUsed + 1) * 2 > this.idx.length) this.rehash();
    const k = e * 2 + dir;
    let i = tupleHash(this.proto[e]!, this.tSrc[k]!, this.tDst[k]!, this.tSport[k]!, this.tDport[k]!) & this.idxMask;
    for (;;) {
      const v = this.idx[i]!;
      if (v === EMPTY || v === TOMBSTONE) {
        if (v === EMPTY) this.idxUsed++;
        this.idx[i] = k + 1;
        return;
      }
      i = (i + 1) & this.idxMask;
    }
  }

  private indexRemove(e: number, dir: number): void {
    const k = e * 2 + dir;
    let i = tupleHash(this.proto[e]!, this.tSrc[k]!, this.tDst[k]!, this.tSport[k]!, this.tDport[k]!) & this.idxMask;
    for (;;) {
      const v = this.idx[i]!;
      if (v === EMPTY) return;
      if (v === k + 1) {
        this.idx[i] = TOMBSTONE;
        return;
      }
      i = (i + 1) & this.idxMask;
    }
  }

  /** Rebuild without tombstones, doubling when more than a quarter of the slots hold live keys. */
  private rehash(): void {
    let live = 0;
    for (let i = 0; i < this.idx.length; i++) if (this.idx[i]! > 0) live++;
    let size = this.idx.length;
    while ((live + 1) * 4 > size) size *= 2;
    const old = this.idx;
    this.idx = new Int32Array(size);
    this.idxMask = size - 1;
    this.idxUsed = 0;
    for (let i = 0; i < old.length; i++) {
      const v = old[i]!;
      if (v > 0) {
        const k = v - 1;
        this.indexInsert(k >> 1, k & 1);
      }
    }
  }

  private bySrcInsert(e: number): void {
    if ((this.bySrcUsed + 1) * 2 > this.bySrc.length) this.bySrcRehash();
    const k = e * 2;
    let i = sourceHash(this.proto[e]!, this.tSrc[k]!, this.tSport[k]!) & this.bySrcMask;
    for (;;) {
      const v = this.bySrc[i]!;
      if (v === EMPTY || v === TOMBSTONE) {
        if (v === EMPTY) this.bySrcUsed++;
        this.bySrc[i] = e + 1;
        return;
      }
      i = (i + 1) & this.bySrcMask;
    }
  }

  private bySrcRemove(e: number): void {
    const k = e * 2;
    let i = sourceHash(this.proto[e]!, this.tSrc[k]!, this.tSport[k]!) & this.bySrcMask;
    for (;;) {
      const v = this.bySrc[i]!;
      if (v === EMPTY) return;
      if (v === e + 1) {
        this.bySrc[i] = TOMBSTONE;
        return;
      }
      i = (i + 1) & this.bySrcMask;
    }
  }

  private bySrcRehash(): void {
    let live = 0;
    for (let i = 0; i < this.bySrc.length; i++) if (this.bySrc[i]! > 0) live++;
    let size = this.bySrc.length;
    while ((live + 1) * 4 > size) size *= 2;
    const old = this.bySrc;
    this.bySrc = new Int32Array(size);
    this.bySrcMask = size - 1;
    this.bySrcUsed = 0;
    for (let i = 0; i < old.length; i++) if (old[i]! > 0) this.bySrcInsert(old[i]! - 1);
  }

  // ---- ageing -----------------------------------------------------------------------------------

  /** Reap every confirmed entry that timed out (the gc worker). */
  sweep(now: number): void {
    this.lastSweep = now;
    for (let e = 0; e < this.cap; e++) {
      if (this.live[e] === LIVE_CONFIRMED && this.deadline[e]! <= now) {
        this.stats.expired++;
        this.destroy(e);
      }
    }
  }

  /** early_drop: evict one entry that is not ASSURED from the neighbourhood of the new tuple's hash
   *  position (Linux looks at NF_CT_EVICTION_RANGE = 8 buckets of about 4 entries each: here the next
   *  32 live keys). */
  private earlyDrop(t: Tuple, now: number): boolean {
    const mask = this.idxMask;
    let i = tupleHash(t.proto, t.src, t.dst, t.sport, t.dport) & mask;
    for (let probes = 0, seen = 0; probes <= mask && seen < 32; probes++, i = (i + 1) & mask) {
      const v = this.idx[i]!;
      if (v <= 0) continue;
      seen++;
      const e = (v - 1) >> 1;
      if (this.deadline[e]! <= now || (this.status[e]! & IPS_ASSURED) === 0) {
        this.destroy(e);
        this.stats.earlyDrop++;
        return true;
      }
    }
    return false;
  }

  // ---- per protocol state ---------------------------------------------------------------------

  /**
   * tcp_packet for an existing entry. Returns the new state, or -1 when the packet is INVALID for the
   * entry (Linux: -NF_ACCEPT, the packet goes on untracked), or -2 when the packet reopens a closed
   * connection (the caller kills the entry and tracks the packet as new: -NF_REPEAT).
   */
  tcpPacket(e: number, dir: number, flags: number, now: number = this.now): number {
    const cls = tcpFlagClass(flags);
    const old = this.tcpState[e]!;
    const next = TCP_TABLE[dir]![cls]![old]!;
    if (next === sSS && dir === DIR_ORIGINAL && (old === sTW || old === sCL)) return -2;
    if (next === sIV) return -1;
    if (next === sIG) return old;
    this.tcpState[e] = next;
    const status = this.status[e]!;
    if ((status & IPS_SEEN_REPLY) === 0) {
      // Only a RST in reply: the connection never was; delete it at once (the RST itself passes).
      if (dir === DIR_REPLY && cls === TCP_RST_SET) {
        this.deadline[e] = now;
        this.kill(e);
        return next;
      }
    } else if ((status & IPS_ASSURED) === 0 && (old === sSR || old === sES) && next === sES) {
      this.status[e] = status | IPS_ASSURED;
    }
    this.deadline[e] = now + (cls === TCP_RST_SET ? TCP_TIMEOUTS[TCP_CLOSE]! : TCP_TIMEOUTS[next]!);
    return next;
  }

  /** tcp_new: the state a first packet starts an entry in (SYN_SENT for a SYN, ESTABLISHED for an ACK
   *  picked up mid-stream, nf_conntrack_tcp_loose = 1), or -1 when it may not start one (INVALID). */
  static tcpNewState(flags: number): number {
    const next = TCP_TABLE[DIR_ORIGINAL]![tcpFlagClass(flags)]![TCP_NONE]!;
    return next === sSS || next === sES ? next : -1;
  }

  /** Set a new entry's TCP state (from `tcpNewState`) and its timeout. */
  tcpNew(e: number, state: number, now: number): void {
    this.tcpState[e] = state;
    this.deadline[e] = now + TCP_TIMEOUTS[state]!;
  }

  /** nf_conntrack_udp_packet. */
  udpPacket(e: number, now: number = this.now): void {
    const status = this.status[e]!;
    if ((status & IPS_SEEN_REPLY) !== 0) {
      if (now > this.streamTs[e]!) {
        this.deadline[e] = now + UDP_STREAM_TIMEOUT;
        this.status[e] = status | IPS_ASSURED;
      } else {
        this.deadline[e] = now + UDP_TIMEOUT;
      }
    } else {
      this.deadline[e] = now + UDP_TIMEOUT;
    }
  }

  icmpPacket(e: number, now: number = this.now): void {
    this.deadline[e] = now + ICMP_TIMEOUT;
  }

  genericPacket(e: number, now: number = this.now): void {
    this.deadline[e] = now + GENERIC_TIMEOUT;
  }

  /** Mark that a reply was seen (nf_conntrack_in, after the protocol's handler). */
  seenReply(e: number): void {
    this.status[e]! |= IPS_SEEN_REPLY;
  }

  // ---- listing ----------------------------------------------------------------------------------

  /** Live confirmed entries, oldest first. */
  entries(now: number): number[] {
    const out: number[] = [];
    for (let e = 0; e < this.cap; e++) if (this.live[e] === LIVE_CONFIRMED && this.deadline[e]! > now) out.push(e);
    out.sort((a, b) => this.born[a]! - this.born[b]!);
    return out;
  }

  /** `conntrack -L` lines, oldest entry first. */
  list(now: number): string[] {
    return this.entries(now).map((e) => this.formatEntry(e, now));
  }

  /** One `conntrack -L` line (libnetfilter_conntrack's default format). */
  formatEntry(e: number, now: number): string {
    const proto = this.proto[e]!;
    const name = proto === PROTO_TCP ? 'tcp' : proto === PROTO_UDP ? 'udp' : proto === PROTO_ICMP ? 'icmp' : 'unknown';
    const secs = Math.max(0, Math.floor((this.deadline[e]! - now) / S));
    const status = this.status[e]!;
    let s = `${name.padEnd(8)} ${proto} ${secs} `;
    if (proto === PROTO_TCP) s += `${TCP_STATE_NAMES[this.tcpState[e]!]} `;
    s += this.formatTuple(e, DIR_ORIGINAL);
    if ((status & IPS_SEEN_REPLY) === 0) s += '[UNREPLIED] ';
    s += this.formatTuple(e, DIR_REPLY);
    if ((status & IPS_ASSURED) !== 0) s += '[ASSURED] ';
    return s + 'mark=0 use=1';
  }

  private formatTuple(e: number, dir: number): string {
    const k = e * 2 + dir;
    const proto = this.proto[e]!;
    let s = `src=${formatIpv4(this.tSrc[k]!)} dst=${formatIpv4(this.tDst[k]!)} `;
    if (proto === PROTO_TCP || proto === PROTO_UDP) s += `sport=${this.tSport[k]} dport=${this.tDport[k]} `;
    else if (proto === PROTO_ICMP) s += `type=${this.tDport[k]! >>> 8} code=${this.tDport[k]! & 0xff} id=${this.tSport[k]} `;
    return s;
  }
}
