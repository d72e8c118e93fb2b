// NAT the way Linux's nf_nat_core.c and nf_nat_proto.c do it, and gVisor's nat.go follows:
//
// - The first packet of a connection decides its mapping (`setupInfo`, nf_nat_setup_info): the tuple the
//   packet will have after NAT is chosen by `getUniqueTuple`, and the entry's REPLY tuple becomes its
//   inverse, so that answers are recognised and un-NATed. DNAT/REDIRECT decide at PREROUTING/OUTPUT,
//   SNAT/MASQUERADE at POSTROUTING/INPUT; a connection no rule mapped gets a null binding (its own
//   address) so that it still gets a unique tuple.
// - Every packet, the first included, is rewritten from the entry (`manipPacket`, nf_nat_manip_pkt) with
//   RFC 1624 incremental checksum updates: the IPv4 header, the TCP/UDP checksum (whose pseudo header
//   holds the addresses), a UDP checksum of 0 left at 0.
// - An ICMP error about a tracked connection (`icmpReplyTranslation`) has the header it quotes turned
//   back into what its sender saw and its outer header un-NATed; the ICMP checksum is recomputed.
//
// Source port choice (get_unique_tuple → nf_nat_l4proto_unique_tuple): keep the tuple as it is when the
// resulting reply tuple is free; for source NAT, reuse the mapping of another connection from the same
// source address and port (find_appropriate_src); otherwise search from a random offset in the port's
// class (1–511, 600–1023, 1024–65535) or in --to-ports, 128 tries, then halving windows from new random
// offsets. ICMP echo ids are searched over 0–65535.

import type { Prng } from '../sim/prng.js';
import { fillIcmpChecksum, updateChecksum16, updateChecksum32, updateUdpChecksum16, updateUdpChecksum32 } from '../wire/checksum.js';
import {
  Conntrack, DIR_REPLY, IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SRC_NAT, IPS_SRC_NAT_DONE, PROTO_ICMP, PROTO_TCP, PROTO_UDP, Tuple,
} from './conntrack.js';

export const MANIP_SRC = 0;
export const MANIP_DST = 1;

/** nf_nat_range2 restricted to one address (all iptables targets here give one). */
export class NatRangeRt {
  /** NF_NAT_RANGE_MAP_IPS: set the address to `addr`. */
  mapIps = false;
  addr = 0;
  /** NF_NAT_RANGE_PROTO_SPECIFIED: ports (or ICMP ids) from `min`..`max`. */
  protoSpecified = false;
  min = 0;
  max = 0;

  set(mapIps: boolean, addr: number, protoSpecified: boolean, min: number, max: number): this {
    this.mapIps = mapIps;
    this.addr = addr >>> 0;
    this.protoSpecified = protoSpecified;
    this.min = min;
    this.max = max;
    return this;
  }
}

/** Is the manipulable part (port, or ICMP id) of `t` inside min..max? (l4proto_in_range) */
function l4InRange(t: Tuple, manip: number, min: number, max: number): boolean {
  if (t.proto === PROTO_ICMP) return t.sport >= min && t.sport <= max;
  if (t.proto === PROTO_TCP || t.proto === PROTO_UDP) {
    const port = manip === MANIP_SRC ? t.sport : t.dport;
    return port >= min && port <= max;
  }
  return true;
}

/** in_range: would source-mapping to `t` meet the range? */
function inRange(t: Tuple, r: NatRangeRt): boolean {
  if (r.mapIps && t.src !== r.addr) return false;
  if (!r.protoSpecified) return true;
  return l4InRange(t, MANIP_SRC, r.min, r.max);
}

export class Nat {
  private readonly inv = new Tuple();
  private readonly cur = new Tuple();
  private readonly next = new Tuple();
  private readonly tmp = new Tuple();
  private readonly same: number[] = [];

  constructor(
    private readonly ct: Conntrack,
    private readonly rng: Prng,
  ) {}

  /** nf_nat_initialized */
  initialized(e: number, manip: number): boolean {
    return (this.ct.status[e]! & (manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE)) !== 0;
  }

  /** nf_nat_setup_info: choose the mapping of an unconfirmed entry for one manip type. */
  setupInfo(e: number, range: NatRangeRt, manip: number, now: number): void {
    const ct = this.ct;
    // What the packet looks like now (after any earlier manip) is the inverse of the reply tuple.
    ct.readTuple(e, DIR_REPLY, this.tmp).invertInto(this.cur);
    this.getUniqueTuple(this.next, this.cur, range, e, manip, now);
    if (!this.next.equals(this.cur)) {
      this.next.invertInto(this.tmp);
      ct.writeTuple(e, DIR_REPLY, this.tmp);
      ct.status[e]! |= manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
    }
    ct.status[e]! |= manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE;
  }

