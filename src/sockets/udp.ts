// UDP sockets of one namespace (net/ipv4/udp.c), as a program using the BSD API sees them:
//
//   bind: a port is taken when another socket holds it on the same address or on the wildcard
//         0.0.0.0 (either way round), unless both set SO_REUSEADDR, or both set SO_REUSEPORT (same
//         user) — udp_lib_lport_inuse. Port 0 picks one in 32768–60999: random start, then scan
//         (udp_lib_get_port).
//   input: the best-scoring socket (compute_score: +4 for a matching bound address, +4 for a matching
//         connected peer address, +4 for its port, +4 for a matching SO_BINDTODEVICE device — sockets
//         bound to different devices never clash); in a SO_REUSEPORT group the datagram goes to
//         socks[reciprocal_scale(hash(4-tuple), n)]. Broadcasts go to every matching socket. No socket:
//         ICMP port unreachable. A bad checksum is dropped silently.
//   output: UDP header with the full checksum (a computed 0 is sent as 0xffff), IPv4 with DF
//         (IP_PMTUDISC_WANT), TTL 64, TOS 0; the IP id is the socket's own counter when it is connected
//         (inet_id, random at connect) and the hashed per-destination one otherwise. Not emulated:
//         fragmentation — a datagram over the path MTU is refused with EMSGSIZE.
//
// Real capture nat-basic/ct.eth0.pcap: 172.17.0.2.57817 > 198.51.100.1.7 "ping": 46-byte frame,
// DF, TTL 64, id 54176; the echo server's answer: DF, TTL 64, id 41603.

import { L4_OFFSET, type Ipv4Stack, type RxInfo, type TransportProtocol } from './transport.js';
import { SocketError, reciprocalScale, udpEphemeralPort } from './ports.js';
import { UDP } from '../wire/udp.js';
import { IPV4, IpProto } from '../wire/ipv4.js';
import { fillUdpChecksum, verifyUdpChecksum } from '../wire/checksum.js';
import { parseIpv4 } from '../wire/addr.js';
import { SLOT_SIZE } from '../sim/pool.js';
import { IcmpType, IcmpUnreachCode, type IcmpErrorInfo } from '../wire/icmpv4.js';
import { PACKET_HOST } from '../devices/device.js';
import { hash3 } from '../sim/hash.js';

/** `to` is the datagram's destination address (IP_PKTINFO's ipi_addr), for sockets bound to the wildcard
 *  that answer from the address they were asked at. */
export type DatagramHandler = (data: Uint8Array, from: number, fromPort: number, reply: (bytes: Uint8Array) => void, to: number) => void;

export interface UdpBindOptions {
  /** Local address (number or dotted quad); 0 / "0.0.0.0" / absent: the wildcard. */
  addr?: number | string;
  /** 0 or absent: an ephemeral port. */
  port?: number;
  reuseport?: boolean;
  reuseaddr?: boolean;
  /** SO_BROADCAST: allowed to send to broadcast addresses. */
  broadcast?: boolean;
  /** SO_BINDTODEVICE: only this interface's datagrams, and sends leave by it (a DHCP client's socket). */
  device?: string;
}

export interface UdpSendOptions {
  src?: number | string | null;
  sport?: number | null;
  dst: number | string;
  dport: number;
  data: Uint8Array | string;
  onDatagram?: DatagramHandler;
}

function addrOf(a: number | string | null | undefined): number {
  if (a == null) return 0;
  return typeof a === 'string' ? parseIpv4(a) : a >>> 0;
}

function bytesOf(d: Uint8Array | string): Uint8Array {
  return typeof d === 'string' ? new TextEncoder().encode(d) : d;
}

/** Errors a socket saw (ICMP), by errno name, as recvmsg / MSG_ERRQUEUE would report them. */
export type UdpSocketError = 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ENETUNREACH' | 'EMSGSIZE' | 'EPROTO';

