// TCP for one network namespace: the socket tables of net/ipv4/inet_hashtables.c (established hash,
// listening hash with SO_REUSEPORT groups, bind buckets), port selection for connect
// (__inet_hash_connect), tcp_v4_rcv's demultiplexing, and tcp_v4_send_reset for segments nobody wants.
//
// Real RST for a closed port (fixtures/real-captures/publish/client.eth0.pcap, Linux 6.18):
//   198.51.100.1.39172 > 198.51.100.10.9999: Flags [S], seq 2576023017, win 64240, <mss 1460,...>
//   198.51.100.10.9999 > 198.51.100.1.39172: Flags [R.], seq 0, ack 2576023018, win 0, length 0
//                                            (IP: ttl 64, id 0, DF, no TCP options)
//
// API (one Tcp per namespace, registered with the Host for protocol 6):
//   const tcp = new Tcp(host); host.setTransport(6, tcp)   // host: Ipv4Sender (src/sockets/inet.ts does this)
//   tcp.listen({ addr, port, reuseport?, reuseaddr? }, (conn) => { conn.handlers = {...} }) → TcpListener
//   tcp.connect({ dst, dport, src?, sport?, reuseaddr? }, { onConnect, onData, onPeerClose, onClose,
//               onError(reason: 'refused' | 'timeout' | 'reset' | 'unreachable') }) → TcpConnection
//   conn.send(bytes) · conn.close() · conn.shutdown() · conn.abort() · conn.noDelay · conn.state
//   bind refusals throw TcpError with code EADDRINUSE / EADDRNOTAVAIL / EINVAL.

import type { IcmpErrorInfo, Ipv4Sender, L4Header, RxInfo, TransportProtocol } from './transport.js';
import { L4_OFFSET } from './transport.js';
import type { Prng } from '../sim/prng.js';
import { PACKET_HOST } from '../devices/device.js';
import { fillTcpChecksum, l4ChecksumStatus } from '../wire/checksum.js';
import { IPV4 } from '../wire/ipv4.js';
import { TCP } from '../wire/tcp.js';
import { ACK, FIN, RST, SYN, TCP_HEADER_LEN, newParsedOptions, parseOptions, seqAdd, writeHeader } from './tcp-wire.js';
import { getU32 } from '../wire/bytes.js';
import { DEFAULT_TTL, EPHEMERAL_HIGH, EPHEMERAL_LOW, IPPROTO_TCP } from './tcp-const.js';
import { TcpConnection, type Segment, type TcpHandlers, type TcpOwner } from './tcp/conn.js';
import { fmix32 } from '../sim/hash.js';

export { TcpConnection } from './tcp/conn.js';
export type { TcpErrorReason, TcpHandlers, TcpState } from './tcp/conn.js';

/** A socket call refused the way Linux refuses it (errno name in `code`). */
export class TcpError extends Error {
  constructor(
    readonly code: 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EINVAL',
    message: string,
  ) {
    super(message);
    this.name = 'TcpError';
  }
}

export interface ListenOptions {
  /** Local address as uint32; 0 is INADDR_ANY (0.0.0.0). */
  addr: number;
  port: number;
  /** SO_REUSEPORT: listeners of one group share the port, connections spread by a 4-tuple hash. */
  reuseport?: boolean;
  /** SO_REUSEADDR: bind over sockets that are not listening (e.g. TIME_WAIT). */
  reuseaddr?: boolean;
}

export interface ConnectOptions {
  dst: number;
  dport: number;
  /** Source address; default: the one the route to dst gives (inet_select_addr). */
  src?: number;
  /** Source port; default: an ephemeral port as __inet_hash_connect picks it. */
  sport?: number;
  reuseaddr?: boolean;
  /** setsockopt(IP_TTL) before connect: the TTL of every packet, the SYN included; default 64. */
  ttl?: number;
}

/** A listening socket. */
export class TcpListener {
  closed = false;
  constructor(
    private readonly tcp: Tcp,
    readonly addr: number,
    readonly port: number,
    readonly reuseport: boolean,
    readonly reuseaddr: boolean,
    readonly onAccept: (conn: TcpConnection) => void,
  ) {}

