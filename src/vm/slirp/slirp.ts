// A user-mode network stack as libslirp 4.7 (QEMU -netdev user, slirp4netns) is one: the guest's eth0
// is attached to it (SlirpTap), and everything the guest sends is terminated here and carried to the
// outside by ordinary sockets of the host namespace — a new TCP connection from the host's own stack,
// a host UDP socket, an ICMP datagram ("ping") socket — whose answers come back to the guest in
// packets that slirp builds itself.
//
// Matched against fixtures/real-captures/vm-nat (vg.tap0 guest side, vh.eth0 the host's sockets),
// field by field:
//   ARP     slirp answers requests for the gateway 10.0.2.2 and the DNS 10.0.2.3 (arp_input), with
//           MAC 52:55 + the requested IPv4 (52:55:0a:00:02:02) as Ethernet source and sender; the reply
//           is 64 bytes (arp_reply[MAX(ETH_HLEN + sizeof(arphdr), 64)], zero-filled: 22 bytes of
//           padding); target = the asker. Every frame slirp sends has source 52:55:0a:00:02:02
//           (if_encap: special_ethaddr + vhost_addr). The guest's MAC is learnt from its ARP; a packet
//           for a guest not yet known waits for a 42-byte ARP request from 10.0.2.2 (dropped after 1 s).
//   IP id   one counter for everything slirp sends, starting at 0 (ip_output: ip_id++): the echo
//           reply has id 0, the TCP segments 1..5, the UDP reply 6 in the capture.
//   ICMP    echo to 10.0.2.2/10.0.2.3 is answered at once (icmp_reflect); echo elsewhere goes out from
//           a host ICMP datagram socket (new socket, own echo id, same seq and data, the guest's TTL
//           via IP_TTL: 64 on vh.eth0, DF as Linux ping sockets set it) and the answer is reflected to
//           the guest: the guest's IP header with TTL 255 (MAXTTL), addresses swapped, DF kept from
//           the request (ip_output: ip_off &= IP_DF), TOS kept, the guest's echo id restored.
//   UDP     one host UDP socket per guest (address, port) (udp_input's lookup on so_laddr/so_lport),
//           unconnected, ephemeral port; the datagram leaves with TTL = guest TTL - 1 (63 on vh.eth0,
//           libslirp ≥ 4.5 decrements it) and Linux's own DF/id; the reply comes to the guest with TOS
//           = the guest's (so_iptos), TTL 64, no DF, slirp's id, a correct checksum, no padding (46 B).
//   TCP     see tcp.ts. The host side is ns.tcp.connect: the host's ephemeral port, the host's SYN
//           options and windows (vh.eth0: a brand-new connection, port 58378 vs the guest's 36454).
//           The SYN-ACK goes to the guest only once the host's connect completed (cont_conn).
//   loopback  connections to 10.0.2.2 go to the host's 127.0.0.1 (slirp4netns without
//           --disable-host-loopback); peers on the host's loopback appear to the guest as 10.0.2.2.
//   hostfwd TCP: a host listener; each accepted connection makes slirp connect into the guest from the
//           peer's address and port (tcp_connect: so_faddr = the peer; loopback → 10.0.2.2), SYN with
//           MSS only, window 65535. UDP: a bound host socket; the guest's answers go back through it.
// Not emulated: DNS on 10.0.2.3:53 (no resolver in the world: dropped), the BOOTP server (user-mode
// guests are planned with static addresses), guestfwd/exec, IPv6, IP options, fragments (dropped).
// Session expiry (UDP 240 s) is applied lazily at the next datagram, so it never extends a run.