function errnoOf(e: IcmpErrorInfo): UdpSocketError {
  if (e.type === IcmpType.DEST_UNREACHABLE) {
    switch (e.code) {
      case IcmpUnreachCode.PORT: return 'ECONNREFUSED';
      case IcmpUnreachCode.NET: return 'ENETUNREACH';
      case IcmpUnreachCode.FRAG_NEEDED: return 'EMSGSIZE';
      default: return 'EHOSTUNREACH';
    }
  }
  return e.type === IcmpType.TIME_EXCEEDED ? 'EHOSTUNREACH' : 'EPROTO';
}

export class UdpSocket {
  /** Bound (rcv_saddr) address, 0 for the wildcard. */
  addr = 0;
  port = 0;
  /** Connected peer (inet_daddr / inet_dport), 0 when unconnected. */
  remoteAddr = 0;
  remotePort = 0;
  /** Source address used when sending (inet_saddr: set by bind or connect). */
  private saddr = 0;
  private inetId = 0;
  closed = false;
  ttl = 64;
  tos = 0;
  onDatagram: DatagramHandler | null = null;
  onError: ((code: UdpSocketError, e: IcmpErrorInfo) => void) | null = null;
  /** Datagrams received and errors seen, for the summary and tests. */
  received = 0;
  readonly errors: UdpSocketError[] = [];

  constructor(
    private readonly udp: Udp,
    readonly reuseport: boolean,
    readonly reuseaddr: boolean,
    readonly broadcast: boolean,
    /** SO_BINDTODEVICE ifindex, 0 when unbound. */
    readonly boundDev: number,
  ) {}

  /** connect(2): fixes the peer, the source address, and starts the socket's IP id counter. */
  connect(dst: number | string, dport: number): void {
    const d = addrOf(dst);
    if (this.closed) throw new SocketError('EBADF', 'socket closed');
    if (this.port === 0) this.udp.autobind(this);
    const rt = this.udp.host.routeOutput(d, this.boundDev);
    if (rt === null) throw new SocketError('ENETUNREACH', `no route to ${dst}`);
    const src = this.saddr !== 0 ? this.saddr : rt.src;
    this.remoteAddr = d;
    this.remotePort = dport;
    this.saddr = src;
    if (this.addr === 0) this.addr = src; // ip4_datagram_connect sets rcv_saddr too
    this.inetId = this.udp.host.rng.u32() & 0xffff;
  }

  /** sendto(2) / send(2). Returns false when the datagram could not leave (no route). */
  send(data: Uint8Array | string, dst?: number | string, dport?: number): boolean {
    if (this.closed) throw new SocketError('EBADF', 'socket closed');
    const d = dst === undefined ? this.remoteAddr : addrOf(dst);
    const p = dport === undefined ? this.remotePort : dport;
    if (d === 0 || p === 0) throw new SocketError(dst === undefined ? 'ENOTCONN' : 'EINVAL', 'no destination');
    if (this.port === 0) this.udp.autobind(this);
    return this.udp.output(this, bytesOf(data), d, p);
  }

  /** sendmsg(2) with an IP_PKTINFO control message whose ipi_spec_dst is `src`: the datagram leaves
   *  from that local address whatever the socket is bound to (docker-proxy answers a client from the
   *  address the client asked at, read with IP_PKTINFO on receive). */
  sendFrom(data: Uint8Array | string, src: number, dst: number, dport: number): boolean {
    if (this.closed) throw new SocketError('EBADF', 'socket closed');
    if (this.port === 0) this.udp.autobind(this);
    return this.udp.output(this, bytesOf(data), dst >>> 0, dport, src >>> 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udp.unhash(this);
  }

  /** @internal */
  bindTo(addr: number, port: number): void {
    this.addr = addr;
    this.saddr = addr;
    this.port = port;
  }


  /** @internal inet_saddr: the source fixed by bind or connect (0: routing picks per datagram). */
  get boundAddr(): number {
    return this.saddr;
  }

  /** @internal inet_id++ for connected sockets sending with DF. */
  nextConnectedId(): number {
    const id = this.inetId;
    this.inetId = (id + 1) & 0xffff;
    return id;
  }
}

export class Udp implements TransportProtocol {
  /** Sockets by local port, in bind order. */
  private readonly ports = new Map<number, UdpSocket[]>();
  private readonly hashKey: number;
  /** Datagrams dropped for bad checksums or lengths; port unreachables sent. */
  readonly stats = { inErrors: 0, noPorts: 0, inDatagrams: 0, outDatagrams: 0 };

