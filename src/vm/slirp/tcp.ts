// libslirp's own TCP towards the guest (slirp/src/tcp_input.c, tcp_output.c, tcp_timer.c: the 4.4BSD
// stack QEMU inherited), reduced to what a guest connection needs: the handshake, data both ways, the
// close in either order, RST. The other end of every guest connection is an ordinary socket of the
// host's stack (src/sockets/tcp.ts), opened by the Slirp (slirp.ts) and relayed here.
//
// What it puts on the wire, as fixtures/real-captures/vm-nat/vg.tap0.pcap (libslirp 4.7.0) shows:
//   IPv4   TOS so_iptos: tcp_tos (slirp.ts TCPTOS: 0x08 towards port 80, 20, 6667/8; 0x10 for telnet, ftp
//          control, rlogin, identd…), else the guest SYN's TOS (a hostfwd connection: 0); no DF
//          (tcp_output leaves ip_off 0), TTL 64 (IPDEFTTL), id from libslirp's one global counter
//          (ip_output: ip_id = slirp->ip_id++) shared with UDP and ICMP: 1, 2, 3, … in the capture.
//   SYN-ACK  options MSS only (1460 = IF_MTU 1500 - 40; RFC 1323 options are compiled out), window
//          65535, ISS 64001 for the first connection (tcp_iss starts at 1, TCP_ISSINCR/2 = 64000 steps).
//   window   65535 on every segment: sbspace(so_rcv) clamped to TCP_MAXWIN; we write what the guest
//          sends to the host socket at once, so the receive buffer never holds anything.
//   data in  header-prediction path: the bytes go to the host socket first, then an immediate ACK
//          (TF_ACKNOW), as the capture has vh's P. before slirp's ACK.
//   data out ACK|PSH when a segment empties the send buffer (BSD: off + len == so_snd.sb_cc).
//   FIN in   TF_DELACK: acknowledged by tcp_fasttimo 2 ms (TIMEOUT_FAST) later, and the host socket is
//          shut down for writing at once (sofwdrain → shutdown(SHUT_WR)).
//   EOF from the host: noticed at slirp's next poll round (we take TIMEOUT_FAST, the poll timeout
//          while a delayed ACK is pending), then tcp_sockclosed → FIN. Together with the delayed ACK
//          this gives the capture's "separate ACK before its FIN".
// Not modelled: out-of-order reassembly (such segments are answered with a duplicate ACK and dropped),
// RTT estimation (the retransmission timeout stays at BSD's initial 6 s, doubling per try, 12 tries),
// urgent data, persist timer, keepalive.

import { Timer } from '../../sim/timer.js';
import { TcpFlag } from '../../wire/tcp.js';

const { FIN, SYN, RST, PSH, ACK } = TcpFlag;

export const SLIRP_MSS = 1460;
export const SLIRP_WINDOW = 65535;
/** slirp's TIMEOUT_FAST (ms): delayed ACKs, and the poll round in which socket events are seen. */
export const TIMEOUT_FAST_NS = 2_000_000;
const RTO_INITIAL_NS = 6_000_000_000;
const MAX_RXT = 12;
/** 2 * TCPTV_MSL (TCPTV_MSL is 5 s in slirp). */
const TIME_WAIT_NS = 10_000_000_000;

export type SlirpTcpState =
  | 'CONNECTING' // guest SYN seen, host socket connecting (libslirp: SS_ISFCONNECTING)
  | 'SYN_SENT' // hostfwd: our SYN to the guest
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'CLOSE_WAIT'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSED';

export interface SlirpSegment {
  seq: number;
  ack: number;
  flags: number;
  win: number;
  /** MSS option (0 when absent). */
  mss: number;
  data: Uint8Array;
}

/** What a TCB needs from its Slirp. */
export interface SlirpTcbOwner {
  readonly engine: import('../../sim/engine.js').Engine;
  /** Emit one segment to the guest. */
  emitTcp(tcb: SlirpTcb, flags: number, seq: number, ack: number, win: number, mss: number, data: Uint8Array | null): void;
  /** The TCB is gone. */
  forget(tcb: SlirpTcb): void;
}

/** The host side of a relayed connection (a TcpConnection of the host's stack, or a test double). */
export interface HostSide {
  send(bytes: Uint8Array): void;
  /** shutdown(SHUT_WR): the guest sent its FIN; answers may still come. */
  shutdown(): void;
  /** close(2) (closesocket when the TCB is freed). */
  close(): void;
}

function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
const add = (a: number, n: number): number => (a + n) >>> 0;