import type { Engine } from '../../sim/engine.js';
import type { Host } from '../../stack/host.js';
import type { Tcp, TcpConnection } from '../../sockets/tcp.js';
import type { UdpSocket } from '../../sockets/udp.js';
import type { SlirpPlan } from '../../plan/plan.js';
import { NetDevice } from '../../devices/device.js';
import { ARP, ArpOp, arpIsEthernetIpv4 } from '../../wire/arp.js';
import { ETH, EtherType, writeEthernet } from '../../wire/ethernet.js';
import { IPV4, IpProto, Ipv4Flag, writeIpv4Header } from '../../wire/ipv4.js';
import { TCP, TcpFlag } from '../../wire/tcp.js';
import { UDP } from '../../wire/udp.js';
import { ICMP } from '../../wire/icmpv4.js';
import {
  fillIcmpChecksum,
  fillTcpChecksum,
  fillUdpChecksum,
  verifyIcmpChecksum,
  verifyIpv4Checksum,
  verifyTcpChecksum,
  verifyUdpChecksum,
} from '../../wire/checksum.js';
import { viewGetMac, viewSetMac } from '../../wire/bytes.js';
import { MAC_BROADCAST, parseCidr, parseIpv4, parseMac, prefixMask } from '../../wire/addr.js';
import { SlirpTcb, type HostSide, type SlirpSegment, type SlirpTcbOwner } from './tcp.js';

const ECHO_REPLY = 0;
const ECHO_REQUEST = 8;
const DEST_UNREACH = 3;
const MAXTTL = 255;
const IPDEFTTL = 64;
/** ICMP_MAXDATALEN (IP_MSS 576 - 28): how much of the offending datagram an error quotes. */
const ICMP_MAXDATALEN = 548;
const UDP_EXPIRE_NS = 240e9;
const ARP_EXPIRE_NS = 1e9;
const LOOPBACK = parseIpv4('127.0.0.1');

/** The guest end of the user-mode network: frames the guest transmits go to the slirp stack; what
 *  slirp sends arrives here as received frames. Both directions show in its capture (vg.eth0). */
/** libslirp's tcptos table (tcp_subr.c: {lport, fport, tos}): IPTOS_THROUGHPUT 0x08, IPTOS_LOWDELAY 0x10. */
const TCPTOS: readonly [lport: number, fport: number, tos: number][] = [
  [0, 20, 0x08], // ftp data
  [21, 21, 0x10], // ftp control
  [0, 23, 0x10], // telnet
  [0, 80, 0x08], // WWW
  [0, 513, 0x10], // rlogin
  [0, 544, 0x10], // kshell
  [0, 543, 0x10], // klogin
  [0, 6667, 0x08], // IRC
  [0, 6668, 0x08], // IRC undernet
  [0, 7070, 0x10], // RealAudio control
  [0, 113, 0x10], // identd
];

/** tcp_tos: the TOS of the first table row whose foreign port (outside end) or local port (guest end) matches; 0 if none. */
export function tcpTos(fport: number, lport: number): number {
  for (const [l, f, tos] of TCPTOS) if ((f !== 0 && fport === f) || (l !== 0 && lport === l)) return tos;
  return 0;
}

export class SlirpTap extends NetDevice {
  slirp: Slirp | null = null;
  private readonly toSlirp = (slot: number): void => {
    if (this.slirp !== null) this.slirp.input(slot);
    else this.engine.pool.release(slot);
  };

  protected xmit(slot: number): void {
    // slirp reads the tap in its own loop: the frame reaches it later in this instant.
    this.engine.after(0, this.toSlirp, slot);
  }
}

interface UdpSession {
  sock: UdpSocket;
  lastUse: number;
  tos: number;
  /** hostfwd sockets are never expired. */
  forward: boolean;
}

export interface SlirpHostSide {
  host: Host;
  tcp: Tcp;
}

export class Slirp implements SlirpTcbOwner {
  readonly engine: Engine;
  readonly net: number;
  readonly mask: number;
  readonly gw: number;
  readonly dns: number;
  readonly guest: number;
  readonly gwMac: number;
  /** ip_id of libslirp's ip_output. */
  ipId = 0;
  /** tcp_iss: the next connection's ISS is this plus TCP_ISSINCR/2 (64001 first, as captured). */
  private tcpIss = 1;
  private readonly arpTable = new Map<number, number>();
  /** Packets waiting for the guest's MAC: frames without the destination MAC yet, and their expiry. */
  private waiting: { slot: number; dst: number; until: number }[] = [];
  private readonly tcbs = new Map<string, SlirpTcb>();
  /** so_iptos of each connection: the TOS of every segment slirp's TCP sends to the guest. */
  private readonly iptos = new WeakMap<SlirpTcb, number>();
  private readonly udp = new Map<string, UdpSession>();
  readonly stats = { arpIn: 0, ipIn: 0, tcpConnections: 0, udpDatagrams: 0, pings: 0, dropped: 0 };

