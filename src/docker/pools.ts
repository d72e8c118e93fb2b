// dockerd's default local address pools (libnetwork/ipamutils): 172.17.0.0/16 … 172.31.0.0/16 as /16s,
// then 192.168.0.0/16 cut into /20s. A network created without a subnet gets the first pool that
// overlaps neither another network nor a route/address of the host (docker0 takes 172.17.0.0/16, so the
// first user-defined network is 172.18.0.0/16, then 172.19.0.0/16, …).

import { inSubnet, prefixMask } from '../wire/addr.js';

export interface Prefix {
  addr: number;
  len: number;
}

/** { "172.17.0.0/16", 16 }, { "172.18.0.0/16", 16 }, { "172.19.0.0/16", 16 }, { "172.20.0.0/14", 16 },
 *  { "172.24.0.0/14", 16 }, { "172.28.0.0/14", 16 }, { "192.168.0.0/16", 20 } — split in that order. */
export function defaultLocalPools(): Prefix[] {
  const out: Prefix[] = [];
  for (let b = 17; b <= 31; b++) out.push({ addr: ((172 << 24) | (b << 16)) >>> 0, len: 16 });
  for (let c = 0; c < 256; c += 16) out.push({ addr: ((192 << 24) | (168 << 16) | (c << 8)) >>> 0, len: 20 });
  return out;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  const len = Math.min(a.len, b.len);
  return inSubnet(a.addr, b.addr, len);
}

export function networkOf(p: Prefix): Prefix {
  return { addr: (p.addr & prefixMask(p.len)) >>> 0, len: p.len };
}

/** The first default pool that overlaps nothing in `used`, or null when all are taken. */
export function pickPool(used: Prefix[]): Prefix | null {
  for (const p of defaultLocalPools()) if (!used.some((u) => overlaps(p, u))) return p;
  return null;
}

/**
 * Addresses of one network handed out as dockerd's IPAM does: lowest free host address first (the
 * network and broadcast addresses are never given; the gateway and fixed addresses are reserved).
 */
export class AddressPool {
  private readonly taken = new Set<number>();
  readonly net: Prefix;

  constructor(net: Prefix) {
    this.net = networkOf(net);
  }

  get size(): number {
    return 2 ** (32 - this.net.len);
  }

  contains(ip: number): boolean {
    return inSubnet(ip, this.net.addr, this.net.len);
  }

  /** Whether `ip` is a usable host address of the network (not network/broadcast). */
  usable(ip: number): boolean {
    if (!this.contains(ip)) return false;
    if (this.net.len >= 31) return true;
    const off = (ip - this.net.addr) >>> 0;
    return off !== 0 && off !== this.size - 1;
  }

  reserve(ip: number): boolean {
    if (this.taken.has(ip)) return false;
    this.taken.add(ip);
    return true;
  }

  isTaken(ip: number): boolean {
    return this.taken.has(ip);
  }

  /** The lowest free usable address, reserved; null when the network is full. */
  next(): number | null {
    const first = this.net.len >= 31 ? 0 : 1;
    const last = this.net.len >= 31 ? this.size - 1 : this.size - 2;
    for (let off = first; off <= last; off++) {
      const ip = (this.net.addr + off) >>> 0;
      if (!this.taken.has(ip)) {
        this.taken.add(ip);
        return ip;
      }
    }
    return null;
  }
}