export class SlirpTcb {
  state: SlirpTcpState;
  host: HostSide | null = null;
  readonly iss: number;
  sndUna: number;
  sndNxt: number;
  sndWnd = 0;
  rcvNxt = 0;
  maxseg = SLIRP_MSS;
  /** Bytes from the host not yet acknowledged by the guest; sndBuf[0] is sequence sndUna (after SYN). */
  private sndBuf = new Uint8Array(0);
  /** The host's EOF was processed (tcp_sockclosed): a FIN follows the data. */
  private sockClosed = false;
  private finSent = false;
  private delack = false;
  private readonly fastTimer: Timer;
  private readonly rxtTimer: Timer;
  private readonly twTimer: Timer;
  private rxtShift = 0;
  /** Data from the guest waiting for the host socket to connect (hostfwd before the host side exists). */
  private pendingToHost: Uint8Array[] = [];

  constructor(
    private readonly owner: SlirpTcbOwner,
    /** Guest-side addressing: `faddr:fport` is what the guest talks to, `laddr:lport` the guest. */
    readonly faddr: number,
    readonly fport: number,
    readonly laddr: number,
    readonly lport: number,
    iss: number,
    state: SlirpTcpState,
  ) {
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.state = state;
    const e = owner.engine;
    this.fastTimer = new Timer(e, () => this.fasttimo());
    this.rxtTimer = new Timer(e, () => this.retransmit());
    this.twTimer = new Timer(e, () => this.close());
  }

  // ---- events from the host socket ----------------------------------------------------------------

  /** Guest SYN accepted earlier, host connect succeeded: send the SYN-ACK (tcp_input's cont_conn). */
  hostConnected(): void {
    if (this.state !== 'CONNECTING') return;
    this.state = 'SYN_RECEIVED';
    this.output();
  }

  /** Bytes read from the host socket (soread): queue and send. */
  fromHost(bytes: Uint8Array): void {
    if (this.state === 'CLOSED' || this.sockClosed) return;
    const b = new Uint8Array(this.sndBuf.length + bytes.length);
    b.set(this.sndBuf);
    b.set(bytes, this.sndBuf.length);
    this.sndBuf = b;
    this.output();
  }

  /** recv() returned 0 on the host socket: at the next poll round, tcp_sockclosed. */
  hostEof(): void {
    this.owner.engine.after(TIMEOUT_FAST_NS, () => this.sockclosed());
  }

  /** The host socket failed with a reset (ECONNRESET): tcp_drop sends RST|ACK. */
  hostReset(): void {
    if (this.state === 'CLOSED') return;
    if (this.state !== 'CONNECTING') this.owner.emitTcp(this, RST | ACK, this.sndNxt, this.rcvNxt, SLIRP_WINDOW, 0, null);
    this.host = null;
    this.close();
  }

  private sockclosed(): void {
    switch (this.state) {
      case 'CONNECTING':
      case 'SYN_SENT':
      case 'SYN_RECEIVED':
        this.close();
        return;
      case 'ESTABLISHED':
        this.state = 'FIN_WAIT_1';
        break;
      case 'CLOSE_WAIT':
        this.state = 'LAST_ACK';
        break;
      default:
        return;
    }
    this.sockClosed = true;
    this.output();
  }

  // ---- tcp_input ---------------------------------------------------------------------------------

  /** The guest's first SYN (LISTEN state in libslirp): remember its sequence and MSS. */
  acceptSyn(seg: SlirpSegment): void {
    this.rcvNxt = add(seg.seq, 1);
    this.sndWnd = seg.win;
    if (seg.mss > 0) this.maxseg = Math.max(32, Math.min(SLIRP_MSS, seg.mss));
  }

