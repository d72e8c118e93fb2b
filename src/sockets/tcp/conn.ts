// One TCP connection as a Linux 6.x socket runs it. This file is the socket itself (struct tcp_sock:
// its state, owned in parts, and the calls the application and the demultiplexer make); the work is
// done where Linux does it:
//   input.ts       tcp_input.c  — SYN-SENT, tcp_rcv_state_process, tcp_validate_incoming, tcp_ack
//   input-data.ts  tcp_input.c  — tcp_data_queue, out-of-order queue, SACK blocks, tcp_fin,
//                                 tcp_event_data_recv, receive-buffer autotuning, __tcp_ack_snd_check
//   recovery.ts    tcp_recovery.c + tcp_input.c — SACK scoreboard, RACK, recovery, TLP's end
//   output.ts      tcp_output.c — tcp_write_xmit, tcp_transmit_skb, tcp_select_window, cwnd validation
//   timers.ts      tcp_timer.c  — RTO, tail loss probe, RACK reordering timer, delayed ACK
//   minisocks.ts   tcp_minisocks.c — the request sock's SYN-ACK timer, FIN_WAIT_2 and TIME_WAIT
//   state.ts · rtt.ts · cubic.ts — send and receive state, RttEstimator, CongestionControl + CUBIC
//
// What the real captures (fixtures/real-captures, Linux 6.18) show and this reproduces:
//   C→S  [S]  id X     win 64240 <mss 1460,sackOK,TS val a ecr 0,nop,wscale 10>
//   S→C  [S.] id 0     win 65160 <mss 1460,sackOK,TS val b ecr a,nop,wscale 10>  (request sock: DF, id 0)
//   C→S  [.]  id X+1   win 63        (quick: tcp_rcv_synsent_state_process acks at once)
//   C→S  [P.] id X+2   win 63 len n
//   S→C  [.]  id Y     win 64        (first data: quickack mode; Y random for the accepted child)
//   S→C  [P.] id Y+1   win 64 len m  (the reply within ato of the request: pingpong mode)
//   C→S  [.]  id X+3   win 63        (first data for the client: quickack)
//   C→S  [F.] id X+4
//   S→C  [F.] id Y+2                 (FIN in pingpong: ACK delayed, merged into the server's own FIN)
//   C→S  [.]  id X+5                 (FIN_WAIT_2 → TIME_WAIT, acked by the full socket)
// Window 63 / 64 are tcp_select_window's ALIGN(rcv_ssthresh, 1 << 10) >> 10 after tcp_init_buffer_space
// clamps window_clamp to 65536 - advmss, and the "never shrink" rule that keeps the server's 65160 → 64.

import type { Ipv4Sender, L4Header } from '../transport.js';
import type { Prng } from '../../sim/prng.js';
import type { TcpListener } from '../tcp.js';
import { Timer } from '../../sim/timer.js';
import { ACK, RST, SYN, TS_ALIGNED_LEN, seqAdd } from '../tcp-wire.js';
import { DEFAULT_TTL, IPPROTO_TCP, MS, TCP_MSS_DEFAULT, TCP_TIMEOUT_INIT, defaultRcvWscale, initialRcvWnd } from '../tcp-const.js';
import { Cubic, type CongestionControl } from './cubic.js';
import { RttEstimator } from './rtt.js';
import { AgreedOptions, DelayedAck, RackState, RecvState, SendState, TlpState, advmssFor, type Segment, type TxSeg } from './state.js';
import { rcvStateProcess, rcvSynSent } from './input.js';
import { flushToApp } from './input-data.js';
import { Backlog, holdIfOwned, ownForWrite } from './backlog.js';
import { mtuReduced, pushPending, queueFin, restartAfterIdle, sendSynAck, xmitControl, xmitSeg } from './output.js';
import { onDelackTimer, onRetransmitTimer } from './timers.js';
import { armFinWait2, onWaitTimer, rcvTimeWait } from './minisocks.js';

export type { Segment } from './state.js';

export type TcpState =
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSED';

