// The host stack of one network namespace: what Linux's net/ipv4 does between a device's receive
// path and a socket, and back.
//
//   dev ──deliver──▶ pkt_type (drop OTHERHOST) ─┬─ ARP ──▶ arp_process: learn, answer for our addresses,
//                                               │                      resolve what waits
//                                               └─ IPv4 ─▶ ip_rcv: validate ─PREROUTING─▶ route input ─┬─ local: INPUT ─▶ ICMP / UDP / TCP
//                                                                                                      └─ forward: TTL, FORWARD,
//   socket ─sendL4─▶ IPv4 header ─OUTPUT─▶ route ─POSTROUTING─▶ neighbour (ARP) ─▶ dev.transmit      POSTROUTING, neighbour
//
// Routing follows Linux's two tables (route.ts): our own addresses are reached through `lo` (the local
// table), the rest by longest-prefix match. Frames are pool slots; the IPv4 header of a received frame
// is read in place, and forwarding rewrites the TTL in place with the incremental checksum.
//
// Checked against the real captures in fixtures/real-captures (nat-basic, publish): ARP request and
// reply are 42 bytes (no padding) with the target MAC zero in requests; a STALE neighbour in use gets a
// unicast request delay_first_probe_time (5 s) later; echo replies and ICMP errors carry no DF and a
// hashed IP id; errors have TOS 0xc0 and quote the offending datagram.

import type { NetDevice, FrameSink, PacketType } from '../devices/device.js';
import { PACKET_BROADCAST, PACKET_HOST, packetType, PACKET_OTHERHOST } from '../devices/device.js';
import { Loopback } from '../devices/loopback.js';
import type { Engine } from '../sim/engine.js';
import type { Prng } from '../sim/prng.js';
import type { Ipv4Stack, L4Header, OutRoute, RxInfo, TransportProtocol } from '../sockets/transport.js';
import type { Udp } from '../sockets/udp.js';
import { Hook, Verdict, type NetfilterHost, type PacketFilter } from '../netfilter/hooks.js';
import { ARP, ArpOp, arpIsEthernetIpv4 } from '../wire/arp.js';
import { ETH, EtherType, writeEthernet } from '../wire/ethernet.js';
import { IPV4, IpProto, Ipv4Flag, L4_OFFSET, ipv4DecrementTtl, writeIpv4Header } from '../wire/ipv4.js';
import { verifyIpv4Checksum } from '../wire/checksum.js';
import { viewGetMac, viewSetMac } from '../wire/bytes.js';
import { MAC_BROADCAST, parseCidr, parseIpv4 } from '../wire/addr.js';
import { Fib, Scope, type Route } from './route.js';
import { NeighbourTable, Nud, type NeighbourOwner } from './neighbour.js';
import { IpIdent } from './ipid.js';
import { Icmp, IcmpType, IcmpCode } from './icmp.js';
import { nfSendReset } from './reject.js';
import { gsoNetworkLen } from '../devices/gso.js';

/** An output route resolved for one destination (rtable): how and where a datagram leaves. */
export type { OutRoute } from '../sockets/transport.js';

export interface RouteSpec {
  /** "default" or a CIDR ("10.0.0.0/8"); a bare address is a /32. */
  to: string;
  via?: string | null;
  dev?: string | null;
  src?: string | null;
}

/** A raw ICMP socket's view: sees every ICMP message delivered locally (before the kernel's own
 *  handling, as raw sockets do); must copy what it keeps. */
export type IcmpListener = (slot: number, l3rel: number, l4rel: number, l4len: number) => void;

/** Counters for the run summary and for tests (`nstat`-like). */
export interface HostStats {
  inReceives: number;
  inHdrErrors: number;
  inAddrErrors: number;
  inDelivers: number;
  inUnknownProtos: number;
  forwarded: number;
  outRequests: number;
  outNoRoutes: number;
  fragDrops: number;
  otherHost: number;
  nfDrops: number;
  arpIn: number;
  arpOut: number;
}

function isMulticastIp(a: number): boolean {
  return (a >>> 28) === 0xe;
}
function isLoopbackIp(a: number): boolean {
  return (a >>> 24) === 127;
}

/** Output route kinds (rtable rt_type): numbers on the packet path, names in `OutRoute`. */
const RT_UNICAST = 0;
const RT_LOCAL = 1;
const RT_BROADCAST = 2;
const RT_MULTICAST = 3;
const KIND_NAMES: OutRoute['kind'][] = ['unicast', 'local', 'broadcast', 'multicast'];

/** ip_rt_redirect_load (HZ/50), ip_rt_redirect_number, ip_rt_redirect_silence ((HZ/50) << 10). */
const REDIRECT_LOAD_NS = 20_000_000;
const REDIRECT_NUMBER = 9;
const REDIRECT_SILENCE_NS = REDIRECT_LOAD_NS * 1024;

/** Where the IPv4 header sits in every frame the stack handles (untagged Ethernet): the offset,
 *  relative to the slot's first byte, that netfilter hooks and transports are given. */
const L3 = ETH.HEADER_LEN;

/** Whether a device is a loopback (IFF_LOOPBACK): no ARP, zero MACs, our own packets come back in. */
export function isLoopbackDevice(dev: NetDevice): boolean {
  return dev instanceof Loopback;
}