  constructor(
    readonly tap: SlirpTap,
    readonly plan: SlirpPlan,
    readonly outside: SlirpHostSide,
  ) {
    this.engine = tap.engine;
    const n = parseCidr(plan.network);
    this.net = n.addr;
    this.mask = prefixMask(n.len);
    this.gw = parseIpv4(plan.gateway);
    this.dns = parseIpv4(plan.dns);
    this.guest = parseIpv4(plan.guestAddr);
    this.gwMac = parseMac(plan.gatewayMac);
    tap.slirp = this;
    for (const f of plan.forwards) this.hostfwd(f.proto, f.hostAddr ?? '0.0.0.0', f.hostPort, f.guestPort);
  }

  private macFor(ip: number): number {
    return 0x525500000000 + (ip >>> 0);
  }

  // ---- input from the guest ------------------------------------------------------------------------

  input(slot: number): void {
    const pool = this.engine.pool;
    try {
      const len = pool.len[slot]!;
      if (len < ETH.HEADER_LEN) return;
      const base = pool.base(slot);
      const type = pool.view.getUint16(base + ETH.ETHERTYPE);
      if (type === EtherType.ARP) this.arpInput(base + ETH.HEADER_LEN, len - ETH.HEADER_LEN);
      else if (type === EtherType.IPV4) this.ipInput(slot, base + ETH.HEADER_LEN, len - ETH.HEADER_LEN);
    } finally {
      pool.release(slot);
    }
  }

  private arpInput(off: number, len: number): void {
    const view = this.engine.pool.view;
    this.stats.arpIn++;
    if (len < ARP.LEN || !arpIsEthernetIpv4(view, off)) return;
    const op = view.getUint16(off + ARP.OPER);
    const sha = viewGetMac(view, off + ARP.SHA);
    const sip = view.getUint32(off + ARP.SPA);
    const tip = view.getUint32(off + ARP.TPA);
    if (op === ArpOp.REQUEST) {
      if (tip === sip) {
        this.learn(sip, sha); // gratuitous ARP
        return;
      }
      if (((tip & this.mask) >>> 0) !== this.net || (tip !== this.gw && tip !== this.dns)) return;
      this.learn(sip, sha);
      const pool = this.engine.pool;
      const slot = pool.alloc();
      const v = pool.view;
      const b = pool.base(slot);
      pool.bytes.fill(0, b, b + 64);
      const mac = this.macFor(tip);
      writeEthernet(v, b, sha, mac, EtherType.ARP);
      const a = b + ETH.HEADER_LEN;
      v.setUint16(a + ARP.HTYPE, 1);
      v.setUint16(a + ARP.PTYPE, EtherType.IPV4);
      v.setUint8(a + ARP.HLEN, 6);
      v.setUint8(a + ARP.PLEN, 4);
      v.setUint16(a + ARP.OPER, ArpOp.REPLY);
      viewSetMac(v, a + ARP.SHA, mac);
      v.setUint32(a + ARP.SPA, tip);
      viewSetMac(v, a + ARP.THA, sha);
      v.setUint32(a + ARP.TPA, sip);
      pool.len[slot] = 64;
      this.toGuest(slot);
    } else if (op === ArpOp.REPLY) {
      this.learn(sip, sha);
    }
  }

  private learn(ip: number, mac: number): void {
    if (((ip & this.mask) >>> 0) !== this.net || ip === 0) return;
    this.arpTable.set(ip >>> 0, mac);
    if (this.waiting.length === 0) return;
    const now = this.engine.now;
    const still: typeof this.waiting = [];
    const pool = this.engine.pool;
    for (const w of this.waiting) {
      if (w.until < now) pool.release(w.slot);
      else if (w.dst === ip) {
        viewSetMac(pool.view, pool.base(w.slot) + ETH.DST, mac);
        this.toGuest(w.slot);
      } else still.push(w);
    }
    this.waiting = still;
  }