/** Why a connection failed: ECONNREFUSED, ETIMEDOUT, ECONNRESET, ENETUNREACH. */
export type TcpErrorReason = 'refused' | 'timeout' | 'reset' | 'unreachable';

/** What the application hears from a connection. Every callback is optional. */
export interface TcpHandlers {
  onConnect?(conn: TcpConnection): void;
  /** In-order bytes (a copy the application may keep). */
  onData?(bytes: Uint8Array, conn: TcpConnection): void;
  /** The peer's FIN arrived (EOF after all data). */
  onPeerClose?(conn: TcpConnection): void;
  /** The connection is finished for the application (closed, TIME_WAIT entered, reset or failed). */
  onClose?(conn: TcpConnection): void;
  onError?(reason: TcpErrorReason, conn: TcpConnection): void;
  /** Acknowledged bytes left the send buffer (sk_write_space): a writer waiting for room may write
   *  again. Called from inside ACK processing: schedule the write, do not send from here. */
  onAcked?(conn: TcpConnection): void;
}

/** What a connection needs from the Tcp that owns it. */
export interface TcpOwner {
  readonly ip: Ipv4Sender;
  readonly rng: Prng;
  /** Take the connection out of the demux tables and its port's bind bucket. */
  unhash(conn: TcpConnection): void;
  /** A passive connection completed its handshake: queue it to the listener (false: listener gone). */
  accept(conn: TcpConnection): boolean;
  /** tcp_v4_send_reset: answer `seg` with a RST from the control socket. */
  sendReset(seg: Segment): void;
  /** secure_tcp_seq: the ISN for a 4-tuple (a keyed hash plus a clock ticking every 64 ns). */
  isnFor(laddr: number, lport: number, raddr: number, rport: number): number;
  /** The TS offset for a 4-tuple (keyed hash; Linux 6.18 derives it with the ISN). */
  tsOffsetFor(laddr: number, lport: number, raddr: number, rport: number): number;
  /** Whether sockets hand down GSO super-frames (tso.ts). Worlds built from a plan (every scenario)
   *  set it, as Linux does; the hand-built TCP rigs of test/sockets keep one segment per MSS. */
  readonly gso?: boolean;
}

/** What the retransmit timer is armed for: the RTO, a tail loss probe (ICSK_TIME_LOSS_PROBE) or
 *  RACK's reordering timeout (ICSK_TIME_REO_TIMEOUT). */
export type RtxMode = 'rto' | 'tlp' | 'reo';

export class TcpConnection {
  state: TcpState;
  readonly laddr: number;
  lport: number;
  readonly raddr: number;
  readonly rport: number;
  handlers: TcpHandlers;
  /** The listener a passive connection came from (until accepted). */
  listener: TcpListener | null = null;
  /** TCP_NODELAY: no Nagle hold-back of small segments. */
  noDelay = false;

  // The parts of the socket. The functions of input/output/timers/minisocks read and write them
  // (they are this connection's code, split by file as Linux splits it); nothing else should.
  readonly snd = new SendState();
  readonly rcv = new RecvState();
  readonly opt = new AgreedOptions();
  readonly rtt = new RttEstimator();
  readonly cc: CongestionControl = new Cubic();
  readonly delack: DelayedAck;
  readonly rack = new RackState();
  readonly tlp = new TlpState();

  // ---- retransmit timer state (icsk_retransmits, icsk_backoff, icsk_pending) ----
  backoff = 0;
  retransmits = 0;
  rtxMode: RtxMode = 'rto';
  readonly rtxTimer: Timer;
  /** TIME_WAIT, orphaned FIN_WAIT_2, and the request sock's SYN-ACK timer. */
  readonly waitTimer: Timer;

  /** IP id of the next segment (inet_id). A request sock and the TIME_WAIT ctl path send id 0. */
  ipId = 0;
  /** Sends go out as the control socket / request sock does: IP id 0. */
  idZero = false;
  /** The request sock's SYN-ACK retransmissions so far, and when the last left. */
  synackRetries = 0;
  synackSentAt = 0;
  /** Last out-of-window ACK sent (tcp_oow_rate_limited's per-socket stamp), -1 before any. */
  lastOowAck = -1;

