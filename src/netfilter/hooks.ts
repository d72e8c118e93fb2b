// The contract between a host stack and netfilter: the five IPv4 hooks, in the order Linux's
// ip_rcv / ip_forward / ip_local_deliver / __ip_local_out / ip_output call them, and the verdicts.
//
//   in ──PREROUTING──▶ route ──▶ INPUT ──▶ local socket
//                           └──▶ FORWARD ──▶ POSTROUTING ──▶ out
//   local socket ──OUTPUT──▶ route ──▶ POSTROUTING ──▶ out

export const enum Hook {
  PREROUTING = 0,
  INPUT = 1,
  FORWARD = 2,
  OUTPUT = 3,
  POSTROUTING = 4,
}

export const enum Verdict {
  /** Go on; the packet may have been rewritten in place (NAT), checksums already fixed. */
  ACCEPT = 0,
  /** The stack stops processing and releases the slot. */
  DROP = 1,
}

/** What the stack calls. `l3rel` (here and in NetfilterHost.reject) is the offset of the IPv4 header
 *  relative to the slot's first byte (`pool.base(slot)`), 14 for an untagged frame. `inDev`/`outDev` are interface names in the namespace ('' when not known at
 *  that hook, as in Linux: no out device at PREROUTING/INPUT, no in device at OUTPUT/POSTROUTING). */
export interface PacketFilter {
  hook(hook: Hook, slot: number, l3rel: number, inDev: string, outDev: string): Verdict;
}

/** What netfilter needs from its host stack. */
export interface NetfilterHost {
  /** `-m addrtype --dst-type LOCAL`: is this address one of the namespace's own (incl. 127/8, broadcast)? */
  isLocalAddress(addr: number): boolean;
  /** MASQUERADE's source: the address Linux's inet_select_addr picks on `outDev` for `dst` (0 if none). */
  masqueradeSource(outDev: string, dst: number): number;
  /** REDIRECT at PREROUTING: the first address of `dev` (Linux's in_dev->ifa_list), 0 if none.
   *  Optional; without it netfilter asks `masqueradeSource(dev, 0)`. */
  primaryAddress?(dev: string): number;
  /** REJECT: the stack answers the packet at `l3rel` in `slot` (ICMP error or TCP RST) as Linux's
   *  nf_reject does, sending the answer through OUTPUT and POSTROUTING before it returns (netfilter
   *  attaches it to the rejected packet's connection, nf_ct_attach). The slot still belongs to
   *  netfilter's caller (it will be dropped). */
  reject(kind: 'icmp-port-unreachable' | 'icmp-host-unreachable' | 'icmp-net-unreachable' | 'icmp-admin-prohibited' | 'tcp-reset', slot: number, l3rel: number, inDev: string): void;
}
