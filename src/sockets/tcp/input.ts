// TCP input, the state-machine half of net/ipv4/tcp_input.c: tcp_rcv_synsent_state_process,
// tcp_rcv_state_process (with tcp_check_req's part for the request sock), tcp_validate_incoming
// (PAWS, tcp_sequence, RST and SYN checks, challenge ACKs, tcp_oow_rate_limited), tcp_ack
// (window update, snd_una advance, RTT samples, congestion avoidance) and tcp_init_transfer.
// The data half (tcp_data_queue and the ACK decision) is input-data.ts.

import type { TcpConnection } from './conn.js';
import { ACK, FIN, RST, SYN, TS_ALIGNED_LEN, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../tcp-wire.js';
import { TCP_APP_WIN, TCP_INIT_CWND, TCP_INVALID_RATELIMIT, TCP_MAX_QUICKACKS, TCP_MIN_MSS, TCP_MSS_DEFAULT, TCP_TIMEOUT_FALLBACK } from '../tcp-const.js';
import { slotMss, type Segment } from './state.js';
import { dataQueue, setDsack, enterQuickack, ackSndCheck } from './input-data.js';
import { sackUpdate, rackAdvance, rackDetectLoss, enterFastRecovery, processTlpAck } from './recovery.js';
import { sendSynAck, pushPending, sendAck, cwndLimited } from './output.js';
import { ACK_CLOCKED_FRAMES } from './tso.js';
import { rearmRto, scheduleLossProbe } from './timers.js';
import { enterTimeWait, armFinWait2 } from './minisocks.js';

/** tcp_rcv_synsent_state_process: the SYN-ACK completes an active open (simultaneous open is not modelled). */
export function rcvSynSent(c: TcpConnection, seg: Segment): void {
  const f = seg.flags;
  if (f & ACK) {
    if (seqLe(seg.ack, c.snd.iss) || seqGt(seg.ack, c.snd.nxt)) {
      if (!(f & RST)) c.owner.sendReset(seg);
      return;
    }
    if (f & RST) {
      c.fail('refused');
      return;
    }
    if (!(f & SYN)) return;
    const o = seg.opts;
    c.rcv.irs = seg.seq;
    c.rcv.nxt = seqAdd(seg.seq, 1);
    c.rcv.wup = c.rcv.nxt;
    c.snd.wl1 = seg.seq;
    c.snd.wnd = seg.window;
    c.snd.maxWindow = c.snd.wnd;
    c.opt.wscaleOk = o.wscale >= 0;
    if (c.opt.wscaleOk) {
      c.snd.wscale = o.wscale;
    } else {
      c.snd.wscale = 0;
      c.rcv.wscale = 0;
      c.rcv.windowClamp = Math.min(c.rcv.windowClamp, 65535);
    }
    c.opt.tsOk = o.ts;
    if (o.ts) {
      c.opt.tsRecent = o.tsval;
      c.opt.tsRecentSet = true;
    }
    c.opt.sackOk = o.sackOk;
    c.snd.peerMss = o.mss !== 0 ? o.mss : TCP_MSS_DEFAULT;
    ackAdvance(c, seg); // the SYN leaves the retransmit queue, with an RTT sample
    finishHandshake(c);
    c.state = 'ESTABLISHED';
    sendAck(c);
    c.handlers.onConnect?.(c);
    if (c.state === 'ESTABLISHED' || c.state === 'FIN_WAIT_1') pushPending(c);
    return;
  }
  // RST without ACK, a bare SYN (simultaneous open is not modelled) or anything else: dropped.
}

/** Common establishment: mss, rcv_mss, buffer space, initial cwnd (tcp_init_transfer). */
function finishHandshake(c: TcpConnection): void {
  c.snd.mssCache = slotMss(Math.min(c.snd.peerMss, c.rcv.advmss, c.snd.pmtu - 40) - (c.opt.tsOk ? TS_ALIGNED_LEN : 0));
  // tcp_initialize_rcv_mss
  let hint = Math.min(c.rcv.advmss, c.snd.mssCache);
  hint = Math.min(hint, Math.floor(c.rcv.wnd / 2));
  hint = Math.min(hint, TCP_MSS_DEFAULT);
  c.rcv.mss = Math.max(hint, TCP_MIN_MSS);
  // tcp_init_buffer_space
  const maxwin = c.rcv.fullSpace();
  if (c.rcv.windowClamp >= maxwin) {
    c.rcv.windowClamp = maxwin;
    if (TCP_APP_WIN && maxwin > 4 * c.rcv.advmss) {
      c.rcv.windowClamp = Math.max(maxwin - Math.floor(maxwin / 2 ** TCP_APP_WIN), 4 * c.rcv.advmss);
    }
  }
  if (TCP_APP_WIN && c.rcv.windowClamp > 2 * c.rcv.advmss && c.rcv.windowClamp + c.rcv.advmss > maxwin) {
    c.rcv.windowClamp = Math.max(2 * c.rcv.advmss, maxwin - c.rcv.advmss);
  }
  c.rcv.ssthresh = Math.min(c.rcv.ssthresh, c.rcv.windowClamp);
  c.cc.cwnd = TCP_INIT_CWND;
  c.rcv.copiedSeq = c.rcv.nxt;
  c.rcv.rcvqSpace = Math.min(c.rcv.ssthresh, c.rcv.wnd, TCP_INIT_CWND * c.rcv.advmss);
  c.rcv.rcvqSeq = c.rcv.copiedSeq;
  c.rcv.rcvqTime = c.now();
  if (c.rtt.srttUs === 0) c.rtt.rto = TCP_TIMEOUT_FALLBACK;
  c.snd.sml = c.snd.una;
}

/** tcp_rcv_state_process for the synchronized states (and the request sock's ACK). */
export function rcvStateProcess(c: TcpConnection, seg: Segment): void {
  const f = seg.flags;
  const o = seg.opts;
  const endSeq = seqAdd(seg.seq, seg.dataLen + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0));

  if (c.state === 'SYN_RECV') {
    // tcp_check_req: a retransmitted SYN gets the SYN-ACK again.
    if (f & SYN && !(f & (RST | ACK)) && seg.seq === c.rcv.irs) {
      sendSynAck(c);
      return;
    }
  }

  // tcp_validate_incoming: PAWS
  if (c.opt.tsOk && o.ts && c.opt.tsRecentSet && seqLt(o.tsval, c.opt.tsRecent) && !(f & RST)) {
    if (!oowRateLimited(c, seg)) sendDupAck(c, seg, endSeq);
    return;
  }
  // tcp_sequence
  if (!sequenceOk(c, seg.seq, endSeq)) {
    if (!(f & RST)) {
      if (f & SYN && c.state !== 'SYN_RECV') sendChallengeAck(c);
      else if (!oowRateLimited(c, seg)) sendDupAck(c, seg, endSeq);
    }
    return;
  }
  if (f & RST) {
    if (seg.seq === c.rcv.nxt || c.state === 'SYN_RECV') c.fail('reset');
    else sendChallengeAck(c);
    return;
  }
  // tcp_replace_ts_recent
  if (c.opt.tsOk && o.ts && seqLe(seg.seq, c.rcv.wup)) {
    c.opt.tsRecent = o.tsval;
    c.opt.tsRecentSet = true;
  }
  if (f & SYN) {
    if (c.state === 'SYN_RECV') c.owner.sendReset(seg);
    else sendChallengeAck(c);
    return;
  }
  if (!(f & ACK)) return;

  if (c.state === 'SYN_RECV') {
    if (seg.ack !== c.snd.nxt) {
      c.owner.sendReset(seg);
      return;
    }
    // The child socket (tcp_v4_syn_recv_sock): its own random IP id, the handshake's RTT.
    c.waitTimer.cancel();
    c.idZero = false;
    c.ipId = c.owner.rng.u32() & 0xffff;
    if (c.synackRetries === 0) c.rtt.sample(Math.max(1, Math.round((c.now() - c.synackSentAt) / 1000)), c.snd.una, c.snd.nxt);
    else if (c.opt.tsOk && o.ts && o.tsecr !== 0) c.rtt.sample(Math.max(1, ((c.tsNow() - o.tsecr) >>> 0) * 1000), c.snd.una, c.snd.nxt);
    if (c.rtt.srttUs !== 0) c.rtt.setRto();
    c.snd.una = c.snd.nxt;
    c.snd.wnd = seg.window * 2 ** c.snd.wscale;
    c.snd.maxWindow = c.snd.wnd;
    c.snd.wl1 = seg.seq;
    finishHandshake(c);
    c.state = 'ESTABLISHED';
    if (!c.owner.accept(c)) {
      c.owner.sendReset(seg);
      c.done(null);
      return;
    }
  } else if (!processAck(c, seg)) {
    return;
  }

  // FIN_WAIT_1 / CLOSING / LAST_ACK transitions once our FIN is acknowledged
  if (c.snd.finSent && seqGe(c.snd.una, seqAdd(c.snd.finSeq, 1))) {
    if (c.state === 'FIN_WAIT_1') {
      c.state = 'FIN_WAIT_2';
      if (c.appClosed && !(f & FIN)) armFinWait2(c);
    } else if (c.state === 'CLOSING') {
      enterTimeWait(c);
      return;
    } else if (c.state === 'LAST_ACK') {
      c.done(null);
      return;
    }
  }

  // data and FIN
  if (seg.dataLen > 0 || f & FIN) {
    const st = c.state;
    if (st === 'CLOSE_WAIT' || st === 'CLOSING' || st === 'LAST_ACK') {
      // after the peer's FIN only its retransmissions come: they are acknowledged at once
      if (seqLt(seg.seq, c.rcv.nxt)) dataQueue(c, seg);
    } else if (st === 'ESTABLISHED' || st === 'FIN_WAIT_1' || st === 'FIN_WAIT_2') {
      if (c.appClosed && seg.dataLen > 0 && seqGt(seqAdd(seg.seq, seg.dataLen), c.rcv.nxt)) {
        // Data for a socket the application closed: tcp_rcv_state_process resets.
        c.owner.sendReset(seg);
        c.fail('reset');
        return;
      }
      dataQueue(c, seg);
    }
  }
  if (c.state === 'CLOSED' || c.state === 'TIME_WAIT') return;
  pushPending(c, false, ACK_CLOCKED_FRAMES);
  ackSndCheck(c);
}