  appClosed = false;
  /** shutdown(SHUT_WR) was called. */
  wrShut = false;
  private closeNotified = false;
  /** The IPv4 header fields of this connection's datagrams (id filled per segment). */
  readonly hdr: L4Header;

  /** The socket backlog while a writer owns the socket (backlog.ts). */
  readonly backlog = new Backlog();

  constructor(
    readonly owner: TcpOwner,
    laddr: number,
    lport: number,
    raddr: number,
    rport: number,
    handlers: TcpHandlers,
  ) {
    this.laddr = laddr;
    this.lport = lport;
    this.raddr = raddr;
    this.rport = rport;
    this.handlers = handlers;
    this.state = 'CLOSED';
    const engine = owner.ip.engine;
    this.rtxTimer = new Timer(engine, () => onRetransmitTimer(this));
    this.delack = new DelayedAck(new Timer(engine, () => onDelackTimer(this)));
    this.waitTimer = new Timer(engine, () => onWaitTimer(this));
    this.hdr = { src: laddr, dst: raddr, proto: IPPROTO_TCP, ttl: DEFAULT_TTL, tos: 0, df: true, id: 0 };
  }

  /** Queue bytes for sending (copied); they go out in MSS-sized segments, PSH on a write's last. */
  send(bytes: Uint8Array): void {
    if (this.appClosed || this.wrShut || !this.canSend()) throw new Error(`TCP send in state ${this.state}`);
    if (bytes.length === 0) return;
    if (this.snd.bufLen === 0 && this.state !== 'SYN_SENT' && this.state !== 'SYN_RECV') restartAfterIdle(this);
    this.snd.append(bytes);
    this.snd.writeSeq = seqAdd(this.snd.writeSeq, bytes.length);
    this.snd.pushEnds.push(this.snd.writeSeq);
    if (this.owner.gso === true && bytes.length > this.snd.mssCache) ownForWrite(this, bytes.length);
    if (this.state !== 'SYN_SENT' && this.state !== 'SYN_RECV') pushPending(this);
  }

  /** close(2): a FIN after the queued data (or nothing more to do), then the socket is orphaned. */
  close(): void {
    if (this.appClosed) return;
    this.appClosed = true;
    if (this.wrShut) {
      if (this.state === 'FIN_WAIT_2') armFinWait2(this);
      return;
    }
    switch (this.state) {
      case 'SYN_SENT':
        this.done(null);
        return;
      case 'ESTABLISHED':
        this.state = 'FIN_WAIT_1';
        queueFin(this);
        return;
      case 'CLOSE_WAIT':
        this.state = 'LAST_ACK';
        queueFin(this);
        return;
      case 'FIN_WAIT_2':
        armFinWait2(this);
        return;
      default:
        return;
    }
  }

  /** shutdown(SHUT_WR): a FIN after the queued data; the connection goes on receiving. */
  shutdown(): void {
    if (this.appClosed || this.wrShut) return;
    if (this.state === 'SYN_SENT') {
      this.close();
      return;
    }
    this.wrShut = true;
    if (this.state === 'ESTABLISHED') {
      this.state = 'FIN_WAIT_1';
      queueFin(this);
    } else if (this.state === 'CLOSE_WAIT') {
      this.state = 'LAST_ACK';
      queueFin(this);
    }
  }

  /** Abort with a RST (SO_LINGER 0 / tcp_disconnect). */
  abort(): void {
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    if (this.state !== 'SYN_SENT' && this.state !== 'SYN_RECV') xmitControl(this, this.snd.nxt, RST | ACK);
    this.appClosed = true;
    this.done(null);
  }

