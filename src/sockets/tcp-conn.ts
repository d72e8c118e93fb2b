// One TCP connection as a Linux 6.x socket runs it: net/ipv4/tcp_input.c (tcp_rcv_state_process,
// tcp_rcv_synsent_state_process, tcp_validate_incoming, tcp_ack, tcp_data_queue, tcp_event_data_recv,
// __tcp_ack_snd_check), tcp_output.c (tcp_select_window, tcp_write_xmit, tcp_send_fin,
// tcp_send_delayed_ack), tcp_timer.c (tcp_retransmit_timer, tcp_write_timeout, tcp_delack_timer),
// tcp_minisocks.c (request socks, TIME_WAIT).
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

import type { Ipv4Sender, L4Header } from './transport.js';
import { L4_OFFSET } from './transport.js';
import type { Prng } from '../sim/prng.js';
import type { TcpListener } from './tcp.js';
import { Timer } from '../sim/timer.js';
import { SLOT_SIZE } from '../sim/pool.js';
import { fillTcpChecksum } from '../wire/checksum.js';
import { TCP } from '../wire/tcp.js';
import {
  ACK,
  FIN,
  PSH,
  RST,
  SYN,
  TCP_HEADER_LEN,
  TS_ALIGNED_LEN,
  type ParsedOptions,
  type SynOptions,
  seqAdd,
  seqDiff,
  seqGe,
  seqGt,
  seqLe,
  seqLt,
  synOptionsLen,
  writeHeader,
  writeSackOption,
  writeSynOptions,
  writeTsOption,
} from './tcp-wire.js';
import {
  DEFAULT_TTL,
  IPPROTO_TCP,
  MS,
  TCP_APP_WIN,
  TCP_ATO_MIN,
  TCP_DEFAULT_SCALING_RATIO,
  TCP_DELACK_MAX,
  TCP_DELACK_MIN,
  TCP_FIN_TIMEOUT,
  TCP_INIT_CWND,
  TCP_INVALID_RATELIMIT,
  TCP_MAX_QUICKACKS,
  TCP_MIN_MSS,
  TCP_MSS_DEFAULT,
  TCP_RETRIES2,
  TCP_RMEM_DEFAULT,
  TCP_RMEM_MAX,
  TCP_RMEM_TO_WIN_SCALE,
  TCP_RTO_MAX,
  TCP_RTO_MIN,
  TCP_SYN_LINEAR_TIMEOUTS,
  TCP_SYN_RETRIES,
  TCP_SYNACK_RETRIES,
  TCP_TIMEOUT_FALLBACK,
  TCP_TIMEOUT_INIT,
  TCP_TIMEWAIT_LEN,
  defaultRcvWscale,
  ilog2,
  initialRcvWnd,
  winFromSpace,
} from './tcp-const.js';

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

/** An incoming segment as the demultiplexer parsed it (one object reused for every segment). */
export interface Segment {
  bytes: Uint8Array;
  /** Absolute offset of the TCP header in `bytes`. */
  off: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** Absolute offset and length of the payload. */
  dataOff: number;
  dataLen: number;
  /** The IPv4 TOS byte it came with. */
  tos: number;
  opts: ParsedOptions;
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
}

/** A sent, not yet acknowledged segment (an skb of the retransmit queue). */
interface TxSeg {
  seq: number;
  /** seq + data length + SYN + FIN. */
  end: number;
  flags: number;
  /** First transmission time (for RTT samples, Karn's rule via `retrans`). */
  sentAt: number;
  /** Latest transmission time (tcp_skb_timestamp: where the RTO counts from). */
  xmitAt: number;
  /** Order of that transmission on this connection: what "sent after" means for RACK when many
   *  segments leave in the same virtual instant (Linux's µs stamps order them). */
  xmitOrder: number;
  retrans: boolean;
  lost: boolean;
  /** Selectively acknowledged (the SACK scoreboard). */
  sacked: boolean;
}

const NOT_SET = -1;

/** ipv4_default_advmss: MTU - 40, at most IPV4_MAX_PMTU - 40 (65495 on lo's 65536); a route
 *  without a device (MTU 0) counts as 1500. */
function advmssFor(mtu: number): number {
  return Math.min((mtu > 0 ? mtu : 1500) - 40, 65535 - 40);
}

/** Segments must fit a pool slot: on loopback (MTU 65536) Linux sends 64 KB segments, the emulator
 *  cuts them to what a 2048-byte slot holds after the Ethernet, IPv4 and largest TCP headers. */
function slotMss(mss: number): number {
  return Math.min(mss, SLOT_SIZE - L4_OFFSET - TCP.MAX_HEADER_LEN);
}

/** A model of a received skb's truesize: sk_buff + data rounded to the cache line + shared info. */
function skbTruesize(len: number): number {
  return 256 + (((len + 66 + 64 + 63) >>> 6) << 6) + 320;
}

/** tcp_model_timeout: how long tcp_retries2 exponential retransmissions take from `rtoBase`. */
function modelTimeout(boundary: number, rtoBase: number): number {
  const linearBackoffThresh = ilog2(Math.floor(TCP_RTO_MAX / rtoBase));
  if (boundary <= linearBackoffThresh) return ((2 << boundary) - 1) * rtoBase;
  return ((2 << linearBackoffThresh) - 1) * rtoBase + (boundary - linearBackoffThresh) * TCP_RTO_MAX;
}

export class TcpConnection {
  state: TcpState;
  readonly laddr: number;
  lport: number;
  readonly raddr: number;
  readonly rport: number;
  handlers: TcpHandlers;
  /** The listener a passive connection came from (until accepted). */
  listener: TcpListener | null = null;

  // ---- send side (snd_*) ----
  private iss = 0;
  private sndUna = 0;
  private sndNxt = 0;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWscale = 0;
  private maxWindow = 0;
  /** Bytes written by the application from sndBufSeq on (acked bytes are dropped from the front). */
  private sndBuf = new Uint8Array(0);
  private sndBufStart = 0;
  private sndBufLen = 0;
  private sndBufSeq = 0;
  /** Sequence right after the last byte written (write_seq). */
  private writeSeq = 0;
  /** Ends of application writes not yet sent: the segment reaching one carries PSH. */
  private pushEnds: number[] = [];
  private rtx: TxSeg[] = [];
  /** Segments of `rtx` SACKed, and marked lost but not yet retransmitted (sacked_out, lost_out). */
  private nSacked = 0;
  private nLost = 0;
  private finQueued = false;
  private finSeq = 0;
  private finSent = false;
  /** mss_cache: payload bytes per segment (peer MSS and our MTU, minus the TS option). */
  private mssCache = TCP_MSS_DEFAULT;
  /** Path MTU (the route's MTU until an ICMP frag-needed lowers it). */
  private pmtu = 1500;
  /** Nagle (Minshall): end of the last small segment sent. */
  private sndSml = 0;
  private cwnd = TCP_INIT_CWND;
  private ssthresh = 0x7fffffff;
  private cwndCnt = 0;
  private dupAcks = 0;
  private recoveryHigh = NOT_SET;
  private inRecovery = false;
  /** Fast retransmit's recovery (cwnd held at ssthresh) as opposed to RTO loss recovery. */
  private fastRecovery = false;

  // ---- RTT / RTO (tcp_rtt_estimator, microseconds as Linux keeps them) ----
  private srttUs = 0;
  private mdevUs = 0;
  private mdevMaxUs = 0;
  private rttvarUs = 0;
  private rttSeq = 0;
  /** icsk_rto in ns. */
  rto = TCP_TIMEOUT_INIT;
  private backoff = 0;
  private retransmits = 0;
  private retransStamp = 0;

  // ---- receive side (rcv_*) ----
  private irs = 0;
  private rcvNxt = 0;
  private rcvWnd = 0;
  private rcvWup = 0;
  private rcvWscale = 0;
  private rcvSsthresh = 0;
  private windowClamp = 0;
  private rcvbuf = TCP_RMEM_DEFAULT;
  private scalingRatio = TCP_DEFAULT_SCALING_RATIO;
  private advmss = 1460;
  private rcvMss = TCP_MSS_DEFAULT;
  private lastSegSize = 0;
  /** Bytes of received segments not yet handed to the application (sk_rmem_alloc, as truesize). */
  private rmemAlloc = 0;
  /** Receive-buffer autotuning (rcvq_space, rcv_rtt_est): bytes read per receiver RTT. */
  private rcvqSpace = 0;
  private rcvqSeq = 0;
  private rcvqTime = 0;
  private rcvRttUs = 0;
  private rcvRttLastTsecr = 0;
  private copiedSeq = 0;
  /** Out-of-order data: [seq, bytes] sorted by seq. */
  private ofo: { seq: number; data: Uint8Array; fin: boolean }[] = [];
  private sackEdges: number[] = [];
  private dsackStart = 0;
  private dsackEnd = 0;
  private dsack = false;
  private finReceived = false;

  // ---- options agreed ----
  private tsOk = false;
  private sackOk = false;
  private wscaleOk = false;
  private tsOffset = 0;
  private tsRecent = 0;
  private tsRecentSet = false;
  private peerMss = TCP_MSS_DEFAULT;
  private synOpts: SynOptions = { mss: 0, sack: false, ts: false, tsval: 0, tsecr: 0, wscale: -1 };

  // ---- delayed ACK engine (icsk_ack) ----
  private quick = 0;
  private pingpong = 0;
  private ato = 0;
  private lrcvtime = 0;
  private ackScheduled = false;
  private ackPushed = false;
  private ackPushed2 = false;

  /** IP id of the next segment (inet_id). A request sock and the TIME_WAIT ctl path send id 0. */
  private ipId = 0;
  /** Sends go out as the control socket / request sock does: IP id 0. */
  private idZero = false;
  private synackRetries = 0;
  private synackSentAt = 0;

  private appClosed = false;
  /** shutdown(SHUT_WR) was called. */
  private wrShut = false;
  private closeNotified = false;
  private delivered: Uint8Array[] = [];
  private peerClosePending = false;

