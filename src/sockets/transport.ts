// The contract between the IPv4 layer of a host stack (src/stack) and its transport protocols
// (src/sockets: UDP, TCP, ICMP echo sockets), as Linux's ip_local_deliver → tcp_v4_rcv / udp_rcv
// and ip_queue_xmit / ip_build_and_send_pkt divide the work.

import type { Engine } from '../sim/engine.js';
import type { Prng } from '../sim/prng.js';

/** Ethernet (14) + IPv4 without options (20): where a transport writes its header in a fresh slot. */
export const L4_OFFSET = 34;

/** The IPv4 header fields a transport chooses for a datagram it sends. */
export interface L4Header {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  tos: number;
  df: boolean;
  id: number;
}

/** What the stack offers its transports. */
export interface Ipv4Sender {
  readonly engine: Engine;
  /** This namespace's random stream (ISNs, ephemeral ports, IP id starts). */
  readonly rng: Prng;
  /**
   * Send an IPv4 datagram whose transport header and payload the caller wrote at
   * `pool.base(slot) + L4_OFFSET`, `l4len` bytes, with its checksum already filled. The stack writes
   * the IPv4 header (20 bytes) and the Ethernet header, runs OUTPUT and POSTROUTING, routes, resolves
   * the neighbour (queueing while ARP is out) and transmits. Takes the slot's reference.
   * Returns false when there is no route (the slot is released; the caller sees ENETUNREACH).
   */
  sendL4(slot: number, l4len: number, h: L4Header): boolean;
  /** The source address Linux would choose for a connection to `dst` (0 when unroutable). */
  sourceFor(dst: number): number;
  /** dst_mtu of the route to `dst`: its device MTU, or a smaller path MTU learned from ICMP (TCP's MSS is this minus 40). */
  mtuFor(dst: number): number;
  /** Whether `addr` is one of this namespace's addresses (binding to it is allowed). */
  isLocal(addr: number): boolean;
}

/** What a transport offers the stack: delivery of a datagram addressed to this host. The slot's
 *  reference passes to the transport. l3off is the IPv4 header; l4off/l4len the transport's bytes. */
export interface TransportProtocol {
  input(slot: number, l3off: number, l4off: number, l4len: number): void;
}