  constructor(readonly host: Ipv4Stack) {
    this.hashKey = host.rng.u32();
  }

  // ---- socket calls --------------------------------------------------------------------------------

  /** socket + setsockopt + bind. Throws SocketError EADDRINUSE / EADDRNOTAVAIL as Linux refuses. */
  bind(opts: UdpBindOptions = {}, onDatagram?: DatagramHandler): UdpSocket {
    const boundDev = opts.device != null ? this.host.device(opts.device).ifindex : 0;
    const s = new UdpSocket(this, opts.reuseport === true, opts.reuseaddr === true, opts.broadcast === true, boundDev);
    if (onDatagram !== undefined) s.onDatagram = onDatagram;
    const addr = addrOf(opts.addr);
    if (addr !== 0 && !this.host.isLocal(addr) && !this.host.isBroadcast(addr)) {
      throw new SocketError('EADDRNOTAVAIL', `cannot assign requested address ${opts.addr}`);
    }
    const port = opts.port ?? 0;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new SocketError('EINVAL', `port ${port}`);
    if (port === 0) {
      const p = udpEphemeralPort(this.host.rng.u32(), (q) => this.conflicts(s, addr, q));
      if (p === 0) throw new SocketError('EADDRINUSE', 'no free ephemeral port');
      s.bindTo(addr, p);
    } else {
      if (this.conflicts(s, addr, port)) throw new SocketError('EADDRINUSE', `address already in use: ${opts.addr ?? '0.0.0.0'}:${port}`);
      s.bindTo(addr, port);
    }
    this.hash(s);
    return s;
  }

