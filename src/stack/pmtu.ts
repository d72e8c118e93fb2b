// Path MTUs learned from ICMP "fragmentation needed" (net/ipv4/route.c: __ip_rt_update_pmtu and the FIB
// nexthop exceptions it creates with update_or_create_fnhe).
//
// An ICMP destination unreachable code 4 about a datagram we sent carries the next hop's MTU. The
// error handlers of UDP, ping, raw and TCP sockets (udp_err, ping_err, raw_err, tcp_v4_err) all call
// ipv4_sk_update_pmtu / inet_csk_update_pmtu, which come here:
//   - an MTU not below the route's current one is ignored (PMTU only ever shrinks from an ICMP);
//   - an MTU below ip_rt_min_pmtu (552) is raised to 552 and the exception is locked;
//   - the exception expires ip_rt_mtu_expires (600 s) after it was learned; a repeat of the same value
//     within the first half of that time does not refresh it.
// Locally generated datagrams to that destination then go by the smaller MTU (ip_sk_use_pmtu for
// pmtudisc WANT/DONT/DO): a UDP datagram over it is fragmented to it without DF, one within it keeps
// DF; TCP clamps its segment size to it (tcp_v4_mtu_reduced → tcp_sync_mss). Forwarded datagrams
// keep going by the device MTU (ip_dst_mtu_maybe_forward, ip_forward_use_pmtu 0).

import type { Engine } from '../sim/engine.js';

/** ip_rt_min_pmtu: 512 + 20 + 20. */
export const IP_RT_MIN_PMTU = 552;
/** ip_rt_mtu_expires: 10 minutes. */
export const IP_RT_MTU_EXPIRES_NS = 600_000_000_000;

interface Exception {
  mtu: number;
  expires: number;
  locked: boolean;
}

export class PmtuCache {
  /** net.ipv4.route.min_pmtu and mtu_expires. */
  minPmtu = IP_RT_MIN_PMTU;
  expiresNs = IP_RT_MTU_EXPIRES_NS;
  private readonly byDst = new Map<number, Exception>();

  constructor(private readonly engine: Engine) {}

  /** Exceptions held (expired ones included until looked up). */
  get size(): number {
    return this.byDst.size;
  }

  /** The path MTU towards `dst` whose route's device MTU is `devMtu`. */
  mtu(dst: number, devMtu: number): number {
    const x = this.byDst.get(dst >>> 0);
    if (x === undefined) return devMtu;
    if (this.engine.now >= x.expires) {
      this.byDst.delete(dst >>> 0);
      return devMtu;
    }
    return x.mtu < devMtu ? x.mtu : devMtu;
  }

  /** __ip_rt_update_pmtu: an ICMP fragmentation needed said `mtu` for `dst`, whose route currently
   *  allows `current`. Returns whether the path MTU changed. */
  update(dst: number, mtu: number, current: number): boolean {
    dst = dst >>> 0;
    let lock = false;
    if (mtu < this.minPmtu) {
      lock = true;
      mtu = Math.min(current, this.minPmtu);
    }
    if (current < mtu) return false;
    const now = this.engine.now;
    const x = this.byDst.get(dst);
    if (x !== undefined && x.mtu === mtu && !lock && now < x.expires - this.expiresNs / 2) return false;
    this.byDst.set(dst, { mtu, expires: now + this.expiresNs, locked: lock });
    return current !== mtu;
  }

  /** Forget every learned path MTU (`ip route flush cache`). */
  flush(): void {
    this.byDst.clear();
  }
}