  /** What the retransmit timer is armed for: the RTO or a tail loss probe (ICSK_TIME_LOSS_PROBE). */
  private rtxMode: 'rto' | 'tlp' | 'reo' = 'rto';
  /** RACK (RFC 8985): transmit time and end of the most recently sent segment known delivered. */
  private rackXmit = -1;
  private rackOrder = -1;
  private txCount = 0;
  private rackRttNs = 0;
  private minRttUs = 0;
  /** TLP state: one probe per tail-loss episode, until snd_nxt at the probe is acknowledged. */
  private tlpActive = false;
  private tlpHighSeq = 0;
  private tlpRetrans = false;
  private readonly rtxTimer: Timer;
  private readonly delackTimer: Timer;
  /** TIME_WAIT, orphaned FIN_WAIT_2, and the request sock's SYN-ACK timer. */
  private readonly waitTimer: Timer;
  private readonly hdr: L4Header;

  constructor(
    private readonly owner: TcpOwner,
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
    this.rtxTimer = new Timer(engine, () => this.onRetransmitTimer());
    this.delackTimer = new Timer(engine, () => this.onDelackTimer());
    this.waitTimer = new Timer(engine, () => this.onWaitTimer());
    this.hdr = { src: laddr, dst: raddr, proto: IPPROTO_TCP, ttl: DEFAULT_TTL, tos: 0, df: true, id: 0 };
  }

  // ================================================================ application side

  /** Queue bytes for sending (copied); they go out in MSS-sized segments, PSH on a write's last. */
  send(bytes: Uint8Array): void {
    if (this.appClosed || this.wrShut || !this.canSend()) throw new Error(`TCP send in state ${this.state}`);
    if (bytes.length === 0) return;
    if (this.sndBufLen === 0 && this.state !== 'SYN_SENT' && this.state !== 'SYN_RECV') this.restartAfterIdle();
    this.appendSndBuf(bytes);
    this.writeSeq = seqAdd(this.writeSeq, bytes.length);
    this.pushEnds.push(this.writeSeq);
    if (this.state !== 'SYN_SENT' && this.state !== 'SYN_RECV') this.pushPending();
  }

  /** Bytes written and not yet acknowledged (the data part of sk_wmem_queued): what a writer compares
   *  with its send buffer before writing more. */
  get queuedBytes(): number {
    return this.sndBufLen;
  }

  /** close(2): a FIN after the queued data (or nothing more to do), then the socket is orphaned. */
  close(): void {
    if (this.appClosed) return;
    this.appClosed = true;
    if (this.wrShut) {
      if (this.state === 'FIN_WAIT_2') this.armFinWait2();
      return;
    }
    switch (this.state) {
      case 'SYN_SENT':
        this.done(null);
        return;
      case 'ESTABLISHED':
        this.state = 'FIN_WAIT_1';
        this.queueFin();
        return;
      case 'CLOSE_WAIT':
        this.state = 'LAST_ACK';
        this.queueFin();
        return;
      case 'FIN_WAIT_2':
        this.armFinWait2();
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
      this.queueFin();
    } else if (this.state === 'CLOSE_WAIT') {
      this.state = 'LAST_ACK';
      this.queueFin();
    }
  }

  /** TCP_NODELAY: no Nagle hold-back of small segments. */
  noDelay = false;

  /** Abort with a RST (SO_LINGER 0 / tcp_disconnect). */
  abort(): void {
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    if (this.state !== 'SYN_SENT' && this.state !== 'SYN_RECV') this.xmitControl(this.sndNxt, RST | ACK);
    this.appClosed = true;
    this.done(null);
  }

  /** tcp_v4_err for this connection (see Tcp.icmpError). */
  icmpError(type: number, code: number, info = 0): void {
    const DEST_UNREACH = 3;
    const TIME_EXCEEDED = 11;
    const PARAMETERPROB = 12;
    const FRAG_NEEDED = 4;
    if (type === DEST_UNREACH && code === FRAG_NEEDED) {
      this.mtuReduced(info);
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

  /**
   * tcp_v4_mtu_reduced: a router said our DF segment was too big. The path MTU drops (not below
   * ip_rt_min_pmtu, 552), mss_cache follows (tcp_sync_mss), and tcp_simple_retransmit re-sends
   * at once every outstanding segment that no longer fits, cut to the new size.
   */
  private mtuReduced(mtu: number): void {
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT' || this.state === 'SYN_RECV') return;
    const pmtu = Math.max(mtu, 552);
    if (mtu === 0 || pmtu >= this.pmtu) return;
    this.pmtu = pmtu;
    if (this.state === 'SYN_SENT') return;
    this.mssCache = slotMss(Math.min(this.peerMss, pmtu - 40) - (this.tsOk ? TS_ALIGNED_LEN : 0));
    let lost = 0;
    for (const s of this.rtx) {
      const len = seqDiff(s.end, s.seq) - (s.flags & FIN ? 1 : 0);
      if (len > this.mssCache && !s.lost && !s.sacked) {
        s.lost = true;
        this.nLost++;
        lost++;
      }
    }
    if (lost === 0) return;
    if (!this.inRecovery) {
      this.inRecovery = true;
      this.fastRecovery = false;
      this.recoveryHigh = this.sndNxt;
    }
    this.pushPending();
  }

  /** End the connection without a word on the wire (route gone, listener closed). */
  abortWith(reason: TcpErrorReason | null): void {
    this.done(reason);
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
    return this.rto;
  }
  /** Smoothed RTT (ns), 0 before a sample. */
  get srtt(): number {
    return (this.srttUs / 8) * 1000;
  }

  private canSend(): boolean {
    return this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT' || this.state === 'SYN_SENT' || this.state === 'SYN_RECV';
  }

  private appendSndBuf(bytes: Uint8Array): void {
    const need = this.sndBufStart + this.sndBufLen + bytes.length;
    if (need > this.sndBuf.length) {
      const live = this.sndBufLen + bytes.length;
      const buf = live <= this.sndBuf.length ? this.sndBuf : new Uint8Array(Math.max(live, this.sndBuf.length * 2, 4096));
      buf.copyWithin(0, this.sndBufStart, this.sndBufStart + this.sndBufLen);
      if (buf !== this.sndBuf) buf.set(this.sndBuf.subarray(this.sndBufStart, this.sndBufStart + this.sndBufLen));
      this.sndBuf = buf;
      this.sndBufStart = 0;
    }
    this.sndBuf.set(bytes, this.sndBufStart + this.sndBufLen);
    this.sndBufLen += bytes.length;
  }

  // ================================================================ opening

  /** tcp_v4_connect + tcp_connect: choose ISN, TS offset, IP id; send the SYN. */
  startConnect(mtu: number): boolean {
    const rng = this.owner.rng;
    this.iss = this.owner.isnFor(this.laddr, this.lport, this.raddr, this.rport);
    this.tsOffset = this.owner.tsOffsetFor(this.laddr, this.lport, this.raddr, this.rport);
    this.ipId = rng.u32() & 0xffff;
    this.advmss = advmssFor(mtu);
    this.pmtu = mtu;
    // tcp_connect_init → tcp_select_initial_window(tcp_full_space, advmss, ...)
    this.rcvWscale = defaultRcvWscale();
    this.windowClamp = 65535 * 2 ** this.rcvWscale;
    this.rcvWnd = initialRcvWnd(Math.min(this.fullSpace(), this.windowClamp), this.advmss);
    this.rcvSsthresh = this.rcvWnd;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.writeSeq = seqAdd(this.iss, 1);
    this.sndBufSeq = this.writeSeq;
    this.rcvWup = 0;
    this.state = 'SYN_SENT';
    this.synOpts.mss = this.advmss;
    this.synOpts.sack = true;
    this.synOpts.ts = true;
    this.synOpts.tsecr = 0;
    this.synOpts.wscale = this.rcvWscale;
    const seg: TxSeg = { seq: this.iss, end: seqAdd(this.iss, 1), flags: SYN, sentAt: this.now(), xmitAt: 0, xmitOrder: 0, retrans: false, lost: false, sacked: false };
    this.rtx.push(seg);
    this.sndNxt = seg.end;
    this.rto = TCP_TIMEOUT_INIT;
    const ok = this.xmitSeg(seg);
    this.rtxTimer.armAfter(this.rto);
    return ok;
  }

  /** tcp_conn_request + tcp_openreq_init_rwin: a request sock answering `seg`'s SYN with a SYN-ACK
   *  (`isn`: the one a TIME_WAIT predecessor dictates, else random). */
  startPassive(seg: Segment, mtu: number, isn = 0): void {
    const o = seg.opts;
    this.iss = isn !== 0 ? isn : this.owner.isnFor(this.laddr, this.lport, this.raddr, this.rport);
    this.tsOffset = this.owner.tsOffsetFor(this.laddr, this.lport, this.raddr, this.rport);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvWup = this.rcvNxt;
    this.tsOk = o.ts;
    this.sackOk = o.sackOk;
    this.wscaleOk = o.wscale >= 0;
    if (o.ts) {
      this.tsRecent = o.tsval;
      this.tsRecentSet = true;
    }
    this.sndWscale = this.wscaleOk ? o.wscale : 0;
    this.peerMss = o.mss !== 0 ? o.mss : TCP_MSS_DEFAULT;
    this.advmss = advmssFor(mtu);
    this.pmtu = mtu;
    this.rcvWscale = this.wscaleOk ? defaultRcvWscale() : 0;
    this.windowClamp = 65535 * 2 ** this.rcvWscale;
    const mss = this.advmss - (this.tsOk ? TS_ALIGNED_LEN : 0);
    this.rcvWnd = initialRcvWnd(Math.min(this.fullSpace(), this.windowClamp), mss);
    this.rcvSsthresh = this.rcvWnd;
    this.sndWnd = seg.window; // never scaled on a SYN
    this.sndWl1 = seg.seq;
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.writeSeq = this.sndNxt;
    this.sndBufSeq = this.writeSeq;
    this.idZero = true;
    this.state = 'SYN_RECV';
    this.synOpts.mss = this.advmss;
    this.synOpts.sack = this.sackOk;
    this.synOpts.ts = this.tsOk;
    this.synOpts.wscale = this.wscaleOk ? this.rcvWscale : -1;
    this.sendSynAck();
    this.waitTimer.armAfter(TCP_TIMEOUT_INIT);
  }

  private sendSynAck(): void {
    this.synackSentAt = this.now();
    this.xmitRaw(this.iss, SYN | ACK, 0, 0);
  }

  // ================================================================ input

  /** A segment for this connection's 4-tuple. The pool slot stays the caller's. */
  input(seg: Segment): void {
    switch (this.state) {
      case 'SYN_SENT':
        this.rcvSynSent(seg);
        break;
      case 'TIME_WAIT':
        this.rcvTimeWait(seg);
        return;
      case 'CLOSED':
        return;
      default:
        this.rcvStateProcess(seg);
    }
    this.flushToApp();
  }

  private rcvSynSent(seg: Segment): void {
    const f = seg.flags;
    if (f & ACK) {
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndNxt)) {
        if (!(f & RST)) this.owner.sendReset(seg);
        return;
      }
      if (f & RST) {
        this.fail('refused');
        return;
      }
      if (!(f & SYN)) return;
      const o = seg.opts;
      this.irs = seg.seq;
      this.rcvNxt = seqAdd(seg.seq, 1);
      this.rcvWup = this.rcvNxt;
      this.sndWl1 = seg.seq;
      this.sndWnd = seg.window;
      this.maxWindow = this.sndWnd;
      this.wscaleOk = o.wscale >= 0;
      if (this.wscaleOk) {
        this.sndWscale = o.wscale;
      } else {
        this.sndWscale = 0;
        this.rcvWscale = 0;
        this.windowClamp = Math.min(this.windowClamp, 65535);
      }
      this.tsOk = o.ts;
      if (o.ts) {
        this.tsRecent = o.tsval;
        this.tsRecentSet = true;
      }
      this.sackOk = o.sackOk;
      this.peerMss = o.mss !== 0 ? o.mss : TCP_MSS_DEFAULT;
      this.ackAdvance(seg); // the SYN leaves the retransmit queue, with an RTT sample
      this.finishHandshake();
      this.state = 'ESTABLISHED';
      this.sendAck();
      this.handlers.onConnect?.(this);
      if (this.state === 'ESTABLISHED' || this.state === 'FIN_WAIT_1') this.pushPending();
      return;
    }
    // RST without ACK, a bare SYN (simultaneous open is not modelled) or anything else: dropped.
  }