  /** Stop listening; connections still in their handshake are dropped (accepted ones live on). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tcp.unlisten(this);
  }
}

/** A socket holding a port in a bind bucket (inet_bind_bucket's owners). */
interface PortOwner {
  addr: number;
  reuseaddr: boolean;
  reuseport: boolean;
  listening: boolean;
  /** Bound by connect's port search (tb->fastreuse == -1): other connects may share the port. */
  autobind: boolean;
  sock: TcpListener | TcpConnection;
}

/** One 32-bit round of a keyed mixer (murmur3's fmix over a running sum): the stand-in for the
 *  kernel's siphash / jhash secrets, keyed from the namespace's random stream. */
function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0xcc9e2d51);
  return fmix32(Math.imul((h << 15) | (h >>> 17), 0x1b873593));
}

/** INET_TABLE_PERTURB_SIZE (1 << CONFIG_INET_TABLE_PERTURB_ORDER = 16). */
const PERTURB_SIZE = 1 << 16;

export class Tcp implements TransportProtocol, TcpOwner {
  readonly rng: Prng;
  /** Sockets send GSO super-frames (src/sockets/tcp/tso.ts); set for worlds built from a plan. */
  gso = false;
  /** Established, SYN_RECV and TIME_WAIT sockets by (lport << 16 | rport), then addresses. */
  private readonly established = new Map<number, TcpConnection[]>();
  private readonly listeners = new Map<number, TcpListener[]>();
  private readonly bound = new Map<number, PortOwner[]>();
  private readonly owners = new Map<TcpListener | TcpConnection, PortOwner>();
  private readonly perturb = new Map<number, number>();
  private readonly hashKey1: number;
  private readonly hashKey2: number;
  private readonly ehashKey: number;
  private readonly seqKey: number;
  private readonly tsKey: number;
  private readonly seg: Segment;
  private readonly rstHdr: L4Header = { src: 0, dst: 0, proto: IPPROTO_TCP, ttl: DEFAULT_TTL, tos: 0, df: true, id: 0 };

  constructor(readonly ip: Ipv4Sender) {
    this.rng = ip.rng.fork('tcp');
    this.hashKey1 = this.rng.u32();
    this.hashKey2 = this.rng.u32();
    this.ehashKey = this.rng.u32();
    this.seqKey = this.rng.u32();
    this.tsKey = this.rng.u32();
    this.seg = {
      bytes: new Uint8Array(0),
      off: 0,
      src: 0,
      dst: 0,
      sport: 0,
      dport: 0,
      seq: 0,
      ack: 0,
      flags: 0,
      window: 0,
      dataOff: 0,
      dataLen: 0,
      tos: 0,
      gso: 0,
      opts: newParsedOptions(),
    };
  }

  // ================================================================ socket calls

  /** bind + listen. Throws TcpError EADDRINUSE where Linux's inet_csk_get_port refuses. */
  listen(opts: ListenOptions, onAccept: (conn: TcpConnection) => void): TcpListener {
    const addr = opts.addr >>> 0;
    const port = opts.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TcpError('EINVAL', `bad port ${port}`);
    if (addr !== 0 && !this.ip.isLocal(addr)) throw new TcpError('EADDRNOTAVAIL', `address ${addr >>> 0} is not local`);
    const reuseport = opts.reuseport === true;
    const reuseaddr = opts.reuseaddr === true;
    if (this.bindConflict(port, addr, reuseaddr, reuseport, true)) {
      throw new TcpError('EADDRINUSE', `port ${port} is in use`);
    }
    const l = new TcpListener(this, addr, port, reuseport, reuseaddr, onAccept);
    let list = this.listeners.get(port);
    if (!list) this.listeners.set(port, (list = []));
    list.push(l);
    this.addOwner(port, { addr, reuseaddr, reuseport, listening: true, autobind: false, sock: l });
    return l;
  }

