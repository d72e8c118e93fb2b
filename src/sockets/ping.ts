// What `ping -c COUNT -s SIZE -i INTERVAL DST` (iputils, as root: a raw ICMP socket) sends and how it
// matches the answers.
//
// Real capture nat-basic/ct.eth0.pcap, `ping -c 1 198.51.100.1`:
//   4500 0054 ae4e 4000 4001 ....               TOS 0, id hashed, DF (IP_PMTUDISC_WANT), TTL 64
//   0800 4d43 495e 0001                          echo request, id 0x495e (the process's), seq 1
//   e433046b 00000000 b2eb0700 00000000          struct timeval: tv_sec, tv_usec, 64-bit little-endian
//   1011 1213 … 3637                             byte i of the data is i & 0xff (after the timeval)
// Sequence numbers start at 1; one request per interval; a reply matches on the identifier (the
// socket's filter) and the sequence. Errors quoting one of our requests (host unreachable after ARP
// failed, TTL exceeded) are reported per sequence, as ping prints "From X icmp_seq=N Destination Host
// Unreachable".
//
// The sessions of a namespace are reached through one transport, PingSockets, registered for IP
// protocol 1 like UDP and TCP for theirs (src/sockets/inet.ts): icmp_rcv hands it echo replies
// (ping_rcv) and errors quoting an echo request (ping_err, identifier and sequence in the error's
// port fields), and it gives each to the sessions whose identifier matches.

import { ICMP, IcmpType, type IcmpErrorInfo } from '../wire/icmpv4.js';
import { IPV4, IpProto } from '../wire/ipv4.js';
import { fillIcmpChecksum } from '../wire/checksum.js';
import { parseIpv4 } from '../wire/addr.js';
import { L4_OFFSET, type Ipv4Stack, type RxInfo, type TransportProtocol } from './transport.js';

/** sizeof(struct timeval) on 64-bit Linux. */
const TIMEVAL_LEN = 16;

export interface PingOptions {
  dst: number | string;
  count?: number;
  intervalNs?: number;
  /** ICMP data bytes (ping -s), 56 by default. */
  size?: number;
  ttl?: number;
  /** Echo identifier; drawn from the host's random stream (a process id) when absent. */
  ident?: number;
  /** Wall-clock time at virtual time 0, for the timeval in the payload: seconds since the Unix epoch
   *  (microseconds as the fraction). */
  epochSec?: number;
  /** How long to wait for the last reply (ping's linger, 10 s by default). */
  lingerNs?: number;
}

export interface PingReply {
  seq: number;
  from: number;
  ttl: number;
  rttNs: number;
}

export interface PingError {
  seq: number;
  from: number;
  type: number;
  code: number;
}

const SEC = 1_000_000_000;

/** The ICMP echo sockets of one namespace (ping_rcv / ping_err), the transport for protocol 1. */
export class PingSockets implements TransportProtocol {
  private readonly sessions: Ping[] = [];

  constructor(readonly stack: Ipv4Stack) {}

  add(p: Ping): void {
    this.sessions.push(p);
  }

  remove(p: Ping): void {
    const i = this.sessions.indexOf(p);
    if (i >= 0) this.sessions.splice(i, 1);
  }

  /** ping_rcv: an echo reply (checksum verified by icmp_rcv). Takes the slot's reference. */
  input(slot: number, l3rel: number, l4rel: number, l4len: number, _rx: RxInfo): void {
    const pool = this.stack.engine.pool;
    const l3off = pool.base(slot) + l3rel;
    const l4off = pool.base(slot) + l4rel;
    const view = pool.view;
    const ident = view.getUint16(l4off + ICMP.IDENT);
    const seq = view.getUint16(l4off + ICMP.SEQ);
    const from = view.getUint32(l3off + IPV4.SRC);
    const ttl = view.getUint8(l3off + IPV4.TTL);
    pool.release(slot);
    for (const p of this.sessions.slice()) if (p.ident === ident) p.reply(seq, from, ttl);
  }

  /** ping_err: an ICMP error quoting one of the echo requests (sport: its identifier, dport: its sequence). */
  err(e: IcmpErrorInfo): void {
    for (const p of this.sessions.slice()) if (p.ident === e.sport && p.dst === e.dst) p.error(e);
  }
}