  /** Common establishment: mss, rcv_mss, buffer space, initial cwnd (tcp_init_transfer). */
  private finishHandshake(): void {
    this.mssCache = slotMss(Math.min(this.peerMss, this.advmss, this.pmtu - 40) - (this.tsOk ? TS_ALIGNED_LEN : 0));
    // tcp_initialize_rcv_mss
    let hint = Math.min(this.advmss, this.mssCache);
    hint = Math.min(hint, Math.floor(this.rcvWnd / 2));
    hint = Math.min(hint, TCP_MSS_DEFAULT);
    this.rcvMss = Math.max(hint, TCP_MIN_MSS);
    // tcp_init_buffer_space
    const maxwin = this.fullSpace();
    if (this.windowClamp >= maxwin) {
      this.windowClamp = maxwin;
      if (TCP_APP_WIN && maxwin > 4 * this.advmss) {
        this.windowClamp = Math.max(maxwin - Math.floor(maxwin / 2 ** TCP_APP_WIN), 4 * this.advmss);
      }
    }
    if (TCP_APP_WIN && this.windowClamp > 2 * this.advmss && this.windowClamp + this.advmss > maxwin) {
      this.windowClamp = Math.max(2 * this.advmss, maxwin - this.advmss);
    }
    this.rcvSsthresh = Math.min(this.rcvSsthresh, this.windowClamp);
    this.cwnd = TCP_INIT_CWND;
    this.copiedSeq = this.rcvNxt;
    this.rcvqSpace = Math.min(this.rcvSsthresh, this.rcvWnd, TCP_INIT_CWND * this.advmss);
    this.rcvqSeq = this.copiedSeq;
    this.rcvqTime = this.now();
    if (this.srttUs === 0) this.rto = TCP_TIMEOUT_FALLBACK;
    this.sndSml = this.sndUna;
  }

  /** tcp_rcv_state_process for the synchronized states (and the request sock's ACK). */
  private rcvStateProcess(seg: Segment): void {
    const f = seg.flags;
    const o = seg.opts;
    const endSeq = seqAdd(seg.seq, seg.dataLen + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0));

    if (this.state === 'SYN_RECV') {
      // tcp_check_req: a retransmitted SYN gets the SYN-ACK again.
      if (f & SYN && !(f & (RST | ACK)) && seg.seq === this.irs) {
        this.sendSynAck();
        return;
      }
    }

    // tcp_validate_incoming: PAWS
    if (this.tsOk && o.ts && this.tsRecentSet && seqLt(o.tsval, this.tsRecent) && !(f & RST)) {
      if (!this.oowRateLimited(seg)) this.sendDupAck(seg, endSeq);
      return;
    }
    // tcp_sequence
    if (!this.sequenceOk(seg.seq, endSeq)) {
      if (!(f & RST)) {
        if (f & SYN && this.state !== 'SYN_RECV') this.sendChallengeAck();
        else if (!this.oowRateLimited(seg)) this.sendDupAck(seg, endSeq);
      }
      return;
    }
    if (f & RST) {
      if (seg.seq === this.rcvNxt || this.state === 'SYN_RECV') this.fail('reset');
      else this.sendChallengeAck();
      return;
    }
    // tcp_replace_ts_recent
    if (this.tsOk && o.ts && seqLe(seg.seq, this.rcvWup)) {
      this.tsRecent = o.tsval;
      this.tsRecentSet = true;
    }
    if (f & SYN) {
      if (this.state === 'SYN_RECV') this.owner.sendReset(seg);
      else this.sendChallengeAck();
      return;
    }
    if (!(f & ACK)) return;

    if (this.state === 'SYN_RECV') {
      if (seg.ack !== this.sndNxt) {
        this.owner.sendReset(seg);
        return;
      }
      // The child socket (tcp_v4_syn_recv_sock): its own random IP id, the handshake's RTT.
      this.waitTimer.cancel();
      this.idZero = false;
      this.ipId = this.owner.rng.u32() & 0xffff;
      if (this.synackRetries === 0) this.rttEstimator(Math.max(1, Math.round((this.now() - this.synackSentAt) / 1000)));
      else if (this.tsOk && o.ts && o.tsecr !== 0) this.rttEstimator(Math.max(1, ((this.tsNow() - o.tsecr) >>> 0) * 1000));
      if (this.srttUs !== 0) this.setRto();
      this.sndUna = this.sndNxt;
      this.sndWnd = seg.window * 2 ** this.sndWscale;
      this.maxWindow = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.finishHandshake();
      this.state = 'ESTABLISHED';
      if (!this.owner.accept(this)) {
        this.owner.sendReset(seg);
        this.done(null);
        return;
      }
    } else if (!this.processAck(seg)) {
      return;
    }

    // FIN_WAIT_1 / CLOSING / LAST_ACK transitions once our FIN is acknowledged
    if (this.finSent && seqGe(this.sndUna, seqAdd(this.finSeq, 1))) {
      if (this.state === 'FIN_WAIT_1') {
        this.state = 'FIN_WAIT_2';
        if (this.appClosed && !(f & FIN)) this.armFinWait2();
      } else if (this.state === 'CLOSING') {
        this.enterTimeWait();
        return;
      } else if (this.state === 'LAST_ACK') {
        this.done(null);
        return;
      }
    }

