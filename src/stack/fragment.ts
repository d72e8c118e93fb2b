// IPv4 fragmentation on output, as Linux's ip_fragment / ip_do_fragment (net/ipv4/ip_output.c) do it.
//
// ip_finish_output sends a datagram longer than the route's MTU (or one that was reassembled, whose
// IPCB frag_max_size is set) to ip_fragment:
//   - DF set and the skb not allowed to ignore it → ICMP frag-needed to the sender, dropped (forwarded
//     datagrams never get this far: ip_forward answers them first);
//   - otherwise ip_do_fragment: the MTU is lowered to frag_max_size when that is smaller (a router
//     refragments to the size the original sender used), and the data after the IPv4 header is cut
//     into pieces of (mtu - hlen) bytes, every piece but the last a multiple of 8 (len &= ~7). Each
//     fragment gets a copy of the header with tot_len, the offset (in 8-byte units, added to the
//     offset the datagram already had), MF on all but the last (and on the last too when the datagram
//     was itself a non-final fragment), DF only when IPSKB_FRAG_PMTU says the original fragments
//     carried it, the same id, TTL and TOS, and a fresh header checksum. They go out in offset
//     order, first fragment first (what tcpdump shows on Linux).
//
// A locally generated datagram reaches here whole: __ip_append_data builds pieces of
// maxfraglen = ((mtu - hlen) & ~7) + hlen, which are exactly the slow path's cuts, so one function
// gives the bytes of both. A reassembled datagram is cut to min(mtu, frag_max_size); Linux's fast
// path would keep the original pieces' own boundaries when they all fit, which is the same for every
// sender that cuts as Linux does (all pieces but the last of the maximum size).
// Not emulated: IP options (ip_options_fragment drops non-copied options from later fragments; the
// stack never sends options).

import type { PacketPool } from '../sim/pool.js';
import { ETH } from '../wire/ethernet.js';
import { IPV4, Ipv4Flag } from '../wire/ipv4.js';
import { fillIpv4Checksum } from '../wire/checksum.js';

/** Where fragments go, one pool reference each, in offset order. */
export type FragmentOut = (slot: number) => void;

/** IP_MAX_MTU: the largest datagram (the 16-bit total length). */
export const IP_MAX_MTU = 0xffff;

/**
 * ip_do_fragment's slow path. `slot` holds an untagged Ethernet frame whose IPv4 header is at 14 and
 * whose Ethernet header is already written (every fragment copies it). `mtu` is the IP MTU to cut to
 * (the caller applies frag_max_size); `df` is IPSKB_FRAG_PMTU. Releases `slot`; returns how many
 * fragments went to `out`.
 */
export function ipDoFragment(pool: PacketPool, slot: number, mtu: number, df: boolean, out: FragmentOut): number {
  const l3 = pool.base(slot) + ETH.HEADER_LEN;
  let view = pool.view;
  const hlen = (view.getUint8(l3) & 0x0f) << 2;
  const tot = view.getUint16(l3 + IPV4.TOTAL_LEN);
  const fragWord = view.getUint16(l3 + IPV4.FLAGS_FRAG);
  const notLastFrag = (fragWord & Ipv4Flag.MF) !== 0;
  let offset = (fragWord & Ipv4Flag.OFFSET_MASK) << 3;
  const room = mtu - hlen;
  if (room < 8) {
    // A link whose MTU cannot carry 8 bytes after the header: ip_do_fragment fails (-EMSGSIZE).
    pool.release(slot);
    return 0;
  }
  let left = tot - hlen;
  let ptr = hlen; // read position after the IPv4 header start
  let n = 0;
  while (left > 0) {
    let len = left > room ? room : left;
    if (len < left) len &= ~7;
    const head = ETH.HEADER_LEN + hlen;
    const frag = pool.allocFor(head + len); // may grow the pool: read bytes/view afterwards
    const bytes = pool.bytes;
    view = pool.view;
    const src = pool.base(slot);
    const dst = pool.base(frag);
    bytes.copyWithin(dst, src, src + head);
    bytes.copyWithin(dst + head, src + ETH.HEADER_LEN + ptr, src + ETH.HEADER_LEN + ptr + len);
    const fl3 = dst + ETH.HEADER_LEN;
    let word = (offset >>> 3) | (fragWord & Ipv4Flag.RESERVED);
    if (df) word |= Ipv4Flag.DF;
    if (len < left || notLastFrag) word |= Ipv4Flag.MF;
    view.setUint16(fl3 + IPV4.FLAGS_FRAG, word);
    view.setUint16(fl3 + IPV4.TOTAL_LEN, hlen + len);
    view.setUint16(fl3 + IPV4.CHECKSUM, 0);
    fillIpv4Checksum(bytes, fl3);
    pool.len[frag] = head + len;
    ptr += len;
    offset += len;
    left -= len;
    n++;
    out(frag);
  }
  pool.release(slot);
  return n;
}

