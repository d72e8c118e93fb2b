// The socket backlog while the application owns the socket (net/core/sock.c __release_sock,
// net/ipv4/tcp_ipv4.c tcp_add_backlog): segments that arrive while a writer is inside sendmsg wait,
// and pure ACKs with the same options coalesce into one (the newest ack and window win); release_sock
// processes them when the writer leaves. With GSO super-frames on a veth the receiver's ACKs come back
// within the sender's own sendmsg, so the first ACKs of a bulk write meet in the backlog: Linux then
// acknowledges the first two super-frames at once (cwnd 10 → 20, the third frame 10 segments: runs 2
// and 3 of bulk-256k; in run 1 the first ACK got through alone and the third frame had 7).
//
// The emulator's sendmsg copies at COPY_NS_PER_BYTE (a memcpy rate), so the socket stays owned for
// that long after a write of more than one segment (a smaller write is over before any ACK could
// return); only pure ACKs are held (data, FIN, RST and SYN go through as before).

import type { TcpConnection } from './conn.js';
import type { Segment } from './state.js';
import { ACK } from '../tcp-wire.js';

/** Virtual time sendmsg spends per byte it copies (4 GB/s). */
export const COPY_NS_PER_BYTE = 0.25;

export class Backlog {
  /** The socket is owned by a writer until then (virtual ns). */
  ownedUntil = -1;
  /** The coalesced pure ACK waiting for release, or null. */
  held: Segment | null = null;
}

/** sendmsg copied `bytes`: the writer owns the socket for the copy. */
export function ownForWrite(c: TcpConnection, bytes: number): void {
  const until = c.now() + Math.ceil(bytes * COPY_NS_PER_BYTE);
  if (until > c.backlog.ownedUntil) c.backlog.ownedUntil = until;
}

/** tcp_v4_rcv → tcp_add_backlog: true when `seg` was held (owned socket, a pure ACK). */
export function holdIfOwned(c: TcpConnection, seg: Segment): boolean {
  const b = c.backlog;
  if (c.owner.gso !== true || c.now() >= b.ownedUntil || seg.dataLen !== 0 || seg.flags !== ACK) return false;
  if (b.held !== null && (b.held.opts.ts !== seg.opts.ts || b.held.opts.tsval !== seg.opts.tsval || b.held.opts.tsecr !== seg.opts.tsecr || seg.opts.sackBlocks !== 0 || b.held.opts.sackBlocks !== 0)) {
    return false; // options differ: not coalesced (not modelled further: processed at once)
  }
  const first = b.held === null;
  b.held = { ...seg, opts: { ...seg.opts, sackEdges: seg.opts.sackEdges.slice() } };
  if (first) c.owner.ip.engine.at(b.ownedUntil, () => releaseSock(c));
  return true;
}

/** release_sock: the held ACK is processed now. */
function releaseSock(c: TcpConnection): void {
  const seg = c.backlog.held;
  c.backlog.held = null;
  if (seg !== null && c.state !== 'CLOSED' && c.state !== 'TIME_WAIT') c.input(seg);
}