  private ipInput(slot: number, off: number, avail: number): void {
    const pool = this.engine.pool;
    const view = pool.view;
    if (avail < IPV4.HEADER_LEN) return;
    const vihl = view.getUint8(off);
    const hlen = (vihl & 0x0f) << 2;
    if (vihl >>> 4 !== 4 || hlen !== IPV4.HEADER_LEN || hlen > avail) return; // options: not handled
    if (!verifyIpv4Checksum(pool.bytes, off)) return;
    const tot = view.getUint16(off + IPV4.TOTAL_LEN);
    if (tot < hlen || tot > avail) return;
    if ((view.getUint16(off + IPV4.FLAGS_FRAG) & (Ipv4Flag.MF | Ipv4Flag.OFFSET_MASK)) !== 0) return;
    this.stats.ipIn++;
    const proto = view.getUint8(off + IPV4.PROTOCOL);
    const l4 = off + hlen;
    const l4len = tot - hlen;
    // The datagram as the guest sent it (the IP header and all): kept by ICMP, and quoted by errors.
    const dgram = pool.bytes.slice(off, off + tot);
    if (proto === IpProto.TCP) this.tcpInput(dgram, l4 - off, l4len);
    else if (proto === IpProto.UDP) this.udpInput(dgram, l4 - off, l4len);
    else if (proto === IpProto.ICMP) this.icmpInput(dgram, l4 - off, l4len);
    void slot;
  }

  /** Where a guest's destination really is on the host side (10.0.2.2 is the host's loopback). */
  private outsideAddr(dst: number): number | null {
    if (dst === this.gw) return LOOPBACK;
    if (((dst & this.mask) >>> 0) === this.net) return null;
    if (dst === 0xffffffff || dst >>> 28 === 0xe) return null;
    return dst;
  }

  /** A host-side peer as the guest sees it: the host's loopback becomes 10.0.2.2. */
  private insideAddr(a: number): number {
    return a >>> 24 === 127 || a === 0 ? this.gw : a;
  }

  // ---- ICMP -------------------------------------------------------------------------------------------

  private icmpInput(d: Uint8Array, l4: number, len: number): void {
    if (len < ICMP.HEADER_LEN || !verifyIcmpChecksum(d, l4, len)) return;
    if (d[l4 + ICMP.TYPE] !== ECHO_REQUEST) return;
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const dst = dv.getUint32(IPV4.DST);
    if (dst === this.gw || dst === this.dns) {
      this.icmpReflect(d, d.subarray(l4, l4 + len));
      return;
    }
    const out = this.outsideAddr(dst);
    if (out === null) return;
    this.stats.pings++;
    const host = this.outside.host;
    const ident = host.rng.below(65535) + 1; // the ping socket's port (ping_get_port)
    const guestIdent = dv.getUint16(l4 + ICMP.IDENT);
    const seq = dv.getUint16(l4 + ICMP.SEQ);
    const pool = this.engine.pool;
    const src = host.sourceFor(out);
    if (src === 0) {
      this.icmpSendError(d, DEST_UNREACH, 0);
      return;
    }
    const listener = (slot: number, l3rel: number, l4rel: number, l4len: number): void => {
      const p = this.engine.pool;
      const b = p.base(slot);
      const v = p.view;
      if (l4len < ICMP.HEADER_LEN || v.getUint8(b + l4rel + ICMP.TYPE) !== ECHO_REPLY) return;
      if (v.getUint32(b + l3rel + IPV4.SRC) !== out || v.getUint16(b + l4rel + ICMP.IDENT) !== ident) return;
      if (v.getUint16(b + l4rel + ICMP.SEQ) !== seq) return;
      host.removeIcmpListener(listener);
      const msg = p.bytes.slice(b + l4rel, b + l4rel + l4len);
      new DataView(msg.buffer).setUint16(ICMP.IDENT, guestIdent);
      this.icmpReflect(d, msg);
    };
    host.addIcmpListener(listener);
    const slot = pool.alloc();
    const o = pool.base(slot) + 34;
    pool.bytes.set(d.subarray(l4, l4 + len), o);
    pool.view.setUint16(o + ICMP.IDENT, ident);
    fillIcmpChecksum(pool.bytes, o, len);
    host.sendL4(slot, len, {
      src, dst: out, proto: IpProto.ICMP, ttl: dv.getUint8(IPV4.TTL), tos: 0, df: true,
      id: host.nextIpId(out, src, IpProto.ICMP),
    });
  }