export class Host implements FrameSink, Ipv4Stack, NetfilterHost {
  readonly rng: Prng;
  /** net.ipv4.ip_forward */
  forward = false;
  /** The namespace's netfilter, null when it has none (every hook accepts). */
  filter: PacketFilter | null = null;
  /** REJECT --reject-with tcp-reset: answer the segment whose IPv4 header is `l3rel` bytes into the
   *  slot. Null (the default): the stack builds the RST itself as nf_send_reset does (reject.ts). */
  tcpReset: ((slot: number, l3rel: number, inDev: string) => void) | null = null;
  /** Default TTL of locally generated datagrams (net.ipv4.ip_default_ttl). */
  defaultTtl = 64;

  readonly fib = new Fib();
  readonly neigh: NeighbourTable;
  readonly ipIdent: IpIdent;
  readonly icmp: Icmp;
  readonly stats: HostStats = {
    inReceives: 0, inHdrErrors: 0, inAddrErrors: 0, inDelivers: 0, inUnknownProtos: 0, forwarded: 0,
    outRequests: 0, outNoRoutes: 0, fragDrops: 0, otherHost: 0, nfDrops: 0, arpIn: 0, arpOut: 0,
  };

  /** Devices by ifindex (index 0 unused: Linux numbers from 1). */
  private readonly devs: (NetDevice | null)[] = [null];
  private readonly byName = new Map<string, NetDevice>();
  private readonly transports: (TransportProtocol | null)[] = new Array<TransportProtocol | null>(256).fill(null);
  private readonly icmpListeners: IcmpListener[] = [];
  /** The namespace's loopback device (null until one is added). */
  private lo: NetDevice | null = null;
  /** Next-hop exceptions learned from ICMP redirects, by destination. */
  private readonly exceptions = new Map<number, { gw: number; ifindex: number; expires: number }>();
  /** ip_rt_send_redirect's per-sender rate state (inet_peer rate_tokens / rate_last). */
  private readonly redirectPeers = new Map<number, { n: number; last: number }>();
  /** net.ipv4.conf.*.send_redirects / accept_redirects (both 1 by default). */
  sendRedirects = true;
  /** Whether NAT lets a redirect about this packet out (set by the namespace: src/netfilter/redirect.ts). */
  redirectAllowed: ((slot: number) => boolean) | null = null;
  acceptRedirects = true;
  /** `resolve`'s answer (reused: no allocation per packet). */
  private readonly scratch = { kind: RT_UNICAST, ifindex: 0, nexthop: 0, src: 0 };
  /** How the datagram being delivered came in (input is synchronous; one object, reused): handed to
   *  the transport with it, and read by icmp_send's checks. */
  private readonly rx: RxInfo = { ifindex: 0, pktType: PACKET_HOST };

  constructor(
    readonly engine: Engine,
    readonly name: string,
    opts: { forward?: boolean } = {},
  ) {
    this.rng = engine.rng.fork(`host:${name}`);
    this.forward = opts.forward ?? false;
    this.ipIdent = new IpIdent(this.rng.fork('ipid'));
    const owner: NeighbourOwner = {
      solicit: (ifindex, target, dstMac, queued) => this.arpSolicit(ifindex, target, dstMac, queued),
      transmit: (ifindex, slot, mac) => this.transmitResolved(ifindex, slot, mac),
      transmitFilled: (ifindex, slot) => this.transmitFilled(ifindex, slot),
      unreachable: (slot) => this.neighbourFailed(slot),
    };
    this.neigh = new NeighbourTable(engine, this.rng.fork('neigh'), owner);
    this.icmp = new Icmp(this);
  }

  // ---- configuration --------------------------------------------------------------------------------

  /** Move a device into this namespace: it gets the next ifindex and delivers its frames here. */
  addDevice(dev: NetDevice): number {
    if (this.byName.has(dev.name)) throw new Error(`${this.name}: device ${dev.name} exists`);
    dev.ifindex = this.devs.length;
    dev.sink = this;
    this.devs.push(dev);
    this.byName.set(dev.name, dev);
    if (this.lo === null && isLoopbackDevice(dev)) this.lo = dev;
    return dev.ifindex;
  }

  device(name: string): NetDevice {
    const d = this.byName.get(name);
    if (d === undefined) throw new Error(`${this.name}: no device ${name} (Cannot find device "${name}")`);
    return d;
  }

  deviceByIndex(ifindex: number): NetDevice | null {
    return this.devs[ifindex] ?? null;
  }

  get devices(): NetDevice[] {
    return this.devs.filter((d): d is NetDevice => d !== null);
  }

  /** `ip addr add CIDR dev IFNAME`: the address is local; the first one of a prefix adds the connected
   *  route (proto kernel scope link src ADDR). */
  addAddress(ifname: string, cidr: string): void {
    const dev = this.device(ifname);
    const { addr, len } = parseCidr(cidr);
    this.fib.addAddress(dev.ifindex, addr, len, isLoopbackDevice(dev));
  }