export class Ping {
  readonly dst: number;
  readonly ident: number;
  readonly count: number;
  readonly intervalNs: number;
  readonly size: number;
  readonly ttl: number;
  private readonly epochSec: number;
  private readonly lingerNs: number;
  transmitted = 0;
  readonly replies: PingReply[] = [];
  readonly errors: PingError[] = [];
  /** Requests that found no route (sendmsg failed: "connect: Network is unreachable"). */
  sendFailures = 0;
  done = false;
  onReply: ((r: PingReply) => void) | null = null;
  onDone: (() => void) | null = null;
  private readonly sentAt: number[] = [];
  private readonly socks: PingSockets;
  private readonly sendNext = (): void => this.transmit();
  private readonly finish = (): void => this.stop();

  constructor(
    private readonly host: Ipv4Stack,
    opts: PingOptions,
  ) {
    const socks = host.transport(IpProto.ICMP);
    if (!(socks instanceof PingSockets)) throw new Error(`${host.name}: no ICMP echo sockets registered (inetInit)`);
    this.socks = socks;
    this.dst = typeof opts.dst === 'string' ? parseIpv4(opts.dst) : opts.dst >>> 0;
    this.count = opts.count ?? 1;
    this.intervalNs = opts.intervalNs ?? SEC;
    this.size = opts.size ?? 56;
    this.ttl = opts.ttl ?? host.defaultTtl;
    this.ident = opts.ident ?? host.rng.below(32768) + 1;
    this.epochSec = opts.epochSec ?? 0;
    this.lingerNs = opts.lingerNs ?? 10 * SEC;
  }

  /** Begin: the first request now, the others `intervalNs` apart. */
  start(): void {
    this.socks.add(this);
    this.transmit();
  }

  stop(): void {
    if (this.done) return;
    this.done = true;
    this.socks.remove(this);
    if (this.onDone !== null) this.onDone();
  }

  get received(): number {
    return this.replies.length;
  }

  private transmit(): void {
    if (this.done) return;
    const host = this.host;
    const seq = ++this.transmitted;
    const pool = host.engine.pool;
    const slot = pool.alloc();
    const bytes = pool.bytes;
    const view = pool.view;
    const off = pool.base(slot) + L4_OFFSET;
    const len = ICMP.HEADER_LEN + this.size;
    view.setUint8(off + ICMP.TYPE, IcmpType.ECHO_REQUEST);
    view.setUint8(off + ICMP.CODE, 0);
    view.setUint16(off + ICMP.CHECKSUM, 0);
    view.setUint16(off + ICMP.IDENT, this.ident);
    view.setUint16(off + ICMP.SEQ, seq & 0xffff);
    const data = off + ICMP.HEADER_LEN;
    let i = 0;
    if (this.size >= TIMEVAL_LEN) {
      const now = host.engine.now;
      const whole = Math.floor(this.epochSec);
      let usec = Math.round((this.epochSec - whole) * 1e6) + Math.floor((now % SEC) / 1000);
      let sec = whole + Math.floor(now / SEC);
      if (usec >= 1_000_000) {
        sec += 1;
        usec -= 1_000_000;
      }
      view.setUint32(data, sec >>> 0, true);
      view.setUint32(data + 4, Math.floor(sec / 0x100000000), true);
      view.setUint32(data + 8, usec, true);
      view.setUint32(data + 12, 0, true);
      i = TIMEVAL_LEN;
    }
    for (; i < this.size; i++) bytes[data + i] = i & 0xff;
    fillIcmpChecksum(bytes, off, len);
    this.sentAt[seq] = host.engine.now;
    const src = host.sourceFor(this.dst);
    const ok = src !== 0 && host.sendL4(slot, len, {
      src, dst: this.dst, proto: IpProto.ICMP, ttl: this.ttl, tos: 0, df: true,
      id: host.nextIpId(this.dst, src, IpProto.ICMP),
    });
    if (src === 0) pool.release(slot);
    if (!ok) this.sendFailures++;
    if (this.transmitted < this.count) host.engine.after(this.intervalNs, this.sendNext);
    else host.engine.after(this.lingerNs, this.finish);
  }

  /** An echo reply with our identifier. */
  reply(seq: number, from: number, ttl: number): void {
    if (this.done) return;
    const at = this.sentAt[seq];
    if (at === undefined) return;
    const r: PingReply = { seq, from, ttl, rttNs: this.host.engine.now - at };
    this.replies.push(r);
    if (this.onReply !== null) this.onReply(r);
    if (this.replies.length >= this.count && this.transmitted >= this.count) this.stop();
  }

  /** An error quoting one of our requests. */
  error(e: IcmpErrorInfo): void {
    if (this.done) return;
    this.errors.push({ seq: e.dport, from: e.from, type: e.type, code: e.code });
  }
}