/** tcp_sequence: the segment overlaps the receive window. */
export function sequenceOk(c: TcpConnection, seq: number, endSeq: number): boolean {
  // !before(end_seq, rcv_wup) && !after(seq, rcv_nxt + tcp_receive_window())
  return !seqLt(endSeq, c.rcv.wup) && !seqGt(seq, seqAdd(c.rcv.nxt, c.rcv.window()));
}

/** tcp_ack; false when the segment is to be dropped (it acknowledged data never sent). */
function processAck(c: TcpConnection, seg: Segment): boolean {
  const ack = seg.ack;
  if (seqGt(ack, c.snd.nxt)) {
    sendChallengeAck(c);
    return false;
  }
  if (seqLt(ack, c.snd.una)) {
    if (seqLt(ack, seqAdd(c.snd.una, -c.snd.maxWindow))) {
      sendChallengeAck(c);
      return false;
    }
    return true; // old ACK: data may still be good
  }
  const nwin = seg.window * 2 ** c.snd.wscale;
  const windowChanged = nwin !== c.snd.wnd;
  // tcp_ack_update_window
  if (seqGt(ack, c.snd.una) || seqGt(seg.seq, c.snd.wl1) || (seg.seq === c.snd.wl1 && (nwin > c.snd.wnd || nwin === 0))) {
    c.snd.wnd = nwin;
    c.snd.wl1 = seg.seq;
    if (nwin > c.snd.maxWindow) c.snd.maxWindow = nwin;
  }
  if (c.opt.sackOk && seg.opts.sackBlocks > 0) sackUpdate(c, seg.opts.sackEdges, seg.opts.sackBlocks, ack);
  if (seqGt(ack, c.snd.una)) {
    ackAdvance(c, seg);
  } else if (seg.dataLen === 0 && !(seg.flags & FIN) && !windowChanged && c.snd.rtx.length > 0) {
    // duplicate ACK: without SACK, the third starts fast retransmit (with SACK, RACK decides)
    c.snd.dupAcks++;
    if (!c.opt.sackOk && c.snd.dupAcks === 3 && !c.snd.inRecovery) enterFastRecovery(c);
  }
  if (c.opt.sackOk) rackDetectLoss(c);
  return true;
}