  /** icmp_reflect: the request's IP header, addresses swapped, TTL 255, `msg` as an echo reply. */
  private icmpReflect(req: Uint8Array, msg: Uint8Array): void {
    const rv = new DataView(req.buffer, req.byteOffset, req.byteLength);
    const tos = rv.getUint8(IPV4.TOS);
    const df = (rv.getUint16(IPV4.FLAGS_FRAG) & Ipv4Flag.DF) !== 0;
    this.emitIp(IpProto.ICMP, tos, df, MAXTTL, rv.getUint32(IPV4.DST), rv.getUint32(IPV4.SRC), msg.length, (b, o) => {
      b.set(msg, o);
      b[o + ICMP.TYPE] = ECHO_REPLY;
      fillIcmpChecksum(b, o, msg.length);
    });
  }

  /** icmp_send_error (icmp_forward_error from 10.0.2.2): TOS (tos & 0x1e) | 0xc0, TTL 255, the
   *  offending datagram quoted up to ICMP_MAXDATALEN. */
  private icmpSendError(orig: Uint8Array, type: number, code: number): void {
    const ov = new DataView(orig.buffer, orig.byteOffset, orig.byteLength);
    if (ov.getUint8(IPV4.PROTOCOL) === IpProto.ICMP && orig[IPV4.HEADER_LEN] !== ECHO_REQUEST) return;
    const q = orig.subarray(0, Math.min(orig.length, ICMP_MAXDATALEN));
    const tos = (ov.getUint8(IPV4.TOS) & 0x1e) | 0xc0;
    const df = (ov.getUint16(IPV4.FLAGS_FRAG) & Ipv4Flag.DF) !== 0;
    const len = 8 + q.length;
    this.emitIp(IpProto.ICMP, tos, df, MAXTTL, this.gw, ov.getUint32(IPV4.SRC), len, (b, o) => {
      b.fill(0, o, o + 8);
      b[o] = type;
      b[o + 1] = code;
      b.set(q, o + 8);
      fillIcmpChecksum(b, o, len);
    });
  }

  // ---- UDP --------------------------------------------------------------------------------------------

  private udpInput(d: Uint8Array, l4: number, len: number): void {
    if (len < UDP.HEADER_LEN) return;
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const src = dv.getUint32(IPV4.SRC);
    const dst = dv.getUint32(IPV4.DST);
    const ulen = dv.getUint16(l4 + UDP.LENGTH);
    if (ulen < UDP.HEADER_LEN || ulen > len) return;
    if (!verifyUdpChecksum(d, l4, ulen, src, dst)) return;
    const sport = dv.getUint16(l4 + UDP.SRC_PORT);
    const dport = dv.getUint16(l4 + UDP.DST_PORT);
    const out = this.outsideAddr(dst);
    if (out === null) return; // DNS (10.0.2.3), BOOTP, broadcasts: not emulated
    const ttl = dv.getUint8(IPV4.TTL) - 1;
    if (ttl <= 0) return;
    const key = `${src}:${sport}`;
    const now = this.engine.now;
    let s = this.udp.get(key);
    if (s !== undefined && !s.forward && now - s.lastUse > UDP_EXPIRE_NS) {
      s.sock.close();
      this.udp.delete(key);
      s = undefined;
    }
    if (s === undefined) {
      const sock = this.outside.host.udp.bind({});
      const sess: UdpSession = { sock, lastUse: now, tos: 0, forward: false };
      sock.onDatagram = (data, from, fromPort) => this.udpToGuest(sess, data, from, fromPort, src, sport);
      this.udp.set(key, sess);
      s = sess;
    }
    s.lastUse = now;
    s.tos = dv.getUint8(IPV4.TOS);
    s.sock.ttl = ttl;
    this.stats.udpDatagrams++;
    s.sock.send(d.slice(l4 + UDP.HEADER_LEN, l4 + ulen), out, dport);
  }

