// IPv4 identification as Linux picks it for a datagram not sent from a connected socket with DF
// (__ip_select_ident → ip_idents_reserve, net/ipv4/route.c):
//
//   hash   = jhash(daddr, saddr, protocol ^ net_hash_mix, random key)
//   bucket = hash % IP_IDENTS_SZ; the bucket holds a counter (started random) and a jiffies stamp
//   delta  = the bucket was last used `now - old` jiffies ago ? random below that : 0
//   id     = counter += 1 + delta  (the value before adding segs is returned)
//
// So consecutive packets towards one destination count up by one when sent within the same jiffy and
// jump by a random amount after idle time, and unrelated destinations look unrelated. The real
// captures show exactly this kind of value (echo reply id 10248, port unreachable id 16759, UDP 41603).
// A connected socket sending with DF uses its own counter instead (inet_id, random at connect), and
// ip_build_and_send_pkt (SYN-ACK, RST) uses 0 with DF: both are the transport's choice.

import type { Prng } from '../sim/prng.js';
import { hash3 } from '../sim/hash.js';

const BUCKETS = 2048;
/** Linux HZ (CONFIG_HZ=1000 on the captures' kernel config; 250 on some distributions). */
const JIFFY_NS = 1_000_000;

export class IpIdent {
  private readonly ids = new Uint16Array(BUCKETS);
  private readonly stamps = new Float64Array(BUCKETS);
  private readonly key: number;

  constructor(private readonly rng: Prng) {
    for (let i = 0; i < BUCKETS; i++) this.ids[i] = rng.u32() & 0xffff;
    this.key = rng.u32() | 0;
  }

  private bucket(dst: number, src: number, proto: number): number {
    // A keyed 32-bit mix standing in for jhash_3words (the exact hash is not observable).
    return hash3(this.key, dst, src, proto) % BUCKETS;
  }

  /** The id for one datagram (`segs` 1) from src to dst, at virtual time `nowNs`. */
  next(dst: number, src: number, proto: number, nowNs: number, segs = 1): number {
    const b = this.bucket(dst, src, proto);
    const now = Math.floor(nowNs / JIFFY_NS) + 1; // +1: a zero stamp means "never used"
    const old = this.stamps[b]!;
    let delta = 0;
    if (old !== now) {
      if (old !== 0) delta = this.rng.below(Math.min(now - old, 0xffffffff));
      this.stamps[b] = now;
    }
    const id = (this.ids[b]! + delta) & 0xffff;
    this.ids[b] = id + segs;
    return id;
  }
}
