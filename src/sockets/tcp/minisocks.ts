// Mini-sockets (net/ipv4/tcp_minisocks.c): the request sock's SYN-ACK retransmissions
// (reqsk_timer_handler), TIME_WAIT (tcp_time_wait, tcp_timewait_state_process) and an orphaned
// FIN_WAIT_2 living tcp_fin_timeout as a timewait sock. A SYN that ends a TIME_WAIT is not handled
// here: rcvTimeWait returns the ISN its successor must use, and the demultiplexer passes the SYN on.

import type { TcpConnection } from './conn.js';
import { ACK, FIN, RST, SYN, seqAdd, seqGt, seqLt } from '../tcp-wire.js';
import { TCP_FIN_TIMEOUT, TCP_RTO_MAX, TCP_SYNACK_RETRIES, TCP_TIMEOUT_INIT, TCP_TIMEWAIT_LEN } from '../tcp-const.js';
import { type Segment } from './state.js';
import { sequenceOk, oowRateLimited } from './input.js';
import { sendSynAck, xmitRaw } from './output.js';

/** tcp_time_wait: the socket becomes a timewait sock for TCP_TIMEWAIT_LEN (IP id 0 from now). */
export function enterTimeWait(c: TcpConnection): void {
  c.state = 'TIME_WAIT';
  c.idZero = true;
  if (c.rcv.twRcvWnd < 0) c.rcv.twRcvWnd = c.rcv.window();
  c.rtxTimer.cancel();
  c.delack.timer.cancel();
  c.delack.scheduled = false;
  c.waitTimer.armAfter(TCP_TIMEWAIT_LEN);
  // the application hears of the close after the data and EOF that came with it
  if (c.rcv.delivered.length > 0 || c.rcv.peerClosePending) c.rcv.closeAfterFlush = true;
  else c.notifyClose();
}

/** An orphaned FIN_WAIT_2 lives tcp_fin_timeout as a timewait minisock (IP id 0 from then on). */
export function armFinWait2(c: TcpConnection): void {
  c.idZero = true;
  c.rcv.twRcvWnd = c.rcv.window();
  c.waitTimer.armAfter(TCP_FIN_TIMEOUT);
}

/** tcp_timewait_state_process: returns 0, or the ISN for the new incarnation when `seg` is a SYN
 *  that ends this TIME_WAIT (TCP_TW_SYN: the caller hands the SYN to the listener). */
export function rcvTimeWait(c: TcpConnection, seg: Segment): number {
  const f = seg.flags;
  if (f & RST) {
    c.done(null);
    return 0;
  }
  const o = seg.opts;
  const pawsReject = c.opt.tsOk && o.ts && c.opt.tsRecentSet && seqLt(o.tsval, c.opt.tsRecent);
  if (f & SYN && !(f & ACK) && !pawsReject && (seqGt(seg.seq, c.rcv.nxt) || (c.opt.tsOk && o.ts && seqGt(o.tsval, c.opt.tsRecent)))) {
    // A new incarnation: the TIME_WAIT socket gives way and the owner hands the SYN to the
    // listener, whose SYN-ACK starts at tw_snd_nxt + 65535 + 2 (tcp_timewait_state_process).
    const isn = seqAdd(c.snd.nxt, 65537) || 1;
    c.done(null);
    return isn;
  }
  if (f & ACK || f & FIN) {
    const endSeq = seqAdd(seg.seq, seg.dataLen + (f & FIN ? 1 : 0));
    if (f & FIN && !pawsReject && seqAdd(seg.seq, 1) === c.rcv.nxt) {
      // the peer's FIN again (our last ACK was lost): ACK it, restart the 60 s
      if (c.opt.tsOk && o.ts) c.opt.tsRecent = o.tsval;
      xmitRaw(c, c.snd.nxt, ACK, 0, 0);
      c.waitTimer.armAfter(TCP_TIMEWAIT_LEN);
    } else if (f & FIN || seg.dataLen > 0 || pawsReject || !sequenceOk(c, seg.seq, endSeq)) {
      // anything else unexpected: an ACK, at most one per tcp_invalid_ratelimit
      if (!oowRateLimited(c, seg)) xmitRaw(c, c.snd.nxt, ACK, 0, 0);
    }
  }
  return 0;
}

/** reqsk_timer_handler for a request sock; the end of TIME_WAIT or of an orphaned FIN_WAIT_2 otherwise. */
export function onWaitTimer(c: TcpConnection): void {
  if (c.state === 'SYN_RECV') {
    // reqsk_timer_handler: SYN-ACK retransmissions at 1, 2, 4, 8, 16 s, then give up
    if (c.synackRetries >= TCP_SYNACK_RETRIES) {
      c.done(null);
      return;
    }
    c.synackRetries++;
    sendSynAck(c);
    c.waitTimer.armAfter(Math.min(TCP_TIMEOUT_INIT * 2 ** c.synackRetries, TCP_RTO_MAX));
    return;
  }
  // end of TIME_WAIT or of an orphaned FIN_WAIT_2
  c.done(null);
}
