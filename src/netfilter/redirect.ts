// nf_nat_icmp_reply_translation's ICMP_REDIRECT case. The ICMP redirect a forwarded packet provokes is
// attached to that packet's connection (icmp_send → nf_ct_attach) and, once NAT is in use in the
// namespace, dropped at OUTPUT when the connection's NAT is not finished yet (its first packet:
// POSTROUTING has not run) or when the connection is NATed at all — a redirect would name the
// translated address, meaningless to the sender. Found by docker-noproxy-hairpin's real recording: a
// container reaching its own published port through the host's address (DNAT back out of docker0)
// gets no redirect on Linux.

import { IPS_DST_NAT_DONE, IPS_NAT_MASK, IPS_SRC_NAT_DONE } from './conntrack.js';
import type { Netfilter } from './netfilter.js';

export function natAllowsRedirect(nf: Netfilter, slot: number): boolean {
  // iptables registers the nat hooks once the nat table holds a rule or a chain of its own.
  const nat = nf.plan?.nat.chains.some((c) => c.rules.length > 0 || c.policy === null) ?? false;
  if (!nat) return true;
  const e = nf.entryOf(slot);
  if (e < 0) return true;
  const st = nf.conntrack.status[e]!;
  const done = IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE;
  return (st & done) === done && (st & IPS_NAT_MASK) === 0;
}
