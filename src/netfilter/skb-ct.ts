// A packet's conntrack entry while it crosses the hooks: Linux keeps it on the skb (skb->_nfct, set by
// nf_ct_set in nf_conntrack_in, read by nf_ct_get, dropped by nf_conntrack_put when the skb is freed or
// leaves the namespace). wirebox has no skb, so the same facts live per pool slot in typed arrays: the
// entry, the entry's generation when attached (a killed and reused entry is then not mistaken for the
// packet's), ctinfo, and two flags. No allocation per packet: the arrays grow with the pool.

import { IP_CT_NONE, type Conntrack } from './conntrack.js';

export const ASSOC_NONE = -1;
/** The packet left by lo and comes back in with its entry. */
export const LOOPBACK_KEEP = 1;
/** The entry is another packet's (a REJECT answer attached to what it answers, nf_ct_attach): this
 *  packet neither confirms nor frees it. */
export const BORROWED = 2;

export class SkbCt {
  entry = new Int32Array(0);
  gen = new Uint32Array(0);
  info = new Uint8Array(0);
  flags = new Uint8Array(0);

  constructor(private readonly conntrack: Conntrack) {}

  /** Room for `n` slots (the pool grew); existing associations are kept. */
  grow(n: number): void {
    const e = new Int32Array(n).fill(ASSOC_NONE);
    e.set(this.entry);
    const g = new Uint32Array(n);
    g.set(this.gen);
    const i = new Uint8Array(n).fill(IP_CT_NONE);
    i.set(this.info);
    const f = new Uint8Array(n);
    f.set(this.flags);
    this.entry = e;
    this.gen = g;
    this.info = i;
    this.flags = f;
  }

  /** Whether the packet in `slot` holds a live entry (nf_ct_get's non-NULL). */
  valid(slot: number): boolean {
    const e = this.entry[slot]!;
    return e !== ASSOC_NONE && this.conntrack.isLive(e, this.gen[slot]!);
  }

  /** nf_ct_set: the packet in `slot` now holds entry `e` with ctinfo `info`. */
  attach(slot: number, e: number, info: number): void {
    this.detach(slot);
    this.entry[slot] = e;
    this.gen[slot] = this.conntrack.gen[e]!;
    this.info[slot] = info;
  }

  /** The packet no longer holds its entry; an unconfirmed or killed one is given back (nf_conntrack_put). */
  detach(slot: number): void {
    if ((this.flags[slot]! & BORROWED) === 0 && this.valid(slot)) this.conntrack.packetGone(this.entry[slot]!);
    this.entry[slot] = ASSOC_NONE;
    this.info[slot] = IP_CT_NONE;
    this.flags[slot]! &= ~BORROWED;
  }
}
