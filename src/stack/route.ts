// Addresses and routes of one network namespace, as Linux keeps them in its two FIB tables:
//
//   ip route show table local                     ip route show (table main)
//   local 172.17.0.1 dev docker0 proto kernel     default via 198.51.100.1 dev eth0
//     scope host src 172.17.0.1                   172.17.0.0/16 dev docker0 proto kernel scope link
//   broadcast 172.17.255.255 dev docker0 …          src 172.17.0.1
//   local 127.0.0.0/8 dev lo … (a loopback device's whole prefix is local)
//
// `ip addr add A/len dev D` (fib_add_ifaddr) makes A local, the prefix's broadcast address a broadcast
// address, and — for the first (primary) address of that prefix on D — the connected route
// `prefix dev D proto kernel scope link src A`. A second address in the same prefix on the same device
// is *secondary*: local, but no route and never chosen as a source.
//
// Source selection is inet_select_addr(dev, dst, scope): the first primary address on the device whose
// prefix contains dst, else the device's first primary address of a fitting scope, else one from another
// device. A route with a gateway takes it with dst = the gateway (fib_info_update_nhc_saddr).

import { inSubnet, prefixMask } from '../wire/addr.js';

/** The netmask of a /len as an int32 (-1 << (32 - len)): no double, so nothing is boxed on the packet
 *  path (a uint32 above 2^31 handed to a call that is not inlined becomes a HeapNumber per packet). */
function mask32(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? -1 : -1 << (32 - len);
}

/** Whether `addr` lies in `net/len`, for addresses of either signedness (uint32 or int32). */
function inPrefix(addr: number, net: number, len: number): boolean {
  return ((addr ^ net) & mask32(len)) === 0;
}

/** Linux's route scopes (rtnetlink.h), in its order: a smaller number reaches farther. */
export const enum Scope {
  UNIVERSE = 0,
  LINK = 253,
  HOST = 254,
}

export interface IfAddress {
  ifindex: number;
  addr: number;
  len: number;
  /** The prefix's broadcast address (0 for /31 and /32, which have none). */
  broadcast: number;
  /** Another address of the device already covers this prefix. */
  secondary: boolean;
  /** Scope host for addresses on a loopback device (127.0.0.1/8), else global. */
  scope: Scope;
  /** On a loopback device the whole prefix is local (`local 127.0.0.0/8 dev lo`). */
  loopback: boolean;
}

export interface Route {
  /** Network (host bits cleared) and prefix length; 0/0 is the default route. */
  dst: number;
  len: number;
  /** Next hop, 0 for a directly connected destination. */
  gateway: number;
  ifindex: number;
  /** Preferred source (`src`), 0 when unset. */
  prefsrc: number;
  scope: Scope;
  proto: 'kernel' | 'static';
}

export class Fib {
  readonly addresses: IfAddress[] = [];
  /** The main table, longest prefix first; among equal prefixes, the first added wins. */
  readonly routes: Route[] = [];

  /** `ip addr add addr/len dev ifindex`. Returns the address record (with its secondary flag). */
  addAddress(ifindex: number, addr: number, len: number, loopback: boolean): IfAddress {
    addr = addr >>> 0;
    const mask = prefixMask(len);
    const net = (addr & mask) >>> 0;
    for (const a of this.addresses) {
      if (a.ifindex === ifindex && a.addr === addr) throw new Error(`address exists: RTNETLINK answers: File exists`);
    }
    const secondary = this.addresses.some((a) => a.ifindex === ifindex && a.len === len && !a.secondary && inSubnet(a.addr, net, len));
    const rec: IfAddress = {
      ifindex,
      addr,
      len,
      broadcast: len < 31 ? (net | ~mask) >>> 0 : 0,
      secondary,
      scope: loopback && ((addr >>> 24) === 127) ? Scope.HOST : Scope.UNIVERSE,
      loopback,
    };
    this.addresses.push(rec);
    if (!secondary && !loopback && len < 32) {
      this.insertRoute({ dst: net, len, gateway: 0, ifindex, prefsrc: addr, scope: Scope.LINK, proto: 'kernel' });
    }
    return rec;
  }

