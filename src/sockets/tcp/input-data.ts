// TCP input, the data half of net/ipv4/tcp_input.c: tcp_data_queue (in-order data, the out-of-order
// queue and its SACK blocks, D-SACK), tcp_fin, tcp_event_data_recv (rcv_mss, the ATO estimator,
// quick ACKs, tcp_grow_window), receive-buffer autotuning (tcp_rcv_space_adjust), the ACK decision
// (__tcp_ack_snd_check) and handing data to the application (tcp_recvmsg + tcp_cleanup_rbuf).

import type { TcpConnection } from './conn.js';
import { FIN, PSH, SYN, TCP_HEADER_LEN, TS_ALIGNED_LEN, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../tcp-wire.js';
import { TCP_ATO_MIN, TCP_MAX_QUICKACKS, TCP_MIN_MSS, TCP_MSS_DEFAULT, TCP_RMEM_MAX, TCP_RMEM_TO_WIN_SCALE, winFromSpace } from '../tcp-const.js';
import { skbTruesize, type Segment } from './state.js';
import { sendAck, selectWindowRaw } from './output.js';
import { sendDelayedAck } from './timers.js';
import { enterTimeWait } from './minisocks.js';

/** tcp_data_queue: in-order data to the application, out-of-order to the ofo queue, FIN. */
export function dataQueue(c: TcpConnection, seg: Segment): void {
  let seq = seg.seq;
  let off = seg.dataOff;
  let len = seg.dataLen;
  const fin = (seg.flags & FIN) !== 0;
  const endSeq = seqAdd(seq, len + (fin ? 1 : 0));
  if (seqLe(endSeq, c.rcv.nxt) && (len > 0 || fin)) {
    // A pure retransmission: D-SACK it and ACK at once.
    if (len > 0 && c.opt.sackOk) setDsack(c, seq, seqAdd(seq, len));
    enterQuickack(c, TCP_MAX_QUICKACKS);
    c.delack.scheduled = true;
    c.delack.now = true;
    return;
  }
  if (seqGt(seq, c.rcv.nxt)) {
    // out of order (tcp_data_queue_ofo): queue, SACK, immediate duplicate ACK
    if (seqGt(seq, seqAdd(c.rcv.nxt, c.rcv.window()))) return;
    ofoInsert(c, seq, seg.bytes.slice(off, off + len), fin);
    c.delack.scheduled = true;
    c.delack.now = true;
    return;
  }
  // overlapping the left edge: trim what we already have
  if (seqLt(seq, c.rcv.nxt)) {
    const dup = seqDiff(c.rcv.nxt, seq);
    if (c.opt.sackOk) setDsack(c, seq, c.rcv.nxt);
    off += dup;
    len -= dup;
    seq = c.rcv.nxt;
  }
  // beyond the right edge of the window: keep what fits
  const wnd = c.rcv.window();
  let finOk = fin;
  if (len > wnd) {
    len = wnd;
    finOk = false;
  }
  if (len === 0 && !finOk) {
    c.delack.scheduled = true;
    c.delack.now = true;
    return;
  }
  if (len > 0) {
    rcvRttMeasureTs(c, seg, len);
    eventDataRecv(c, len, seg.flags, seg.dataOff - seg.off, seg.gso);
    c.rcv.delivered.push(seg.bytes.slice(off, off + len));
    c.rcv.rmemAlloc += skbTruesize(len);
    c.rcv.nxt = seqAdd(c.rcv.nxt, len);
  }
  if (finOk) rcvFin(c);
  if (c.rcv.ofo.length > 0) {
    ofoDrain(c);
    updateSackBlocks(c);
    // RFC 5681 4.2: the gap is filled, ACK at once (ICSK_ACK_NOW)
    if (c.rcv.ofo.length === 0) c.delack.now = true;
  }
}

/** tcp_dsack_set: the next ACK reports [start, end) as a duplicate (RFC 2883). */
export function setDsack(c: TcpConnection, start: number, end: number): void {
  c.rcv.dsack = true;
  c.rcv.dsackStart = start;
  c.rcv.dsackEnd = end;
}

/** tcp_data_queue_ofo: queue an out-of-order segment in sequence order; its block leads the SACKs. */
function ofoInsert(c: TcpConnection, seq: number, data: Uint8Array, fin: boolean): void {
  let i = 0;
  while (i < c.rcv.ofo.length && seqLt(c.rcv.ofo[i]!.seq, seq)) i++;
  c.rcv.ofo.splice(i, 0, { seq, data, fin });
  c.rcv.sackRecent = seq;
  updateSackBlocks(c);
}

/** The SACK blocks of the out-of-order queue, the most recent first (tcp_sack_new_ofo_skb), none
 *  at or below rcv_nxt (tcp_sack_remove). */
function updateSackBlocks(c: TcpConnection): void {
  const blocks: number[] = [];
  for (const e of c.rcv.ofo) {
    const s = e.seq;
    const en = seqAdd(e.seq, e.data.length + (e.fin ? 1 : 0));
    if (seqLe(en, c.rcv.nxt)) continue;
    const n = blocks.length;
    if (n > 0 && seqGe(blocks[n - 1]!, s)) {
      if (seqGt(en, blocks[n - 1]!)) blocks[n - 1] = en;
    } else {
      blocks.push(s, en);
    }
  }
  const edges: number[] = [];
  const seq = c.rcv.sackRecent;
  for (let k = 0; k < blocks.length; k += 2) {
    if (seqLe(blocks[k]!, seq) && seqGt(blocks[k + 1]!, seq)) edges.unshift(blocks[k]!, blocks[k + 1]!);
    else edges.push(blocks[k]!, blocks[k + 1]!);
  }
  c.rcv.sackEdges = edges;
}

/** tcp_ofo_queue: move what the filled hole made in-order from the ofo queue to the application. */
function ofoDrain(c: TcpConnection): void {
  while (c.rcv.ofo.length > 0 && !c.rcv.finReceived) {
    const e = c.rcv.ofo[0]!;
    const end = seqAdd(e.seq, e.data.length);
    if (seqGt(e.seq, c.rcv.nxt)) break;
    c.rcv.ofo.shift();
    if (seqLe(end, c.rcv.nxt)) {
      if (e.fin && end === c.rcv.nxt) rcvFin(c);
      continue;
    }
    const skip = seqDiff(c.rcv.nxt, e.seq);
    const part = e.data.subarray(skip);
    c.rcv.delivered.push(part);
    c.rcv.rmemAlloc += skbTruesize(part.length);
    c.rcv.nxt = end;
    if (e.fin) rcvFin(c);
  }
}

/** tcp_fin. */
function rcvFin(c: TcpConnection): void {
  if (c.rcv.finReceived) return;
  c.rcv.finReceived = true;
  c.rcv.nxt = seqAdd(c.rcv.nxt, 1);
  c.delack.scheduled = true;
  c.rcv.peerClosePending = true;
  switch (c.state) {
    case 'ESTABLISHED':
      c.state = 'CLOSE_WAIT';
      c.delack.pingpong = Math.max(c.delack.pingpong, 1); // inet_csk_enter_pingpong_mode
      break;
    case 'FIN_WAIT_1':
      // our FIN not yet acked: simultaneous close
      sendAck(c);
      c.state = 'CLOSING';
      break;
    case 'FIN_WAIT_2':
      sendAck(c);
      enterTimeWait(c);
      break;
    default:
      break;
  }
}

/** tcp_event_data_recv: rcv_mss, the ATO estimator, quickack on the first data, window growth. */
function eventDataRecv(c: TcpConnection, len: number, flags: number, hlen: number, gso = 0): void {
  c.delack.scheduled = true;
  measureRcvMss(c, len, flags, hlen, gso);
  const now = c.now();
  if (c.delack.ato === 0) {
    incrQuickack(c, TCP_MAX_QUICKACKS);
    c.delack.ato = TCP_ATO_MIN;
  } else {
    const m = now - c.delack.lrcvtime;
    if (m <= TCP_ATO_MIN / 2) {
      c.delack.ato = Math.floor(c.delack.ato / 2) + TCP_ATO_MIN / 2;
    } else if (m < c.delack.ato) {
      c.delack.ato = Math.floor(c.delack.ato / 2) + m;
      if (c.delack.ato > c.rtt.rto) c.delack.ato = c.rtt.rto;
    } else if (m > c.rtt.rto) {
      incrQuickack(c, TCP_MAX_QUICKACKS);
    }
  }
  c.delack.lrcvtime = now;
  if (len >= 128) growWindow(c, len);
}

/** tcp_measure_rcv_mss (with 6.x's scaling_ratio update). */
function measureRcvMss(c: TcpConnection, skbLen: number, flags: number, hlen: number, gso = 0): void {
  // tcp_measure_rcv_mss: a GSO super-frame counts as its segments (gso_size), its truesize as whole
  const len = gso || skbLen;
  const lss = c.rcv.lastSegSize;
  c.rcv.lastSegSize = 0;
  if (len >= c.rcv.mss) {
    if (len !== c.rcv.mss) {
      const ratio = Math.floor((skbLen * (1 << TCP_RMEM_TO_WIN_SCALE)) / skbTruesize(skbLen)) || 1;
      if (ratio !== c.rcv.scalingRatio) {
        c.rcv.scalingRatio = ratio;
        c.rcv.windowClamp = winFromSpace(ratio, c.rcv.rcvbuf);
        if (c.rcv.windowClamp < c.rcv.ssthresh) c.rcv.ssthresh = c.rcv.windowClamp;
      }
    }
    c.rcv.mss = Math.min(len, c.rcv.advmss);
    return;
  }
  let l = len + hlen;
  if (l >= TCP_MSS_DEFAULT + TCP_HEADER_LEN || (l >= TCP_MIN_MSS + TCP_HEADER_LEN && !(flags & (FIN | SYN | PSH | 0x20)))) {
    l -= TCP_HEADER_LEN + (c.opt.tsOk ? TS_ALIGNED_LEN : 0);
    c.rcv.lastSegSize = l;
    if (l === lss) {
      c.rcv.mss = l;
      return;
    }
  }
  if (c.delack.pushed) c.delack.pushed2 = true;
  c.delack.pushed = true;
}

/** tcp_rcv_rtt_measure_ts: the receiver's RTT from the echoed timestamp of a full segment. */
function rcvRttMeasureTs(c: TcpConnection, seg: Segment, len: number): void {
  const o = seg.opts;
  if (!c.opt.tsOk || !o.ts || o.tsecr === c.rcv.rcvRttLastTsecr) return;
  c.rcv.rcvRttLastTsecr = o.tsecr;
  if (len < c.rcv.mss) return;
  const deltaMs = (c.tsNow() - o.tsecr) | 0;
  if (deltaMs < 0) return;
  const sample = Math.max(deltaMs, 1) * 1000;
  // tcp_rcv_rtt_update(tp, sample, 0), kept << 3 as Linux does
  const m = sample * 8;
  const old = c.rcv.rcvRttUs;
  if (old === 0 || m < old) c.rcv.rcvRttUs = m;
  else if (c.rcv.nxt === c.rcv.copiedSeq) c.rcv.rcvRttUs = old - (old >> 3) + sample;
}

/**
 * tcp_rcv_space_adjust + tcp_rcvbuf_grow (6.17+): once per receiver RTT, if the application read
 * more than last time, size sk_rcvbuf for twice that (room for the sender's slow start), up to
 * tcp_rmem[2], and let window_clamp follow.
 */
function rcvSpaceAdjust(c: TcpConnection): void {
  const now = c.now();
  const timeUs = (now - c.rcv.rcvqTime) / 1000;
  if (c.rcv.rcvRttUs === 0 || timeUs < c.rcv.rcvRttUs >> 3) return;
  const copied = seqDiff(c.rcv.copiedSeq, c.rcv.rcvqSeq) - seqDiff(c.rcv.nxt, c.rcv.copiedSeq);
  if (copied > c.rcv.rcvqSpace) {
    c.rcv.rcvqSpace = copied;
    let rcvwin = c.rcv.rcvqSpace * 2;
    if (c.rcv.ofo.length > 0) {
      const last = c.rcv.ofo[c.rcv.ofo.length - 1]!;
      rcvwin += seqDiff(seqAdd(last.seq, last.data.length), c.rcv.nxt);
    }
    const rcvbuf = Math.min(Math.floor((rcvwin * (1 << TCP_RMEM_TO_WIN_SCALE)) / c.rcv.scalingRatio), TCP_RMEM_MAX);
    if (rcvbuf > c.rcv.rcvbuf) {
      c.rcv.rcvbuf = rcvbuf;
      c.rcv.windowClamp = winFromSpace(c.rcv.scalingRatio, rcvbuf);
    }
  }
  c.rcv.rcvqSeq = c.rcv.copiedSeq;
  c.rcv.rcvqTime = now;
}

/** tcp_grow_window. */
function growWindow(c: TcpConnection, len: number): void {
  const room = Math.min(c.rcv.windowClamp, c.rcv.space()) - c.rcv.ssthresh;
  if (room <= 0) return;
  const truesize = skbTruesize(len);
  let incr: number;
  if (winFromSpace(c.rcv.scalingRatio, truesize) <= len) {
    incr = 2 * c.rcv.advmss;
  } else {
    // __tcp_grow_window
    let ts = winFromSpace(c.rcv.scalingRatio, truesize) >> 1;
    let window = winFromSpace(c.rcv.scalingRatio, TCP_RMEM_MAX) >> 1;
    incr = 0;
    while (c.rcv.ssthresh <= window) {
      if (ts <= len) {
        incr = 2 * c.rcv.mss;
        break;
      }
      ts >>= 1;
      window >>= 1;
    }
  }
  if (incr) {
    incr = Math.max(incr, 2 * len);
    c.rcv.ssthresh += Math.min(room, incr);
    c.delack.quick |= 1;
  }
}

/** tcp_incr_quickack: up to rcv_wnd / (2·rcv_mss) quick ACKs (at least 2, at most `max`). */
function incrQuickack(c: TcpConnection, max: number): void {
  let quickacks = Math.floor(c.rcv.wnd / (2 * c.rcv.mss));
  if (quickacks === 0) quickacks = 2;
  quickacks = Math.min(quickacks, max);
  if (quickacks > c.delack.quick) c.delack.quick = quickacks;
}

/** tcp_enter_quickack_mode. */
export function enterQuickack(c: TcpConnection, max: number): void {
  incrQuickack(c, max);
  c.delack.pingpong = 0;
  c.delack.ato = TCP_ATO_MIN;
}

/** __tcp_ack_snd_check. */
export function ackSndCheck(c: TcpConnection): void {
  if (!c.delack.scheduled) return;
  const ackNow = c.delack.now;
  c.delack.now = false;
  if (
    (seqDiff(c.rcv.nxt, c.rcv.wup) > c.rcv.mss && selectWindowRaw(c) >= c.rcv.wnd) ||
    c.delack.inQuickack() ||
    ackNow ||
    c.rcv.ofo.length > 0
  ) {
    sendAck(c);
    return;
  }
  sendDelayedAck(c);
}

/** Hand in-order data and EOF to the application, then tcp_cleanup_rbuf's ACK decision. */
export function flushToApp(c: TcpConnection): void {
  if (c.rcv.delivered.length === 0 && !c.rcv.peerClosePending) return;
  flushData(c);
  if (c.rcv.closeAfterFlush) {
    c.rcv.closeAfterFlush = false;
    c.notifyClose();
  }
}

/** tcp_recvmsg + tcp_cleanup_rbuf: the application reads everything; ACK if the window opened. */
function flushData(c: TcpConnection): void {
  const chunks = c.rcv.delivered;
  c.rcv.delivered = [];
  let copied = 0;
  for (const chunk of chunks) {
    copied += chunk.length;
    c.handlers.onData?.(chunk, c);
  }
  c.rcv.rmemAlloc = 0;
  c.rcv.copiedSeq = seqAdd(c.rcv.copiedSeq, copied);
  if (copied > 0) rcvSpaceAdjust(c);
  if (c.rcv.peerClosePending) {
    c.rcv.peerClosePending = false;
    c.handlers.onPeerClose?.(c);
  }
  if (copied > 0 && c.delack.scheduled && c.state !== 'CLOSED' && c.state !== 'TIME_WAIT') {
    let timeToAck =
      seqDiff(c.rcv.nxt, c.rcv.wup) > c.rcv.mss || c.delack.pushed2 || (c.delack.pushed && c.delack.pingpong < 1);
    if (!timeToAck && !c.rcv.finReceived) {
      const now = c.rcv.window();
      if (2 * now <= c.rcv.windowClamp) {
        const nw = selectWindowRaw(c);
        if (nw && nw >= 2 * now) timeToAck = true;
      }
    }
    if (timeToAck) sendAck(c);
  }
}
