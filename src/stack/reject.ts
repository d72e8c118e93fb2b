// REJECT --reject-with tcp-reset as netfilter builds it (net/ipv4/netfilter/nf_reject_ipv4.c,
// nf_send_reset): a bare RST (or RST/ACK) answering the segment, sent from the address it was sent to.
//
//   original has ACK:  seq = its ack_seq, flags RST           (no ACK)
//   otherwise:         seq = 0, ack = seq + SYN + FIN + data, flags RST|ACK
//   window 0, no options; IPv4: TOS 0, id 0, DF, TTL 64 (the route's hop limit); then ip_local_out
//   (OUTPUT and POSTROUTING, so conntrack sees it as belonging to the rejected connection).
// Nothing is sent for a segment that is itself a RST, a non-first fragment, or not TCP.

import { L4_OFFSET } from '../wire/ipv4.js';
import { IPV4, IpProto, Ipv4Flag } from '../wire/ipv4.js';
import { TCP, TcpFlag } from '../wire/tcp.js';
import { fillTcpChecksum, verifyTcpChecksum } from '../wire/checksum.js';
import type { Host } from './host.js';

/** nf_send_reset for the segment whose IPv4 header is `l3rel` bytes into `slot` (the slot stays the
 *  caller's). Returns whether a reset was sent. */
export function nfSendReset(host: Host, slot: number, l3rel: number): boolean {
  const pool = host.engine.pool;
  const view = pool.view;
  const off = pool.base(slot) + l3rel;
  if (view.getUint8(off + IPV4.PROTOCOL) !== IpProto.TCP) return false;
  if ((view.getUint16(off + IPV4.FLAGS_FRAG) & Ipv4Flag.OFFSET_MASK) !== 0) return false;
  const hlen = (view.getUint8(off) & 0x0f) << 2;
  const tot = view.getUint16(off + IPV4.TOTAL_LEN);
  const t = off + hlen;
  const tlen = tot - hlen;
  if (tlen < TCP.HEADER_LEN) return false;
  const src = view.getUint32(off + IPV4.SRC);
  const dst = view.getUint32(off + IPV4.DST);
  // nf_reject_verify_csum: a segment with a bad checksum gets no answer.
  if (!verifyTcpChecksum(pool.bytes, t, tlen, src, dst)) return false;
  const flags = view.getUint8(t + TCP.FLAGS);
  if ((flags & TcpFlag.RST) !== 0) return false;
  const doff = (view.getUint8(t + TCP.DATA_OFFSET) >>> 4) << 2;
  if (doff < TCP.HEADER_LEN || doff > tlen) return false;
  const sport = view.getUint16(t + TCP.SRC_PORT);
  const dport = view.getUint16(t + TCP.DST_PORT);
  const oseq = view.getUint32(t + TCP.SEQ);
  const oack = view.getUint32(t + TCP.ACK);
  const hasAck = (flags & TcpFlag.ACK) !== 0;
  const dataLen = tlen - doff + ((flags & TcpFlag.SYN) !== 0 ? 1 : 0) + ((flags & TcpFlag.FIN) !== 0 ? 1 : 0);

  const out = pool.alloc();
  const v = pool.view;
  const o = pool.base(out) + L4_OFFSET;
  v.setUint16(o + TCP.SRC_PORT, dport);
  v.setUint16(o + TCP.DST_PORT, sport);
  v.setUint32(o + TCP.SEQ, hasAck ? oack : 0);
  v.setUint32(o + TCP.ACK, hasAck ? 0 : (oseq + dataLen) >>> 0);
  v.setUint8(o + TCP.DATA_OFFSET, (TCP.HEADER_LEN >>> 2) << 4);
  v.setUint8(o + TCP.FLAGS, hasAck ? TcpFlag.RST : TcpFlag.RST | TcpFlag.ACK);
  v.setUint16(o + TCP.WINDOW, 0);
  v.setUint16(o + TCP.CHECKSUM, 0);
  v.setUint16(o + TCP.URGENT, 0);
  fillTcpChecksum(pool.bytes, o, TCP.HEADER_LEN, dst, src);
  return host.sendL4(out, TCP.HEADER_LEN, { src: dst, dst: src, proto: IpProto.TCP, ttl: host.defaultTtl, tos: 0, df: true, id: 0 });
}
