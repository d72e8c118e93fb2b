// The contract between the IPv4 layer of a host stack (src/stack) and its transport protocols
// (src/sockets: UDP, TCP, the ICMP echo sockets of ping), as Linux divides the work:
//
//   stack → transport   ip_local_deliver_finish calls inet_protos[protocol]->handler(skb) — here
//                       TransportProtocol.input(slot, l3rel, l4rel, l4len, rx) — and icmp_rcv's
//                       icmp_socket_deliver calls inet_protos[quoted protocol]->err_handler(skb, info)
//                       — here TransportProtocol.err(e). (gVisor: HandlePacket / HandleError.)
//   transport → stack   ip_queue_xmit / ip_build_and_send_pkt: Ipv4Sender.sendL4, and the rest of
//                       Ipv4Stack for routing, IP ids and icmp_send.
//
// Every transport is registered the same way, by whoever builds the namespace (inetInit in
// src/sockets/inet.ts, as Linux's inet_init adds the inet_protos[] entries): host.setTransport(proto, t).
// src/stack imports only types from here; src/sockets imports nothing from src/stack. The ICMP error
// record both sides share is in src/wire/icmpv4.ts, L4_OFFSET in src/wire/ipv4.ts.

import type { NetDevice, PacketType } from '../devices/device.js';
import type { Engine } from '../sim/engine.js';
import type { Prng } from '../sim/prng.js';
import type { IcmpErrorInfo } from '../wire/icmpv4.js';

export { L4_OFFSET } from '../wire/ipv4.js';
export type { IcmpErrorInfo } from '../wire/icmpv4.js';

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

/** What the stack offers a transport that only sends connected datagrams (TCP). */
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
  /** MTU of the device the route to `dst` leaves by (TCP's MSS is this minus 40). */
  mtuFor(dst: number): number;
  /** Whether `addr` is one of this namespace's addresses (binding to it is allowed). */
  isLocal(addr: number): boolean;
}

/** A route for a datagram we originate (ip_route_output_key's answer). */
export interface OutRoute {
  kind: 'local' | 'unicast' | 'broadcast' | 'multicast';
  ifindex: number;
  /** Next hop for the neighbour lookup (the gateway, or the destination itself). */
  nexthop: number;
  /** Source address Linux would pick (route src / inet_select_addr; the destination itself for local). */
  src: number;
}

/** What the stack offers datagram transports (UDP, ping) on top of Ipv4Sender. */
export interface Ipv4Stack extends Ipv4Sender {
  readonly name: string;
  /** net.ipv4.ip_default_ttl */
  readonly defaultTtl: number;
  /** ip_route_output_key for `dst`, restricted to `oif` when non-zero (SO_BINDTODEVICE). */
  routeOutput(dst: number, oif?: number): OutRoute | null;
  /** sendL4 out of a given device (SO_BINDTODEVICE, broadcasts). */
  sendL4Dev(slot: number, l4len: number, h: L4Header, ifindex: number): boolean;
  /** The IP id of an unconnected datagram (ip_select_ident: hashed per destination). */
  nextIpId(dst: number, src: number, proto: number): number;
  /** Whether `addr` is a broadcast address of one of our networks (or 255.255.255.255). */
  isBroadcast(addr: number): boolean;
  device(name: string): NetDevice;
  deviceByIndex(ifindex: number): NetDevice | null;
  /** icmp_send about the datagram whose IPv4 header is `l3rel` bytes into `slot` (the slot stays the caller's). */
  icmpSend(slot: number, l3rel: number, type: number, code: number, info: number, pkt: PacketType): void;
  /** The transport registered for IP protocol `proto` (null if none). */
  transport(proto: number): TransportProtocol | null;
}

/** How the datagram now being delivered came in (skb->skb_iif and skb->pkt_type). The stack reuses
 *  one object; a transport reads it during `input` and keeps nothing of it. */
export interface RxInfo {
  /** The device it came in by (0 when looped back without a lo device). */
  ifindex: number;
  /** PACKET_HOST, or PACKET_BROADCAST / PACKET_MULTICAST for link-layer or IP broadcasts. */
  pktType: PacketType;
}

/** What a transport offers the stack (one inet_protos[] entry). */
export interface TransportProtocol {
  /** handler: a datagram addressed to this host. The slot's reference passes to the transport.
   *  l3rel is the IPv4 header, l4rel/l4len the transport's bytes, all relative to the slot's start
   *  (`…rel`: from pool.base(slot); `…off`: an absolute index into pool.bytes). */
  input(slot: number, l3rel: number, l4rel: number, l4len: number, rx: RxInfo): void;
  /** err_handler: an ICMP error quoting a datagram of this protocol (redirects included, which the
   *  transports only note). */
  err(e: IcmpErrorInfo): void;
}