  /** tcp_v4_err for this connection (see Tcp.err). */
  icmpError(type: number, code: number, info = 0): void {
    const DEST_UNREACH = 3;
    const TIME_EXCEEDED = 11;
    const PARAMETERPROB = 12;
    const FRAG_NEEDED = 4;
    if (type === DEST_UNREACH && code === FRAG_NEEDED) {
      mtuReduced(this, info);
      return;
    }
    if (type !== DEST_UNREACH && type !== TIME_EXCEEDED && type !== PARAMETERPROB) return;
    if (type === DEST_UNREACH && code > 15) return;
    if (this.state === 'SYN_SENT') {
      this.fail(type === DEST_UNREACH && code === 3 ? 'refused' : 'unreachable');
    } else if (this.state === 'SYN_RECV') {
      if (type !== DEST_UNREACH || code === 0 || code === 1) this.done(null);
    }
  }

  /** End the connection without a word on the wire (route gone, listener closed). */
  abortWith(reason: TcpErrorReason | null): void {
    this.done(reason);
  }

  private canSend(): boolean {
    return this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT' || this.state === 'SYN_SENT' || this.state === 'SYN_RECV';
  }

  /** tcp_v4_connect + tcp_connect: choose ISN, TS offset, IP id; send the SYN. */
  startConnect(mtu: number): boolean {
    const rng = this.owner.rng;
    this.snd.iss = this.owner.isnFor(this.laddr, this.lport, this.raddr, this.rport);
    this.opt.tsOffset = this.owner.tsOffsetFor(this.laddr, this.lport, this.raddr, this.rport);
    this.ipId = rng.u32() & 0xffff;
    this.rcv.advmss = advmssFor(mtu);
    this.snd.pmtu = mtu;
    // tcp_connect_init → tcp_select_initial_window(tcp_full_space, advmss, ...)
    this.rcv.wscale = defaultRcvWscale();
    this.rcv.windowClamp = 65535 * 2 ** this.rcv.wscale;
    this.rcv.wnd = initialRcvWnd(Math.min(this.rcv.fullSpace(), this.rcv.windowClamp), this.rcv.advmss);
    this.rcv.ssthresh = this.rcv.wnd;
    this.snd.una = this.snd.iss;
    this.snd.nxt = this.snd.iss;
    this.snd.writeSeq = seqAdd(this.snd.iss, 1);
    this.snd.bufSeq = this.snd.writeSeq;
    this.rcv.wup = 0;
    this.state = 'SYN_SENT';
    this.opt.synOpts.mss = this.rcv.advmss;
    this.opt.synOpts.sack = true;
    this.opt.synOpts.ts = true;
    this.opt.synOpts.tsecr = 0;
    this.opt.synOpts.wscale = this.rcv.wscale;
    const seg: TxSeg = { seq: this.snd.iss, end: seqAdd(this.snd.iss, 1), flags: SYN, sentAt: this.now(), xmitAt: 0, xmitOrder: 0, retrans: false, lost: false, sacked: false };
    this.snd.rtx.push(seg);
    this.snd.nxt = seg.end;
    this.rtt.rto = TCP_TIMEOUT_INIT;
    const ok = xmitSeg(this, seg);
    this.rtxTimer.armAfter(this.rtt.rto);
    return ok;
  }