  /** udp_output: a datagram from the outside to the guest. */
  private udpToGuest(s: UdpSession, data: Uint8Array, from: number, fromPort: number, gaddr: number, gport: number): void {
    s.lastUse = this.engine.now;
    const src = this.insideAddr(from);
    const len = UDP.HEADER_LEN + data.length;
    this.emitIp(IpProto.UDP, s.tos, false, IPDEFTTL, src, gaddr, len, (b, o) => {
      const v = new DataView(b.buffer, b.byteOffset + o, len);
      v.setUint16(UDP.SRC_PORT, fromPort);
      v.setUint16(UDP.DST_PORT, gport);
      v.setUint16(UDP.LENGTH, len);
      v.setUint16(UDP.CHECKSUM, 0);
      b.set(data, o + UDP.HEADER_LEN);
      fillUdpChecksum(b, o, len, src, gaddr);
    });
  }

  // ---- TCP --------------------------------------------------------------------------------------------

  private key(faddr: number, fport: number, laddr: number, lport: number): string {
    return `${faddr}:${fport}>${laddr}:${lport}`;
  }

  private tcpInput(d: Uint8Array, l4: number, len: number): void {
    if (len < TCP.HEADER_LEN) return;
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const src = dv.getUint32(IPV4.SRC);
    const dst = dv.getUint32(IPV4.DST);
    if (!verifyTcpChecksum(d, l4, len, src, dst)) return;
    const doff = (dv.getUint8(l4 + TCP.DATA_OFFSET) >>> 4) << 2;
    if (doff < TCP.HEADER_LEN || doff > len) return;
    const seg: SlirpSegment = {
      seq: dv.getUint32(l4 + TCP.SEQ),
      ack: dv.getUint32(l4 + TCP.ACK),
      flags: dv.getUint8(l4 + TCP.FLAGS),
      win: dv.getUint16(l4 + TCP.WINDOW),
      mss: 0,
      data: d.subarray(l4 + doff, l4 + len),
    };
    // tcp_dooptions: slirp reads MSS only.
    for (let i = l4 + TCP.HEADER_LEN; i < l4 + doff; ) {
      const kind = d[i]!;
      if (kind === 0) break;
      if (kind === 1) {
        i++;
        continue;
      }
      const olen = d[i + 1] ?? 0;
      if (olen < 2) break;
      if (kind === 2 && olen === 4) seg.mss = dv.getUint16(i + 2);
      i += olen;
    }
    const sport = dv.getUint16(l4 + TCP.SRC_PORT);
    const dport = dv.getUint16(l4 + TCP.DST_PORT);
    const tcb = this.tcbs.get(this.key(dst, dport, src, sport));
    if (tcb !== undefined) {
      tcb.input(seg);
      return;
    }
    const f = seg.flags;
    if ((f & TcpFlag.RST) !== 0) return;
    const out = this.outsideAddr(dst);
    if ((f & (TcpFlag.SYN | TcpFlag.ACK)) !== TcpFlag.SYN || out === null) {
      this.respondReset(dst, dport, src, sport, seg);
      return;
    }
    // A new connection: the host connects (non-blocking); the SYN-ACK waits for its outcome.
    this.stats.tcpConnections++;
    const t = new SlirpTcb(this, dst, dport, src, sport, this.nextIss(), 'CONNECTING');
    // tcp_input: so_iptos = tcp_tos(so), else the TOS of the guest's SYN.
    this.iptos.set(t, tcpTos(dport, sport) || dv.getUint8(IPV4.TOS));
    t.acceptSyn(seg);
    this.tcbs.set(this.key(dst, dport, src, sport), t);
    let conn: TcpConnection;
    try {
      conn = this.outside.tcp.connect({ dst: out, dport }, {
        onConnect: () => t.hostConnected(),
        onData: (bytes) => t.fromHost(bytes),
        onPeerClose: () => t.hostEof(),
        onError: (reason) => {
          if (t.state === 'CONNECTING') {
            this.forget(t);
            t.host = null;
            t.close();
            if (reason === 'unreachable') this.icmpSendError(d, DEST_UNREACH, 0);
            else this.respondReset(dst, dport, src, sport, seg);
          } else if (reason === 'reset') t.hostReset();
        },
      });
    } catch {
      // socket/connect failed at once (no free port): tcp_input's fconnect failure path.
      this.forget(t);
      t.close();
      this.respondReset(dst, dport, src, sport, seg);
      return;
    }
    t.host = hostSide(conn);
  }

