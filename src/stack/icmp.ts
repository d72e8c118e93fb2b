// ICMP of the host stack (net/ipv4/icmp.c): echo replies, and errors about datagrams we could not
// deliver or forward (icmp_send), with the field values a real Linux puts on the wire.
//
// Real capture, publish/dh.eth0.pcap — port unreachable for a UDP datagram to a closed port:
//   45c0 003c 4177 0000 4001 ....  c633640a c6336401        TOS 0xc0, id hashed, no DF, TTL 64
//   0303 bbd7 0000 0000                                       type 3 code 3, 4 unused bytes
//   4500 0020 b3c6 4000 4011 ...  (the whole offending datagram: 32 bytes)
// nat-basic/server.eth0.pcap — echo reply: TOS copied from the request (0), no DF, hashed id, TTL 64,
//   identifier, sequence and payload copied.
//
// icmp_send: no error about an ICMP error, a non-first fragment, a datagram that came as link-layer or
// IP broadcast/multicast, or from a zero/broadcast source. Source address: the offending datagram's
// destination if that was one of ours, else what routing back to its sender picks. TOS
// (tos & 0x1e) | 0xc0, TTL 64, no DF (the kernel's ICMP socket uses IP_PMTUDISC_DONT), and as much of
// the datagram as fits in 576 bytes (min with the route's MTU). The per-destination rate limit
// (icmp_ratelimit / icmp_ratemask) is kept; the global icmp_msgs_per_sec one is not.

import { ICMP, IcmpType as WireIcmpType, IcmpUnreachCode, isIcmpError, type IcmpErrorInfo } from '../wire/icmpv4.js';
import { IPV4, IpProto, Ipv4Flag, L4_OFFSET } from '../wire/ipv4.js';
import { fillIcmpChecksum, verifyIcmpChecksum } from '../wire/checksum.js';
import type { Host } from './host.js';
import { PACKET_HOST, type PacketType } from '../devices/device.js';

export const IcmpType = Object.freeze({
  ECHO_REPLY: WireIcmpType.ECHO_REPLY,
  DEST_UNREACH: WireIcmpType.DEST_UNREACHABLE,
  REDIRECT: WireIcmpType.REDIRECT,
  ECHO_REQUEST: WireIcmpType.ECHO_REQUEST,
  TIME_EXCEEDED: WireIcmpType.TIME_EXCEEDED,
  PARAMETER_PROBLEM: WireIcmpType.PARAMETER_PROBLEM,
});

export const IcmpCode = Object.freeze({
  NET_UNREACH: IcmpUnreachCode.NET,
  HOST_UNREACH: IcmpUnreachCode.HOST,
  PROT_UNREACH: IcmpUnreachCode.PROTOCOL,
  PORT_UNREACH: IcmpUnreachCode.PORT,
  FRAG_NEEDED: IcmpUnreachCode.FRAG_NEEDED,
  ADMIN_PROHIBITED: IcmpUnreachCode.ADMIN_PROHIBITED,
  TTL_EXCEEDED: 0,
  /** ICMP_REDIR_HOST */
  REDIR_HOST: 1,
});

/** IPTOS_PREC_INTERNETCONTROL */
const TOS_INTERNETCONTROL = 0xc0;
/** IPTOS_TOS_MASK (RT_TOS) */
const TOS_MASK = 0x1e;
/** RFC 1812 4.3.2.3: an error is at most 576 bytes long. */
const ERROR_MAX = 576;

export type { IcmpErrorInfo } from '../wire/icmpv4.js';

export class Icmp {
  /** net.ipv4.icmp_echo_ignore_broadcasts (1 by default). */
  echoIgnoreBroadcasts = true;
  /** net.ipv4.icmp_echo_ignore_all */
  echoIgnoreAll = false;
  /** Errors and replies sent, for the summary and tests. */
  readonly sent = { echoReplies: 0, errors: 0 };

  /** net.ipv4.icmp_ratelimit (1000 ms) and icmp_ratemask (0x1818: dest unreachable, source quench,
   *  time exceeded, parameter problem). */
  ratelimitNs = 1_000_000_000;
  ratemask = 0x1818;
  /** Errors not sent because of the rate limit. */
  rateLimited = 0;
  /** inet_peer rate state per destination: tokens (ns) and the time they were counted. */
  private readonly peers = new Map<number, { tokens: number; last: number }>();

  constructor(private readonly host: Host) {}

