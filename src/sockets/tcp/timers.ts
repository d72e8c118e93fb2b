// TCP timers (net/ipv4/tcp_timer.c): the retransmit timer in its three uses — the RTO
// (tcp_retransmit_timer, tcp_write_timeout, tcp_model_timeout), the tail loss probe
// (tcp_schedule_loss_probe, tcp_send_loss_probe) and RACK's reordering timeout — plus the delayed
// ACK (tcp_send_delayed_ack, tcp_delack_timer) and the zero-window probe riding on the RTO.

import type { TcpConnection } from './conn.js';
import { ACK, seqAdd, seqDiff } from '../tcp-wire.js';
import { MS, TCP_ATO_MIN, TCP_DELACK_MAX, TCP_DELACK_MIN, TCP_RETRIES2, TCP_RTO_MAX, TCP_RTO_MIN, TCP_SYN_LINEAR_TIMEOUTS, TCP_SYN_RETRIES, TCP_TIMEOUT_INIT, ilog2 } from '../tcp-const.js';
import { rackDetectLoss } from './recovery.js';
import { pushPending, sendAck, xmitSeg, xmitRaw } from './output.js';

/** tcp_model_timeout: how long tcp_retries2 exponential retransmissions take from `rtoBase`. */
function modelTimeout(boundary: number, rtoBase: number): number {
  const linearBackoffThresh = ilog2(Math.floor(TCP_RTO_MAX / rtoBase));
  if (boundary <= linearBackoffThresh) return ((2 << boundary) - 1) * rtoBase;
  return ((2 << linearBackoffThresh) - 1) * rtoBase + (boundary - linearBackoffThresh) * TCP_RTO_MAX;
}

/** tcp_send_delayed_ack. */
export function sendDelayedAck(c: TcpConnection): void {
  let ato = c.delack.ato;
  if (ato > TCP_DELACK_MIN) {
    let maxAto = 500 * MS;
    if (c.delack.pingpong >= 1 || c.delack.pushed) maxAto = TCP_DELACK_MAX;
    if (c.rtt.srttUs !== 0) {
      const rtt = Math.max((c.rtt.srttUs >> 3) * 1000, TCP_DELACK_MIN);
      if (rtt < maxAto) maxAto = rtt;
    }
    ato = Math.min(ato, maxAto);
  }
  ato = Math.min(ato, TCP_DELACK_MAX);
  let timeout = c.now() + ato;
  if (c.delack.timer.armed) {
    if (c.delack.timer.deadline <= c.now() + (ato >> 2)) {
      sendAck(c);
      return;
    }
    if (timeout >= c.delack.timer.deadline) timeout = c.delack.timer.deadline;
  }
  c.delack.scheduled = true;
  c.delack.timer.armAt(timeout);
}

/** tcp_delack_timer_handler: the owed ACK goes out; ato doubles, or pingpong ends. */
export function onDelackTimer(c: TcpConnection): void {
  if (!c.delack.scheduled || c.state === 'CLOSED' || c.state === 'TIME_WAIT') return;
  if (c.delack.pingpong < 1) {
    c.delack.ato = Math.min(c.delack.ato * 2, c.rtt.rto);
  } else {
    c.delack.pingpong = 0;
    c.delack.ato = TCP_ATO_MIN;
  }
  sendAck(c);
}

/** tcp_rearm_rto: the RTO from now (or, replacing a pending probe, what is left of it). */
export function rearmRto(c: TcpConnection): void {
  if (c.snd.rtx.length === 0) {
    c.rtxTimer.cancel();
    return;
  }
  let rto = c.rtt.rto;
  if (c.rtxMode === 'tlp' && c.rtxTimer.armed) rto = Math.max(c.rtt.rto - (c.now() - c.snd.rtx[0]!.xmitAt), 1000);
  c.rtxMode = 'rto';
  c.rtxTimer.armAfter(rto);
}

/**
 * tcp_schedule_loss_probe (tcp_early_retrans = 3): with SACK, in the Open state, probe after
 * 2·srtt (+ TCP_RTO_MIN when one segment is out, for the peer's delayed ACK; else + 2 jiffies),
 * unless the RTO comes first.
 */