  private nextIss(): number {
    this.tcpIss = (this.tcpIss + 64000) >>> 0;
    return this.tcpIss;
  }

  /** tcp_respond from dropwithreset: RST to an ACK, else RST|ACK acknowledging the segment. */
  private respondReset(faddr: number, fport: number, laddr: number, lport: number, seg: SlirpSegment): void {
    if ((seg.flags & TcpFlag.ACK) !== 0) {
      this.emitTcpRaw(faddr, fport, laddr, lport, TcpFlag.RST, seg.ack, 0, 0, 0, null);
      return;
    }
    let l = seg.data.length;
    if ((seg.flags & TcpFlag.SYN) !== 0) l++;
    if ((seg.flags & TcpFlag.FIN) !== 0) l++;
    this.emitTcpRaw(faddr, fport, laddr, lport, TcpFlag.RST | TcpFlag.ACK, 0, (seg.seq + l) >>> 0, 0, 0, null);
  }

  emitTcp(t: SlirpTcb, flags: number, seq: number, ack: number, win: number, mss: number, data: Uint8Array | null): void {
    this.emitTcpRaw(t.faddr, t.fport, t.laddr, t.lport, flags, seq, ack, win, mss, data, this.iptos.get(t) ?? 0);
  }

  private emitTcpRaw(faddr: number, fport: number, laddr: number, lport: number, flags: number, seq: number, ack: number, win: number, mss: number, data: Uint8Array | null, tos = 0): void {
    const hl = mss > 0 ? 24 : 20;
    const len = hl + (data?.length ?? 0);
    this.emitIp(IpProto.TCP, tos, false, IPDEFTTL, faddr, laddr, len, (b, o) => {
      const v = new DataView(b.buffer, b.byteOffset + o, len);
      v.setUint16(TCP.SRC_PORT, fport);
      v.setUint16(TCP.DST_PORT, lport);
      v.setUint32(TCP.SEQ, seq >>> 0);
      v.setUint32(TCP.ACK, (flags & TcpFlag.ACK) !== 0 ? ack >>> 0 : 0);
      v.setUint8(TCP.DATA_OFFSET, (hl >> 2) << 4);
      v.setUint8(TCP.FLAGS, flags);
      v.setUint16(TCP.WINDOW, win);
      v.setUint16(TCP.CHECKSUM, 0);
      v.setUint16(TCP.URGENT, 0);
      if (mss > 0) {
        v.setUint16(20, 0x0204);
        v.setUint16(22, mss);
      }
      if (data !== null) b.set(data, o + hl);
      fillTcpChecksum(b, o, len, faddr, laddr);
    });
  }

  forget(t: SlirpTcb): void {
    const k = this.key(t.faddr, t.fport, t.laddr, t.lport);
    if (this.tcbs.get(k) === t) this.tcbs.delete(k);
  }

  /** Live guest connections (tests, summary). */
  connections(): SlirpTcb[] {
    return [...this.tcbs.values()];
  }

  // ---- hostfwd ----------------------------------------------------------------------------------------