  /** Insert into the main table keeping longest-prefix-first order (stable among equals). */
  insertRoute(r: Route): void {
    r.dst = (r.dst & prefixMask(r.len)) >>> 0;
    for (const x of this.routes) {
      if (x.dst === r.dst && x.len === r.len) throw new Error(`route exists: RTNETLINK answers: File exists`);
    }
    let i = 0;
    while (i < this.routes.length && this.routes[i]!.len >= r.len) i++;
    this.routes.splice(i, 0, r);
  }

  /** Longest-prefix match in the main table, or null (ENETUNREACH). */
  lookup(dst: number): Route | null {
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.len === 0 || inPrefix(dst, r.dst, r.len)) return r;
    }
    return null;
  }

  /** Longest-prefix match among the routes out of one device (a socket bound to it), or null. */
  lookupDev(dst: number, ifindex: number): Route | null {
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.ifindex !== ifindex) continue;
      if (r.len === 0 || inPrefix(dst, r.dst, r.len)) return r;
    }
    return null;
  }

  /** RTN_LOCAL: one of our addresses, or inside a loopback device's prefix (127/8). */
  isLocal(addr: number): boolean {
    addr = addr >>> 0;
    const as = this.addresses;
    for (let i = 0; i < as.length; i++) {
      const a = as[i]!;
      if (a.addr === addr) return true;
      if (a.loopback && inPrefix(addr, a.addr, a.len)) return true;
    }
    return false;
  }

  /** RTN_BROADCAST: 255.255.255.255 or the broadcast address of one of our prefixes. */
  isBroadcast(addr: number): boolean {
    addr = addr >>> 0;
    if (addr === 0xffffffff) return true;
    const as = this.addresses;
    for (let i = 0; i < as.length; i++) if (as[i]!.broadcast === addr && !as[i]!.loopback) return true;
    return false;
  }

  /** inet_select_addr(dev, dst, scope). `dst` 0 means "any". */
  selectAddr(ifindex: number, dst: number, scope: Scope): number {
    return this.selectAddr32(ifindex, dst, scope) >>> 0;
  }

  /** `selectAddr` as an int32 (the packet path's form: see mask32). */
  selectAddr32(ifindex: number, dst: number, scope: Scope): number {
    let first = 0;
    const as = this.addresses;
    for (let i = 0; i < as.length; i++) {
      const a = as[i]!;
      if (a.ifindex !== ifindex || a.secondary || a.scope > scope) continue;
      if (dst === 0 || inPrefix(dst, a.addr, a.len)) return a.addr | 0;
      if (first === 0) first = a.addr | 0;
    }
    if (first !== 0) return first;
    // Not on the device: any other device's address of link scope or wider (not host-scoped loopback).
    for (let i = 0; i < as.length; i++) {
      const a = as[i]!;
      if (a.secondary || a.scope === Scope.HOST || a.scope > scope) continue;
      if (a.ifindex !== ifindex) return a.addr | 0;
    }
    return 0;
  }

  /** The source address a route gives for `dst` (its src, else inet_select_addr on its device). */
  sourceOf(r: Route, dst: number): number {
    return this.sourceOf32(r, dst) >>> 0;
  }

  /** `sourceOf` as an int32 (the packet path's form: see mask32). */
  sourceOf32(r: Route, dst: number): number {
    if (r.prefsrc !== 0) return r.prefsrc | 0;
    return this.selectAddr32(r.ifindex, r.gateway !== 0 ? r.gateway | 0 : dst | 0, r.scope);
  }

  /** Primary address of a device (first non-secondary), 0 if none. */
  primaryOf(ifindex: number): number {
    for (const a of this.addresses) if (a.ifindex === ifindex && !a.secondary) return a.addr;
    return 0;
  }
}
