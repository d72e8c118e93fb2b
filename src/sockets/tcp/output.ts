// TCP output (net/ipv4/tcp_output.c): tcp_write_xmit (lost segments first, then new data within
// cwnd and the peer's window, Nagle/Minshall, PSH, FIN), tcp_transmit_skb (header, options, payload,
// checksum, IP id), tcp_event_ack_sent/tcp_event_data_sent, tcp_select_window, cwnd validation and
// restart after idle, the SYN-ACK, and tcp_v4_mtu_reduced's shrink and re-send.

import { L4_OFFSET } from '../transport.js';
import { fillTcpChecksum } from '../../wire/checksum.js';
import type { TcpConnection } from './conn.js';
import { ACK, FIN, PSH, RST, SYN, TCP_HEADER_LEN, TS_ALIGNED_LEN, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, synOptionsLen, writeHeader, writeSackOption, writeSynOptions, writeTsOption } from '../tcp-wire.js';
import { TCP_INIT_CWND } from '../tcp-const.js';
import { slotMss, type TxSeg } from './state.js';
import { rearmRto, scheduleLossProbe } from './timers.js';
import { cwndQuota, tsoMaxSegs } from './tso.js';

/**
 * tcp_v4_mtu_reduced: a router said our DF segment was too big. The path MTU drops (not below
 * ip_rt_min_pmtu, 552), mss_cache follows (tcp_sync_mss), and tcp_simple_retransmit re-sends
 * at once every outstanding segment that no longer fits, cut to the new size.
 */
export function mtuReduced(c: TcpConnection, mtu: number): void {
  if (c.state === 'CLOSED' || c.state === 'TIME_WAIT' || c.state === 'SYN_RECV') return;
  const pmtu = Math.max(mtu, 552);
  if (mtu === 0 || pmtu >= c.snd.pmtu) return;
  c.snd.pmtu = pmtu;
  if (c.state === 'SYN_SENT') return;
  c.snd.mssCache = slotMss(Math.min(c.snd.peerMss, pmtu - 40) - (c.opt.tsOk ? TS_ALIGNED_LEN : 0));
  let lost = 0;
  for (const s of c.snd.rtx) {
    const len = seqDiff(s.end, s.seq) - (s.flags & FIN ? 1 : 0);
    if (len > c.snd.mssCache && !s.lost && !s.sacked) {
      s.lost = true;
      c.snd.nLost++;
      lost++;
    }
  }
  if (lost === 0) return;
  if (!c.snd.inRecovery) {
    c.snd.inRecovery = true;
    c.snd.fastRecovery = false;
    c.snd.recoveryHigh = c.snd.nxt;
  }
  pushPending(c);
}

/** tcp_v4_send_synack from the request sock (IP id 0), its time noted for the handshake RTT. */
export function sendSynAck(c: TcpConnection): void {
  c.synackSentAt = c.now();
  xmitRaw(c, c.snd.iss, SYN | ACK, 0, 0);
}

/** Merge the FIN into unsent data or queue it alone (tcp_send_fin), then push. */
export function queueFin(c: TcpConnection): void {
  c.snd.finQueued = true;
  pushPending(c);
}

/**
 * tcp_write_xmit: lost segments first, then new data within cwnd and the peer's window, Nagle.
 * `probe`: send one new segment whatever cwnd says (a loss probe). `maxFrames`: GSO frames of new
 * data to send at most (an ACK lets one out: tso.ts). Returns new segments sent.
 */