  /** `ip route add TO [via GW] [dev IF] [src ADDR]`. A gateway must be on a connected prefix (as
   *  fib_check_nh requires); without `dev` its device is the one that prefix is on. */
  addRoute(spec: RouteSpec): void {
    const { addr, len } = spec.to === 'default' ? { addr: 0, len: 0 } : parseCidr(spec.to);
    const gw = spec.via != null ? parseIpv4(spec.via) : 0;
    let ifindex = spec.dev != null ? this.device(spec.dev).ifindex : 0;
    if (gw !== 0) {
      const r = this.fib.lookup(gw);
      if (r === null || r.gateway !== 0 || (ifindex !== 0 && r.ifindex !== ifindex)) {
        throw new Error(`${this.name}: ip route add ${spec.to} via ${spec.via}: Nexthop has invalid gateway`);
      }
      ifindex = r.ifindex;
    }
    if (ifindex === 0) throw new Error(`${this.name}: ip route add ${spec.to}: needs via or dev`);
    const prefsrc = spec.src != null ? parseIpv4(spec.src) : 0;
    if (prefsrc !== 0 && !this.fib.isLocal(prefsrc)) {
      throw new Error(`${this.name}: ip route add ${spec.to} src ${spec.src}: Invalid prefsrc address`);
    }
    this.fib.insertRoute({
      dst: addr, len, gateway: gw, ifindex, prefsrc,
      scope: gw !== 0 ? Scope.UNIVERSE : Scope.LINK, proto: 'static',
    });
  }

  /** `setTransport(6, tcp)`: the inet_protos[] entry of IP protocol `proto` — its handler gets local
   *  deliveries, its err_handler the ICMP errors quoting that protocol (1: the ICMP echo sockets,
   *  which get echo replies; ICMP itself is the stack's). src/sockets/inet.ts registers UDP, TCP and ping. */
  setTransport(proto: number, t: TransportProtocol | null): void {
    this.transports[proto] = t;
  }

  transport(proto: number): TransportProtocol | null {
    return this.transports[proto] ?? null;
  }

  /** The namespace's UDP (the transport registered for protocol 17). */
  get udp(): Udp {
    const t = this.transports[IpProto.UDP];
    if (t == null) throw new Error(`${this.name}: no UDP registered (inetInit)`);
    return t as Udp;
  }

  /** How the datagram being delivered came in (for icmp_rcv's handing on of echo replies). */
  get rxInfo(): RxInfo {
    return this.rx;
  }

  icmpSend(slot: number, l3rel: number, type: number, code: number, info: number, pkt: PacketType): void {
    this.icmp.send(slot, l3rel, type, code, info, pkt);
  }

  addIcmpListener(fn: IcmpListener): void {
    this.icmpListeners.push(fn);
  }

  removeIcmpListener(fn: IcmpListener): void {
    const i = this.icmpListeners.indexOf(fn);
    if (i >= 0) this.icmpListeners.splice(i, 1);
  }

  // ---- Ipv4Sender / NetfilterHost queries ---------------------------------------------------------------

  isLocal(addr: number): boolean {
    return this.fib.isLocal(addr);
  }

  /** `-m addrtype --dst-type LOCAL` is RTN_LOCAL: our addresses and 127/8 (not broadcast, as in Linux). */
  isLocalAddress(addr: number): boolean {
    return this.fib.isLocal(addr);
  }

  isBroadcast(addr: number): boolean {
    return this.fib.isBroadcast(addr);
  }

  masqueradeSource(outDev: string, dst: number): number {
    const dev = this.byName.get(outDev);
    if (dev === undefined) return 0;
    // MASQUERADE: inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE) with the route's gateway as nexthop.
    const r = this.fib.lookup(dst);
    const nh = r !== null && r.ifindex === dev.ifindex && r.gateway !== 0 ? r.gateway : dst;
    return this.fib.selectAddr(dev.ifindex, nh, Scope.UNIVERSE);
  }

  sourceFor(dst: number): number {
    const r = this.routeOutput(dst);
    return r === null ? 0 : r.src;
  }

  mtuFor(dst: number): number {
    const r = this.routeOutput(dst);
    if (r === null) return 0;
    return this.devs[r.ifindex]?.mtu ?? 0;
  }

  /** The IP id Linux's __ip_select_ident gives a datagram from src to dst (no DF-connected socket). */
  nextIpId(dst: number, src: number, proto: number): number {
    return this.ipIdent.next(dst, src, proto, this.engine.now);
  }

  /** ip_route_output: where a datagram to `dst` leaves, or null (ENETUNREACH). `oif` (an ifindex,
   *  0 for none) is SO_BINDTODEVICE. Allocates: for tools, tests and socket setup; the packet paths
   *  use `resolve`. */
  routeOutput(dst: number, oif = 0): OutRoute | null {
    const r = this.scratch;
    if (!this.resolve(dst, oif)) return null;
    return { kind: KIND_NAMES[r.kind]!, ifindex: r.ifindex, nexthop: r.nexthop >>> 0, src: r.src >>> 0 };
  }