  /**
   * icmpv4_xrlim_allow → inet_peer_xrlim_allow: a token bucket per destination host, refilled with
   * elapsed time up to XRLIM_BURST_FACTOR (6) × icmp_ratelimit, each error costing icmp_ratelimit —
   * six at once, then one a second. Types outside icmp_ratemask, frag-needed, and errors to ourselves
   * (checked by the caller) are never limited.
   */
  private xrlimAllow(type: number, code: number, dst: number): boolean {
    if (type > 18 || (type === IcmpType.DEST_UNREACH && code === IcmpCode.FRAG_NEEDED)) return true;
    if (((1 << type) & this.ratemask) === 0) return true;
    const now = this.host.engine.now;
    const timeout = this.ratelimitNs;
    let p = this.peers.get(dst);
    // A new peer starts as if last counted 60 s ago: the burst is full.
    if (p === undefined) this.peers.set(dst, (p = { tokens: 0, last: now - 60_000_000_000 }));
    let token = p.tokens + (now - p.last);
    p.last = now;
    if (token > 6 * timeout) token = 6 * timeout;
    let ok = false;
    if (token >= timeout) {
      token -= timeout;
      ok = true;
    }
    p.tokens = token;
    if (!ok) this.rateLimited++;
    return ok;
  }

  /** icmp_rcv. Takes the slot's reference. Offsets are relative to the slot's first byte, as for every
   *  transport. `nonUnicast`: came as L2 or IP broadcast/multicast. Echo replies go to the ICMP echo
   *  sockets registered for protocol 1 (ping_rcv), errors to the err handler of the quoted protocol. */
  input(slot: number, l3rel: number, l4rel: number, l4len: number, nonUnicast: boolean): void {
    const pool = this.host.engine.pool;
    const l3off = pool.base(slot) + l3rel;
    const l4off = pool.base(slot) + l4rel;
    if (l4len < ICMP.HEADER_LEN || !verifyIcmpChecksum(pool.bytes, l4off, l4len)) {
      pool.release(slot);
      return;
    }
    const view = pool.view;
    const type = view.getUint8(l4off + ICMP.TYPE);
    if (type === IcmpType.ECHO_REQUEST) {
      if (!this.echoIgnoreAll && !(nonUnicast && this.echoIgnoreBroadcasts)) this.echoReply(slot, l3off, l4off, l4len);
    } else if (type === IcmpType.ECHO_REPLY) {
      const socks = this.host.transport(IpProto.ICMP);
      if (socks !== null) {
        socks.input(slot, l3rel, l4rel, l4len, this.host.rxInfo);
        return; // the slot's reference went with it
      }
    } else if (isIcmpError(type)) {
      this.errorInput(slot, l3off, l4off, l4len);
    }
    pool.release(slot);
  }

  /** icmp_echo → icmp_reply: the same message back with type 0, from the address it was sent to. */
  private echoReply(slot: number, l3off: number, l4off: number, l4len: number): void {
    const host = this.host;
    const pool = host.engine.pool;
    const out = pool.alloc(); // may grow the pool: read bytes and view after
    const bytes = pool.bytes;
    const view = pool.view;
    const ob = pool.base(out);
    if (l4len > 2048 - L4_OFFSET) {
      pool.release(out);
      return;
    }
    bytes.copyWithin(ob + L4_OFFSET, l4off, l4off + l4len);
    view.setUint8(ob + L4_OFFSET + ICMP.TYPE, IcmpType.ECHO_REPLY);
    view.setUint8(ob + L4_OFFSET + ICMP.CODE, 0);
    fillIcmpChecksum(bytes, ob + L4_OFFSET, l4len);
    const src = view.getUint32(l3off + IPV4.DST);
    const dst = view.getUint32(l3off + IPV4.SRC);
    const tos = view.getUint8(l3off + IPV4.TOS);
    this.sent.echoReplies++;
    host.sendL4(out, l4len, {
      src, dst, proto: IpProto.ICMP, ttl: host.defaultTtl, tos, df: false,
      id: host.nextIpId(dst, src, IpProto.ICMP),
    });
  }