  input(seg: SlirpSegment): void {
    const f = seg.flags;
    if (this.state === 'CONNECTING') return; // SYN retransmissions while the host connects: dropped
    if (this.state === 'SYN_SENT') {
      if ((f & ACK) !== 0 && (seqLeq(seg.ack, this.iss) || seqLt(this.sndNxt, seg.ack))) {
        if ((f & RST) === 0) this.owner.emitTcp(this, RST, seg.ack, 0, 0, 0, null);
        return;
      }
      if ((f & RST) !== 0) {
        if ((f & ACK) !== 0) this.drop();
        return;
      }
      if ((f & SYN) === 0) return;
      this.rcvNxt = add(seg.seq, 1);
      if (seg.mss > 0) this.maxseg = Math.max(32, Math.min(SLIRP_MSS, seg.mss));
      if ((f & ACK) !== 0) {
        this.sndUna = seg.ack;
        this.rxtTimer.cancel();
        this.rxtShift = 0;
        this.sndWnd = seg.win;
        this.state = 'ESTABLISHED';
        // TF_ACKNOW: a pure ACK. The host socket is polled for reading only once it is connected
        // (CONN_CANFRCV needs SS_ISFCONNECTED, which soisfconnected sets right here), so what the
        // host peer sent meanwhile is read in the next poll round and follows in its own segment.
        this.delack = false;
        this.owner.emitTcp(this, ACK, this.sndNxt, this.rcvNxt, SLIRP_WINDOW, 0, null);
        if (this.sndBuf.length > 0) this.owner.engine.after(0, () => this.output());
        this.flushToHost();
      }
      return;
    }
    // Acceptability (trimmed: a segment must start at rcv_nxt, else duplicate ACK). A RST is taken
    // unless it lies beyond the window: slirp trims what is left of the window and "keeps on
    // processing for RST" (a Linux guest resets with the sequence before its FIN).
    if ((f & RST) !== 0) {
      if (seqLt(seg.seq, add(this.rcvNxt, SLIRP_WINDOW))) this.drop();
      return;
    }
    if ((f & SYN) !== 0) {
      // A retransmitted SYN (our SYN-ACK was lost) gets the SYN-ACK again; anything else a dup ACK.
      if (this.state === 'SYN_RECEIVED') this.output(true);
      else this.ackNow();
      return;
    }
    if ((f & ACK) === 0) return;
    if (seg.seq !== this.rcvNxt && (seg.data.length > 0 || (f & FIN) !== 0)) {
      this.ackNow();
      return;
    }
    // ACK processing.
    if (this.state === 'SYN_RECEIVED') {
      if (seqLt(seg.ack, add(this.iss, 1)) || seqLt(this.sndNxt, seg.ack)) {
        this.owner.emitTcp(this, RST, seg.ack, 0, 0, 0, null);
        return;
      }
      this.state = 'ESTABLISHED';
      this.sndUna = add(this.iss, 1);
      this.rxtTimer.cancel();
      this.rxtShift = 0;
    }
    if (seqLt(this.sndNxt, seg.ack)) {
      this.ackNow();
      return;
    }
    if (seqLt(this.sndUna, seg.ack)) {
      let acked = (seg.ack - this.sndUna) >>> 0;
      const finAcked = this.finSent && seg.ack === this.sndNxt;
      if (finAcked) acked--;
      this.sndBuf = this.sndBuf.subarray(Math.min(acked, this.sndBuf.length));
      this.sndUna = seg.ack;
      this.rxtShift = 0;
      if (this.sndUna === this.sndNxt) this.rxtTimer.cancel();
      else this.rxtTimer.armAfter(RTO_INITIAL_NS);
      if (finAcked) {
        switch (this.state) {
          case 'FIN_WAIT_1':
            this.state = 'FIN_WAIT_2';
            break;
          case 'CLOSING':
            this.enterTimeWait();
            break;
          case 'LAST_ACK':
            this.close();
            return;
        }
      }
    }
    this.sndWnd = seg.win;
    // Data.
    let needOutput = false;
    if (seg.data.length > 0 && (this.state === 'ESTABLISHED' || this.state === 'FIN_WAIT_1' || this.state === 'FIN_WAIT_2')) {
      this.rcvNxt = add(this.rcvNxt, seg.data.length);
      this.toHost(seg.data);
      needOutput = true;
    }
    if ((f & FIN) !== 0) {
      const first = !(this.state === 'CLOSE_WAIT' || this.state === 'CLOSING' || this.state === 'LAST_ACK' || this.state === 'TIME_WAIT');
      if (first) {
        this.rcvNxt = add(this.rcvNxt, 1);
        // sofwdrain: nothing is buffered, so the host socket is shut down for writing now.
        this.host?.shutdown();
        this.delack = true;
        if (!this.fastTimer.armed) this.fastTimer.armAfter(TIMEOUT_FAST_NS);
      }
      switch (this.state) {
        case 'ESTABLISHED':
          this.state = 'CLOSE_WAIT';
          break;
        case 'FIN_WAIT_1':
          this.state = 'CLOSING';
          break;
        case 'FIN_WAIT_2':
          this.enterTimeWait();
          break;
        case 'TIME_WAIT':
          this.twTimer.armAfter(TIME_WAIT_NS);
          break;
      }
    }
    if (needOutput) {
      // Header prediction's "ACK now" (RFC 2581: do not delay ACKs of data).
      this.delack = false;
      this.output(true);
    } else this.output();
  }