  /** A connected socket (ephemeral port unless `sport`) that sends `data` to dst:dport at once — what
   *  a UDP client does: socket, [bind], connect, send. The caller reads replies and closes it. */
  send(opts: UdpSendOptions): UdpSocket {
    const s = this.bind({ addr: opts.src ?? 0, port: opts.sport ?? 0 }, opts.onDatagram);
    try {
      s.connect(opts.dst, opts.dport);
      s.send(opts.data);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  /** inet_autobind: an unbound socket that sends or connects gets an ephemeral port, wildcard address. */
  autobind(s: UdpSocket): void {
    const p = udpEphemeralPort(this.host.rng.u32(), (q) => this.conflicts(s, 0, q));
    if (p === 0) throw new SocketError('EAGAIN', 'no free ephemeral port');
    s.bindTo(0, p);
    this.hash(s);
  }

  /** udp_lib_lport_inuse: does binding s to addr:port clash with a socket already there? */
  private conflicts(s: UdpSocket, addr: number, port: number): boolean {
    const list = this.ports.get(port);
    if (list === undefined) return false;
    for (const o of list) {
      if (o === s) continue;
      if (o.reuseaddr && s.reuseaddr) continue;
      if (o.boundDev !== 0 && s.boundDev !== 0 && o.boundDev !== s.boundDev) continue;
      if (o.addr !== 0 && addr !== 0 && o.addr !== addr) continue;
      if (o.reuseport && s.reuseport) continue;
      return true;
    }
    return false;
  }

  private hash(s: UdpSocket): void {
    let list = this.ports.get(s.port);
    if (list === undefined) this.ports.set(s.port, (list = []));
    list.push(s);
  }

  /** @internal */
  unhash(s: UdpSocket): void {
    const list = this.ports.get(s.port);
    if (list === undefined) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.ports.delete(s.port);
  }

  /** Sockets bound to a port (for tests and the summary). */
  socketsOn(port: number): readonly UdpSocket[] {
    return this.ports.get(port) ?? [];
  }

  // ---- output -------------------------------------------------------------------------------------

  /** @internal udp_sendmsg after the socket checks. */
  output(s: UdpSocket, data: Uint8Array, dst: number, dport: number, specDst = 0): boolean {
    const host = this.host;
    const rt = host.routeOutput(dst, s.boundDev);
    if (rt === null) return false;
    if (rt.kind === 'broadcast' && !s.broadcast) throw new SocketError('EACCES', `broadcast to ${dst >>> 0} needs SO_BROADCAST`);
    const l4len = UDP.HEADER_LEN + data.length;
    const mtu = host.deviceByIndex(rt.ifindex)?.mtu ?? 65536;
    if (IPV4.HEADER_LEN + l4len > mtu || L4_OFFSET + l4len > SLOT_SIZE) {
      throw new SocketError('EMSGSIZE', `datagram of ${data.length} bytes exceeds the path MTU ${mtu} (no fragmentation here)`);
    }
    const src = specDst !== 0 ? specDst : s.boundAddr !== 0 ? s.boundAddr : rt.src;
    const pool = host.engine.pool;
    const slot = pool.alloc();
    const bytes = pool.bytes;
    const view = pool.view;
    const off = pool.base(slot) + L4_OFFSET;
    view.setUint16(off + UDP.SRC_PORT, s.port);
    view.setUint16(off + UDP.DST_PORT, dport);
    view.setUint16(off + UDP.LENGTH, l4len);
    view.setUint16(off + UDP.CHECKSUM, 0);
    bytes.set(data, off + UDP.HEADER_LEN);
    fillUdpChecksum(bytes, off, l4len, src, dst);
    // DF with IP_PMTUDISC_WANT; the id: connected socket's counter, else the hashed one.
    const connected = s.remoteAddr !== 0;
    const id = connected ? s.nextConnectedId() : host.nextIpId(dst, src, IpProto.UDP);
    this.stats.outDatagrams++;
    return host.sendL4Dev(slot, l4len, { src, dst, proto: IpProto.UDP, ttl: s.ttl, tos: s.tos, df: true, id }, s.boundDev);
  }

  // ---- input --------------------------------------------------------------------------------------

  /** udp_rcv. Takes the slot's reference; offsets are relative to the slot's first byte. */
  input(slot: number, l3rel: number, l4rel: number, l4len: number, rx: RxInfo): void {
    const host = this.host;
    const pool = host.engine.pool;
    const l3off = pool.base(slot) + l3rel;
    const l4off = pool.base(slot) + l4rel;
    const view = pool.view;
    if (l4len < UDP.HEADER_LEN) return this.drop(slot);
    const ulen = view.getUint16(l4off + UDP.LENGTH);
    if (ulen < UDP.HEADER_LEN || ulen > l4len) return this.drop(slot);
    const src = view.getUint32(l3off + IPV4.SRC);
    const dst = view.getUint32(l3off + IPV4.DST);
    const sport = view.getUint16(l4off + UDP.SRC_PORT);
    const dport = view.getUint16(l4off + UDP.DST_PORT);
    if (!verifyUdpChecksum(pool.bytes, l4off, ulen, src, dst)) return this.drop(slot);
    const data = pool.bytes.slice(l4off + UDP.HEADER_LEN, l4off + ulen);
    if (host.isBroadcast(dst) || (dst >>> 28) === 0xe) {
      // __udp4_lib_mcast_deliver: every socket that matches gets a copy.
      const list = this.ports.get(dport);
      pool.release(slot);
      if (list === undefined) return;
      const ifindex = rx.ifindex;
      for (const s of list.slice()) {
        if (s.boundDev !== 0 && s.boundDev !== ifindex) continue;
        if (s.addr !== 0 && s.addr !== dst) continue;
        if (s.remoteAddr !== 0 && (s.remoteAddr !== src || s.remotePort !== sport)) continue;
        this.deliverTo(s, data, src, sport, dst);
      }
      return;
    }
    const s = this.lookup(src, sport, dst, dport, rx.ifindex);
    if (s === null) {
      this.stats.noPorts++;
      if (rx.pktType === PACKET_HOST) host.icmpSend(slot, l3rel, IcmpType.DEST_UNREACHABLE, IcmpUnreachCode.PORT, 0, PACKET_HOST);
      pool.release(slot);
      return;
    }
    pool.release(slot);
    this.deliverTo(s, data, src, sport, dst);
  }

  private drop(slot: number): void {
    this.stats.inErrors++;
    this.host.engine.pool.release(slot);
  }

  /** __udp4_lib_lookup: highest score wins (later binds first among equals); SO_REUSEPORT groups
   *  pick a member by the 4-tuple hash. */
  private lookup(src: number, sport: number, dst: number, dport: number, ifindex: number): UdpSocket | null {
    const list = this.ports.get(dport);
    if (list === undefined) return null;
    let best: UdpSocket | null = null;
    let bestScore = -1;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i]!;
      let score = 2;
      if (s.addr !== 0) {
        if (s.addr !== dst) continue;
        score += 4;
      }
      if (s.remoteAddr !== 0) {
        if (s.remoteAddr !== src) continue;
        score += 4;
      }
      if (s.remotePort !== 0) {
        if (s.remotePort !== sport) continue;
        score += 4;
      }
      if (s.boundDev !== 0) {
        if (s.boundDev !== ifindex) continue;
        score += 4;
      }
      if (score > bestScore) {
        bestScore = score;
        best = s;
      }
    }
    if (best === null || !best.reuseport || best.remoteAddr !== 0) return best;
    // reuseport_select_sock: the group is the unconnected reuseport sockets on this exact address.
    const group: UdpSocket[] = [];
    for (const s of list) if (s.reuseport && s.remoteAddr === 0 && s.addr === best.addr && s.boundDev === best.boundDev) group.push(s);
    const hash = this.ehash(dst, dport, src, sport);
    return group[reciprocalScale(hash, group.length)]!;
  }