  /** icmp_unreach & co: hand the error to the transport that sent the quoted datagram. */
  private errorInput(slot: number, l3off: number, l4off: number, l4len: number): void {
    const pool = this.host.engine.pool;
    const view = pool.view;
    if (l4len < ICMP.HEADER_LEN + IPV4.HEADER_LEN + 8) return;
    const q = l4off + ICMP.HEADER_LEN;
    const qhlen = (view.getUint8(q) & 0x0f) << 2;
    if (qhlen < IPV4.HEADER_LEN || l4len < ICMP.HEADER_LEN + qhlen + 8) return;
    const type = view.getUint8(l4off + ICMP.TYPE);
    const code = view.getUint8(l4off + ICMP.CODE);
    const proto = view.getUint8(q + IPV4.PROTOCOL);
    const ports = proto === IpProto.UDP || proto === IpProto.TCP;
    // An error about one of our echo requests carries its identifier and sequence where ports go.
    const echo = proto === IpProto.ICMP && view.getUint8(q + qhlen + ICMP.TYPE) === IcmpType.ECHO_REQUEST;
    const e: IcmpErrorInfo = {
      type,
      code,
      info: type === IcmpType.DEST_UNREACH && code === IcmpCode.FRAG_NEEDED ? view.getUint16(l4off + ICMP.MTU) : 0,
      from: view.getUint32(l3off + IPV4.SRC),
      src: view.getUint32(q + IPV4.SRC),
      dst: view.getUint32(q + IPV4.DST),
      proto,
      sport: ports ? view.getUint16(q + qhlen) : echo ? view.getUint16(q + qhlen + ICMP.IDENT) : 0,
      dport: ports ? view.getUint16(q + qhlen + 2) : echo ? view.getUint16(q + qhlen + ICMP.SEQ) : 0,
    };
    // icmp_redirect re-routes; icmp_socket_deliver hands every error (redirects too: udp_err and
    // tcp_v4_err only note them, ping prints them) to the quoted protocol's err_handler.
    if (type === IcmpType.REDIRECT && code <= 3) this.host.acceptRedirect(e.from, e.dst, view.getUint32(l4off + ICMP.REST));
    if (proto === IpProto.ICMP && !echo) return;
    this.host.transport(proto)?.err(e);
  }

  /**
   * icmp_send(skb_in, type, code, info): answer the datagram whose IPv4 header is `rel` bytes into
   * `slot` (the slot stays the caller's). `pkt` is how it arrived (PACKET_HOST for our own packets).
   */
  send(slot: number, rel: number, type: number, code: number, info: number, pkt: PacketType): void {
    const host = this.host;
    const pool = host.engine.pool;
    let view = pool.view;
    const off = pool.base(slot) + rel;
    if (pkt !== PACKET_HOST) return;
    const osrc = view.getUint32(off + IPV4.SRC);
    const odst = view.getUint32(off + IPV4.DST);
    if (host.isBroadcast(odst) || (odst >>> 28) === 0xe) return;
    if (osrc === 0 || osrc === 0xffffffff || (osrc >>> 28) === 0xe || host.isBroadcast(osrc)) return;
    if ((view.getUint16(off + IPV4.FLAGS_FRAG) & Ipv4Flag.OFFSET_MASK) !== 0) return;
    const ohlen = (view.getUint8(off) & 0x0f) << 2;
    const otot = view.getUint16(off + IPV4.TOTAL_LEN);
    if (view.getUint8(off + IPV4.PROTOCOL) === IpProto.ICMP) {
      // Never an error about an error (only queries may be answered with one).
      if (otot < ohlen + 1) return;
      const itype = view.getUint8(off + ohlen);
      if (isIcmpError(itype) || itype > 18) return;
    }
    const saddr = host.isLocal(odst) ? odst : host.sourceFor(osrc);
    if (saddr === 0) return;
    const rt = host.routeOutput(osrc);
    if (rt === null) return;
    if (rt.kind !== 'local' && !this.xrlimAllow(type, code, osrc)) return;
    const mtu = host.mtuFor(osrc) || 1500;
    const room = Math.min(ERROR_MAX, mtu) - IPV4.HEADER_LEN - ICMP.HEADER_LEN;
    const avail = pool.len[slot]! - rel;
    const dataLen = Math.min(otot, room, avail);
    const tos = (view.getUint8(off + IPV4.TOS) & TOS_MASK) | TOS_INTERNETCONTROL;

    const out = pool.alloc();
    const bytes = pool.bytes;
    view = pool.view;
    const ob = pool.base(out) + L4_OFFSET;
    view.setUint8(ob + ICMP.TYPE, type);
    view.setUint8(ob + ICMP.CODE, code);
    view.setUint16(ob + ICMP.CHECKSUM, 0);
    if (type === IcmpType.DEST_UNREACH && code === IcmpCode.FRAG_NEEDED) {
      view.setUint16(ob + ICMP.REST, 0);
      view.setUint16(ob + ICMP.MTU, info);
    } else if (type === IcmpType.PARAMETER_PROBLEM) {
      view.setUint32(ob + ICMP.REST, (info << 24) >>> 0);
    } else {
      view.setUint32(ob + ICMP.REST, info >>> 0);
    }
    const from = pool.base(slot) + rel;
    bytes.copyWithin(ob + ICMP.HEADER_LEN, from, from + dataLen);
    const l4len = ICMP.HEADER_LEN + dataLen;
    fillIcmpChecksum(bytes, ob, l4len);
    this.sent.errors++;
    host.sendL4(out, l4len, {
      src: saddr, dst: osrc, proto: IpProto.ICMP, ttl: host.defaultTtl, tos, df: false,
      id: host.nextIpId(osrc, saddr, IpProto.ICMP),
    });
  }
}