  /** The output route into `this.scratch` (no allocation); false when there is none. Callers copy
   *  what they need before anything that may send (a hook can emit a packet and reuse the scratch).
   *  Addresses in the scratch (nexthop, src) are int32s, as on the whole packet path: a uint32 above
   *  2^31 handed to a call V8 does not inline is boxed into a HeapNumber, an allocation per packet. */
  private resolve(dst: number, oif: number): boolean {
    const out = this.scratch;
    dst = dst | 0;
    if (this.fib.isLocal(dst)) {
      out.kind = RT_LOCAL;
      out.ifindex = this.lo === null ? 0 : this.lo.ifindex;
      out.nexthop = dst;
      out.src = dst;
      return true;
    }
    if (dst === -1) {
      // Limited broadcast: out of the bound device, else the first device with an address; the source
      // is inet_select_addr(dev, 0, RT_SCOPE_LINK) — 0.0.0.0 on a device without one (a DHCP client).
      let ifindex = oif;
      if (ifindex === 0) {
        for (const a of this.fib.addresses) {
          if (!a.loopback) {
            ifindex = a.ifindex;
            break;
          }
        }
        if (ifindex === 0) return false;
      }
      out.kind = RT_BROADCAST;
      out.ifindex = ifindex;
      out.nexthop = dst;
      out.src = this.fib.primaryOf(ifindex) | 0;
      return true;
    }
    const r = oif === 0 ? this.fib.lookup(dst) : this.fib.lookupDev(dst, oif);
    if (r === null) {
      if (oif === 0 || this.devs[oif] == null) return false;
      // "Apparently, routing tables are wrong. Assume, that the destination is on link."
      out.kind = isMulticastIp(dst) ? RT_MULTICAST : RT_UNICAST;
      out.ifindex = oif;
      out.nexthop = dst;
      out.src = this.fib.selectAddr32(oif, dst, Scope.LINK);
      return true;
    }
    out.src = this.fib.sourceOf32(r, dst);
    out.ifindex = r.ifindex;
    out.nexthop = this.nexthopOf(r, dst);
    out.kind = isMulticastIp(dst) ? RT_MULTICAST : r.gateway === 0 && this.fib.isBroadcast(dst) ? RT_BROADCAST : RT_UNICAST;
    return true;
  }

  /** The main-table route (for `ip route get`-like inspection in tests and the summary). */
  lookupRoute(dst: number): Route | null {
    return this.fib.lookup(dst);
  }


  // ---- L2 input ---------------------------------------------------------------------------------------

  deliver(dev: NetDevice, slot: number): void {
    const pool = this.engine.pool;
    const len = pool.len[slot]!;
    if (len < ETH.HEADER_LEN || !dev.up) {
      pool.release(slot);
      return;
    }
    const pkt = dev === this.lo ? PACKET_HOST : packetType(dev, slot);
    if (pkt === PACKET_OTHERHOST) {
      // A promiscuous bridge port passed it up: ip_rcv and arp_rcv drop PACKET_OTHERHOST.
      this.stats.otherHost++;
      pool.release(slot);
      return;
    }
    const base = pool.base(slot);
    const type = pool.view.getUint16(base + ETH.ETHERTYPE);
    if (type === EtherType.IPV4) this.ipRcv(dev, slot, base + ETH.HEADER_LEN, len - ETH.HEADER_LEN, pkt);
    else if (type === EtherType.ARP) this.arpRcv(dev, slot, base + ETH.HEADER_LEN, len - ETH.HEADER_LEN, pkt);
    else pool.release(slot);
  }

  // ---- ARP ----------------------------------------------------------------------------------------------

  /** arp_rcv + arp_process (arp_ignore 0, arp_accept 0, no proxy ARP). */
  private arpRcv(dev: NetDevice, slot: number, off: number, len: number, pkt: PacketType): void {
    const pool = this.engine.pool;
    const view = pool.view;
    this.stats.arpIn++;
    if (len < ARP.LEN || !arpIsEthernetIpv4(view, off) || dev === this.lo) {
      pool.release(slot);
      return;
    }
    const op = view.getUint16(off + ARP.OPER);
    const sha = viewGetMac(view, off + ARP.SHA);
    const sip = view.getUint32(off + ARP.SPA);
    const tip = view.getUint32(off + ARP.TPA);
    pool.release(slot);
    if (op !== ArpOp.REQUEST && op !== ArpOp.REPLY) return;
    if (isMulticastIp(tip) || isLoopbackIp(tip) || isMulticastIp(sip)) return;
    if (sha === dev.mac) return; // our own frame reflected back
    const ifindex = dev.ifindex;
    if (sip === 0) {
      // Duplicate address detection probe: answer if it asks for one of ours, learn nothing.
      if (op === ArpOp.REQUEST && this.fib.isLocal(tip)) this.arpSend(ifindex, ArpOp.REPLY, sha, tip, sha, 0);
      return;
    }
    if (op === ArpOp.REQUEST && this.fib.isLocal(tip)) {
      // neigh_event_ns: the asker is created (or refreshed) STALE, then we answer from this device.
      this.neigh.update(ifindex, sip, sha, Nud.STALE, true, true);
      this.arpSend(ifindex, ArpOp.REPLY, sha, tip, sha, sip);
      return;
    }
    // Anything else only updates an entry we already have (arp_accept 0 creates none).
    const e = this.neigh.find(ifindex, sip);
    if (e < 0) return;
    const isGarp = op === ArpOp.REQUEST && tip === sip;
    const state = op === ArpOp.REPLY && pkt === PACKET_HOST ? Nud.REACHABLE : Nud.STALE;
    const override = isGarp || this.neigh.pastLocktime(e);
    this.neigh.update(ifindex, sip, sha, state, override, false);
  }