  /** udp_ehashfn: a keyed hash of the 4-tuple (the kernel's is jhash with a boot-time secret). */
  private ehash(laddr: number, lport: number, faddr: number, fport: number): number {
    return hash3(this.hashKey, laddr, faddr, (lport << 16) | fport);
  }

  private deliverTo(s: UdpSocket, data: Uint8Array, src: number, sport: number, dst: number): void {
    this.stats.inDatagrams++;
    s.received++;
    const h = s.onDatagram;
    if (h === null) return;
    h(
      data,
      src,
      sport,
      (bytes: Uint8Array) => {
        if (!s.closed) s.send(bytes, src, sport);
      },
      dst,
    );
  }

  /** __udp4_lib_err: an ICMP error about a datagram one of our sockets sent (a redirect only re-routes). */
  err(e: IcmpErrorInfo): void {
    if (e.type === IcmpType.REDIRECT) return;
    const list = this.ports.get(e.sport);
    if (list === undefined) return;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i]!;
      if (s.addr !== 0 && s.addr !== e.src) continue;
      if (s.remoteAddr !== 0 && (s.remoteAddr !== e.dst || s.remotePort !== e.dport)) continue;
      const code = errnoOf(e);
      // Linux reports errors on unconnected sockets only with IP_RECVERR; connected ones always.
      if (s.remoteAddr === 0) return;
      s.errors.push(code);
      if (s.onError !== null) s.onError(code, e);
      return;
    }
  }
}