export function pushPending(c: TcpConnection, probe = false, maxFrames = Infinity): number {
  if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV' || c.state === 'CLOSED' || c.state === 'TIME_WAIT') return 0;
  const priorPackets = c.snd.rtx.length;
  let sent = 0;
  // retransmissions of segments marked lost (after an RTO or fast retransmit)
  for (let i = 0; c.snd.nLost > 0 && i < c.snd.rtx.length; i++) {
    const s = c.snd.rtx[i]!;
    if (!s.lost || s.sacked) continue;
    if (c.snd.inFlight() >= c.cc.cwnd) {
      cwndValidate(c, true);
      return 0;
    }
    const dataLen = seqDiff(s.end, s.seq) - (s.flags & FIN ? 1 : 0) - (s.flags & SYN ? 1 : 0);
    if (dataLen > c.snd.mssCache && !(s.flags & SYN)) {
      // tcp_fragment: the tail becomes a segment of its own, still lost
      const cut = seqAdd(s.seq, c.snd.mssCache);
      const tail: TxSeg = { seq: cut, end: s.end, flags: s.flags, sentAt: s.sentAt, xmitAt: s.xmitAt, xmitOrder: s.xmitOrder, retrans: s.retrans, lost: true, sacked: false };
      s.end = cut;
      s.flags &= ~(FIN | PSH);
      c.snd.rtx.splice(i + 1, 0, tail);
      c.snd.nLost++;
    }
    s.lost = false;
    c.snd.nLost--;
    s.retrans = true;
    xmitSeg(c, s);
  }
  let frames = 0;
  let deferredForCwnd = false;
  for (;;) {
    const unsent = seqDiff(c.snd.writeSeq, c.snd.nxt);
    const wantFin = c.snd.finQueued && !c.snd.finSent;
    if (unsent <= 0 && !wantFin) break;
    if (probe && sent > 0) break;
    if (c.snd.inFlight() >= c.cc.cwnd && !probe) break;
    if (frames >= maxFrames && c.owner.gso === true) {
      // tcp_tso_should_defer: waiting for the next ACK with data queued beyond what cwnd allows
      deferredForCwnd = (c.cc.cwnd - c.snd.inFlight()) * c.snd.mssCache <= unsent;
      break;
    }
    const mss = c.snd.mssCache;
    const wndEnd = seqAdd(c.snd.una, c.snd.wnd);
    // tcp_cwnd_test (half of cwnd per frame), tcp_tso_segs, then the data and window (tso.ts)
    const segs = probe || c.owner.gso !== true ? 1 : Math.min(cwndQuota(c.cc.cwnd, c.snd.inFlight()), tsoMaxSegs(mss, TCP_HEADER_LEN + (c.opt.tsOk ? TS_ALIGNED_LEN : 0)));
    let len = Math.min(unsent, segs * mss);
    const room = seqDiff(wndEnd, c.snd.nxt);
    if (len > room) {
      len = Math.max(0, room);
      if (len === 0) {
        armProbe(c);
        break;
      }
    }
    // tcp_mss_split_point: a frame that ends short of a full segment keeps that partial segment only
    // where Nagle allows it (here: the frame is not the last of the data, or nothing small is unacked)
    const partial = len % mss;
    if (len > mss && partial !== 0 && !c.noDelay && !(wantFin && len === unsent) && seqGt(c.snd.sml, c.snd.una) && seqLe(c.snd.sml, c.snd.nxt)) len -= partial;
    const end = seqAdd(c.snd.nxt, len);
    const fin = wantFin && end === c.snd.writeSeq;
    // Nagle with Minshall's variant: hold a small segment while another small one is unacked.
    if (!c.noDelay && len < mss && !fin && len === unsent && seqGt(c.snd.sml, c.snd.una) && seqLe(c.snd.sml, c.snd.nxt)) break;
    if (len === 0 && !fin) break;
    const nsegs = Math.max(1, Math.ceil(len / mss));
    let flags = ACK;
    if (fin) flags |= FIN;
    if (c.snd.pushEnds.length > 0 && seqGe(end, c.snd.pushEnds[0]!)) {
      flags |= PSH;
      while (c.snd.pushEnds.length > 0 && seqGe(end, c.snd.pushEnds[0]!)) c.snd.pushEnds.shift();
    }
    // Every super-frame carries PSH, as all frames of the three bulk-256k runs do (tcp_gso_segment
    // then keeps it on the last wire segment only).
    if (nsegs > 1) flags |= PSH;
    const start = c.snd.nxt;
    const now = c.now();
    // One retransmit-queue entry per MSS segment (Linux's pcount accounting), one frame on the wire.
    for (let i = 0; i < nsegs; i++) {
      const sseq = seqAdd(start, i * mss);
      const last = i === nsegs - 1;
      const send = last ? end : seqAdd(sseq, mss);
      const seg: TxSeg = { seq: sseq, end: seqAdd(send, last && fin ? 1 : 0), flags: last ? flags : ACK, sentAt: now, xmitAt: now, xmitOrder: ++c.rack.txCount, retrans: false, lost: false, sacked: false };
      c.snd.rtx.push(seg);
      c.snd.nxt = seg.end;
    }
    if (fin) {
      c.snd.finSeq = end;
      c.snd.finSent = true;
    }
    if (len < nsegs * mss) c.snd.sml = end; // tcp_minshall_update
    xmitRaw(c, start, flags, seqDiff(start, c.snd.bufSeq), len, nsegs > 1 ? mss : 0, nsegs);
    sent += nsegs;
    frames++;
    if (fin) break;
  }
  const limited = c.snd.inFlight() >= c.cc.cwnd || deferredForCwnd;
  if (sent > 0 || limited) cwndValidate(c, limited);
  if (sent > 0 && !probe) {
    // tcp_event_new_data_sent, then one loss probe per tail-loss episode
    if (priorPackets === 0 || c.rtxMode === 'tlp' || !c.rtxTimer.armed) rearmRto(c);
    scheduleLossProbe(c, false);
  }
  return sent;
}