  /**
   * connect(2) (non-blocking): the SYN leaves now; `handlers.onConnect` or `onError` tell the outcome.
   * Throws EADDRINUSE for a taken explicit source port, EADDRNOTAVAIL when no port is free.
   */
  connect(opts: ConnectOptions, handlers: TcpHandlers): TcpConnection {
    const dst = opts.dst >>> 0;
    const dport = opts.dport;
    if (opts.src !== undefined && opts.src !== 0 && !this.ip.isLocal(opts.src >>> 0)) {
      throw new TcpError('EADDRNOTAVAIL', `address ${opts.src >>> 0} is not local`);
    }
    let src = opts.src !== undefined && opts.src !== 0 ? opts.src >>> 0 : this.ip.sourceFor(dst);
    const unroutable = src === 0;
    if (unroutable) src = 0;
    let sport: number;
    if (opts.sport !== undefined && opts.sport !== 0) {
      sport = opts.sport;
      if (this.bindConflict(sport, src, opts.reuseaddr === true, false, false) || this.lookupEstablished(src, sport, dst, dport)) {
        throw new TcpError('EADDRINUSE', `port ${sport} is in use`);
      }
    } else if (unroutable) {
      sport = 0;
    } else {
      sport = this.pickEphemeral(src, dst, dport);
    }
    const conn = new TcpConnection(this, src, sport, dst, dport, handlers);
    if (opts.ttl !== undefined) conn.hdr.ttl = opts.ttl;
    if (unroutable) {
      this.ip.engine.after(0, () => {
        handlers.onError?.('unreachable', conn);
        handlers.onClose?.(conn);
      });
      return conn;
    }
    this.hash(conn);
    this.addOwner(sport, { addr: src, reuseaddr: opts.reuseaddr === true, reuseport: false, listening: false, autobind: opts.sport === undefined || opts.sport === 0, sock: conn });
    if (!conn.startConnect(this.ip.mtuFor(dst))) {
      this.ip.engine.after(0, () => {
        if (conn.state === 'SYN_SENT') conn.abortWith('unreachable');
      });
    }
    return conn;
  }

  /** Sockets currently known (for tests and inspection). */
  connections(): TcpConnection[] {
    const out: TcpConnection[] = [];
    for (const list of this.established.values()) out.push(...list);
    return out;
  }

  // ================================================================ input (tcp_v4_rcv)

  /** tcp_v4_rcv. Takes the slot's reference. `rx` absent (a test rig without a stack): PACKET_HOST. */
  input(slot: number, l3rel: number, l4rel: number, l4len: number, rx?: RxInfo): void {
    const pool = this.ip.engine.pool;
    // TCP never takes link-layer or IP broadcasts (tcp_v4_rcv drops pkt_type != PACKET_HOST).
    if (rx !== undefined && rx.pktType !== PACKET_HOST) {
      pool.release(slot);
      return;
    }
    try {
      this.seg.gso = pool.gsoSize[slot]!;
      this.receive(pool.bytes, pool.base(slot), l3rel, l4rel, l4len);
    } finally {
      this.seg.gso = 0;
      pool.release(slot);
    }
  }

  private receive(b: Uint8Array, base: number, l3rel: number, l4rel: number, l4len: number): void {
    if (l4len < TCP_HEADER_LEN) return;
    const off = base + l4rel;
    const hlen = (b[off + TCP.DATA_OFFSET]! >>> 4) << 2;
    if (hlen < TCP_HEADER_LEN || hlen > l4len) return;
    const ipOff = base + l3rel;
    const src = getU32(b, ipOff + IPV4.SRC);
    const dst = getU32(b, ipOff + IPV4.DST);
    // A bad checksum is dropped; the offload placeholder of a locally built packet passes (CHECKSUM_PARTIAL).
    if (l4ChecksumStatus(b, off, l4len, src, dst, IPPROTO_TCP) === 'bad') return;
    const s = this.seg;
    s.bytes = b;
    s.off = off;
    s.src = src;
    s.dst = dst;
    s.sport = (b[off + TCP.SRC_PORT]! << 8) | b[off + TCP.SRC_PORT + 1]!;
    s.dport = (b[off + TCP.DST_PORT]! << 8) | b[off + TCP.DST_PORT + 1]!;
    s.seq = getU32(b, off + TCP.SEQ);
    s.ack = getU32(b, off + TCP.ACK);
    s.flags = b[off + TCP.FLAGS]! & 0x3f;
    s.window = (b[off + TCP.WINDOW]! << 8) | b[off + TCP.WINDOW + 1]!;
    s.dataOff = off + hlen;
    s.dataLen = l4len - hlen;
    parseOptions(b, off, s.opts);
    s.tos = b[ipOff + IPV4.TOS]!;

    const conn = this.lookupEstablished(dst, s.dport, src, s.sport);
    let isn = 0;
    if (conn) {
      isn = conn.input(s);
      // non-zero: a SYN that ended a TIME_WAIT goes on to the listener with this ISN
      if (isn === 0) return;
    }
    const l = this.lookupListener(dst, s.dport, src, s.sport);
    if (!l) {
      this.sendReset(s);
      return;
    }
    this.listenerInput(l, s, isn);
  }