  private hostfwd(proto: 'tcp' | 'udp', hostAddr: string, hostPort: number, guestPort: number): void {
    const addr = parseIpv4(hostAddr);
    if (proto === 'udp') {
      const sock = this.outside.host.udp.bind({ addr, port: hostPort });
      const sess: UdpSession = { sock, lastUse: 0, tos: 0, forward: true };
      sock.onDatagram = (data, from, fromPort) => {
        // Replies from the guest must go back to this peer through this socket: the guest's answer
        // is looked up by (guest address, guest port) like any guest datagram.
        this.udp.set(`${this.guest}:${guestPort}`, sess);
        this.udpToGuest(sess, data, from, fromPort, this.guest, guestPort);
      };
      return;
    }
    this.outside.tcp.listen({ addr, port: hostPort }, (conn: TcpConnection) => {
      const faddr = this.insideAddr(conn.remoteAddress);
      const fport = conn.remotePort;
      const k = this.key(faddr, fport, this.guest, guestPort);
      if (this.tcbs.has(k)) {
        conn.abort();
        return;
      }
      this.stats.tcpConnections++;
      const t = new SlirpTcb(this, faddr, fport, this.guest, guestPort, this.nextIss(), 'SYN_SENT');
      this.iptos.set(t, tcpTos(fport, guestPort)); // tcp_connect: so_iptos = tcp_tos(so)
      this.tcbs.set(k, t);
      conn.handlers = {
        onData: (bytes) => t.fromHost(bytes),
        onPeerClose: () => t.hostEof(),
        onError: (reason) => {
          if (reason === 'reset') t.hostReset();
        },
      };
      t.attachHost(hostSide(conn));
      t.connect();
    });
  }

  // ---- output to the guest -----------------------------------------------------------------------------

  /** ip_output + if_encap: IPv4 header (slirp's id), Ethernet from 52:55:0a:00:02:02 to the guest. */
  private emitIp(proto: number, tos: number, df: boolean, ttl: number, src: number, dst: number, l4len: number, fill: (b: Uint8Array, off: number) => void): void {
    const pool = this.engine.pool;
    const slot = pool.alloc();
    const base = pool.base(slot);
    const id = this.ipId;
    this.ipId = (this.ipId + 1) & 0xffff;
    writeIpv4Header(pool.view, base + ETH.HEADER_LEN, tos, IPV4.HEADER_LEN + l4len, id, df, ttl, proto, src >>> 0, dst >>> 0);
    fill(pool.bytes, base + 34);
    pool.len[slot] = 34 + l4len;
    const mac = this.arpTable.get(dst >>> 0);
    writeEthernet(pool.view, base, mac ?? 0, this.gwMac, EtherType.IPV4);
    if (mac !== undefined) {
      this.toGuest(slot);
      return;
    }
    // if_encap: ask (once per packet) and keep the packet for up to a second.
    this.waiting.push({ slot, dst: dst >>> 0, until: this.engine.now + ARP_EXPIRE_NS });
    const r = pool.alloc();
    const v = pool.view;
    const b = pool.base(r);
    writeEthernet(v, b, MAC_BROADCAST, this.gwMac, EtherType.ARP);
    const a = b + ETH.HEADER_LEN;
    v.setUint16(a + ARP.HTYPE, 1);
    v.setUint16(a + ARP.PTYPE, EtherType.IPV4);
    v.setUint8(a + ARP.HLEN, 6);
    v.setUint8(a + ARP.PLEN, 4);
    v.setUint16(a + ARP.OPER, ArpOp.REQUEST);
    viewSetMac(v, a + ARP.SHA, this.gwMac);
    v.setUint32(a + ARP.SPA, this.gw);
    viewSetMac(v, a + ARP.THA, 0);
    v.setUint32(a + ARP.TPA, dst >>> 0);
    pool.len[r] = ETH.HEADER_LEN + ARP.LEN;
    this.toGuest(r);
  }

  private toGuest(slot: number): void {
    this.engine.after(0, this.tap.receiveEvent, slot);
  }
}

function hostSide(conn: TcpConnection): HostSide {
  return {
    send: (b) => {
      if (conn.state === 'ESTABLISHED' || conn.state === 'CLOSE_WAIT' || conn.state === 'SYN_SENT') conn.send(b);
    },
    shutdown: () => conn.shutdown(),
    close: () => conn.close(),
  };
}
