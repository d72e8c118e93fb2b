// TSO/GSO sizing (net/ipv4/tcp_output.c): how much new data one transmit hands down as a single GSO
// super-frame. Linux's TCP always builds GSO frames (sk_setup_caps forces NETIF_F_GSO for TCP); a
// device with offloads passes them on whole (what tcpdump shows on a veth), one without cuts them
// into wire-sized segments (src/devices/gso.ts). The retransmit queue stays per MSS segment — Linux's
// packet accounting (tcp_skb_pcount) — so cwnd, SACK, RACK and the RTO see the same packets as before.
//
// A frame carries k segments, k = min of
//   - tcp_cwnd_test: half of cwnd ("at least 2 GSO packets in flight"), and what cwnd has left;
//   - tcp_tso_segs → tcp_tso_autosize: with the µs round trips of emulated links (min_rtt < 512 µs)
//     the RTT allowance is sk_gso_max_size itself, so 64 KiB (GSO_LEGACY_MAX_SIZE, a veth's
//     gso_max_size) / mss: 45 segments at mss 1448;
//   - the data written and the peer's window (tcp_mss_split_point, Nagle on a trailing partial
//     segment; tcp_grow_skb lets a frame span the application's writes).
//
// What the real captures show (../shared/real-captures/bulk-256k, server.eth0, three runs of a
// 256 KiB download on Linux 6.18, copied to fixtures/real-captures/bulk-256k):
//   7240 7240 14480 21720 27512 46336 …   (runs 2 and 3; run 1: 7240 7240 10136 14480 26064 …)
// — 5 + 5 segments (half of the initial cwnd 10, twice), then one super-frame per ACK, each half of a
// cwnd that slow start doubled, one ACK per super-frame from the receiver. Two emulator rules follow
// from them (timing on the real host, not code paths this file can name exactly):
//   - an ACK lets one super-frame out (`ACK_CLOCKED_FRAMES`): on a veth the receiver's ACK for the
//     frame is back before the sender would send a second, and the real captures never show two data
//     frames between ACKs after the opening pair;
//   - the frames after the first ACK are cwnd-limited: the sender stops for want of cwnd while data
//     waits (tcp_tso_should_defer's cwnd-limited deferral sets is_cwnd_limited), so slow start grows
//     cwnd by every ACKed segment.

/** GSO_LEGACY_MAX_SIZE: a veth's (and a bridge's) gso_max_size. */
export const GSO_MAX_SIZE = 65536;
/** MAX_TCP_HEADER as tcp_xmit_size_goal subtracts it (x86-64 with the usual tunnels configured). */
export const MAX_TCP_HEADER = 320;
/** Frames one ACK may let out (see above). */
export const ACK_CLOCKED_FRAMES = 1;

/** tcp_cwnd_test: segments cwnd allows in one frame now (0: none). */
export function cwndQuota(cwnd: number, inFlight: number): number {
  if (inFlight >= cwnd) return 0;
  return Math.min(Math.max(cwnd >> 1, 1), cwnd - inFlight);
}

/** tcp_tso_segs → tcp_tso_autosize with a sub-512 µs min_rtt: sk_gso_max_size / mss (≥ 2, the
 *  default min_tso_segs), bounded so the frame's IPv4 total length fits 16 bits. */
export function tsoMaxSegs(mss: number, tcpHeaderLen: number): number {
  const bytes = Math.min(GSO_MAX_SIZE, 65535 - 20 - tcpHeaderLen);
  return Math.max(2, Math.floor(bytes / mss));
}