  /** tcp_v4_do_rcv on a listener: a SYN makes a request sock; anything else with ACK is reset. */
  private listenerInput(l: TcpListener, s: Segment, isn: number): void {
    const f = s.flags;
    if (f & RST) return;
    if (f & ACK) {
      this.sendReset(s);
      return;
    }
    if (!(f & SYN)) return;
    const child = new TcpConnection(this, s.dst, l.port, s.src, s.sport, {});
    child.listener = l;
    this.hash(child);
    child.startPassive(s, this.ip.mtuFor(s.src), isn);
  }

  /**
   * tcp_v4_err: an ICMP error quoting one of our segments. A connection still in SYN_SENT is given
   * up at once (port unreachable → refused, the others → unreachable); a request sock is dropped
   * for net/host unreachable, time exceeded and parameter problems; established connections only
   * note a soft error (IP_RECVERR is off), which changes nothing on the wire — except
   * fragmentation-needed, which lowers the path MTU and re-sends what no longer fits.
   */
  err(e: IcmpErrorInfo): void {
    if (e.proto !== IPPROTO_TCP) return;
    const conn = this.lookupEstablished(e.src, e.sport, e.dst, e.dport);
    if (conn) conn.icmpError(e.type, e.code, e.info);
  }

  // ================================================================ TcpOwner

  accept(conn: TcpConnection): boolean {
    const l = conn.listener;
    conn.listener = null;
    if (!(l instanceof TcpListener) || l.closed) return false;
    this.addOwner(conn.lport, { addr: conn.laddr, reuseaddr: l.reuseaddr, reuseport: l.reuseport, listening: false, autobind: false, sock: conn });
    l.onAccept(conn);
    return true;
  }

  unhash(conn: TcpConnection): void {
    const key = conn.lport * 65536 + conn.rport;
    const list = this.established.get(key);
    if (list) {
      const i = list.indexOf(conn);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.established.delete(key);
    }
    this.removeOwner(conn);
  }

  isnFor(laddr: number, lport: number, raddr: number, rport: number): number {
    const h = mix(mix(mix(this.seqKey, laddr), raddr), (lport << 16) | rport);
    return (h + Math.floor(this.ip.engine.now / 64)) >>> 0;
  }

  tsOffsetFor(laddr: number, lport: number, raddr: number, rport: number): number {
    return mix(mix(mix(this.tsKey, laddr), raddr), (lport << 16) | rport);
  }

  /** tcp_v4_send_reset from the control socket: no options, window 0, IP id 0 with DF, TTL 64. */
  sendReset(s: Segment): void {
    if (s.flags & RST) return;
    let seq: number;
    let ack: number;
    let flags: number;
    if (s.flags & ACK) {
      seq = s.ack;
      ack = 0;
      flags = RST;
    } else {
      seq = 0;
      ack = seqAdd(s.seq, s.dataLen + (s.flags & SYN ? 1 : 0) + (s.flags & FIN ? 1 : 0));
      flags = RST | ACK;
    }
    const pool = this.ip.engine.pool;
    const slot = pool.alloc();
    const b = pool.bytes;
    const off = pool.base(slot) + L4_OFFSET;
    writeHeader(b, off, s.dport, s.sport, seq, ack, flags, 0, TCP_HEADER_LEN);
    fillTcpChecksum(b, off, TCP_HEADER_LEN, s.dst, s.src);
    pool.len[slot] = L4_OFFSET + TCP_HEADER_LEN;
    const h = this.rstHdr;
    h.src = s.dst;
    h.dst = s.src;
    h.tos = s.tos & 0xfc;
    this.ip.sendL4(slot, TCP_HEADER_LEN, h);
  }

  // ================================================================ tables

  unlisten(l: TcpListener): void {
    const list = this.listeners.get(l.port);
    if (list) {
      const i = list.indexOf(l);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.listeners.delete(l.port);
    }
    this.removeOwner(l);
    // request socks of this listener die with it
    for (const c of this.connections()) if (c.listener === l) c.abortWith(null);
  }

  private hash(conn: TcpConnection): void {
    const key = conn.lport * 65536 + conn.rport;
    let list = this.established.get(key);
    if (!list) this.established.set(key, (list = []));
    list.push(conn);
  }

  private lookupEstablished(laddr: number, lport: number, raddr: number, rport: number): TcpConnection | undefined {
    const list = this.established.get(lport * 65536 + rport);
    if (!list) return undefined;
    for (const c of list) if (c.raddr === raddr && c.laddr === laddr && c.state !== 'CLOSED') return c;
    return undefined;
  }