/** The part of tcp_ack for an advancing snd_una: clean the retransmit queue, RTT, cwnd, timers. */
function ackAdvance(c: TcpConnection, seg: Segment): void {
  const ack = seg.ack;
  const acked = seqDiff(ack, c.snd.una);
  let firstSent = -1;
  let retransAcked = false;
  let ackedSegs = 0;
  while (ackedSegs < c.snd.rtx.length && seqLe(c.snd.rtx[ackedSegs]!.end, ack)) {
    const s = c.snd.rtx[ackedSegs]!;
    ackedSegs++;
    if (s.sacked) c.snd.nSacked--;
    if (s.lost) c.snd.nLost--;
    if (!s.sacked) rackAdvance(c, s);
    if (s.retrans) retransAcked = true;
    else if (firstSent < 0) firstSent = s.sentAt;
  }
  if (ackedSegs > 0) c.snd.rtx.splice(0, ackedSegs);
  // a partly acknowledged head segment keeps only its unacknowledged part (tcp_trim_head)
  const head = c.snd.rtx[0];
  if (head && seqGt(ack, head.seq)) head.seq = ack;
  // drop acknowledged bytes from the send buffer
  const dataStart = c.snd.bufSeq;
  const finEnd = c.snd.finSent ? c.snd.finSeq : c.snd.writeSeq;
  const upto = seqLt(ack, finEnd) ? ack : finEnd;
  const drop = seqDiff(upto, dataStart);
  if (drop > 0) {
    c.snd.bufStart += drop;
    c.snd.bufLen -= drop;
    c.snd.bufSeq = upto;
    if (c.snd.bufLen === 0) c.snd.bufStart = 0;
    c.handlers.onAcked?.(c);
  }
  c.snd.una = ack;
  c.retransmits = 0;
  c.snd.dupAcks = 0;
  // tcp_retrans_stamp_cleanup: the give-up clock restarts once no retransmitted data is left
  if (c.snd.retransStamp !== 0 && !c.snd.rtx.some((s) => s.retrans)) c.snd.retransStamp = 0;
  // RTT sample: from the first newly acked segment never retransmitted, else from the TS echo.
  let rttUs = -1;
  if (!retransAcked && firstSent >= 0) rttUs = Math.max(1, Math.round((c.now() - firstSent) / 1000));
  else if (c.opt.tsOk && seg.opts.ts && seg.opts.tsecr !== 0 && ackedSegs > 0) rttUs = Math.max(1, ((c.tsNow() - seg.opts.tsecr) >>> 0) * 1000);
  if (rttUs > 0) {
    if (c.rtt.minRttUs === 0 || rttUs < c.rtt.minRttUs) c.rtt.minRttUs = rttUs;
    c.rtt.sample(rttUs, c.snd.una, c.snd.nxt);
    c.rtt.setRto();
    c.backoff = 0; // RFC 6298: reset only on a valid measurement; else the backed-off RTO stays
  }
  // congestion window: CUBIC (slow start, then the cubic curve), held during fast recovery
  if (c.snd.inRecovery && seqGe(ack, c.snd.recoveryHigh)) {
    c.snd.inRecovery = false;
    if (c.snd.fastRecovery) c.cc.cwnd = Math.max(c.cc.ssthresh, 2);
    c.snd.fastRecovery = false;
  }
  if (acked > 0 && c.state !== 'SYN_SENT' && !c.snd.fastRecovery) congAvoid(c, ackedSegs);
  processTlpAck(c, ack);
  if (c.snd.rtx.length === 0) c.rtxTimer.cancel();
  else if (!scheduleLossProbe(c, true)) rearmRto(c);
}

