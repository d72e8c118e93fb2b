// The state a TCP connection owns, grouped as Linux's struct tcp_sock groups it by use: the send
// side (snd_*, the write and retransmit queues, recovery), the receive side (rcv_*, the out-of-order
// queue, receive-buffer autotuning, what waits for the application), the options agreed in the
// handshake (rx_opt), the delayed-ACK engine (icsk_ack), RACK (tp->rack) and the tail loss probe
// (tp->tlp_*). The RTT estimator and congestion control live in rtt.ts and cubic.ts.
//
// These are plain records with the few methods that read nothing else; the algorithms that tie them
// together are the functions of input.ts, input-data.ts, recovery.ts, output.ts, timers.ts and
// minisocks.ts, each taking the connection as Linux's functions take `struct sock *sk`.

import { SLOT_SIZE } from '../../sim/pool.js';
import type { Timer } from '../../sim/timer.js';
import { TCP } from '../../wire/tcp.js';
import { L4_OFFSET } from '../transport.js';
import { TCP_ATO_MIN, TCP_DEFAULT_SCALING_RATIO, TCP_MSS_DEFAULT, TCP_RMEM_DEFAULT, winFromSpace } from '../tcp-const.js';
import { type ParsedOptions, type SynOptions, seqAdd, seqDiff } from '../tcp-wire.js';

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
  /** skb_shinfo(skb)->gso_size: segment size of a GSO super-frame that arrived whole (0: none). */
  gso: number;
  opts: ParsedOptions;
}

/** A sent, not yet acknowledged segment (an skb of the retransmit queue). */
export interface TxSeg {
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

export const NOT_SET = -1;

/** The send side: sequence space, the peer's window, the send buffer, the retransmit queue and the
 *  loss-recovery state that walks it. */
export class SendState {
  iss = 0;
  una = 0;
  nxt = 0;
  wnd = 0;
  wl1 = 0;
  wscale = 0;
  maxWindow = 0;
  /** Bytes written by the application from bufSeq on (acked bytes are dropped from the front). */
  buf = new Uint8Array(0);
  bufStart = 0;
  bufLen = 0;
  bufSeq = 0;
  /** Sequence right after the last byte written (write_seq). */
  writeSeq = 0;
  /** Ends of application writes not yet sent: the segment reaching one carries PSH. */
  pushEnds: number[] = [];
  rtx: TxSeg[] = [];
  /** Segments of `rtx` SACKed, and marked lost but not yet retransmitted (sacked_out, lost_out). */
  nSacked = 0;
  nLost = 0;
  finQueued = false;
  finSeq = 0;
  finSent = false;
  /** mss_cache: payload bytes per segment (peer MSS and our MTU, minus the TS option). */
  mssCache = TCP_MSS_DEFAULT;
  /** The MSS the peer offered in its SYN. */
  peerMss = TCP_MSS_DEFAULT;
  /** Path MTU (the route's MTU until an ICMP frag-needed lowers it). */
  pmtu = 1500;
  /** Nagle (Minshall): end of the last small segment sent. */
  sml = 0;
  dupAcks = 0;
  recoveryHigh = NOT_SET;
  inRecovery = false;
  /** Fast retransmit's recovery (cwnd held at ssthresh) as opposed to RTO loss recovery. */
  fastRecovery = false;
  /** retrans_stamp: first transmission of the oldest retransmitted segment (tcp_write_timeout's clock). */
  retransStamp = 0;
  /** lsndtime: when data last left (tcp_slow_start_after_idle_check). */
  lsndtime = 0;
  /** tcp_cwnd_validate's record of how much of cwnd the last window used. */
  maxPacketsOut = 0;
  cwndUsageSeq = 0;
  isCwndLimited = false;

  /** Copies an application write behind what is queued, growing the buffer as needed. */
  append(bytes: Uint8Array): void {
    const need = this.bufStart + this.bufLen + bytes.length;
    if (need > this.buf.length) {
      const live = this.bufLen + bytes.length;
      const buf = live <= this.buf.length ? this.buf : new Uint8Array(Math.max(live, this.buf.length * 2, 4096));
      buf.copyWithin(0, this.bufStart, this.bufStart + this.bufLen);
      if (buf !== this.buf) buf.set(this.buf.subarray(this.bufStart, this.bufStart + this.bufLen));
      this.buf = buf;
      this.bufStart = 0;
    }
    this.buf.set(bytes, this.bufStart + this.bufLen);
    this.bufLen += bytes.length;
  }