  /** arp_create + arp_xmit: a 42-byte frame. `ethDst` -1 means broadcast; the ARP target hardware
   *  address is `tha` (0 in requests, as Linux leaves it). */
  private arpSend(ifindex: number, op: number, ethDst: number, sip: number, tha: number, tip: number): void {
    const dev = this.devs[ifindex];
    if (dev == null) return;
    const pool = this.engine.pool;
    const slot = pool.alloc();
    const view = pool.view;
    const base = pool.base(slot);
    writeEthernet(view, base, ethDst < 0 ? MAC_BROADCAST : ethDst, dev.mac, EtherType.ARP);
    const off = base + ETH.HEADER_LEN;
    view.setUint16(off + ARP.HTYPE, 1);
    view.setUint16(off + ARP.PTYPE, EtherType.IPV4);
    view.setUint8(off + ARP.HLEN, 6);
    view.setUint8(off + ARP.PLEN, 4);
    view.setUint16(off + ARP.OPER, op);
    viewSetMac(view, off + ARP.SHA, dev.mac);
    view.setUint32(off + ARP.SPA, sip);
    viewSetMac(view, off + ARP.THA, tha);
    view.setUint32(off + ARP.TPA, tip);
    pool.len[slot] = ETH.HEADER_LEN + ARP.LEN;
    this.stats.arpOut++;
    dev.transmit(slot);
  }

  /** arp_solicit: the source address is the waiting packet's if it is ours (arp_announce 0), else
   *  inet_select_addr on the device for the target. */
  private arpSolicit(ifindex: number, target: number, dstMac: number, queued: number): void {
    let saddr = 0;
    if (queued >= 0) {
      const pool = this.engine.pool;
      const s = pool.view.getUint32(pool.base(queued) + ETH.HEADER_LEN + IPV4.SRC);
      if (this.fib.isLocal(s)) saddr = s;
    }
    if (saddr === 0) saddr = this.fib.selectAddr(ifindex, target, Scope.LINK);
    this.arpSend(ifindex, ArpOp.REQUEST, dstMac, saddr, 0, target);
  }

  /** An unsolicited ARP announcement for one of our addresses: a broadcast request with sender and
   *  target address both `addr` and the target MAC zero — exactly Docker 28's (libnetwork/internal/
   *  l2disco, unsol_arp_linux.go, sent on a packet socket 3 times a second apart). 'reply' gives the
   *  arping -A form (target MAC broadcast). */
  announce(ifname: string, addr: number, op: 'request' | 'reply' = 'request'): void {
    const dev = this.device(ifname);
    this.arpSend(dev.ifindex, op === 'request' ? ArpOp.REQUEST : ArpOp.REPLY, -1, addr >>> 0, op === 'request' ? 0 : MAC_BROADCAST, addr >>> 0);
  }

  private transmitResolved(ifindex: number, slot: number, mac: number): void {
    const dev = this.devs[ifindex];
    const pool = this.engine.pool;
    if (dev == null) {
      pool.release(slot);
      return;
    }
    viewSetMac(pool.view, pool.base(slot) + ETH.DST, mac);
    dev.transmit(slot);
  }

  /** transmitResolved once the neighbour table has written the destination MAC itself. */
  private transmitFilled(ifindex: number, slot: number): void {
    const dev = this.devs[ifindex];
    if (dev == null) {
      this.engine.pool.release(slot);
      return;
    }
    dev.transmit(slot);
  }

  /** arp_error_report → ipv4_link_failure: ICMP host unreachable for the packet that waited. */
  private neighbourFailed(slot: number): void {
    this.icmp.send(slot, ETH.HEADER_LEN, IcmpType.DEST_UNREACH, IcmpCode.HOST_UNREACH, 0, PACKET_HOST);
    this.engine.pool.release(slot);
  }

  // ---- IPv4 input -------------------------------------------------------------------------------------

  /** ip_rcv / ip_rcv_core: `off` is the IPv4 header inside the slot, `avail` the bytes after Ethernet. */
  private ipRcv(dev: NetDevice, slot: number, off: number, avail: number, pkt: PacketType): void {
    const pool = this.engine.pool;
    // skb_share_check: NAT and forwarding write into the packet, so it must be ours alone (a bridge or
    // a wire may have handed the same slot to several receivers).
    const shared = pool.unshare(slot);
    if (shared !== slot) {
      off = off - pool.base(slot) + pool.base(shared);
      slot = shared;
    }
    const view = pool.view;
    this.stats.inReceives++;
    if (avail < IPV4.HEADER_LEN) return this.dropHdr(slot);
    const vihl = view.getUint8(off);
    const hlen = (vihl & 0x0f) << 2;
    if (vihl >>> 4 !== 4 || hlen < IPV4.HEADER_LEN || hlen > avail) return this.dropHdr(slot);
    if (!verifyIpv4Checksum(pool.bytes, off)) return this.dropHdr(slot);
    const tot = view.getUint16(off + IPV4.TOTAL_LEN);
    if (tot < hlen || tot > avail) return this.dropHdr(slot);
    if (this.filter !== null && this.filter.hook(Hook.PREROUTING, slot, L3, dev.name, '') === Verdict.DROP) {
      this.stats.nfDrops++;
      pool.release(slot);
      return;
    }
    this.routeInput(dev, slot, off, pkt);
  }

  private dropHdr(slot: number): void {
    this.stats.inHdrErrors++;
    this.engine.pool.release(slot);
  }