  private toHost(data: Uint8Array): void {
    if (this.host !== null) this.host.send(data.slice());
    else this.pendingToHost.push(data.slice());
  }

  /** hostfwd: the host connection exists; pass on what the guest sent meanwhile. */
  attachHost(h: HostSide): void {
    this.host = h;
    this.flushToHost();
  }

  private flushToHost(): void {
    if (this.host === null) return;
    for (const d of this.pendingToHost) this.host.send(d);
    this.pendingToHost = [];
  }

  /** hostfwd: send our SYN to the guest. */
  connect(): void {
    this.output();
  }

  // ---- tcp_output -----------------------------------------------------------------------------------

  private ackNow(): void {
    this.delack = false;
    this.output(true);
  }

  /** Sends what may be sent; with `force` at least one segment (an ACK). */
  output(force = false): void {
    const o = this.owner;
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN_RECEIVED' || this.state === 'SYN_SENT') {
      if (this.sndNxt === this.iss || force) {
        const flags = this.state === 'SYN_SENT' ? SYN : SYN | ACK;
        o.emitTcp(this, flags, this.iss, this.state === 'SYN_SENT' ? 0 : this.rcvNxt, SLIRP_WINDOW, SLIRP_MSS, null);
        this.sndNxt = add(this.iss, 1);
        if (!this.rxtTimer.armed) this.rxtTimer.armAfter(RTO_INITIAL_NS << this.rxtShift);
      }
      return;
    }
    if (this.state === 'CONNECTING') return;
    let sent = false;
    const canSendData = this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT' || this.state === 'FIN_WAIT_1' || this.state === 'LAST_ACK' || this.state === 'CLOSING';
    if (canSendData) {
      for (;;) {
        const off = (this.sndNxt - this.sndUna) >>> 0;
        const inFlight = off;
        const avail = this.sndBuf.length - Math.min(off, this.sndBuf.length);
        const wnd = Math.max(0, this.sndWnd - inFlight);
        const len = Math.min(avail, this.maxseg, wnd);
        const finNow = this.sockClosed && !this.finSent && len === avail;
        if (len === 0 && !finNow) break;
        let flags = ACK;
        if (len > 0 && off + len === this.sndBuf.length) flags |= PSH;
        if (finNow) flags |= FIN;
        const data = len > 0 ? this.sndBuf.subarray(off, off + len) : null;
        o.emitTcp(this, flags, this.sndNxt, this.rcvNxt, SLIRP_WINDOW, 0, data);
        this.sndNxt = add(this.sndNxt, len + (finNow ? 1 : 0));
        if (finNow) this.finSent = true;
        sent = true;
        if (!this.rxtTimer.armed) this.rxtTimer.armAfter(RTO_INITIAL_NS);
        if (finNow) break;
      }
    }
    if (!sent && force) {
      o.emitTcp(this, ACK, this.sndNxt, this.rcvNxt, SLIRP_WINDOW, 0, null);
      sent = true;
    }
    if (sent) this.delack = false;
  }

  private fasttimo(): void {
    if (!this.delack || this.state === 'CLOSED') return;
    this.ackNow();
  }

  private retransmit(): void {
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    if (++this.rxtShift > MAX_RXT) {
      this.drop();
      return;
    }
    // Go back to snd_una and send again (tcp_timers: TCPT_REXMT).
    if (this.finSent && this.sndUna !== this.sndNxt) this.finSent = false;
    this.sndNxt = this.sndUna;
    if (this.state === 'SYN_RECEIVED' || this.state === 'SYN_SENT') this.sndNxt = this.iss;
    this.rxtTimer.armAfter(RTO_INITIAL_NS * 2 ** this.rxtShift);
    this.output(true);
  }

  private enterTimeWait(): void {
    this.state = 'TIME_WAIT';
    this.rxtTimer.cancel();
    this.twTimer.armAfter(TIME_WAIT_NS);
  }

  /** The guest reset the connection (or we gave up): tcp_close → closesocket. Slirp has read all the
   *  host socket held (we relay at once), so Linux's close() sends no RST: FIN, or nothing more if
   *  the FIN went already. */
  private drop(): void {
    this.close();
  }

  close(): void {
    if (this.state === 'CLOSED') return;
    this.state = 'CLOSED';
    this.fastTimer.cancel();
    this.rxtTimer.cancel();
    this.twTimer.cancel();
    const h = this.host;
    this.host = null;
    h?.close();
    this.owner.forget(this);
  }
}
