// Loss detection and recovery: the SACK scoreboard (tcp_sacktag_write_queue), RACK
// (net/ipv4/tcp_recovery.c: tcp_rack_advance, tcp_rack_detect_loss), entering recovery
// (tcp_enter_recovery, and fast retransmit by three duplicate ACKs without SACK) and the end of a
// tail-loss-probe episode (tcp_process_tlp_ack).

import type { TcpConnection } from './conn.js';
import { seqGe, seqGt, seqLe, seqLt } from '../tcp-wire.js';
import { MS } from '../tcp-const.js';
import { type TxSeg } from './state.js';
import { pushPending, xmitSeg } from './output.js';

/** tcp_sacktag_write_queue: mark SACKed segments (a D-SACK first block is ignored). */
export function sackUpdate(c: TcpConnection, edges: number[], n: number, ack: number): void {
  for (let k = 0; k < n; k++) {
    const start = edges[2 * k]!;
    const end = edges[2 * k + 1]!;
    if (!seqLt(start, end)) continue;
    if (k === 0 && (seqLe(end, ack) || (n > 1 && seqGe(start, edges[2]!) && seqLe(end, edges[3]!)))) continue; // D-SACK
    for (const s of c.snd.rtx) {
      if (s.sacked || seqLt(s.seq, start) || seqGt(s.end, end)) continue;
      s.sacked = true;
      c.snd.nSacked++;
      if (s.lost) {
        s.lost = false;
        c.snd.nLost--;
      }
      rackAdvance(c, s);
    }
  }
}

/** tcp_rack_advance: a delivered segment moves RACK's reference (ambiguous retransmits skipped). */
export function rackAdvance(c: TcpConnection, s: TxSeg): void {
  const rttNs = c.now() - s.xmitAt;
  if (s.retrans && rttNs < c.rtt.minRttUs * 1000) return;
  if (s.xmitOrder > c.rack.order) {
    c.rack.xmit = s.xmitAt;
    c.rack.order = s.xmitOrder;
  }
  c.rack.rttNs = rttNs;
}

/**
 * tcp_rack_detect_loss: a segment sent before one known delivered is lost once more than
 * rack.rtt + reo_wnd has passed since it left (reo_wnd = min_rtt/4 until recovery or 3 SACKed).
 * Lost segments start recovery and are retransmitted; the rest wait for the reorder timer
 * (returns whether it was armed).
 */
export function rackDetectLoss(c: TcpConnection): boolean {
  if (c.rack.xmit < 0 || c.state === 'SYN_SENT') return false;
  // Without SACKed segments every segment sent before a delivered one was cumulatively acked,
  // except after retransmissions (recovery).
  if (c.snd.nSacked === 0 && !c.snd.inRecovery) return false;
  const reoWnd = c.snd.inRecovery || c.snd.nSacked >= 3 ? 0 : Math.min((c.rtt.minRttUs >> 2) * 1000, (c.rtt.srttUs >> 3) * 1000);
  const now = c.now();
  let lost = 0;
  let wait = Infinity;
  for (const s of c.snd.rtx) {
    if (s.sacked || s.lost) continue;
    if (s.xmitOrder >= c.rack.order) continue; // not sent before the latest delivered one
    const remaining = c.rack.rttNs + reoWnd - (now - s.xmitAt);
    if (remaining <= 0) {
      s.lost = true;
      c.snd.nLost++;
      lost++;
    } else if (remaining < wait) {
      wait = remaining;
    }
  }
  if (lost > 0) {
    if (!c.snd.inRecovery) startRecovery(c);
    pushPending(c);
  }
  if (wait === Infinity) return false;
  c.rtxMode = 'reo';
  c.rtxTimer.armAfter(Math.ceil(wait / MS) * MS + 2 * MS);
  return true;
}

/** tcp_enter_recovery: CUBIC's multiplicative decrease (0.7), cwnd held at ssthresh meanwhile. */
function startRecovery(c: TcpConnection): void {
  c.cc.ssthresh = c.cc.recalcSsthresh();
  c.cc.cwnd = c.cc.ssthresh;
  c.snd.inRecovery = true;
  c.snd.fastRecovery = true;
  c.snd.recoveryHigh = c.snd.nxt;
  const head = c.snd.rtx[0];
  if (head && c.snd.retransStamp === 0) c.snd.retransStamp = head.sentAt;
}

/** tcp_process_tlp_ack: the probe's episode ends; a repaired loss halves cwnd as CWR would. */
export function processTlpAck(c: TcpConnection, ack: number): void {
  if (!c.tlp.active || seqLt(ack, c.tlp.highSeq)) return;
  if (!c.tlp.retrans) {
    c.tlp.active = false;
  } else if (seqGt(ack, c.tlp.highSeq)) {
    c.cc.ssthresh = c.cc.recalcSsthresh();
    c.cc.cwnd = c.cc.ssthresh;
    c.tlp.active = false;
  }
}

/** Fast retransmit without SACK (the third duplicate ACK): the head again, cwnd to ssthresh. */
export function enterFastRecovery(c: TcpConnection): void {
  const head = c.snd.rtx[0];
  if (!head) return;
  c.cc.ssthresh = c.cc.recalcSsthresh();
  c.cc.cwnd = c.cc.ssthresh;
  c.snd.inRecovery = true;
  c.snd.fastRecovery = true;
  c.snd.recoveryHigh = c.snd.nxt;
  head.retrans = true;
  if (c.snd.retransStamp === 0) c.snd.retransStamp = head.sentAt;
  xmitSeg(c, head);
  c.rtxTimer.armAfter(c.rtt.rto);
}