  /** tcp_packets_in_flight: out minus SACKed minus lost-not-retransmitted. */
  inFlight(): number {
    return this.rtx.length - this.nSacked - this.nLost;
  }
}

/** An out-of-order segment waiting for the hole before it. */
export interface OfoSeg {
  seq: number;
  data: Uint8Array;
  fin: boolean;
}

/** The receive side: sequence space, the window we offer, receive-buffer autotuning, the
 *  out-of-order queue with its SACK blocks, and what waits to be handed to the application. */
export class RecvState {
  irs = 0;
  nxt = 0;
  wnd = 0;
  wup = 0;
  wscale = 0;
  ssthresh = 0;
  windowClamp = 0;
  rcvbuf = TCP_RMEM_DEFAULT;
  scalingRatio = TCP_DEFAULT_SCALING_RATIO;
  advmss = 1460;
  /** rcv_mss: the peer's segment size as estimated from what arrives. */
  mss = TCP_MSS_DEFAULT;
  lastSegSize = 0;
  /** Bytes of received segments not yet handed to the application (sk_rmem_alloc, as truesize). */
  rmemAlloc = 0;
  /** Receive-buffer autotuning (rcvq_space, rcv_rtt_est): bytes read per receiver RTT. */
  rcvqSpace = 0;
  rcvqSeq = 0;
  rcvqTime = 0;
  rcvRttUs = 0;
  rcvRttLastTsecr = 0;
  copiedSeq = 0;
  /** Out-of-order data sorted by seq. */
  ofo: OfoSeg[] = [];
  sackEdges: number[] = [];
  /** Start of the out-of-order segment that arrived last: its SACK block goes first. */
  sackRecent = 0;
  dsackStart = 0;
  dsackEnd = 0;
  dsack = false;
  finReceived = false;
  /** In-order bytes not yet handed to the application, and its EOF. */
  delivered: Uint8Array[] = [];
  peerClosePending = false;
  /** TIME_WAIT was entered with data or EOF still to hand over: onClose comes after them. */
  closeAfterFlush = false;
  /** tw_rcv_wnd: the receive window when the timewait sock took over; its ACKs keep offering it. */
  twRcvWnd = -1;

  /** tcp_full_space. */
  fullSpace(): number {
    return winFromSpace(this.scalingRatio, this.rcvbuf);
  }

  /** tcp_space: the window the free part of the buffer is worth. */
  space(): number {
    return winFromSpace(this.scalingRatio, this.rcvbuf - this.rmemAlloc);
  }

  /** tcp_receive_window: what is left of the window last advertised. */
  window(): number {
    const w = seqDiff(seqAdd(this.wup, this.wnd), this.nxt);
    return w < 0 ? 0 : w;
  }
}

/** The options both ends agreed on in the handshake (tp->rx_opt), and our SYN's. */
export class AgreedOptions {
  tsOk = false;
  sackOk = false;
  wscaleOk = false;
  tsOffset = 0;
  tsRecent = 0;
  tsRecentSet = false;
  synOpts: SynOptions = { mss: 0, sack: false, ts: false, tsval: 0, tsecr: 0, wscale: -1 };
}

/** The delayed-ACK engine (inet_connection_sock's icsk_ack): quick ACKs, ping-pong, the ATO. */
export class DelayedAck {
  quick = 0;
  pingpong = 0;
  ato = 0;
  lrcvtime = 0;
  /** ICSK_ACK_SCHED: an ACK is owed. */
  scheduled = false;
  /** ICSK_ACK_PUSHED, ICSK_ACK_PUSHED2. */
  pushed = false;
  pushed2 = false;
  /** ICSK_ACK_NOW: owe it at once (a gap filled, a duplicate, out-of-order data). */
  now = false;

  constructor(readonly timer: Timer) {}

  inQuickack(): boolean {
    return this.quick > 0 && this.pingpong < 1;
  }

  /** tcp_event_ack_sent: one quick ACK spent, the delayed ACK cancelled. */
  ackSent(): void {
    if (this.quick > 0) {
      const pkts = this.scheduled ? 1 : 0;
      if (pkts >= this.quick) {
        this.quick = 0;
        this.ato = TCP_ATO_MIN;
      } else {
        this.quick -= pkts;
      }
    }
    this.scheduled = false;
    this.pushed = false;
    this.pushed2 = false;
    this.now = false;
    this.timer.cancel();
  }
}

/** RACK (RFC 8985, tp->rack): transmit time and order of the most recently sent segment known
 *  delivered, and the RTT it was delivered in. */
export class RackState {
  xmit = -1;
  order = -1;
  /** Transmissions so far on this connection (what TxSeg.xmitOrder counts). */
  txCount = 0;
  rttNs = 0;
}

/** Tail loss probe state: one probe per tail-loss episode, until snd_nxt at the probe is acked. */
export class TlpState {
  active = false;
  highSeq = 0;
  retrans = false;
}

/** ipv4_default_advmss: MTU - 40, at most IPV4_MAX_PMTU - 40 (65495 on lo's 65536); a route
 *  without a device (MTU 0) counts as 1500. */
export function advmssFor(mtu: number): number {
  return Math.min((mtu > 0 ? mtu : 1500) - 40, 65535 - 40);
}

/** Segments must fit a pool slot: on loopback (MTU 65536) Linux sends 64 KB segments, the emulator
 *  cuts them to what a 2048-byte slot holds after the Ethernet, IPv4 and largest TCP headers. */
export function slotMss(mss: number): number {
  return Math.min(mss, SLOT_SIZE - L4_OFFSET - TCP.MAX_HEADER_LEN);
}

/** A model of a received skb's truesize: sk_buff + data rounded to the cache line + shared info. */
export function skbTruesize(len: number): number {
  return 256 + (((len + 66 + 64 + 63) >>> 6) << 6) + 320;
}
