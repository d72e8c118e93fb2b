// ICMP redirects of the host stack (net/ipv4/route.c): sending them when forwarding back out of the
// device a datagram came in by, and accepting them from our gateway. The host keeps the learned next
// hops (FIB nexthop exceptions) and applies them in its route lookups.

import type { Host } from './host.js';
import { IcmpCode, IcmpType } from './icmp.js';
import { Nud } from './neighbour.js';
import { PACKET_HOST } from '../devices/device.js';

/** ip_rt_redirect_load (HZ/50), ip_rt_redirect_number, ip_rt_redirect_silence ((HZ/50) << 10). */
const REDIRECT_LOAD_NS = 20_000_000;
const REDIRECT_NUMBER = 9;
const REDIRECT_SILENCE_NS = REDIRECT_LOAD_NS * 1024;

/** ip_rt_send_redirect's per-sender rate state (inet_peer rate_tokens / rate_last). */
export type RedirectPeers = Map<number, { n: number; last: number }>;

/**
 * __mkroute_input's IPSKB_DOREDIRECT and ip_rt_send_redirect: a datagram leaving by the device it came
 * in on, from a sender on that device's link (shared_media 1), gets ICMP redirect host pointing at the
 * next hop — the first one at once, then with exponential back-off (redirect_load 20 ms << n), at most
 * redirect_number 9, and again after redirect_silence (20.48 s) without any. It is still forwarded.
 */
export function sendRedirect(host: Host, peers: RedirectPeers, slot: number, rel: number, src: number, ifindex: number, nexthop: number): void {
  const back = host.fib.lookupDev(src, ifindex);
  if (back === null || back.gateway !== 0) return;
  const now = host.engine.now;
  let p = peers.get(src);
  if (p === undefined) peers.set(src, (p = { n: 0, last: now }));
  if (now > p.last + REDIRECT_SILENCE_NS) p.n = 0;
  if (p.n >= REDIRECT_NUMBER) {
    p.last = now;
    return;
  }
  if (p.n === 0 || now > p.last + REDIRECT_LOAD_NS * 2 ** p.n) {
    host.icmp.send(slot, rel, IcmpType.REDIRECT, IcmpCode.REDIR_HOST, nexthop, PACKET_HOST);
    p.last = now;
    p.n++;
  }
}

/**
 * __ip_do_redirect: a redirect from `from` (our gateway towards `dst`) names `gw` as the better next
 * hop. Accepted when accept_redirects is on, `gw` is a unicast address and `from` is the gateway
 * our route uses; the exception is installed once `gw` is resolved (an unresolved one is ARPed for
 * first, as neigh_event_send does, and the next redirect installs it). Returns the ifindex to install
 * the exception on, 0 when it is not accepted (yet).
 */
export function redirectAccepted(host: Host, from: number, dst: number, gw: number): number {
  if (!host.acceptRedirects) return 0;
  const r = host.fib.lookup(dst);
  if (r === null || r.gateway === 0 || r.gateway !== from) return 0;
  if (gw === from || gw === 0 || gw === 0xffffffff || (gw >>> 28) === 0xe) return 0;
  if (host.fib.isLocal(gw) || host.fib.isBroadcast(gw)) return 0;
  const st = host.neigh.state(r.ifindex, gw);
  if ((st & (Nud.REACHABLE | Nud.STALE | Nud.DELAY | Nud.PROBE | Nud.PERMANENT | Nud.NOARP)) === 0) {
    host.neigh.kick(r.ifindex, gw);
    return 0;
  }
  return r.ifindex;
}