/** What ip_fragment needs from the host stack. */
export interface FragmentHost {
  readonly engine: { readonly pool: PacketPool };
  readonly stats: { fragOks: number; fragFails: number; fragCreates: number };
  /** icmp_send about the datagram in `slot` (IPv4 header at 14), a locally-seen packet. */
  icmpSend(slot: number, l3rel: number, type: number, code: number, info: number, pkt: 0): void;
  /** Hands one fragment on: to the neighbour (unicast) or the device. */
  fragmentOut(frag: number, unicast: boolean, ifindex: number, nexthop: number): void;
}

/** ICMP destination unreachable, fragmentation needed (type 3 code 4); PACKET_HOST. */
const DEST_UNREACH = 3;
const FRAG_NEEDED = 4;

/** ip_fragment for one host: decides DF, cuts, and hands the fragments on in order. */
export class Fragmenter {
  private unicast = true;
  private ifindex = 0;
  private nexthop = 0;
  private readonly out: FragmentOut = (frag) => this.host.fragmentOut(frag, this.unicast, this.ifindex, this.nexthop);

  constructor(private readonly host: FragmentHost) {}

  /**
   * ip_fragment: DF that may not be ignored, or reassembled from DF fragments larger than the MTU →
   * ICMP fragmentation needed, dropped; otherwise ip_do_fragment to min(mtu, frag_max_size). skb->
   * ignore_df: set for what UDP, ping, raw and the kernel's ICMP socket send (ip_sk_ignore_df:
   * pmtudisc WANT/DONT) and for conntrack's reassembled datagrams (nf_ct_ipv4_gather_frags); not for
   * TCP or other forwarded datagrams. Fragments carry DF only when the datagram was reassembled from
   * DF fragments (IPSKB_FRAG_PMTU). Takes the slot's reference.
   */
  fragment(slot: number, unicast: boolean, ifindex: number, nexthop: number, mtu: number, fragMax: number, fwd: boolean): void {
    const host = this.host;
    const pool = host.engine.pool;
    const off = pool.base(slot) + ETH.HEADER_LEN;
    const word = pool.view.getUint16(off + IPV4.FLAGS_FRAG);
    const ignoreDf = fragMax !== 0 || (!fwd && pool.view.getUint8(off + IPV4.PROTOCOL) !== 6);
    if ((word & Ipv4Flag.DF) !== 0 && (!ignoreDf || (fragMax !== 0 && fragMax > mtu))) {
      host.stats.fragFails++;
      host.icmpSend(slot, ETH.HEADER_LEN, DEST_UNREACH, FRAG_NEEDED, mtu, 0);
      pool.release(slot);
      return;
    }
    if (fragMax !== 0 && fragMax < mtu) mtu = fragMax;
    this.unicast = unicast;
    this.ifindex = ifindex;
    this.nexthop = nexthop;
    const n = ipDoFragment(pool, slot, mtu, fragMax !== 0 && (word & Ipv4Flag.DF) !== 0, this.out);
    if (n === 0) host.stats.fragFails++;
    else {
      host.stats.fragOks++;
      host.stats.fragCreates += n;
    }
  }
}