export function scheduleLossProbe(c: TcpConnection, advancingRto: boolean): boolean {
  if (!c.opt.sackOk || c.snd.rtx.length === 0 || c.snd.inRecovery || c.snd.dupAcks > 0) return false;
  if (c.snd.nSacked > 0 || c.snd.nLost > 0) return false; // Disorder, not Open
  if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') return false;
  let timeout: number;
  if (c.rtt.srttUs !== 0) {
    timeout = Math.ceil((c.rtt.srttUs >> 2) / 1000) * MS + (c.snd.rtx.length === 1 ? TCP_RTO_MIN : 2 * MS);
  } else {
    timeout = TCP_TIMEOUT_INIT;
  }
  const rtoDelta = advancingRto ? c.rtt.rto : c.rtt.rto - (c.now() - c.snd.rtx[0]!.xmitAt);
  if (rtoDelta > 0) timeout = Math.min(timeout, rtoDelta);
  c.rtxMode = 'tlp';
  c.rtxTimer.armAfter(timeout);
  return true;
}

/** tcp_send_loss_probe: new data if the window allows, else the last segment again. */
function sendLossProbe(c: TcpConnection): void {
  if (c.tlp.active) {
    rearmRto(c);
    return;
  }
  c.tlp.retrans = false;
  let sent = 0;
  if (seqDiff(c.snd.writeSeq, c.snd.nxt) > 0 || (c.snd.finQueued && !c.snd.finSent)) sent = pushPending(c, true);
  if (sent === 0) {
    const last = c.snd.rtx[c.snd.rtx.length - 1];
    if (!last) return;
    last.retrans = true;
    xmitSeg(c, last);
    c.tlp.retrans = true;
  }
  c.tlp.active = true;
  c.tlp.highSeq = c.snd.nxt;
  c.rtxMode = 'rto';
  c.rtxTimer.armAfter(c.rtt.rto);
}

/** tcp_retransmit_timer (+ tcp_write_timeout). */
export function onRetransmitTimer(c: TcpConnection): void {
  if (c.state === 'CLOSED' || c.state === 'TIME_WAIT') return;
  if (c.rtxMode === 'tlp') {
    c.rtxMode = 'rto';
    sendLossProbe(c);
    return;
  }
  if (c.rtxMode === 'reo') {
    // tcp_rack_reo_timeout
    c.rtxMode = 'rto';
    if (!rackDetectLoss(c)) rearmRto(c);
    return;
  }
  const head = c.snd.rtx[0];
  if (!head) {
    // zero-window probe
    if (seqDiff(c.snd.writeSeq, c.snd.nxt) > 0 || (c.snd.finQueued && !c.snd.finSent)) {
      xmitRaw(c, seqAdd(c.snd.una, -1), ACK, 0, 0);
      c.backoff++;
      c.rtxTimer.armAfter(Math.min(c.rtt.rto * 2 ** c.backoff, TCP_RTO_MAX));
    }
    return;
  }
  if (writeTimeout(c)) return;
  if (c.state === 'SYN_SENT') {
    head.retrans = true;
    xmitSeg(c, head);
  } else {
    // tcp_enter_loss: everything outstanding is lost, cwnd 1
    c.tlp.active = false;
    c.cc.ssthresh = c.cc.recalcSsthresh();
    c.cc.cwnd = 1;
    c.cc.cwndCnt = 0;
    c.snd.inRecovery = true;
    c.snd.fastRecovery = false;
    c.snd.recoveryHigh = c.snd.nxt;
    c.snd.nLost = 0;
    for (const s of c.snd.rtx) {
      s.lost = !s.sacked && s !== head;
      if (s.lost) c.snd.nLost++;
    }
    head.retrans = true;
    if (c.snd.retransStamp === 0) c.snd.retransStamp = head.sentAt;
    xmitSeg(c, head);
  }
  c.backoff++;
  c.retransmits++;
  if (c.state !== 'SYN_SENT' || c.backoff > TCP_SYN_LINEAR_TIMEOUTS) {
    c.rtt.rto = Math.min(c.rtt.rto * 2, TCP_RTO_MAX);
  }
  c.rtxTimer.armAfter(c.rtt.rto);
}

/** tcp_write_timeout: true when the connection was given up. */
function writeTimeout(c: TcpConnection): boolean {
  if (c.state === 'SYN_SENT') {
    if (c.retransmits >= TCP_SYN_RETRIES + TCP_SYN_LINEAR_TIMEOUTS) {
      c.fail('timeout');
      return true;
    }
    return false;
  }
  if (c.retransmits === 0) return false;
  const elapsed = c.now() - c.snd.retransStamp;
  if (elapsed >= modelTimeout(TCP_RETRIES2, TCP_RTO_MIN)) {
    c.fail('timeout');
    return true;
  }
  return false;
}