  /** ip_route_input_slow: local, broadcast, forward, or drop (martians, no forwarding). */
  private routeInput(dev: NetDevice, slot: number, off: number, pkt: PacketType): void {
    const pool = this.engine.pool;
    const view = pool.view;
    // int32 reads (255.255.255.255 is -1): see `resolve` on why addresses stay int32 here.
    const dst = view.getInt32(off + IPV4.DST);
    const src = view.getInt32(off + IPV4.SRC);
    const fromLo = dev === this.lo;
    if (isMulticastIp(src) || src === -1) return this.dropAddr(slot);
    if (dst === -1 || (src === 0 && dst === 0)) return this.localDeliver(dev.name, dev.ifindex, slot, off, pkt, true);
    if (isMulticastIp(dst)) return this.dropAddr(slot); // no multicast group membership here
    if (src === 0) return this.dropAddr(slot);
    // martian_source / martian_destination: 127/8 only from lo, unless route_localnet is set on the device.
    if (!fromLo && (((isLoopbackIp(src) || isLoopbackIp(dst)) && !dev.routeLocalnet) || this.fib.isLocal(src))) return this.dropAddr(slot);
    if (this.fib.isLocal(dst)) return this.localDeliver(dev.name, dev.ifindex, slot, off, pkt, false);
    if (this.fib.isBroadcast(dst)) return this.localDeliver(dev.name, dev.ifindex, slot, off, pkt, true);
    if (!this.forward) return this.dropAddr(slot);
    this.ipForward(dev, slot, off, pkt);
  }

  private dropAddr(slot: number): void {
    this.stats.inAddrErrors++;
    this.engine.pool.release(slot);
  }

  /** ip_local_deliver + ip_local_deliver_finish. */
  private localDeliver(inDev: string, inIfindex: number, slot: number, off: number, pkt: PacketType, broadcast: boolean): void {
    const pool = this.engine.pool;
    let view = pool.view;
    if ((view.getUint16(off + IPV4.FLAGS_FRAG) & (Ipv4Flag.MF | Ipv4Flag.OFFSET_MASK)) !== 0) {
      // Fragments: no reassembly here (nothing in the scenarios sends them).
      this.stats.fragDrops++;
      pool.release(slot);
      return;
    }
    if (this.filter !== null && this.filter.hook(Hook.INPUT, slot, L3, inDev, '') === Verdict.DROP) {
      this.stats.nfDrops++;
      pool.release(slot);
      return;
    }
    view = pool.view;
    const hlen = (view.getUint8(off) & 0x0f) << 2;
    const tot = view.getUint16(off + IPV4.TOTAL_LEN);
    const proto = view.getUint8(off + IPV4.PROTOCOL);
    const l4rel = L3 + hlen;
    const l4len = tot - hlen;
    this.stats.inDelivers++;
    // A delivery can nest (a transport's answer looped back at once): the outer one's info is kept.
    const rx = this.rx;
    const prev = rx.pktType;
    const prevIf = rx.ifindex;
    rx.pktType = broadcast && pkt === PACKET_HOST ? PACKET_BROADCAST : pkt;
    rx.ifindex = inIfindex;
    try {
      if (proto === IpProto.ICMP) {
        // raw_local_deliver: raw ICMP sockets see a copy first; then icmp_rcv.
        for (let i = 0; i < this.icmpListeners.length; i++) this.icmpListeners[i]!(slot, L3, l4rel, l4len);
        this.icmp.input(slot, L3, l4rel, l4len, broadcast || pkt !== PACKET_HOST);
        return;
      }
      const t = this.transports[proto];
      if (t != null) {
        t.input(slot, L3, l4rel, l4len, rx);
        return;
      }
      this.stats.inUnknownProtos++;
      if (!broadcast) this.icmp.send(slot, off - pool.base(slot), IcmpType.DEST_UNREACH, IcmpCode.PROT_UNREACH, 0, rx.pktType);
      pool.release(slot);
    } finally {
      rx.pktType = prev;
      rx.ifindex = prevIf;
    }
  }

  // ---- forwarding -------------------------------------------------------------------------------------

  /** ip_forward: TTL, FORWARD hook, then out as ip_output does. */
  private ipForward(inDev: NetDevice, slot: number, off: number, pkt: PacketType): void {
    const pool = this.engine.pool;
    if (pkt !== PACKET_HOST) {
      pool.release(slot);
      return;
    }
    const rel = off - pool.base(slot);
    let view = pool.view;
    const dst = view.getInt32(off + IPV4.DST); // int32: see `resolve`
    const r = this.fib.lookup(dst);
    if (r === null) {
      // ip_error with forwarding on: ICMP net unreachable.
      this.icmp.send(slot, rel, IcmpType.DEST_UNREACH, IcmpCode.NET_UNREACH, 0, pkt);
      this.stats.outNoRoutes++;
      pool.release(slot);
      return;
    }
    if (view.getUint8(off + IPV4.TTL) <= 1) {
      this.icmp.send(slot, rel, IcmpType.TIME_EXCEEDED, IcmpCode.TTL_EXCEEDED, 0, pkt);
      pool.release(slot);
      return;
    }
    const out = this.devs[r.ifindex]!;
    const tot = view.getUint16(off + IPV4.TOTAL_LEN);
    // ip_exceeds_mtu: a GSO super-frame fits when each of its segments will (skb_gso_validate_network_len)
    if (tot > out.mtu && gsoNetworkLen(pool, slot, off) > out.mtu) {
      if ((view.getUint16(off + IPV4.FLAGS_FRAG) & Ipv4Flag.DF) !== 0) {
        this.icmp.send(slot, rel, IcmpType.DEST_UNREACH, IcmpCode.FRAG_NEEDED, out.mtu, pkt);
      } else {
        this.stats.fragDrops++; // would be fragmented; not emulated
      }
      pool.release(slot);
      return;
    }
    const base = pool.base(slot);
    view = pool.view;
    off = base + rel;
    pool.len[slot] = rel + tot; // drop link padding
    ipv4DecrementTtl(view, off);
    const nexthop = this.nexthopOf(r, dst);
    if (r.ifindex === inDev.ifindex && this.sendRedirects && (this.redirectAllowed === null || this.redirectAllowed(slot))) this.maybeRedirect(slot, rel, view.getUint32(off + IPV4.SRC), inDev.ifindex, nexthop);
    if (this.filter !== null && this.filter.hook(Hook.FORWARD, slot, L3, inDev.name, out.name) === Verdict.DROP) {
      this.stats.nfDrops++;
      pool.release(slot);
      return;
    }
    this.stats.forwarded++;
    this.ipOutput(slot, this.fib.isBroadcast(dst) ? RT_BROADCAST : RT_UNICAST, r.ifindex, nexthop);
  }