  /** nf_nat_alloc_null_binding: no rule mapped the connection; pin it to its own address. */
  nullBinding(e: number, manip: number, now: number, range: NatRangeRt): void {
    const k = e * 2 + DIR_REPLY;
    const addr = manip === MANIP_SRC ? this.ct.tDst[k]! : this.ct.tSrc[k]!;
    this.setupInfo(e, range.set(true, addr, false, 0, 0), manip, now);
  }

  /** nf_nat_used_tuple: is the connection whose packets would look like `t` already there? */
  private used(t: Tuple, e: number, now: number): boolean {
    t.invertInto(this.inv);
    return this.ct.tupleTaken(this.inv, e, now);
  }

  /** get_unique_tuple */
  getUniqueTuple(out: Tuple, orig: Tuple, range: NatRangeRt, e: number, manip: number, now: number): void {
    if (manip === MANIP_SRC) {
      if (inRange(orig, range)) {
        if (!this.used(orig, e, now)) {
          out.copy(orig);
          return;
        }
      } else if (this.findAppropriateSrc(orig, out, range, now)) {
        if (!this.used(out, e, now)) return;
      }
    }
    out.copy(orig);
    if (range.mapIps) {
      if (manip === MANIP_SRC) out.src = range.addr;
      else out.dst = range.addr;
    }
    if (range.protoSpecified) {
      if (l4InRange(out, manip, range.min, range.max) && (range.min === range.max || !this.used(out, e, now))) return;
    } else if (!this.used(out, e, now)) {
      return;
    }
    this.l4UniqueTuple(out, range, manip, e, now);
  }

  /** find_appropriate_src: another connection from the same source (address, port) already has a
   *  source mapping; reuse it if it fits the range. */
  private findAppropriateSrc(orig: Tuple, out: Tuple, range: NatRangeRt, now: number): boolean {
    const list = this.ct.sameSource(orig.proto, orig.src, orig.sport, now, this.same);
    for (let i = 0; i < list.length; i++) {
      this.ct.readTuple(list[i]!, DIR_REPLY, this.tmp).invertInto(out);
      out.dst = orig.dst;
      out.dport = orig.dport;
      if (inRange(out, range)) return true;
    }
    return false;
  }

  /** nf_nat_l4proto_unique_tuple */
  private l4UniqueTuple(t: Tuple, range: NatRangeRt, manip: number, e: number, now: number): void {
    let min: number;
    let size: number;
    let srcKey: boolean;
    if (t.proto === PROTO_ICMP) {
      srcKey = true; // the id is the same in both directions
      if (!range.protoSpecified) {
        min = 0;
        size = 65536;
      } else {
        min = range.min;
        size = range.max - range.min + 1;
      }
    } else if (t.proto === PROTO_TCP || t.proto === PROTO_UDP) {
      srcKey = manip === MANIP_SRC;
      if (!range.protoSpecified) {
        if (manip === MANIP_DST) return; // a destination rewrite cannot change the port
        const port = t.sport;
        if (port < 1024) {
          // "Loose convention: >> 512 is credential passing"
          if (port < 512) {
            min = 1;
            size = 511;
          } else {
            min = 600;
            size = 1023 - 600 + 1;
          }
        } else {
          min = 1024;
          size = 65535 - 1024 + 1;
        }
      } else {
        min = range.min;
        size = range.max - range.min + 1;
      }
    } else {
      return;
    }
    let off = this.rng.u32() & 0xffff; // get_random_u16
    let attempts = Math.min(size, 128);
    for (;;) {
      for (let i = 0; i < attempts; i++, off = (off + 1) & 0xffff) {
        const v = min + (off % size);
        if (srcKey) t.sport = v;
        else t.dport = v;
        if (!this.used(t, e, now)) return;
      }
      if (attempts >= size || attempts < 16) return;
      attempts >>= 1;
      off = this.rng.u32() & 0xffff;
    }
  }

  // ---- rewriting packets ----------------------------------------------------------------------------

  /**
   * nf_nat_manip_pkt for a packet of entry `e` travelling in `dir`: make it look like the inverse of
   * the other direction's tuple, on the side `manip` names.
   */
  manipPacket(bytes: Uint8Array, l3: number, e: number, dir: number, manip: number): void {
    const k = e * 2 + (dir ^ 1);
    const ct = this.ct;
    // Addresses go on as int32s: a uint32 above 2^31 handed to a call V8 does not inline is boxed into
    // a HeapNumber, an allocation per packet. manipHeader and setAddr take either signedness.
    if (manip === MANIP_SRC) manipHeader(bytes, l3, -1, manip, ct.tDst[k]! | 0, ct.tDport[k]!, ct.tSport[k]!);
    else manipHeader(bytes, l3, -1, manip, ct.tSrc[k]! | 0, ct.tSport[k]!, ct.tSport[k]!);
  }