    // data and FIN
    if (seg.dataLen > 0 || f & FIN) {
      const st = this.state;
      if (st === 'CLOSE_WAIT' || st === 'CLOSING' || st === 'LAST_ACK') {
        // after the peer's FIN only its retransmissions come: they are acknowledged at once
        if (seqLt(seg.seq, this.rcvNxt)) this.dataQueue(seg);
      } else if (st === 'ESTABLISHED' || st === 'FIN_WAIT_1' || st === 'FIN_WAIT_2') {
        if (this.appClosed && seg.dataLen > 0 && seqGt(seqAdd(seg.seq, seg.dataLen), this.rcvNxt)) {
          // Data for a socket the application closed: tcp_rcv_state_process resets.
          this.owner.sendReset(seg);
          this.fail('reset');
          return;
        }
        this.dataQueue(seg);
      }
    }
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    this.pushPending();
    this.ackSndCheck();
  }

  private sequenceOk(seq: number, endSeq: number): boolean {
    // !before(end_seq, rcv_wup) && !after(seq, rcv_nxt + tcp_receive_window())
    return !seqLt(endSeq, this.rcvWup) && !seqGt(seq, seqAdd(this.rcvNxt, this.receiveWindow()));
  }

  /** tcp_ack; false when the segment is to be dropped (it acknowledged data never sent). */
  private processAck(seg: Segment): boolean {
    const ack = seg.ack;
    if (seqGt(ack, this.sndNxt)) {
      this.sendChallengeAck();
      return false;
    }
    if (seqLt(ack, this.sndUna)) {
      if (seqLt(ack, seqAdd(this.sndUna, -this.maxWindow))) {
        this.sendChallengeAck();
        return false;
      }
      return true; // old ACK: data may still be good
    }
    const nwin = seg.window * 2 ** this.sndWscale;
    const windowChanged = nwin !== this.sndWnd;
    // tcp_ack_update_window
    if (seqGt(ack, this.sndUna) || seqGt(seg.seq, this.sndWl1) || (seg.seq === this.sndWl1 && (nwin > this.sndWnd || nwin === 0))) {
      this.sndWnd = nwin;
      this.sndWl1 = seg.seq;
      if (nwin > this.maxWindow) this.maxWindow = nwin;
    }
    if (this.sackOk && seg.opts.sackBlocks > 0) this.sackUpdate(seg.opts.sackEdges, seg.opts.sackBlocks, ack);
    if (seqGt(ack, this.sndUna)) {
      this.ackAdvance(seg);
    } else if (seg.dataLen === 0 && !(seg.flags & FIN) && !windowChanged && this.rtx.length > 0) {
      // duplicate ACK: without SACK, the third starts fast retransmit (with SACK, RACK decides)
      this.dupAcks++;
      if (!this.sackOk && this.dupAcks === 3 && !this.inRecovery) this.enterFastRecovery();
    }
    if (this.sackOk) this.rackDetectLoss();
    return true;
  }

  /** tcp_sacktag_write_queue: mark SACKed segments (a D-SACK first block is ignored). */
  private sackUpdate(edges: number[], n: number, ack: number): void {
    for (let k = 0; k < n; k++) {
      const start = edges[2 * k]!;
      const end = edges[2 * k + 1]!;
      if (!seqLt(start, end)) continue;
      if (k === 0 && (seqLe(end, ack) || (n > 1 && seqGe(start, edges[2]!) && seqLe(end, edges[3]!)))) continue; // D-SACK
      for (const s of this.rtx) {
        if (s.sacked || seqLt(s.seq, start) || seqGt(s.end, end)) continue;
        s.sacked = true;
        this.nSacked++;
        if (s.lost) {
          s.lost = false;
          this.nLost--;
        }
        this.rackAdvance(s);
      }
    }
  }

  /** tcp_rack_advance: a delivered segment moves RACK's reference (ambiguous retransmits skipped). */
  private rackAdvance(s: TxSeg): void {
    const rttNs = this.now() - s.xmitAt;
    if (s.retrans && rttNs < this.minRttUs * 1000) return;
    if (s.xmitOrder > this.rackOrder) {
      this.rackXmit = s.xmitAt;
      this.rackOrder = s.xmitOrder;
    }
    this.rackRttNs = rttNs;
  }

  /**
   * tcp_rack_detect_loss: a segment sent before one known delivered is lost once more than
   * rack.rtt + reo_wnd has passed since it left (reo_wnd = min_rtt/4 until recovery or 3 SACKed).
   * Lost segments start recovery and are retransmitted; the rest wait for the reorder timer
   * (returns whether it was armed).
   */
  private rackDetectLoss(): boolean {
    if (this.rackXmit < 0 || this.state === 'SYN_SENT') return false;
    // Without SACKed segments every segment sent before a delivered one was cumulatively acked,
    // except after retransmissions (recovery).
    if (this.nSacked === 0 && !this.inRecovery) return false;
    const reoWnd = this.inRecovery || this.nSacked >= 3 ? 0 : Math.min((this.minRttUs >> 2) * 1000, (this.srttUs >> 3) * 1000);
    const now = this.now();
    let lost = 0;
    let wait = Infinity;
    for (const s of this.rtx) {
      if (s.sacked || s.lost) continue;
      if (s.xmitOrder >= this.rackOrder) continue; // not sent before the latest delivered one
      const remaining = this.rackRttNs + reoWnd - (now - s.xmitAt);
      if (remaining <= 0) {
        s.lost = true;
        this.nLost++;
        lost++;
      } else if (remaining < wait) {
        wait = remaining;
      }
    }
    if (lost > 0) {
      if (!this.inRecovery) this.startRecovery();
      this.pushPending();
    }
    if (wait === Infinity) return false;
    this.rtxMode = 'reo';
    this.rtxTimer.armAfter(Math.ceil(wait / MS) * MS + 2 * MS);
    return true;
  }

  /** tcp_enter_recovery: CUBIC's multiplicative decrease (0.7), cwnd held at ssthresh meanwhile. */
  private startRecovery(): void {
    this.ssthresh = this.cubicRecalcSsthresh();
    this.cwnd = this.ssthresh;
    this.inRecovery = true;
    this.fastRecovery = true;
    this.recoveryHigh = this.sndNxt;
    const head = this.rtx[0];
    if (head && this.retransStamp === 0) this.retransStamp = head.sentAt;
  }

  /** The part of tcp_ack for an advancing snd_una: clean the retransmit queue, RTT, cwnd, timers. */
  private ackAdvance(seg: Segment): void {
    const ack = seg.ack;
    const acked = seqDiff(ack, this.sndUna);
    let firstSent = -1;
    let retransAcked = false;
    let ackedSegs = 0;
    while (ackedSegs < this.rtx.length && seqLe(this.rtx[ackedSegs]!.end, ack)) {
      const s = this.rtx[ackedSegs]!;
      ackedSegs++;
      if (s.sacked) this.nSacked--;
      if (s.lost) this.nLost--;
      if (!s.sacked) this.rackAdvance(s);
      if (s.retrans) retransAcked = true;
      else if (firstSent < 0) firstSent = s.sentAt;
    }
    if (ackedSegs > 0) this.rtx.splice(0, ackedSegs);
    // a partly acknowledged head segment keeps only its unacknowledged part (tcp_trim_head)
    const head = this.rtx[0];
    if (head && seqGt(ack, head.seq)) head.seq = ack;
    // drop acknowledged bytes from the send buffer
    const dataStart = this.sndBufSeq;
    const finEnd = this.finSent ? this.finSeq : this.writeSeq;
    const upto = seqLt(ack, finEnd) ? ack : finEnd;
    const drop = seqDiff(upto, dataStart);
    if (drop > 0) {
      this.sndBufStart += drop;
      this.sndBufLen -= drop;
      this.sndBufSeq = upto;
      if (this.sndBufLen === 0) this.sndBufStart = 0;
      this.handlers.onAcked?.(this);
    }
    this.sndUna = ack;
    this.retransmits = 0;
    this.dupAcks = 0;
    // tcp_retrans_stamp_cleanup: the give-up clock restarts once no retransmitted data is left
    if (this.retransStamp !== 0 && !this.rtx.some((s) => s.retrans)) this.retransStamp = 0;
    // RTT sample: from the first newly acked segment never retransmitted, else from the TS echo.
    let rttUs = -1;
    if (!retransAcked && firstSent >= 0) rttUs = Math.max(1, Math.round((this.now() - firstSent) / 1000));
    else if (this.tsOk && seg.opts.ts && seg.opts.tsecr !== 0 && ackedSegs > 0) rttUs = Math.max(1, ((this.tsNow() - seg.opts.tsecr) >>> 0) * 1000);
    if (rttUs > 0) {
      if (this.minRttUs === 0 || rttUs < this.minRttUs) this.minRttUs = rttUs;
      this.rttEstimator(rttUs);
      this.setRto();
      this.backoff = 0; // RFC 6298: reset only on a valid measurement; else the backed-off RTO stays
    }
    // congestion window: CUBIC (slow start, then the cubic curve), held during fast recovery
    if (this.inRecovery && seqGe(ack, this.recoveryHigh)) {
      this.inRecovery = false;
      if (this.fastRecovery) this.cwnd = Math.max(this.ssthresh, 2);
      this.fastRecovery = false;
    }
    if (acked > 0 && this.state !== 'SYN_SENT' && !this.fastRecovery) this.cubicCongAvoid(ackedSegs);
    this.processTlpAck(ack);
    if (this.rtx.length === 0) this.rtxTimer.cancel();
    else if (!this.scheduleLossProbe(true)) this.rearmRto();
  }

  /** tcp_rtt_estimator (RFC 6298 with Linux's mdev_max / rttvar). */
  private rttEstimator(mrttUs: number): void {
    const minUs = TCP_RTO_MIN / 1000;
    let m = mrttUs;
    let srtt = this.srttUs;
    if (srtt !== 0) {
      m -= srtt >> 3;
      srtt += m;
      if (m < 0) {
        m = -m;
        m -= this.mdevUs >> 2;
        if (m > 0) m >>= 3;
      } else {
        m -= this.mdevUs >> 2;
      }
      this.mdevUs += m;
      if (this.mdevUs > this.mdevMaxUs) {
        this.mdevMaxUs = this.mdevUs;
        if (this.mdevMaxUs > this.rttvarUs) this.rttvarUs = this.mdevMaxUs;
      }
      if (seqGt(this.sndUna, this.rttSeq)) {
        if (this.mdevMaxUs < this.rttvarUs) this.rttvarUs -= (this.rttvarUs - this.mdevMaxUs) >> 2;
        this.rttSeq = this.sndNxt;
        this.mdevMaxUs = minUs;
      }
    } else {
      srtt = m << 3;
      this.mdevUs = m << 1;
      this.rttvarUs = Math.max(this.mdevUs, minUs);
      this.mdevMaxUs = this.rttvarUs;
      this.rttSeq = this.sndNxt;
    }
    this.srttUs = Math.max(1, srtt);
  }

  /** tcp_set_rto: srtt + rttvar, bounded by TCP_RTO_MAX. */
  private setRto(): void {
    this.rto = Math.min(Math.ceil(((this.srttUs >> 3) + this.rttvarUs) / 1000) * MS, TCP_RTO_MAX);
  }

  /** tcp_data_queue: in-order data to the application, out-of-order to the ofo queue, FIN. */
  private dataQueue(seg: Segment): void {
    let seq = seg.seq;
    let off = seg.dataOff;
    let len = seg.dataLen;
    const fin = (seg.flags & FIN) !== 0;
    const endSeq = seqAdd(seq, len + (fin ? 1 : 0));
    if (seqLe(endSeq, this.rcvNxt) && (len > 0 || fin)) {
      // A pure retransmission: D-SACK it and ACK at once.
      if (len > 0 && this.sackOk) this.setDsack(seq, seqAdd(seq, len));
      this.enterQuickack(TCP_MAX_QUICKACKS);
      this.ackScheduled = true;
      this.ackNowFlag = true;
      return;
    }
    if (seqGt(seq, this.rcvNxt)) {
      // out of order (tcp_data_queue_ofo): queue, SACK, immediate duplicate ACK
      if (seqGt(seq, seqAdd(this.rcvNxt, this.receiveWindow()))) return;
      this.ofoInsert(seq, seg.bytes.slice(off, off + len), fin);
      this.ackScheduled = true;
      this.ackNowFlag = true;
      return;
    }
    // overlapping the left edge: trim what we already have
    if (seqLt(seq, this.rcvNxt)) {
      const dup = seqDiff(this.rcvNxt, seq);
      if (this.sackOk) this.setDsack(seq, this.rcvNxt);
      off += dup;
      len -= dup;
      seq = this.rcvNxt;
    }
    // beyond the right edge of the window: keep what fits
    const wnd = this.receiveWindow();
    let finOk = fin;
    if (len > wnd) {
      len = wnd;
      finOk = false;
    }
    if (len === 0 && !finOk) {
      this.ackScheduled = true;
      this.ackNowFlag = true;
      return;
    }
    if (len > 0) {
      this.rcvRttMeasureTs(seg, len);
      this.eventDataRecv(len, seg.flags, seg.dataOff - seg.off);
      this.delivered.push(seg.bytes.slice(off, off + len));
      this.rmemAlloc += skbTruesize(len);
      this.rcvNxt = seqAdd(this.rcvNxt, len);
    }
    if (finOk) this.rcvFin();
    if (this.ofo.length > 0) {
      this.ofoDrain();
      this.updateSackBlocks();
      // RFC 5681 4.2: the gap is filled, ACK at once (ICSK_ACK_NOW)
      if (this.ofo.length === 0) this.ackNowFlag = true;
    }
  }

  private ackNowFlag = false;

  private setDsack(start: number, end: number): void {
    this.dsack = true;
    this.dsackStart = start;
    this.dsackEnd = end;
  }

  private ofoInsert(seq: number, data: Uint8Array, fin: boolean): void {
    let i = 0;
    while (i < this.ofo.length && seqLt(this.ofo[i]!.seq, seq)) i++;
    this.ofo.splice(i, 0, { seq, data, fin });
    this.sackRecent = seq;
    this.updateSackBlocks();
  }

  /** Start of the out-of-order segment that arrived last: its SACK block goes first. */
  private sackRecent = 0;

  /** The SACK blocks of the out-of-order queue, the most recent first (tcp_sack_new_ofo_skb), none
   *  at or below rcv_nxt (tcp_sack_remove). */
  private updateSackBlocks(): void {
    const blocks: number[] = [];
    for (const e of this.ofo) {
      const s = e.seq;
      const en = seqAdd(e.seq, e.data.length + (e.fin ? 1 : 0));
      if (seqLe(en, this.rcvNxt)) continue;
      const n = blocks.length;
      if (n > 0 && seqGe(blocks[n - 1]!, s)) {
        if (seqGt(en, blocks[n - 1]!)) blocks[n - 1] = en;
      } else {
        blocks.push(s, en);
      }
    }
    const edges: number[] = [];
    const seq = this.sackRecent;
    for (let k = 0; k < blocks.length; k += 2) {
      if (seqLe(blocks[k]!, seq) && seqGt(blocks[k + 1]!, seq)) edges.unshift(blocks[k]!, blocks[k + 1]!);
      else edges.push(blocks[k]!, blocks[k + 1]!);
    }
    this.sackEdges = edges;
  }

  private ofoDrain(): void {
    while (this.ofo.length > 0 && !this.finReceived) {
      const e = this.ofo[0]!;
      const end = seqAdd(e.seq, e.data.length);
      if (seqGt(e.seq, this.rcvNxt)) break;
      this.ofo.shift();
      if (seqLe(end, this.rcvNxt)) {
        if (e.fin && end === this.rcvNxt) this.rcvFin();
        continue;
      }
      const skip = seqDiff(this.rcvNxt, e.seq);
      const part = e.data.subarray(skip);
      this.delivered.push(part);
      this.rmemAlloc += skbTruesize(part.length);
      this.rcvNxt = end;
      if (e.fin) this.rcvFin();
    }
  }

  /** tcp_fin. */
  private rcvFin(): void {
    if (this.finReceived) return;
    this.finReceived = true;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ackScheduled = true;
    this.peerClosePending = true;
    switch (this.state) {
      case 'ESTABLISHED':
        this.state = 'CLOSE_WAIT';
        this.pingpong = Math.max(this.pingpong, 1); // inet_csk_enter_pingpong_mode
        break;
      case 'FIN_WAIT_1':
        // our FIN not yet acked: simultaneous close
        this.sendAck();
        this.state = 'CLOSING';
        break;
      case 'FIN_WAIT_2':
        this.sendAck();
        this.enterTimeWait();
        break;
      default:
        break;
    }
  }

  /** tcp_event_data_recv: rcv_mss, the ATO estimator, quickack on the first data, window growth. */
  private eventDataRecv(len: number, flags: number, hlen: number): void {
    this.ackScheduled = true;
    this.measureRcvMss(len, flags, hlen);
    const now = this.now();
    if (this.ato === 0) {
      this.incrQuickack(TCP_MAX_QUICKACKS);
      this.ato = TCP_ATO_MIN;
    } else {
      const m = now - this.lrcvtime;
      if (m <= TCP_ATO_MIN / 2) {
        this.ato = Math.floor(this.ato / 2) + TCP_ATO_MIN / 2;
      } else if (m < this.ato) {
        this.ato = Math.floor(this.ato / 2) + m;
        if (this.ato > this.rto) this.ato = this.rto;
      } else if (m > this.rto) {
        this.incrQuickack(TCP_MAX_QUICKACKS);
      }
    }
    this.lrcvtime = now;
    if (len >= 128) this.growWindow(len);
  }

  /** tcp_measure_rcv_mss (with 6.x's scaling_ratio update). */
  private measureRcvMss(len: number, flags: number, hlen: number): void {
    const lss = this.lastSegSize;
    this.lastSegSize = 0;
    if (len >= this.rcvMss) {
      if (len !== this.rcvMss) {
        const ratio = Math.floor((len * (1 << TCP_RMEM_TO_WIN_SCALE)) / skbTruesize(len)) || 1;
        if (ratio !== this.scalingRatio) {
          this.scalingRatio = ratio;
          this.windowClamp = winFromSpace(ratio, this.rcvbuf);
          if (this.windowClamp < this.rcvSsthresh) this.rcvSsthresh = this.windowClamp;
        }
      }
      this.rcvMss = Math.min(len, this.advmss);
      return;
    }
    let l = len + hlen;
    if (l >= TCP_MSS_DEFAULT + TCP_HEADER_LEN || (l >= TCP_MIN_MSS + TCP_HEADER_LEN && !(flags & (FIN | SYN | PSH | 0x20)))) {
      l -= TCP_HEADER_LEN + (this.tsOk ? TS_ALIGNED_LEN : 0);
      this.lastSegSize = l;
      if (l === lss) {
        this.rcvMss = l;
        return;
      }
    }
    if (this.ackPushed) this.ackPushed2 = true;
    this.ackPushed = true;
  }

  /** tcp_rcv_rtt_measure_ts: the receiver's RTT from the echoed timestamp of a full segment. */
  private rcvRttMeasureTs(seg: Segment, len: number): void {
    const o = seg.opts;
    if (!this.tsOk || !o.ts || o.tsecr === this.rcvRttLastTsecr) return;
    this.rcvRttLastTsecr = o.tsecr;
    if (len < this.rcvMss) return;
    const deltaMs = (this.tsNow() - o.tsecr) | 0;
    if (deltaMs < 0) return;
    const sample = Math.max(deltaMs, 1) * 1000;
    // tcp_rcv_rtt_update(tp, sample, 0), kept << 3 as Linux does
    const m = sample * 8;
    const old = this.rcvRttUs;
    if (old === 0 || m < old) this.rcvRttUs = m;
    else if (this.rcvNxt === this.copiedSeq) this.rcvRttUs = old - (old >> 3) + sample;
  }

  /**
   * tcp_rcv_space_adjust + tcp_rcvbuf_grow (6.17+): once per receiver RTT, if the application read
   * more than last time, size sk_rcvbuf for twice that (room for the sender's slow start), up to
   * tcp_rmem[2], and let window_clamp follow.
   */
  private rcvSpaceAdjust(): void {
    const now = this.now();
    const timeUs = (now - this.rcvqTime) / 1000;
    if (this.rcvRttUs === 0 || timeUs < this.rcvRttUs >> 3) return;
    const copied = seqDiff(this.copiedSeq, this.rcvqSeq) - seqDiff(this.rcvNxt, this.copiedSeq);
    if (copied > this.rcvqSpace) {
      this.rcvqSpace = copied;
      let rcvwin = this.rcvqSpace * 2;
      if (this.ofo.length > 0) {
        const last = this.ofo[this.ofo.length - 1]!;
        rcvwin += seqDiff(seqAdd(last.seq, last.data.length), this.rcvNxt);
      }
      const rcvbuf = Math.min(Math.floor((rcvwin * (1 << TCP_RMEM_TO_WIN_SCALE)) / this.scalingRatio), TCP_RMEM_MAX);
      if (rcvbuf > this.rcvbuf) {
        this.rcvbuf = rcvbuf;
        this.windowClamp = winFromSpace(this.scalingRatio, rcvbuf);
      }
    }
    this.rcvqSeq = this.copiedSeq;
    this.rcvqTime = now;
  }

  /** tcp_grow_window. */
  private growWindow(len: number): void {
    const room = Math.min(this.windowClamp, this.tcpSpace()) - this.rcvSsthresh;
    if (room <= 0) return;
    const truesize = skbTruesize(len);
    let incr: number;
    if (winFromSpace(this.scalingRatio, truesize) <= len) {
      incr = 2 * this.advmss;
    } else {
      // __tcp_grow_window
      let ts = winFromSpace(this.scalingRatio, truesize) >> 1;
      let window = winFromSpace(this.scalingRatio, TCP_RMEM_MAX) >> 1;
      incr = 0;
      while (this.rcvSsthresh <= window) {
        if (ts <= len) {
          incr = 2 * this.rcvMss;
          break;
        }
        ts >>= 1;
        window >>= 1;
      }
    }
    if (incr) {
      incr = Math.max(incr, 2 * len);
      this.rcvSsthresh += Math.min(room, incr);
      this.quick |= 1;
    }
  }

  private incrQuickack(max: number): void {
    let quickacks = Math.floor(this.rcvWnd / (2 * this.rcvMss));
    if (quickacks === 0) quickacks = 2;
    quickacks = Math.min(quickacks, max);
    if (quickacks > this.quick) this.quick = quickacks;
  }

  /** tcp_enter_quickack_mode. */
  private enterQuickack(max: number): void {
    this.incrQuickack(max);
    this.pingpong = 0;
    this.ato = TCP_ATO_MIN;
  }

  private inQuickack(): boolean {
    return this.quick > 0 && this.pingpong < 1;
  }

  /** __tcp_ack_snd_check. */
  private ackSndCheck(): void {
    if (!this.ackScheduled) return;
    const ackNow = this.ackNowFlag;
    this.ackNowFlag = false;
    if (
      (seqDiff(this.rcvNxt, this.rcvWup) > this.rcvMss && this.selectWindowRaw() >= this.rcvWnd) ||
      this.inQuickack() ||
      ackNow ||
      this.ofo.length > 0
    ) {
      this.sendAck();
      return;
    }
    this.sendDelayedAck();
  }

  /** tcp_send_delayed_ack. */
  private sendDelayedAck(): void {
    let ato = this.ato;
    if (ato > TCP_DELACK_MIN) {
      let maxAto = 500 * MS;
      if (this.pingpong >= 1 || this.ackPushed) maxAto = TCP_DELACK_MAX;
      if (this.srttUs !== 0) {
        const rtt = Math.max((this.srttUs >> 3) * 1000, TCP_DELACK_MIN);
        if (rtt < maxAto) maxAto = rtt;
      }
      ato = Math.min(ato, maxAto);
    }
    ato = Math.min(ato, TCP_DELACK_MAX);
    let timeout = this.now() + ato;
    if (this.delackTimer.armed) {
      if (this.delackTimer.deadline <= this.now() + (ato >> 2)) {
        this.sendAck();
        return;
      }
      if (timeout >= this.delackTimer.deadline) timeout = this.delackTimer.deadline;
    }
    this.ackScheduled = true;
    this.delackTimer.armAt(timeout);
  }

  private onDelackTimer(): void {
    if (!this.ackScheduled || this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    if (this.pingpong < 1) {
      this.ato = Math.min(this.ato * 2, this.rto);
    } else {
      this.pingpong = 0;
      this.ato = TCP_ATO_MIN;
    }
    this.sendAck();
  }

  /** Hand in-order data and EOF to the application, then tcp_cleanup_rbuf's ACK decision. */
  private flushToApp(): void {
    if (this.delivered.length === 0 && !this.peerClosePending) return;
    this.flushData();
    if (this.closeAfterFlush) {
      this.closeAfterFlush = false;
      this.notifyClose();
    }
  }

  private flushData(): void {
    const chunks = this.delivered;
    this.delivered = [];
    let copied = 0;
    for (const c of chunks) {
      copied += c.length;
      this.handlers.onData?.(c, this);
    }
    this.rmemAlloc = 0;
    this.copiedSeq = seqAdd(this.copiedSeq, copied);
    if (copied > 0) this.rcvSpaceAdjust();
    if (this.peerClosePending) {
      this.peerClosePending = false;
      this.handlers.onPeerClose?.(this);
    }
    if (copied > 0 && this.ackScheduled && this.state !== 'CLOSED' && this.state !== 'TIME_WAIT') {
      let timeToAck =
        seqDiff(this.rcvNxt, this.rcvWup) > this.rcvMss || this.ackPushed2 || (this.ackPushed && this.pingpong < 1);
      if (!timeToAck && !this.finReceived) {
        const now = this.receiveWindow();
        if (2 * now <= this.windowClamp) {
          const nw = this.selectWindowRaw();
          if (nw && nw >= 2 * now) timeToAck = true;
        }
      }
      if (timeToAck) this.sendAck();
    }
  }

  // ================================================================ TIME_WAIT and other waits

  private enterTimeWait(): void {
    this.state = 'TIME_WAIT';
    this.idZero = true;
    if (this.twRcvWnd < 0) this.twRcvWnd = this.receiveWindow();
    this.rtxTimer.cancel();
    this.delackTimer.cancel();
    this.ackScheduled = false;
    this.waitTimer.armAfter(TCP_TIMEWAIT_LEN);
    // the application hears of the close after the data and EOF that came with it
    if (this.delivered.length > 0 || this.peerClosePending) this.closeAfterFlush = true;
    else this.notifyClose();
  }

  private closeAfterFlush = false;
  /** tw_rcv_wnd: the receive window when the timewait sock took over; its ACKs keep offering it. */
  private twRcvWnd = -1;

  /** An orphaned FIN_WAIT_2 lives tcp_fin_timeout as a timewait minisock (IP id 0 from then on). */
  private armFinWait2(): void {
    this.idZero = true;
    this.twRcvWnd = this.receiveWindow();
    this.waitTimer.armAfter(TCP_FIN_TIMEOUT);
  }

  /** tcp_timewait_state_process. */
  private rcvTimeWait(seg: Segment): void {
    const f = seg.flags;
    if (f & RST) {
      this.done(null);
      return;
    }
    const o = seg.opts;
    const pawsReject = this.tsOk && o.ts && this.tsRecentSet && seqLt(o.tsval, this.tsRecent);
    if (f & SYN && !(f & ACK) && !pawsReject && (seqGt(seg.seq, this.rcvNxt) || (this.tsOk && o.ts && seqGt(o.tsval, this.tsRecent)))) {
      // A new incarnation: the TIME_WAIT socket gives way and the owner hands the SYN to the
      // listener, whose SYN-ACK starts at tw_snd_nxt + 65535 + 2 (tcp_timewait_state_process).
      this.reopenIsn = seqAdd(this.sndNxt, 65537) || 1;
      this.reopen = true;
      this.done(null);
      return;
    }
    if (f & ACK || f & FIN) {
      const endSeq = seqAdd(seg.seq, seg.dataLen + (f & FIN ? 1 : 0));
      if (f & FIN && !pawsReject && seqAdd(seg.seq, 1) === this.rcvNxt) {
        // the peer's FIN again (our last ACK was lost): ACK it, restart the 60 s
        if (this.tsOk && o.ts) this.tsRecent = o.tsval;
        this.xmitRaw(this.sndNxt, ACK, 0, 0);
        this.waitTimer.armAfter(TCP_TIMEWAIT_LEN);
      } else if (f & FIN || seg.dataLen > 0 || pawsReject || !this.sequenceOk(seg.seq, endSeq)) {
        // anything else unexpected: an ACK, at most one per tcp_invalid_ratelimit
        if (!this.oowRateLimited(seg)) this.xmitRaw(this.sndNxt, ACK, 0, 0);
      }
    }
  }

  /** Set when a SYN ended this TIME_WAIT: the owner hands the SYN to the listener. */
  reopen = false;
  /** The ISN the new incarnation's SYN-ACK uses. */
  reopenIsn = 0;

  private onWaitTimer(): void {
    if (this.state === 'SYN_RECV') {
      // reqsk_timer_handler: SYN-ACK retransmissions at 1, 2, 4, 8, 16 s, then give up
      if (this.synackRetries >= TCP_SYNACK_RETRIES) {
        this.done(null);
        return;
      }
      this.synackRetries++;
      this.sendSynAck();
      this.waitTimer.armAfter(Math.min(TCP_TIMEOUT_INIT * 2 ** this.synackRetries, TCP_RTO_MAX));
      return;
    }
    // end of TIME_WAIT or of an orphaned FIN_WAIT_2
    this.done(null);
  }

  // ================================================================ output

  /** Merge the FIN into unsent data or queue it alone (tcp_send_fin), then push. */
  private queueFin(): void {
    this.finQueued = true;
    this.pushPending();
  }

  /**
   * tcp_write_xmit: lost segments first, then new data within cwnd and the peer's window, Nagle.
   * `probe`: send one new segment whatever cwnd says (a loss probe). Returns new segments sent.
   */
  private pushPending(probe = false): number {
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECV' || this.state === 'CLOSED' || this.state === 'TIME_WAIT') return 0;
    const priorPackets = this.rtx.length;
    let sent = 0;
    // retransmissions of segments marked lost (after an RTO or fast retransmit)
    for (let i = 0; this.nLost > 0 && i < this.rtx.length; i++) {
      const s = this.rtx[i]!;
      if (!s.lost || s.sacked) continue;
      if (this.inFlight() >= this.cwnd) {
        this.cwndValidate(true);
        return 0;
      }
      const dataLen = seqDiff(s.end, s.seq) - (s.flags & FIN ? 1 : 0) - (s.flags & SYN ? 1 : 0);
      if (dataLen > this.mssCache && !(s.flags & SYN)) {
        // tcp_fragment: the tail becomes a segment of its own, still lost
        const cut = seqAdd(s.seq, this.mssCache);
        const tail: TxSeg = { seq: cut, end: s.end, flags: s.flags, sentAt: s.sentAt, xmitAt: s.xmitAt, xmitOrder: s.xmitOrder, retrans: s.retrans, lost: true, sacked: false };
        s.end = cut;
        s.flags &= ~(FIN | PSH);
        this.rtx.splice(i + 1, 0, tail);
        this.nLost++;
      }
      s.lost = false;
      this.nLost--;
      s.retrans = true;
      this.xmitSeg(s);
    }
    for (;;) {
      const unsent = seqDiff(this.writeSeq, this.sndNxt);
      const wantFin = this.finQueued && !this.finSent;
      if (unsent <= 0 && !wantFin) break;
      if (probe && sent > 0) break;
      if (this.inFlight() >= this.cwnd && !probe) break;
      const wndEnd = seqAdd(this.sndUna, this.sndWnd);
      let len = Math.min(unsent, this.mssCache);
      const room = seqDiff(wndEnd, this.sndNxt);
      if (len > room) {
        len = Math.max(0, room);
        if (len === 0) {
          this.armProbe();
          break;
        }
      }
      const end = seqAdd(this.sndNxt, len);
      const fin = wantFin && end === this.writeSeq;
      // Nagle with Minshall's variant: hold a small segment while another small one is unacked.
      if (!this.noDelay && len < this.mssCache && !fin && len === unsent && seqGt(this.sndSml, this.sndUna) && seqLe(this.sndSml, this.sndNxt)) break;
      if (len === 0 && !fin) break;
      let flags = ACK;
      if (fin) flags |= FIN;
      if (this.pushEnds.length > 0 && seqGe(end, this.pushEnds[0]!)) {
        flags |= PSH;
        while (this.pushEnds.length > 0 && seqGe(end, this.pushEnds[0]!)) this.pushEnds.shift();
      }
      const seg: TxSeg = { seq: this.sndNxt, end: seqAdd(end, fin ? 1 : 0), flags, sentAt: this.now(), xmitAt: 0, xmitOrder: 0, retrans: false, lost: false, sacked: false };
      if (fin) {
        this.finSeq = end;
        this.finSent = true;
      }
      if (len < this.mssCache) this.sndSml = end;
      this.rtx.push(seg);
      this.sndNxt = seg.end;
      this.xmitSeg(seg);
      sent++;
      if (fin) break;
    }
    const limited = this.inFlight() >= this.cwnd;
    if (sent > 0 || limited) this.cwndValidate(limited);
    if (sent > 0 && !probe) {
      // tcp_event_new_data_sent, then one loss probe per tail-loss episode
      if (priorPackets === 0 || this.rtxMode === 'tlp' || !this.rtxTimer.armed) this.rearmRto();
      this.scheduleLossProbe(false);
    }
    return sent;
  }

  /** tcp_rearm_rto: the RTO from now (or, replacing a pending probe, what is left of it). */
  private rearmRto(): void {
    if (this.rtx.length === 0) {
      this.rtxTimer.cancel();
      return;
    }
    let rto = this.rto;
    if (this.rtxMode === 'tlp' && this.rtxTimer.armed) rto = Math.max(this.rto - (this.now() - this.rtx[0]!.xmitAt), 1000);
    this.rtxMode = 'rto';
    this.rtxTimer.armAfter(rto);
  }

  /**
   * tcp_schedule_loss_probe (tcp_early_retrans = 3): with SACK, in the Open state, probe after
   * 2·srtt (+ TCP_RTO_MIN when one segment is out, for the peer's delayed ACK; else + 2 jiffies),
   * unless the RTO comes first.
   */
  private scheduleLossProbe(advancingRto: boolean): boolean {
    if (!this.sackOk || this.rtx.length === 0 || this.inRecovery || this.dupAcks > 0) return false;
    if (this.nSacked > 0 || this.nLost > 0) return false; // Disorder, not Open
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECV') return false;
    let timeout: number;
    if (this.srttUs !== 0) {
      timeout = Math.ceil((this.srttUs >> 2) / 1000) * MS + (this.rtx.length === 1 ? TCP_RTO_MIN : 2 * MS);
    } else {
      timeout = TCP_TIMEOUT_INIT;
    }
    const rtoDelta = advancingRto ? this.rto : this.rto - (this.now() - this.rtx[0]!.xmitAt);
    if (rtoDelta > 0) timeout = Math.min(timeout, rtoDelta);
    this.rtxMode = 'tlp';
    this.rtxTimer.armAfter(timeout);
    return true;
  }

  /** tcp_send_loss_probe: new data if the window allows, else the last segment again. */
  private sendLossProbe(): void {
    if (this.tlpActive) {
      this.rearmRto();
      return;
    }
    this.tlpRetrans = false;
    let sent = 0;
    if (seqDiff(this.writeSeq, this.sndNxt) > 0 || (this.finQueued && !this.finSent)) sent = this.pushPending(true);
    if (sent === 0) {
      const last = this.rtx[this.rtx.length - 1];
      if (!last) return;
      last.retrans = true;
      this.xmitSeg(last);
      this.tlpRetrans = true;
    }
    this.tlpActive = true;
    this.tlpHighSeq = this.sndNxt;
    this.rtxMode = 'rto';
    this.rtxTimer.armAfter(this.rto);
  }

  /** tcp_process_tlp_ack: the probe's episode ends; a repaired loss halves cwnd as CWR would. */
  private processTlpAck(ack: number): void {
    if (!this.tlpActive || seqLt(ack, this.tlpHighSeq)) return;
    if (!this.tlpRetrans) {
      this.tlpActive = false;
    } else if (seqGt(ack, this.tlpHighSeq)) {
      this.ssthresh = this.cubicRecalcSsthresh();
      this.cwnd = this.ssthresh;
      this.tlpActive = false;
    }
  }

  /** tcp_packets_in_flight: out minus SACKed minus lost-not-retransmitted. */
  private inFlight(): number {
    return this.rtx.length - this.nSacked - this.nLost;
  }

  /** Zero window: the retransmit timer doubles as the probe timer (tcp_probe_timer is not modelled
   *  separately; a probe is an ACK with seq snd_una - 1). */
  private armProbe(): void {
    if (!this.rtxTimer.armed) this.rtxTimer.armAfter(this.rto);
  }

  private enterFastRecovery(): void {
    const head = this.rtx[0];
    if (!head) return;
    this.ssthresh = this.cubicRecalcSsthresh();
    this.cwnd = this.ssthresh;
    this.inRecovery = true;
    this.fastRecovery = true;
    this.recoveryHigh = this.sndNxt;
    head.retrans = true;
    if (this.retransStamp === 0) this.retransStamp = head.sentAt;
    this.xmitSeg(head);
    this.rtxTimer.armAfter(this.rto);
  }

  /** tcp_retransmit_timer (+ tcp_write_timeout). */
  private onRetransmitTimer(): void {
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    if (this.rtxMode === 'tlp') {
      this.rtxMode = 'rto';
      this.sendLossProbe();
      return;
    }
    if (this.rtxMode === 'reo') {
      // tcp_rack_reo_timeout
      this.rtxMode = 'rto';
      if (!this.rackDetectLoss()) this.rearmRto();
      return;
    }
    const head = this.rtx[0];
    if (!head) {
      // zero-window probe
      if (seqDiff(this.writeSeq, this.sndNxt) > 0 || (this.finQueued && !this.finSent)) {
        this.xmitRaw(seqAdd(this.sndUna, -1), ACK, 0, 0);
        this.backoff++;
        this.rtxTimer.armAfter(Math.min(this.rto * 2 ** this.backoff, TCP_RTO_MAX));
      }
      return;
    }
    if (this.writeTimeout()) return;
    if (this.state === 'SYN_SENT') {
      head.retrans = true;
      this.xmitSeg(head);
    } else {
      // tcp_enter_loss: everything outstanding is lost, cwnd 1
      this.tlpActive = false;
      this.ssthresh = this.cubicRecalcSsthresh();
      this.cwnd = 1;
      this.cwndCnt = 0;
      this.inRecovery = true;
      this.fastRecovery = false;
      this.recoveryHigh = this.sndNxt;
      this.nLost = 0;
      for (const s of this.rtx) {
        s.lost = !s.sacked && s !== head;
        if (s.lost) this.nLost++;
      }
      head.retrans = true;
      if (this.retransStamp === 0) this.retransStamp = head.sentAt;
      this.xmitSeg(head);
    }
    this.backoff++;
    this.retransmits++;
    if (this.state !== 'SYN_SENT' || this.backoff > TCP_SYN_LINEAR_TIMEOUTS) {
      this.rto = Math.min(this.rto * 2, TCP_RTO_MAX);
    }
    this.rtxTimer.armAfter(this.rto);
  }

  /** tcp_write_timeout: true when the connection was given up. */
  private writeTimeout(): boolean {
    if (this.state === 'SYN_SENT') {
      if (this.retransmits >= TCP_SYN_RETRIES + TCP_SYN_LINEAR_TIMEOUTS) {
        this.fail('timeout');
        return true;
      }
      return false;
    }
    if (this.retransmits === 0) return false;
    const elapsed = this.now() - this.retransStamp;
    if (elapsed >= modelTimeout(TCP_RETRIES2, TCP_RTO_MIN)) {
      this.fail('timeout');
      return true;
    }
    return false;
  }

  private sendAck(): void {
    if (this.state === 'CLOSED') return;
    this.xmitRaw(this.sndNxt, ACK, 0, 0);
  }

  /** tcp_send_dupack: old data is D-SACKed and puts the receiver back in quickack mode. */
  private sendDupAck(seg: Segment, endSeq: number): void {
    if (endSeq !== seg.seq && seqLt(seg.seq, this.rcvNxt)) {
      this.enterQuickack(TCP_MAX_QUICKACKS);
      if (this.sackOk) this.setDsack(seg.seq, seqLt(endSeq, this.rcvNxt) ? endSeq : this.rcvNxt);
    }
    this.sendAck();
  }

  /** tcp_oow_rate_limited: at most one ACK per tcp_invalid_ratelimit (500 ms) for out-of-window
   *  segments that carry no data (data segments are not part of an ACK loop). */
  private oowRateLimited(seg: Segment): boolean {
    if (seg.dataLen > 0 && !(seg.flags & SYN)) return false;
    return this.oowLimited();
  }

  private oowLimited(): boolean {
    const now = this.now();
    if (this.lastOowAck >= 0 && now - this.lastOowAck < TCP_INVALID_RATELIMIT) return true;
    this.lastOowAck = now;
    return false;
  }

  private lastOowAck = -1;

  /** tcp_send_challenge_ack (RFC 5961), limited per socket like other out-of-window ACKs; the
   *  global tcp_challenge_ack_limit is off (INT_MAX) since 6.0. */
  private sendChallengeAck(): void {
    if (this.oowLimited()) return;
    this.sendAck();
  }

  private xmitControl(seq: number, flags: number): void {
    this.xmitRaw(seq, flags, 0, 0);
  }

  /** (Re)transmit a queued segment: SYN with its options, or data read back from the send buffer. */
  private xmitSeg(s: TxSeg): boolean {
    const synOrFin = (s.flags & SYN ? 1 : 0) + (s.flags & FIN ? 1 : 0);
    const len = seqDiff(s.end, s.seq) - synOrFin;
    s.xmitAt = this.now();
    s.xmitOrder = ++this.txCount;
    return this.xmitRaw(s.seq, s.flags, s.flags & SYN ? 0 : seqDiff(s.seq, this.sndBufSeq), len);
  }

  /**
   * tcp_transmit_skb: header, options (SYN's, or TS [+ SACK]), payload from the send buffer at
   * `bufOff` (relative to sndBufSeq), checksum, IP header fields; then tcp_event_ack_sent.
   */
  private xmitRaw(seq: number, flags: number, bufOff: number, len: number): boolean {
    const ip = this.owner.ip;
    const pool = ip.engine.pool;
    const slot = pool.alloc();
    const b = pool.bytes;
    const off = pool.base(slot) + L4_OFFSET;
    const syn = (flags & SYN) !== 0;
    let optLen: number;
    let nSack = 0;
    if (syn) {
      this.synOpts.tsval = this.tsNow();
      this.synOpts.tsecr = flags & ACK ? this.tsRecent : 0;
      optLen = synOptionsLen(this.synOpts);
    } else {
      optLen = this.tsOk ? TS_ALIGNED_LEN : 0;
      if (this.sackOk && !(flags & RST) && (this.dsack || this.sackEdges.length > 0)) {
        const maxBlocks = this.tsOk ? 3 : 4;
        nSack = Math.min(maxBlocks, (this.dsack ? 1 : 0) + this.sackEdges.length / 2);
        optLen += 4 + 8 * nSack;
      }
    }
    const hlen = TCP_HEADER_LEN + optLen;
    let window: number;
    // (a RST from a full socket carries its window like any segment; only the control socket's has 0)
    if (syn) window = Math.min(this.rcvWnd, 65535);
    else if (this.twRcvWnd >= 0) window = Math.min(Math.floor(this.twRcvWnd / 2 ** this.rcvWscale), 65535);
    else window = this.selectWindow();
    const ack = flags & ACK ? this.rcvNxt : 0;
    writeHeader(b, off, this.lport, this.rport, seq, ack, flags, window, hlen);
    let at = off + TCP_HEADER_LEN;
    if (syn) {
      at += writeSynOptions(b, at, this.synOpts);
    } else {
      if (this.tsOk) {
        writeTsOption(b, at, this.tsNow(), this.tsRecent);
        at += TS_ALIGNED_LEN;
      }
      if (nSack > 0) {
        const edges: number[] = [];
        if (this.dsack) edges.push(this.dsackStart, this.dsackEnd);
        for (let i = 0; edges.length < 2 * nSack && i < this.sackEdges.length; i++) edges.push(this.sackEdges[i]!);
        at += writeSackOption(b, at, edges, nSack);
        this.dsack = false;
      }
    }
    if (len > 0) b.set(this.sndBuf.subarray(this.sndBufStart + bufOff, this.sndBufStart + bufOff + len), at);
    const l4len = hlen + len;
    fillTcpChecksum(b, off, l4len, this.laddr, this.raddr);
    pool.len[slot] = L4_OFFSET + l4len;
    const h = this.hdr;
    if (this.idZero) {
      h.id = 0;
    } else {
      h.id = this.ipId;
      this.ipId = (this.ipId + 1) & 0xffff;
    }
    if (flags & ACK) this.eventAckSent();
    if (len > 0 && this.state !== 'SYN_RECV') this.eventDataSent();
    return ip.sendL4(slot, l4len, h);
  }

  /** tcp_event_ack_sent: one quick ACK spent, the delayed ACK cancelled. */
  private eventAckSent(): void {
    if (this.quick > 0) {
      const pkts = this.ackScheduled ? 1 : 0;
      if (pkts >= this.quick) {
        this.quick = 0;
        this.ato = TCP_ATO_MIN;
      } else {
        this.quick -= pkts;
      }
    }
    this.ackScheduled = false;
    this.ackPushed = false;
    this.ackPushed2 = false;
    this.ackNowFlag = false;
    this.delackTimer.cancel();
  }

  /** tcp_event_data_sent: a reply within ato of the last received data means ping-pong traffic. */
  private eventDataSent(): void {
    this.lsndtime = this.now();
    if (this.now() - this.lrcvtime < this.ato) this.pingpong++;
  }

  // ================================================================ CUBIC (tcp_cubic.c, without HyStart)

  private lsndtime = 0;
  private cubicLastMax = 0;
  private cubicEpoch = -1;
  private cubicOrigin = 0;
  private cubicK = 0;
  private cubicAckCnt = 0;
  private cubicTcpCwnd = 0;
  /** tcp_cwnd_validate's record of how much of cwnd the last window used. */
  private maxPacketsOut = 0;
  private cwndUsageSeq = 0;
  private isCwndLimited = false;

  /** cubictcp_recalc_ssthresh: β = 717/1024, with fast convergence of last_max_cwnd. */
  private cubicRecalcSsthresh(): number {
    this.cubicEpoch = -1;
    this.cubicLastMax = this.cwnd < this.cubicLastMax ? Math.floor((this.cwnd * (1024 + 717)) / 2048) : this.cwnd;
    return Math.max(Math.floor((this.cwnd * 717) / 1024), 2);
  }

  /** tcp_is_cwnd_limited: only a flow that used its window may grow it (twice the used in slow start). */
  private cwndLimited(): boolean {
    if (this.isCwndLimited) return true;
    return this.cwnd < this.ssthresh && this.cwnd < 2 * this.maxPacketsOut;
  }

  /** tcp_cwnd_validate, after tcp_write_xmit. */
  private cwndValidate(limited: boolean): void {
    if (!seqLt(this.sndUna, this.cwndUsageSeq) || limited || (!this.isCwndLimited && this.rtx.length > this.maxPacketsOut)) {
      this.isCwndLimited = limited;
      this.maxPacketsOut = this.rtx.length;
      this.cwndUsageSeq = this.sndNxt;
    }
  }

  /** tcp_slow_start_after_idle_check → tcp_cwnd_restart: after an idle RTO, cwnd halves per RTO
   *  down to the initial window (net.ipv4.tcp_slow_start_after_idle = 1). */
  private restartAfterIdle(): void {
    if (this.rtx.length > 0 || this.lsndtime === 0) return;
    let delta = this.now() - this.lsndtime;
    if (delta <= this.rto) return;
    const restart = Math.min(TCP_INIT_CWND, this.cwnd);
    this.ssthresh = Math.max(this.ssthresh, Math.floor((this.cwnd * 3) / 4));
    let cwnd = this.cwnd;
    while ((delta -= this.rto) > 0 && cwnd > restart) cwnd >>= 1;
    this.cwnd = Math.max(cwnd, restart);
    this.cubicEpoch = -1;
  }

  /** cubictcp_cong_avoid: slow start up to ssthresh, then tcp_cong_avoid_ai with bictcp_update's cnt. */
  private cubicCongAvoid(acked: number): void {
    if (!this.cwndLimited()) return;
    if (this.cwnd < this.ssthresh) {
      const c = Math.min(this.cwnd + acked, this.ssthresh);
      acked -= c - this.cwnd;
      this.cwnd = c;
      if (acked <= 0) return;
    }
    const cnt = this.cubicUpdate(acked);
    if (this.cwndCnt >= cnt) {
      this.cwndCnt = 0;
      this.cwnd++;
    }
    this.cwndCnt += acked;
    if (this.cwndCnt >= cnt) {
      const delta = Math.floor(this.cwndCnt / cnt);
      this.cwndCnt -= delta * cnt;
      this.cwnd += delta;
    }
  }

  /** bictcp_update: W(t) = C (t − K)³ + W_max with C = 0.4, t including the minimum RTT, and the
   *  Reno-friendly region (beta_scale 15). Returns cnt: ACKed segments per cwnd increment. */
  private cubicUpdate(acked: number): number {
    const cwnd = this.cwnd;
    const now = this.now();
    this.cubicAckCnt += acked;
    if (this.cubicEpoch < 0) {
      this.cubicEpoch = now;
      this.cubicAckCnt = acked;
      this.cubicTcpCwnd = cwnd;
      if (this.cubicLastMax <= cwnd) {
        this.cubicK = 0;
        this.cubicOrigin = cwnd;
      } else {
        this.cubicK = Math.cbrt((this.cubicLastMax - cwnd) / 0.4);
        this.cubicOrigin = this.cubicLastMax;
      }
    }
    const t = (now - this.cubicEpoch) / 1e9 + this.minRttUs / 1e6;
    const target = Math.floor(this.cubicOrigin + 0.4 * (t - this.cubicK) ** 3);
    let cnt = target > cwnd ? Math.floor(cwnd / (target - cwnd)) : 100 * cwnd;
    if (this.cubicLastMax === 0 && cnt > 20) cnt = 20;
    const delta = (cwnd * 15) >> 3;
    while (this.cubicAckCnt > delta) {
      this.cubicAckCnt -= delta;
      this.cubicTcpCwnd++;
    }
    if (this.cubicTcpCwnd > cwnd) {
      const maxCnt = Math.floor(cwnd / (this.cubicTcpCwnd - cwnd));
      if (cnt > maxCnt) cnt = maxCnt;
    }
    return Math.max(cnt, 2);
  }

  // ================================================================ receive window

  private fullSpace(): number {
    return winFromSpace(this.scalingRatio, this.rcvbuf);
  }

  private tcpSpace(): number {
    return winFromSpace(this.scalingRatio, this.rcvbuf - this.rmemAlloc);
  }

  private receiveWindow(): number {
    const w = seqDiff(seqAdd(this.rcvWup, this.rcvWnd), this.rcvNxt);
    return w < 0 ? 0 : w;
  }

  /** __tcp_select_window. */
  private selectWindowRaw(): number {
    let mss = this.rcvMss;
    let free = this.tcpSpace();
    const allowed = this.fullSpace();
    const full = Math.min(this.windowClamp, allowed);
    const unit = 2 ** this.rcvWscale;
    if (mss > full) {
      mss = full;
      if (mss <= 0) return 0;
    }
    if (free < full >> 1) {
      this.quick = 0;
      free = free - (free % unit);
      if (free < allowed >> 4 || free < mss) return 0;
    }
    if (free > this.rcvSsthresh) free = this.rcvSsthresh;
    if (this.rcvWscale) return Math.ceil(free / unit) * unit;
    let window = this.rcvWnd;
    if (window <= free - mss || window > free) window = free - (free % mss);
    else if (mss === full && free > window + (full >> 1)) window = free;
    return window;
  }

  /** tcp_select_window: never shrink; remember rcv_wnd / rcv_wup; scale. */
  private selectWindow(): number {
    const cur = this.receiveWindow();
    let nw = this.selectWindowRaw();
    const unit = 2 ** this.rcvWscale;
    if (nw < cur) nw = Math.ceil(cur / unit) * unit;
    this.rcvWnd = nw;
    this.rcvWup = this.rcvNxt;
    nw = Math.min(nw, 65535 * unit);
    return Math.floor(nw / unit);
  }

  // ================================================================ endings

  private fail(reason: TcpErrorReason): void {
    this.done(reason);
  }

  /** tcp_done: out of the tables, timers stopped, the application told once. */
  private done(reason: TcpErrorReason | null): void {
    if (this.state === 'CLOSED') return;
    const wasSynRecv = this.state === 'SYN_RECV';
    this.state = 'CLOSED';
    this.rtxTimer.cancel();
    this.delackTimer.cancel();
    this.waitTimer.cancel();
    this.rtx.length = 0;
    this.nSacked = 0;
    this.nLost = 0;
    this.owner.unhash(this);
    if (wasSynRecv) return; // never accepted: the application does not know it
    // an orphan (closed by the application) has nobody left to hear the error
    if (reason !== null && !this.appClosed) this.handlers.onError?.(reason, this);
    this.notifyClose();
  }

  private notifyClose(): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.handlers.onClose?.(this);
  }

  private now(): number {
    return this.owner.ip.engine.now;
  }

  /** TS clock: milliseconds plus the connection's random offset (tcp_time_stamp_ts + ts_off). */
  private tsNow(): number {
    return (Math.floor(this.now() / MS) + this.tsOffset) >>> 0;
  }
}