/** tcp_send_dupack: old data is D-SACKed and puts the receiver back in quickack mode. */
function sendDupAck(c: TcpConnection, seg: Segment, endSeq: number): void {
  if (endSeq !== seg.seq && seqLt(seg.seq, c.rcv.nxt)) {
    enterQuickack(c, TCP_MAX_QUICKACKS);
    if (c.opt.sackOk) setDsack(c, seg.seq, seqLt(endSeq, c.rcv.nxt) ? endSeq : c.rcv.nxt);
  }
  sendAck(c);
}

/** tcp_oow_rate_limited: at most one ACK per tcp_invalid_ratelimit (500 ms) for out-of-window
 *  segments that carry no data (data segments are not part of an ACK loop). */
export function oowRateLimited(c: TcpConnection, seg: Segment): boolean {
  if (seg.dataLen > 0 && !(seg.flags & SYN)) return false;
  return oowLimited(c);
}

/** The per-socket half of tcp_oow_rate_limited: true when an ACK went out less than 500 ms ago. */
function oowLimited(c: TcpConnection): boolean {
  const now = c.now();
  if (c.lastOowAck >= 0 && now - c.lastOowAck < TCP_INVALID_RATELIMIT) return true;
  c.lastOowAck = now;
  return false;
}

/** tcp_send_challenge_ack (RFC 5961), limited per socket like other out-of-window ACKs; the
 *  global tcp_challenge_ack_limit is off (INT_MAX) since 6.0. */
function sendChallengeAck(c: TcpConnection): void {
  if (oowLimited(c)) return;
  sendAck(c);
}

/** tcp_cong_avoid: only a flow that used its window may grow it (tcp_is_cwnd_limited). */
export function congAvoid(c: TcpConnection, acked: number): void {
  if (!cwndLimited(c)) return;
  c.cc.congAvoid(acked, c.now(), c.rtt.minRttUs);
}