  /** tcp_conn_request + tcp_openreq_init_rwin: a request sock answering `seg`'s SYN with a SYN-ACK
   *  (`isn`: the one a TIME_WAIT predecessor dictates, else random). */
  startPassive(seg: Segment, mtu: number, isn = 0): void {
    const o = seg.opts;
    this.snd.iss = isn !== 0 ? isn : this.owner.isnFor(this.laddr, this.lport, this.raddr, this.rport);
    this.opt.tsOffset = this.owner.tsOffsetFor(this.laddr, this.lport, this.raddr, this.rport);
    this.rcv.irs = seg.seq;
    this.rcv.nxt = seqAdd(seg.seq, 1);
    this.rcv.wup = this.rcv.nxt;
    this.opt.tsOk = o.ts;
    this.opt.sackOk = o.sackOk;
    this.opt.wscaleOk = o.wscale >= 0;
    if (o.ts) {
      this.opt.tsRecent = o.tsval;
      this.opt.tsRecentSet = true;
    }
    this.snd.wscale = this.opt.wscaleOk ? o.wscale : 0;
    this.snd.peerMss = o.mss !== 0 ? o.mss : TCP_MSS_DEFAULT;
    this.rcv.advmss = advmssFor(mtu);
    this.snd.pmtu = mtu;
    this.rcv.wscale = this.opt.wscaleOk ? defaultRcvWscale() : 0;
    this.rcv.windowClamp = 65535 * 2 ** this.rcv.wscale;
    const mss = this.rcv.advmss - (this.opt.tsOk ? TS_ALIGNED_LEN : 0);
    this.rcv.wnd = initialRcvWnd(Math.min(this.rcv.fullSpace(), this.rcv.windowClamp), mss);
    this.rcv.ssthresh = this.rcv.wnd;
    this.snd.wnd = seg.window; // never scaled on a SYN
    this.snd.wl1 = seg.seq;
    this.snd.una = this.snd.iss;
    this.snd.nxt = seqAdd(this.snd.iss, 1);
    this.snd.writeSeq = this.snd.nxt;
    this.snd.bufSeq = this.snd.writeSeq;
    this.idZero = true;
    this.state = 'SYN_RECV';
    this.opt.synOpts.mss = this.rcv.advmss;
    this.opt.synOpts.sack = this.opt.sackOk;
    this.opt.synOpts.ts = this.opt.tsOk;
    this.opt.synOpts.wscale = this.opt.wscaleOk ? this.rcv.wscale : -1;
    sendSynAck(this);
    this.waitTimer.armAfter(TCP_TIMEOUT_INIT);
  }

  /**
   * A segment for this connection's 4-tuple (tcp_v4_do_rcv / tcp_timewait_state_process). The pool
   * slot stays the caller's. Returns 0, or — when `seg` was a SYN that ended this TIME_WAIT — the ISN
   * the new incarnation's SYN-ACK must use: the caller hands the SYN on to the listener with it
   * (tcp_v4_rcv's TCP_TW_SYN).
   */
  input(seg: Segment): number {
    if (holdIfOwned(this, seg)) return 0;
    switch (this.state) {
      case 'SYN_SENT':
        rcvSynSent(this, seg);
        break;
      case 'TIME_WAIT':
        return rcvTimeWait(this, seg);
      case 'CLOSED':
        return 0;
      default:
        rcvStateProcess(this, seg);
    }
    flushToApp(this);
    return 0;
  }

  /** @internal */
  fail(reason: TcpErrorReason): void {
    this.done(reason);
  }

  /** tcp_done: out of the tables, timers stopped, the application told once. */
  done(reason: TcpErrorReason | null): void {
    if (this.state === 'CLOSED') return;
    const wasSynRecv = this.state === 'SYN_RECV';
    this.state = 'CLOSED';
    this.rtxTimer.cancel();
    this.delack.timer.cancel();
    this.waitTimer.cancel();
    this.snd.rtx.length = 0;
    this.snd.nSacked = 0;
    this.snd.nLost = 0;
    this.owner.unhash(this);
    if (wasSynRecv) return; // never accepted: the application does not know it
    // an orphan (closed by the application) has nobody left to hear the error
    if (reason !== null && !this.appClosed) this.handlers.onError?.(reason, this);
    this.notifyClose();
  }

  notifyClose(): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.handlers.onClose?.(this);
  }

  now(): number {
    return this.owner.ip.engine.now;
  }

  /** TS clock: milliseconds plus the connection's random offset (tcp_time_stamp_ts + ts_off). */
  tsNow(): number {
    return (Math.floor(this.now() / MS) + this.opt.tsOffset) >>> 0;
  }

  get localAddress(): number {
    return this.laddr;
  }
  get localPort(): number {
    return this.lport;
  }
  get remoteAddress(): number {
    return this.raddr;
  }
  get remotePort(): number {
    return this.rport;
  }
  /** The RTO now (ns). */
  get currentRto(): number {
    return this.rtt.rto;
  }
  /** Smoothed RTT (ns), 0 before a sample. */
  get srtt(): number {
    return this.rtt.srttNs;
  }
}