  /** __inet_lookup_listener: a listener bound to the address beats the wildcard; a SO_REUSEPORT
   *  group picks its member by a hash of the 4-tuple (reuseport_select_sock's reciprocal_scale). */
  private lookupListener(laddr: number, lport: number, raddr: number, rport: number): TcpListener | undefined {
    const list = this.listeners.get(lport);
    if (!list || list.length === 0) return undefined;
    let best: TcpListener[] = [];
    let bestScore = 0;
    for (const l of list) {
      let score: number;
      if (l.addr === laddr) score = 2;
      else if (l.addr === 0) score = 1;
      else continue;
      if (score > bestScore) {
        bestScore = score;
        best = [l];
      } else if (score === bestScore) {
        best.push(l);
      }
    }
    if (best.length === 0) return undefined;
    const first = best[0]!;
    if (!first.reuseport || best.length === 1) return first;
    const group = best.filter((l) => l.reuseport);
    const h = this.ehash(laddr, lport, raddr, rport);
    return group[Math.floor((h * group.length) / 0x100000000)]!;
  }

  /** inet_ehashfn: a keyed hash of the 4-tuple. */
  private ehash(laddr: number, lport: number, raddr: number, rport: number): number {
    let h = mix(this.ehashKey, laddr);
    h = mix(h, raddr);
    return mix(h, (lport << 16) | rport);
  }

  private addOwner(port: number, o: PortOwner): void {
    let list = this.bound.get(port);
    if (!list) this.bound.set(port, (list = []));
    list.push(o);
    this.owners.set(o.sock, o);
  }

  private removeOwner(sock: TcpListener | TcpConnection): void {
    const o = this.owners.get(sock);
    if (!o) return;
    this.owners.delete(sock);
    const port = sock instanceof TcpListener ? sock.port : sock.lport;
    const list = this.bound.get(port);
    if (!list) return;
    const i = list.indexOf(o);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.bound.delete(port);
  }

  /** inet_csk_bind_conflict: overlapping addresses conflict unless both sides allow sharing. */
  private bindConflict(port: number, addr: number, reuseaddr: boolean, reuseport: boolean, listening: boolean): boolean {
    const list = this.bound.get(port);
    if (!list) return false;
    for (const o of list) {
      if (addr !== 0 && o.addr !== 0 && addr !== o.addr) continue;
      if (reuseaddr && o.reuseaddr && !o.listening) continue;
      if (reuseport && o.reuseport) continue;
      return true;
    }
    return false;
  }

  /**
   * __inet_hash_connect: offset = (table_perturb[index] + high 32 bits of a keyed hash of
   * (saddr, daddr, dport)) % remaining, even ports first stepping by 2, then the odd ones; a port
   * is usable when only connect()-bound sockets hold it and the 4-tuple is free. The perturb entry
   * then advances by the ports skipped plus a little randomness (max(i, random(8) * 2) + 2).
   */
  private pickEphemeral(src: number, dst: number, dport: number): number {
    const low = EPHEMERAL_LOW;
    const high = EPHEMERAL_HIGH + 1;
    let remaining = high - low;
    if (remaining > 1) remaining &= ~1;
    const h1 = mix(mix(mix(this.hashKey1, src), dst), dport);
    const h2 = mix(mix(mix(this.hashKey2, src), dst), dport);
    const index = h1 & (PERTURB_SIZE - 1);
    let perturb = this.perturb.get(index);
    if (perturb === undefined) {
      perturb = this.rng.u32();
      this.perturb.set(index, perturb);
    }
    let offset = ((perturb + h2) >>> 0) % remaining;
    offset &= ~1;
    const step = 2;
    for (;;) {
      let port = low + offset;
      for (let i = 0; i < remaining; i += step, port += step) {
        if (port >= high) port -= remaining;
        if (!this.portUsableForConnect(port, src, dst, dport)) continue;
        const adv = Math.max(i, this.rng.below(8) * step) + step;
        this.perturb.set(index, (perturb + adv) >>> 0);
        return port;
      }
      offset++;
      if ((offset & 1) !== 0 && remaining > 1) continue;
      throw new TcpError('EADDRNOTAVAIL', 'no free ephemeral port');
    }
  }

  private portUsableForConnect(port: number, src: number, dst: number, dport: number): boolean {
    const list = this.bound.get(port);
    if (list) for (const o of list) if (!o.autobind) return false;
    return this.lookupEstablished(src, port, dst, dport) === undefined;
  }
}