/** Zero window: the retransmit timer doubles as the probe timer (tcp_probe_timer is not modelled
 *  separately; a probe is an ACK with seq snd_una - 1). */
function armProbe(c: TcpConnection): void {
  if (!c.rtxTimer.armed) c.rtxTimer.armAfter(c.rtt.rto);
}

/** tcp_send_ack: a bare ACK from the full socket. */
export function sendAck(c: TcpConnection): void {
  if (c.state === 'CLOSED') return;
  xmitRaw(c, c.snd.nxt, ACK, 0, 0);
}

/** A segment without data or options of its own choosing (the RST of abort). */
export function xmitControl(c: TcpConnection, seq: number, flags: number): void {
  xmitRaw(c, seq, flags, 0, 0);
}

/** (Re)transmit a queued segment: SYN with its options, or data read back from the send buffer. */
export function xmitSeg(c: TcpConnection, s: TxSeg): boolean {
  const synOrFin = (s.flags & SYN ? 1 : 0) + (s.flags & FIN ? 1 : 0);
  const len = seqDiff(s.end, s.seq) - synOrFin;
  s.xmitAt = c.now();
  s.xmitOrder = ++c.rack.txCount;
  return xmitRaw(c, s.seq, s.flags, s.flags & SYN ? 0 : seqDiff(s.seq, c.snd.bufSeq), len);
}

/**
 * tcp_transmit_skb: header, options (SYN's, or TS [+ SACK]), payload from the send buffer at
 * `bufOff` (relative to sndBufSeq), checksum, IP header fields; then tcp_event_ack_sent.
 */
export function xmitRaw(c: TcpConnection, seq: number, flags: number, bufOff: number, len: number, gsoSize = 0, gsoSegs = 1): boolean {
  const ip = c.owner.ip;
  const pool = ip.engine.pool;
  // a GSO super-frame needs a large slot (up to 64 KiB of payload)
  const slot = gsoSize !== 0 ? pool.allocFor(L4_OFFSET + TCP_HEADER_LEN + TS_ALIGNED_LEN + 40 + len) : pool.alloc();
  const b = pool.bytes;
  const off = pool.base(slot) + L4_OFFSET;
  const syn = (flags & SYN) !== 0;
  let optLen: number;
  let nSack = 0;
  if (syn) {
    c.opt.synOpts.tsval = c.tsNow();
    c.opt.synOpts.tsecr = flags & ACK ? c.opt.tsRecent : 0;
    optLen = synOptionsLen(c.opt.synOpts);
  } else {
    optLen = c.opt.tsOk ? TS_ALIGNED_LEN : 0;
    if (c.opt.sackOk && !(flags & RST) && (c.rcv.dsack || c.rcv.sackEdges.length > 0)) {
      const maxBlocks = c.opt.tsOk ? 3 : 4;
      nSack = Math.min(maxBlocks, (c.rcv.dsack ? 1 : 0) + c.rcv.sackEdges.length / 2);
      optLen += 4 + 8 * nSack;
    }
  }
  const hlen = TCP_HEADER_LEN + optLen;
  let window: number;
  // (a RST from a full socket carries its window like any segment; only the control socket's has 0)
  if (syn) window = Math.min(c.rcv.wnd, 65535);
  else if (c.rcv.twRcvWnd >= 0) window = Math.min(Math.floor(c.rcv.twRcvWnd / 2 ** c.rcv.wscale), 65535);
  else window = selectWindow(c);
  const ack = flags & ACK ? c.rcv.nxt : 0;
  writeHeader(b, off, c.lport, c.rport, seq, ack, flags, window, hlen);
  let at = off + TCP_HEADER_LEN;
  if (syn) {
    at += writeSynOptions(b, at, c.opt.synOpts);
  } else {
    if (c.opt.tsOk) {
      writeTsOption(b, at, c.tsNow(), c.opt.tsRecent);
      at += TS_ALIGNED_LEN;
    }
    if (nSack > 0) {
      const edges: number[] = [];
      if (c.rcv.dsack) edges.push(c.rcv.dsackStart, c.rcv.dsackEnd);
      for (let i = 0; edges.length < 2 * nSack && i < c.rcv.sackEdges.length; i++) edges.push(c.rcv.sackEdges[i]!);
      at += writeSackOption(b, at, edges, nSack);
      c.rcv.dsack = false;
    }
  }
  if (len > 0) b.set(c.snd.buf.subarray(c.snd.bufStart + bufOff, c.snd.bufStart + bufOff + len), at);
  const l4len = hlen + len;
  fillTcpChecksum(b, off, l4len, c.laddr, c.raddr);
  pool.len[slot] = L4_OFFSET + l4len;
  pool.gsoSize[slot] = gsoSize;
  const h = c.hdr;
  if (c.idZero) {
    h.id = 0;
  } else {
    // ip_select_ident_segs: a GSO frame takes one id per segment it will become
    h.id = c.ipId;
    c.ipId = (c.ipId + gsoSegs) & 0xffff;
  }
  if (flags & ACK) c.delack.ackSent();
  if (len > 0 && c.state !== 'SYN_RECV') eventDataSent(c);
  return ip.sendL4(slot, l4len, h);
}

