// inet_init for one namespace: its transports, each registered with the IPv4 layer the same way —
// one TransportProtocol per IP protocol (Linux's inet_add_protocol into inet_protos[]): UDP (17),
// TCP (6) and the ICMP echo sockets of ping (1; ICMP itself is the stack's icmp_rcv, which hands
// them echo replies and the errors quoting echo requests). See transport.ts for the contract.

import { IpProto } from '../wire/ipv4.js';
import { PingSockets } from './ping.js';
import { Tcp } from './tcp.js';
import type { Ipv4Stack, TransportProtocol } from './transport.js';
import { Udp } from './udp.js';

/** The IPv4 layer as inetInit needs it: the stack plus its registration call. */
export interface InetHost extends Ipv4Stack {
  setTransport(proto: number, t: TransportProtocol | null): void;
}

export interface Inet {
  udp: Udp;
  tcp: Tcp;
  ping: PingSockets;
}

/** Creates and registers the namespace's UDP, TCP and ping sockets. UDP first: it draws its hash key
 *  from the namespace's random stream at creation, before anything else draws from it. */
export function inetInit(host: InetHost): Inet {
  const udp = new Udp(host);
  host.setTransport(IpProto.UDP, udp);
  const tcp = new Tcp(host);
  host.setTransport(IpProto.TCP, tcp);
  const ping = new PingSockets(host);
  host.setTransport(IpProto.ICMP, ping);
  return { udp, tcp, ping };
}