  // ---- ICMP redirects -----------------------------------------------------------------------------------

  /** The next hop for `dst` by route `r`, unless a redirect taught us a better one (a FIB nexthop
   *  exception, kept ip_rt_gc_timeout = 300 s). */
  private nexthopOf(r: Route, dst: number): number {
    if (this.exceptions.size !== 0 && r.gateway !== 0) {
      const key = dst >>> 0;
      const x = this.exceptions.get(key);
      if (x !== undefined) {
        if (this.engine.now < x.expires && x.ifindex === r.ifindex) return x.gw | 0;
        this.exceptions.delete(key);
      }
    }
    // int32 (see `resolve`); the neighbour table takes either signedness.
    return r.gateway !== 0 ? r.gateway | 0 : dst | 0;
  }

  /**
   * __mkroute_input's IPSKB_DOREDIRECT and ip_rt_send_redirect: a datagram leaving by the device it came
   * in on, from a sender on that device's link (shared_media 1), gets ICMP redirect host pointing at the
   * next hop — the first one at once, then with exponential back-off (redirect_load 20 ms << n), at most
   * redirect_number 9, and again after redirect_silence (20.48 s) without any. It is still forwarded.
   */
  private maybeRedirect(slot: number, rel: number, src: number, ifindex: number, nexthop: number): void {
    const back = this.fib.lookupDev(src, ifindex);
    if (back === null || back.gateway !== 0) return;
    const now = this.engine.now;
    let p = this.redirectPeers.get(src);
    if (p === undefined) this.redirectPeers.set(src, (p = { n: 0, last: now }));
    if (now > p.last + REDIRECT_SILENCE_NS) p.n = 0;
    if (p.n >= REDIRECT_NUMBER) {
      p.last = now;
      return;
    }
    if (p.n === 0 || now > p.last + REDIRECT_LOAD_NS * 2 ** p.n) {
      this.icmp.send(slot, rel, IcmpType.REDIRECT, IcmpCode.REDIR_HOST, nexthop, PACKET_HOST);
      p.last = now;
      p.n++;
    }
  }

  /**
   * __ip_do_redirect: a redirect from `from` (our gateway towards `dst`) names `gw` as the better next
   * hop. Accepted when accept_redirects is on, `gw` is a unicast address and `from` is the gateway
   * our route uses; the exception is installed once `gw` is resolved (an unresolved one is ARPed for
   * first, as neigh_event_send does, and the next redirect installs it).
   */
  acceptRedirect(from: number, dst: number, gw: number): void {
    if (!this.acceptRedirects) return;
    const r = this.fib.lookup(dst);
    if (r === null || r.gateway === 0 || r.gateway !== from) return;
    if (gw === from || gw === 0 || gw === 0xffffffff || isMulticastIp(gw)) return;
    if (this.fib.isLocal(gw) || this.fib.isBroadcast(gw)) return;
    const st = this.neigh.state(r.ifindex, gw);
    if ((st & (Nud.REACHABLE | Nud.STALE | Nud.DELAY | Nud.PROBE | Nud.PERMANENT | Nud.NOARP)) === 0) {
      this.neigh.kick(r.ifindex, gw);
      return;
    }
    this.exceptions.set(dst >>> 0, { gw, ifindex: r.ifindex, expires: this.engine.now + 300 * 1e9 });
  }

  // ---- IPv4 output ------------------------------------------------------------------------------------

  /**
   * Ipv4Sender.sendL4: the transport wrote `l4len` bytes at L4_OFFSET. We write the IPv4 header, run
   * OUTPUT (re-routing if NAT changed the destination) and POSTROUTING, and hand the frame to the
   * neighbour layer. False (slot released) when there is no route.
   */
  sendL4(slot: number, l4len: number, h: L4Header): boolean {
    return this.sendL4Dev(slot, l4len, h, 0);
  }