/** tcp_event_data_sent: a reply within ato of the last received data means ping-pong traffic. */
function eventDataSent(c: TcpConnection): void {
  c.snd.lsndtime = c.now();
  if (c.now() - c.delack.lrcvtime < c.delack.ato) c.delack.pingpong++;
}

/** tcp_is_cwnd_limited: only a flow that used its window may grow it (twice the used in slow start). */
export function cwndLimited(c: TcpConnection): boolean {
  if (c.snd.isCwndLimited) return true;
  return c.cc.cwnd < c.cc.ssthresh && c.cc.cwnd < 2 * c.snd.maxPacketsOut;
}

/** tcp_cwnd_validate, after tcp_write_xmit. */
function cwndValidate(c: TcpConnection, limited: boolean): void {
  if (!seqLt(c.snd.una, c.snd.cwndUsageSeq) || limited || (!c.snd.isCwndLimited && c.snd.rtx.length > c.snd.maxPacketsOut)) {
    c.snd.isCwndLimited = limited;
    c.snd.maxPacketsOut = c.snd.rtx.length;
    c.snd.cwndUsageSeq = c.snd.nxt;
  }
}

/** tcp_slow_start_after_idle_check → tcp_cwnd_restart: after an idle RTO, cwnd halves per RTO
 *  down to the initial window (net.ipv4.tcp_slow_start_after_idle = 1). */
export function restartAfterIdle(c: TcpConnection): void {
  if (c.snd.rtx.length > 0 || c.snd.lsndtime === 0) return;
  let delta = c.now() - c.snd.lsndtime;
  if (delta <= c.rtt.rto) return;
  const restart = Math.min(TCP_INIT_CWND, c.cc.cwnd);
  c.cc.ssthresh = Math.max(c.cc.ssthresh, Math.floor((c.cc.cwnd * 3) / 4));
  let cwnd = c.cc.cwnd;
  while ((delta -= c.rtt.rto) > 0 && cwnd > restart) cwnd >>= 1;
  c.cc.cwnd = Math.max(cwnd, restart);
  c.cc.onCwndRestart();
}

/** __tcp_select_window. */
export function selectWindowRaw(c: TcpConnection): number {
  let mss = c.rcv.mss;
  let free = c.rcv.space();
  const allowed = c.rcv.fullSpace();
  const full = Math.min(c.rcv.windowClamp, allowed);
  const unit = 2 ** c.rcv.wscale;
  if (mss > full) {
    mss = full;
    if (mss <= 0) return 0;
  }
  if (free < full >> 1) {
    c.delack.quick = 0;
    free = free - (free % unit);
    if (free < allowed >> 4 || free < mss) return 0;
  }
  if (free > c.rcv.ssthresh) free = c.rcv.ssthresh;
  if (c.rcv.wscale) return Math.ceil(free / unit) * unit;
  let window = c.rcv.wnd;
  if (window <= free - mss || window > free) window = free - (free % mss);
  else if (mss === full && free > window + (full >> 1)) window = free;
  return window;
}

/** tcp_select_window: never shrink; remember rcv_wnd / rcv_wup; scale. */
function selectWindow(c: TcpConnection): number {
  const cur = c.rcv.window();
  let nw = selectWindowRaw(c);
  const unit = 2 ** c.rcv.wscale;
  if (nw < cur) nw = Math.ceil(cur / unit) * unit;
  c.rcv.wnd = nw;
  c.rcv.wup = c.rcv.nxt;
  nw = Math.min(nw, 65535 * unit);
  return Math.floor(nw / unit);
}