  /**
   * nf_nat_icmp_reply_translation: an ICMP error (at `l3`, its ICMP header at `l4`, `icmpLen` bytes)
   * RELATED to `e`, travelling in `dir`. The quoted header is given back the addresses and ports its
   * sender used (the opposite manip), the ICMP checksum is recomputed, then the outer header gets this
   * hook's manip.
   */
  icmpReplyTranslation(bytes: Uint8Array, l3: number, l4: number, icmpLen: number, e: number, dir: number, manip: number): void {
    const ct = this.ct;
    const k = e * 2 + (dir ^ 1);
    const inner = l4 + 8;
    const innerAvail = l4 + icmpLen - inner;
    if (manip === MANIP_SRC) {
      // inner gets DST manip to tuple[!dir] itself (not inverted)
      manipHeader(bytes, inner, innerAvail, MANIP_DST, ct.tDst[k]! | 0, ct.tDport[k]!, ct.tSport[k]!);
    } else {
      manipHeader(bytes, inner, innerAvail, MANIP_SRC, ct.tSrc[k]! | 0, ct.tSport[k]!, ct.tSport[k]!);
    }
    fillIcmpChecksum(bytes, l4, icmpLen);
    // Outer: the inverse of tuple[!dir], only the addresses (an ICMP error has no id to change).
    if (manip === MANIP_SRC) setAddr(bytes, l3, 12, ct.tDst[k]! | 0, -1);
    else setAddr(bytes, l3, 16, ct.tSrc[k]! | 0, -1);
  }
}

function rd16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}
function wr16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}
function rd32i(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}
function wr32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** Rewrite the address at `l3 + rel` (12 source, 16 destination) and fix the header checksum; with
 *  `l4check` ≥ 0 the transport checksum there (TCP/UDP pseudo header) too. `addr` may be a uint32 or
 *  an int32; the old address is read as an int32 (nothing boxed when the checksum helpers are not
 *  inlined; they only take 16-bit halves). */
function setAddr(b: Uint8Array, l3: number, rel: number, addr: number, l4check: number, udp = false): void {
  const old = rd32i(b, l3 + rel);
  addr = addr | 0;
  if (old === addr) return;
  wr32(b, l3 + rel, addr);
  wr16(b, l3 + 10, updateChecksum32(rd16(b, l3 + 10), old, addr));
  if (l4check >= 0) {
    const c = rd16(b, l4check);
    wr16(b, l4check, udp ? updateUdpChecksum32(c, old, addr) : updateChecksum32(c, old, addr));
  }
}

/**
 * nf_nat_ipv4_manip_pkt on the IPv4 header at `l3`: set the source (MANIP_SRC) or destination address
 * to `addr` and the matching port to `port` (TCP/UDP), or the echo id to `icmpId` (ICMP queries).
 * `avail` is how many bytes of the datagram are present (-1: all of it, from its total length); a
 * quoted header may be cut short, and then only the fields present are changed (tcp_manip_pkt with 8
 * bytes changes the ports and leaves the checksum).
 */
export function manipHeader(b: Uint8Array, l3: number, avail: number, manip: number, addr: number, port: number, icmpId: number): void {
  const ihl = (b[l3]! & 0x0f) << 2;
  const proto = b[l3 + 9]!;
  const total = avail < 0 ? rd16(b, l3 + 2) : avail;
  const fragOff = rd16(b, l3 + 6) & 0x1fff;
  const l4 = l3 + ihl;
  const l4avail = total - ihl;
  const rel = manip === MANIP_SRC ? 12 : 16;
  if (fragOff !== 0 || l4avail < 8) {
    setAddr(b, l3, rel, addr, -1);
    return;
  }
  if (proto === PROTO_TCP) {
    const check = l4avail >= 18 ? l4 + 16 : -1;
    setAddr(b, l3, rel, addr, check);
    const at = l4 + (manip === MANIP_SRC ? 0 : 2);
    const old = rd16(b, at);
    if (old !== port) {
      wr16(b, at, port);
      if (check >= 0) wr16(b, check, updateChecksum16(rd16(b, check), old, port));
    }
  } else if (proto === PROTO_UDP) {
    const check = l4 + 6;
    setAddr(b, l3, rel, addr, check, true);
    const at = l4 + (manip === MANIP_SRC ? 0 : 2);
    const old = rd16(b, at);
    if (old !== port) {
      wr16(b, at, port);
      wr16(b, check, updateUdpChecksum16(rd16(b, check), old, port));
    }
  } else if (proto === PROTO_ICMP) {
    setAddr(b, l3, rel, addr, -1);
    const type = b[l4]!;
    // icmp_manip_pkt: only queries carry an id; errors are left alone.
    if (type === 0 || type === 8 || type === 13 || type === 14 || type === 15 || type === 16 || type === 17 || type === 18) {
      const old = rd16(b, l4 + 4);
      if (old !== icmpId) {
        wr16(b, l4 + 4, icmpId);
        wr16(b, l4 + 2, updateChecksum16(rd16(b, l4 + 2), old, icmpId));
      }
    }
  } else {
    setAddr(b, l3, rel, addr, -1);
  }
}