  /** sendL4 from a socket bound to a device (SO_BINDTODEVICE): `oif` is its ifindex (0: none). */
  sendL4Dev(slot: number, l4len: number, h: L4Header, oif: number): boolean {
    const pool = this.engine.pool;
    if (!this.resolve(h.dst | 0, oif)) {
      this.stats.outNoRoutes++;
      pool.release(slot);
      return false;
    }
    const rt = this.scratch;
    let kind = rt.kind;
    let ifindex = rt.ifindex;
    let nexthop = rt.nexthop;
    const src = h.src !== 0 ? h.src | 0 : rt.src;
    const off = pool.base(slot) + ETH.HEADER_LEN;
    writeIpv4Header(pool.view, off, h.tos, IPV4.HEADER_LEN + l4len, h.id, h.df, h.ttl, h.proto, src, h.dst | 0);
    pool.len[slot] = L4_OFFSET + l4len;
    this.stats.outRequests++;
    if (this.filter !== null) {
      const dev = kind === RT_LOCAL ? this.lo : this.devs[ifindex];
      if (this.filter.hook(Hook.OUTPUT, slot, L3, '', dev != null ? dev.name : 'lo') === Verdict.DROP) {
        this.stats.nfDrops++;
        pool.release(slot);
        return true; // EPERM in Linux; the datagram is gone either way
      }
      const nd = pool.view.getUint32(off + IPV4.DST);
      if (nd !== h.dst) {
        // ip_route_me_harder: NAT at OUTPUT changed the destination.
        if (!this.resolve(nd, oif)) {
          this.stats.outNoRoutes++;
          pool.release(slot);
          return true;
        }
        kind = rt.kind;
        ifindex = rt.ifindex;
        nexthop = rt.nexthop;
      }
    }
    this.ipOutput(slot, kind, ifindex, nexthop);
    return true;
  }

  /** ip_output → POSTROUTING → ip_finish_output2: Ethernet header and neighbour. */
  private ipOutput(slot: number, kind: number, ifindex: number, nexthop: number): void {
    const pool = this.engine.pool;
    const dev = kind === RT_LOCAL ? this.lo : this.devs[ifindex];
    const off = pool.base(slot) + ETH.HEADER_LEN;
    if (this.filter !== null) {
      const name = dev != null ? dev.name : 'lo';
      if (this.filter.hook(Hook.POSTROUTING, slot, L3, '', name) === Verdict.DROP) {
        this.stats.nfDrops++;
        pool.release(slot);
        return;
      }
    }
    const view = pool.view;
    const base = pool.base(slot);
    if (kind === RT_LOCAL) {
      writeEthernet(view, base, 0, 0, EtherType.IPV4);
      if (dev != null) dev.transmit(slot);
      else this.engine.after(0, this.loopbackRx, slot); // no lo device: deliver as loopback_xmit would
      return;
    }
    if (dev == null) {
      pool.release(slot);
      return;
    }
    writeEthernet(view, base, 0, dev.mac, EtherType.IPV4);
    if (dev === this.lo) {
      dev.transmit(slot);
      return;
    }
    if (kind === RT_BROADCAST) {
      viewSetMac(view, base + ETH.DST, MAC_BROADCAST);
      dev.transmit(slot);
      return;
    }
    if (kind === RT_MULTICAST) {
      const dst = view.getUint32(off + IPV4.DST);
      viewSetMac(view, base + ETH.DST, 0x01005e000000 + (dst & 0x7fffff));
      dev.transmit(slot);
      return;
    }
    this.neigh.output(ifindex, nexthop, slot);
  }

  /** A namespace without a lo device still reaches its own addresses (its local table says so): the
   *  datagram comes back in as loopback_xmit → netif_rx would bring it, without PREROUTING's device. */
  private readonly loopbackRx = (slot: number): void => {
    const pool = this.engine.pool;
    const off = pool.base(slot) + ETH.HEADER_LEN;
    if (this.filter !== null && this.filter.hook(Hook.PREROUTING, slot, L3, 'lo', '') === Verdict.DROP) {
      this.stats.nfDrops++;
      pool.release(slot);
      return;
    }
    this.localDeliver('lo', 0, slot, off, PACKET_HOST, false);
  };

  /** `ip neigh` state of `ip` on a device. */
  neighbourState(ifname: string, ip: number): Nud {
    return this.neigh.state(this.device(ifname).ifindex, ip);
  }

  /** dst_confirm_neigh for upper layers (TCP forward progress). */
  confirmNeighbour(dst: number): void {
    const rt = this.routeOutput(dst);
    if (rt !== null && rt.kind === 'unicast') this.neigh.confirm(rt.ifindex, rt.nexthop);
  }

  // ---- REJECT ---------------------------------------------------------------------------------------

  reject(
    kind: 'icmp-port-unreachable' | 'icmp-host-unreachable' | 'icmp-net-unreachable' | 'icmp-admin-prohibited' | 'tcp-reset',
    slot: number,
    l3rel: number,
    inDev: string,
  ): void {
    const rel = l3rel;
    switch (kind) {
      case 'tcp-reset':
        if (this.tcpReset !== null) this.tcpReset(slot, l3rel, inDev);
        else nfSendReset(this, slot, l3rel);
        return;
      case 'icmp-port-unreachable':
        this.icmp.send(slot, rel, IcmpType.DEST_UNREACH, IcmpCode.PORT_UNREACH, 0, PACKET_HOST);
        return;
      case 'icmp-host-unreachable':
        this.icmp.send(slot, rel, IcmpType.DEST_UNREACH, IcmpCode.HOST_UNREACH, 0, PACKET_HOST);
        return;
      case 'icmp-net-unreachable':
        this.icmp.send(slot, rel, IcmpType.DEST_UNREACH, IcmpCode.NET_UNREACH, 0, PACKET_HOST);
        return;
      case 'icmp-admin-prohibited':
        this.icmp.send(slot, rel, IcmpType.DEST_UNREACH, IcmpCode.ADMIN_PROHIBITED, 0, PACKET_HOST);
        return;
    }
  }
}

