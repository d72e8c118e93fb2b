// GSO super-frames at a device (include/linux/netdevice.h netif_needs_gso, net/core/gso.c
// skb_gso_segment → net/ipv4/af_inet.c inet_gso_segment → net/ipv4/tcp_offload.c tcp_gso_segment).
//
// Linux's TCP always hands down GSO super-frames (sk_setup_caps forces NETIF_F_GSO for TCP): one frame
// carrying up to 64 KiB of payload, with skb_shinfo(skb)->gso_size the payload of each wire segment.
// A device with TSO/GSO on (a veth, a bridge, as Linux sets them up) passes it on whole — so tcpdump,
// which sees the frame in dev_queue_xmit_nit, shows frames far larger than the MTU, and forwarding and
// NAT handle the super-frame once. A device with them off (`ethtool -K IF tso off gso off`, wirebox's
// `offload: false`) cuts it in validate_xmit_skb, before the tap, into wire-sized segments:
//   - every segment copies the Ethernet, IPv4 and TCP headers (options included — the same timestamp);
//   - IPv4: tot_len per segment, id incremented per segment (inet_gso_segment, no FIXEDID for a
//     locally built TCP frame), header checksum recomputed;
//   - TCP: seq advanced by gso_size per segment; CWR kept on the first only, FIN and PSH on the last
//     only (tcp_gso_segment); checksum per segment.
// Checksums: Linux leaves TCP's to the device (CHECKSUM_PARTIAL: a capture shows the pseudo-header sum,
// ../shared/real-captures/README.md); the emulator writes complete ones, as it does for every frame,
// so tshark validates them, and comparisons ignore checksums either way.
//
// Only TCP over IPv4 in an untagged Ethernet frame is ever GSO here (the one kind wirebox's TCP builds).

import type { PacketPool } from '../sim/pool.js';
import { fillIpv4Checksum, fillTcpChecksum } from '../wire/checksum.js';
import { ETH } from '../wire/ethernet.js';
import { IPV4 } from '../wire/ipv4.js';
import { TCP } from '../wire/tcp.js';

const TCP_FLAG_FIN = 0x01;
const TCP_FLAG_PSH = 0x08;
const TCP_FLAG_CWR = 0x80;

/** skb_gso_validate_network_len's length: what each segment's IPv4 packet will be (header, TCP header,
 *  gso_size of payload). For an ordinary frame (gsoSize 0) the packet's own total length. */
export function gsoNetworkLen(pool: PacketPool, slot: number, l3off: number): number {
  const view = pool.view;
  const gso = pool.gsoSize[slot]!;
  const tot = view.getUint16(l3off + IPV4.TOTAL_LEN);
  if (gso === 0) return tot;
  const ihl = (view.getUint8(l3off) & 0x0f) << 2;
  const thl = (view.getUint8(l3off + ihl + TCP.DATA_OFFSET) >>> 4) << 2;
  return Math.min(tot, ihl + thl + gso);
}

/**
 * skb_gso_segment: cuts the super-frame in `slot` into wire-sized frames, calling `emit` with each new
 * slot (one reference, handed over) in order; releases `slot`. Called by a device without offloads.
 */
export function gsoSegment(pool: PacketPool, slot: number, emit: (seg: number) => void): void {
  const gso = pool.gsoSize[slot]!;
  let base = pool.base(slot);
  let view = pool.view;
  const l3 = base + ETH.HEADER_LEN;
  const ihl = (view.getUint8(l3) & 0x0f) << 2;
  const l4 = l3 + ihl;
  const thl = (view.getUint8(l4 + TCP.DATA_OFFSET) >>> 4) << 2;
  const hdrs = ETH.HEADER_LEN + ihl + thl;
  const total = ETH.HEADER_LEN + view.getUint16(l3 + IPV4.TOTAL_LEN);
  const payload = total - hdrs;
  const id0 = view.getUint16(l3 + IPV4.ID);
  const seq0 = view.getUint32(l4 + TCP.SEQ);
  const flags0 = view.getUint8(l4 + TCP.FLAGS);
  const src = view.getUint32(l3 + IPV4.SRC);
  const dst = view.getUint32(l3 + IPV4.DST);
  for (let done = 0, i = 0; done < payload; i++) {
    const n = Math.min(gso, payload - done);
    const seg = pool.alloc(); // may grow the pool: re-read bytes, view and base afterwards
    const bytes = pool.bytes;
    view = pool.view;
    base = pool.base(slot);
    const s = pool.base(seg);
    bytes.copyWithin(s, base, base + hdrs);
    bytes.copyWithin(s + hdrs, base + hdrs + done, base + hdrs + done + n);
    const sl3 = s + ETH.HEADER_LEN;
    const sl4 = sl3 + ihl;
    view.setUint16(sl3 + IPV4.TOTAL_LEN, ihl + thl + n);
    view.setUint16(sl3 + IPV4.ID, (id0 + i) & 0xffff);
    fillIpv4Checksum(bytes, sl3);
    view.setUint32(sl4 + TCP.SEQ, (seq0 + done) >>> 0);
    let f = flags0;
    if (i > 0) f &= ~TCP_FLAG_CWR;
    if (done + n < payload) f &= ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
    view.setUint8(sl4 + TCP.FLAGS, f);
    fillTcpChecksum(bytes, sl4, thl + n, src, dst);
    pool.len[seg] = hdrs + n;
    done += n;
    emit(seg);
  }
  pool.release(slot);
}
