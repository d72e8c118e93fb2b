// TCP (RFC 9293 §3.1; ECN bits RFC 3168, NS RFC 3540; options RFC 7323, RFC 2018).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Source Port          |       Destination Port        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        Sequence Number                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Acknowledgment Number                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Data |     |N|C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrv|S|W|C|R|C|S|S|Y|I|            Window             |
//   |       |     | |R|E|G|K|H|T|N|N|                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                           [Options]                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                             data                              :
//
// Real capture (nat-basic/ct.eth0.pcap, Linux 6.18 SYN <mss 1460,sackOK,TS val 643826225 ecr 0,nop,wscale 10>,
// checksum field 0xd676 = the offload placeholder):
//   8c70 1f40 597e 2366 0000 0000 a002 faf0 d676 0000 | 0204 05b4 0402 080a 2660 0231 0000 0000 0103 030a
//
// Options are kept in wire order, unknown and malformed-length ones as bytes, the bytes after an EOL
// too, so parse → emit is byte-identical.

import { blob, struct, u16be, u32be, u8 } from '@solana/buffer-layout';
import { EMPTY_BYTES, getU16, getU32, setU16, setU32 } from './bytes.js';
import { checksumData, finishChecksum, pseudoHeaderSum, sumU32 } from './checksum.js';
import { checkRange, truncated, WireError } from './errors.js';
import { fieldOffset, fields, type HeaderLayout } from './layout.js';
import type { PseudoHeader } from './udp.js';

export const tcpLayout: HeaderLayout = struct(
  fields([
    u16be('srcPort'),
    u16be('dstPort'),
    u32be('seq'),
    u32be('ack'),
    u8('dataOffset'), // data offset (4 bits), reserved (3), NS (1)
    u8('flags'), // CWR ECE URG ACK PSH RST SYN FIN
    u16be('window'),
    u16be('checksum'),
    u16be('urgent'),
    blob(0, 'options'),
  ]),
);

/** Offsets in the TCP header (derived from `tcpLayout`). */
export const TCP = Object.freeze({
  SRC_PORT: fieldOffset(tcpLayout, 'srcPort'),
  DST_PORT: fieldOffset(tcpLayout, 'dstPort'),
  SEQ: fieldOffset(tcpLayout, 'seq'),
  ACK: fieldOffset(tcpLayout, 'ack'),
  DATA_OFFSET: fieldOffset(tcpLayout, 'dataOffset'),
  FLAGS: fieldOffset(tcpLayout, 'flags'),
  WINDOW: fieldOffset(tcpLayout, 'window'),
  CHECKSUM: fieldOffset(tcpLayout, 'checksum'),
  URGENT: fieldOffset(tcpLayout, 'urgent'),
  OPTIONS: fieldOffset(tcpLayout, 'options'),
  HEADER_LEN: tcpLayout.span,
  MAX_HEADER_LEN: 60,
});

/** Flag bits of `TcpRepr.flags`: the byte at TCP.FLAGS, plus NS as bit 8 (it lives in the byte before). */
export const TcpFlag = Object.freeze({
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  NS: 0x100,
});

export const TcpOptionKind = Object.freeze({
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
});

export interface SackBlock {
  left: number;
  right: number;
}

/** One option, in wire order. A known kind with an unexpected length is kept as 'unknown'. */
export type TcpOption =
  | { kind: 'eol'; /** The bytes after the EOL up to the end of the header (normally zeros). */ rest: Uint8Array }
  | { kind: 'nop' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sack-permitted' }
  | { kind: 'sack'; blocks: SackBlock[] }
  | { kind: 'timestamps'; tsVal: number; tsEcr: number }
  | { kind: 'unknown'; type: number; /** After the type and length bytes. */ data: Uint8Array };

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TcpFlag bits, NS included (0..0x1ff). */
  flags: number;
  /** The three reserved bits between data offset and NS (0..7), kept so re-emit is exact. */
  reserved: number;
  window: number;
  /** Checksum field as read. */
  checksum: number;
  urgent: number;
  options: TcpOption[];
  /** Segment data, a view on the parsed buffer. */
  payload: Uint8Array;
}

// ---- fast accessors ----
export function tcpSrcPort(view: DataView, off: number): number {
  return view.getUint16(off + TCP.SRC_PORT);
}
export function tcpDstPort(view: DataView, off: number): number {
  return view.getUint16(off + TCP.DST_PORT);
}
export function tcpSeq(view: DataView, off: number): number {
  return view.getUint32(off + TCP.SEQ);
}
export function tcpAck(view: DataView, off: number): number {
  return view.getUint32(off + TCP.ACK);
}
/** Header length in bytes (data offset × 4). */
export function tcpHeaderLen(view: DataView, off: number): number {
  return (view.getUint8(off + TCP.DATA_OFFSET) >>> 4) << 2;
}
/** Flags including NS (bit 8). */
export function tcpFlags(view: DataView, off: number): number {
  return ((view.getUint8(off + TCP.DATA_OFFSET) & 1) << 8) | view.getUint8(off + TCP.FLAGS);
}
export function tcpWindow(view: DataView, off: number): number {
  return view.getUint16(off + TCP.WINDOW);
}
export function tcpChecksumField(view: DataView, off: number): number {
  return view.getUint16(off + TCP.CHECKSUM);
}

/**
 * The output path's writer: the 20-byte fixed header at `off` with a zero checksum field, returning
 * the uncomplemented sum of its words so the caller can finish the checksum without reading anything
 * back: `finishChecksum(foldSum(sum + optionWordsSum + checksumData(payload…) + pseudoHeaderSum(…)))`.
 * `flags` includes NS (bit 8); `headerLen` is in bytes (20..60).
 */
export function writeTcpHeader(
  view: DataView,
  off: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  headerLen: number,
  flags: number,
  window: number,
  urgent: number,
): number {
  const w6 = ((headerLen >>> 2) << 12) | (flags & 0x1ff);
  view.setUint16(off + TCP.SRC_PORT, srcPort);
  view.setUint16(off + TCP.DST_PORT, dstPort);
  view.setUint32(off + TCP.SEQ, seq);
  view.setUint32(off + TCP.ACK, ack);
  view.setUint16(off + TCP.DATA_OFFSET, w6);
  view.setUint16(off + TCP.WINDOW, window);
  view.setUint16(off + TCP.CHECKSUM, 0);
  view.setUint16(off + TCP.URGENT, urgent);
  return (srcPort & 0xffff) + (dstPort & 0xffff) + sumU32(seq >>> 0) + sumU32(ack >>> 0) + w6 + (window & 0xffff) + (urgent & 0xffff);
}

// ---- options ----

function parseOptions(bytes: Uint8Array, start: number, end: number): TcpOption[] {
  const out: TcpOption[] = [];
  let i = start;
  while (i < end) {
    const type = bytes[i]!;
    if (type === TcpOptionKind.EOL) {
      out.push({ kind: 'eol', rest: i + 1 === end ? EMPTY_BYTES : bytes.subarray(i + 1, end) });
      break;
    }
    if (type === TcpOptionKind.NOP) {
      out.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= end) throw new WireError('truncated', 'tcp', i, `option ${type} has no length byte`);
    const l = bytes[i + 1]!;
    if (l < 2 || i + l > end) throw new WireError('bad-length', 'tcp', i + 1, `option ${type} length ${l} (${end - i} bytes left)`);
    const d = i + 2;
    if (type === TcpOptionKind.MSS && l === 4) out.push({ kind: 'mss', value: getU16(bytes, d) });
    else if (type === TcpOptionKind.WSCALE && l === 3) out.push({ kind: 'wscale', shift: bytes[d]! });
    else if (type === TcpOptionKind.SACK_PERMITTED && l === 2) out.push({ kind: 'sack-permitted' });
    else if (type === TcpOptionKind.TIMESTAMPS && l === 10) out.push({ kind: 'timestamps', tsVal: getU32(bytes, d), tsEcr: getU32(bytes, d + 4) });
    else if (type === TcpOptionKind.SACK && l >= 10 && (l - 2) % 8 === 0) {
      const blocks: SackBlock[] = [];
      for (let j = d; j < i + l; j += 8) blocks.push({ left: getU32(bytes, j), right: getU32(bytes, j + 4) });
      out.push({ kind: 'sack', blocks });
    } else out.push({ kind: 'unknown', type, data: bytes.subarray(d, i + l) });
    i += l;
  }
  return out;
}

/** Wire length of one option. */
export function optionLen(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
      return 1 + o.rest.length;
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sack-permitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamps':
      return 10;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Total option bytes before padding. */
export function optionsLen(options: TcpOption[]): number {
  let n = 0;
  for (let i = 0; i < options.length; i++) n += optionLen(options[i]!);
  return n;
}

function emitOption(o: TcpOption, b: Uint8Array, at: number): number {
  switch (o.kind) {
    case 'eol':
      b[at] = 0;
      b.set(o.rest, at + 1);
      return 1 + o.rest.length;
    case 'nop':
      b[at] = 1;
      return 1;
    case 'mss':
      b[at] = 2;
      b[at + 1] = 4;
      setU16(b, at + 2, o.value);
      return 4;
    case 'wscale':
      b[at] = 3;
      b[at + 1] = 3;
      b[at + 2] = o.shift;
      return 3;
    case 'sack-permitted':
      b[at] = 4;
      b[at + 1] = 2;
      return 2;
    case 'sack': {
      b[at] = 5;
      b[at + 1] = 2 + 8 * o.blocks.length;
      let j = at + 2;
      for (let k = 0; k < o.blocks.length; k++) {
        setU32(b, j, o.blocks[k]!.left);
        setU32(b, j + 4, o.blocks[k]!.right);
        j += 8;
      }
      return j - at;
    }
    case 'timestamps':
      b[at] = 8;
      b[at + 1] = 10;
      setU32(b, at + 2, o.tsVal);
      setU32(b, at + 6, o.tsEcr);
      return 10;
    case 'unknown':
      b[at] = o.type;
      b[at + 1] = 2 + o.data.length;
      b.set(o.data, at + 2);
      return 2 + o.data.length;
  }
}

// ---- Repr ----

/** Parse the segment in the `len` bytes at `off` (`len` from the IPv4 total length). */
export function parse(bytes: Uint8Array, off: number, len: number): TcpRepr {
  checkRange('tcp', bytes, off, len);
  if (len < TCP.HEADER_LEN) throw truncated('tcp', off, TCP.HEADER_LEN, len);
  const b12 = bytes[off + TCP.DATA_OFFSET]!;
  const headerLen = (b12 >>> 4) << 2;
  if (headerLen < TCP.HEADER_LEN) throw new WireError('bad-length', 'tcp', off + TCP.DATA_OFFSET, `data offset ${b12 >>> 4} < 5`);
  if (headerLen > len) throw truncated('tcp', off, headerLen, len);
  return {
    srcPort: getU16(bytes, off + TCP.SRC_PORT),
    dstPort: getU16(bytes, off + TCP.DST_PORT),
    seq: getU32(bytes, off + TCP.SEQ),
    ack: getU32(bytes, off + TCP.ACK),
    flags: ((b12 & 1) << 8) | bytes[off + TCP.FLAGS]!,
    reserved: (b12 >>> 1) & 7,
    window: getU16(bytes, off + TCP.WINDOW),
    checksum: getU16(bytes, off + TCP.CHECKSUM),
    urgent: getU16(bytes, off + TCP.URGENT),
    options: parseOptions(bytes, off + TCP.HEADER_LEN, off + headerLen),
    payload: headerLen === len ? EMPTY_BYTES : bytes.subarray(off + headerLen, off + len),
  };
}

/** Header length: 20 + options rounded up to a multiple of 4 (padding is zeros). */
export function headerLen(repr: TcpRepr): number {
  return TCP.HEADER_LEN + ((optionsLen(repr.options) + 3) & ~3);
}

/** Header + payload. */
export function bufferLen(repr: TcpRepr): number {
  return headerLen(repr) + repr.payload.length;
}

/** Write header, options and payload at `off`. With `pseudo`, the checksum is computed; without,
 *  `repr.checksum` is written as is. Returns bytes written. Options longer than 40 bytes are written
 *  anyway (data offset wraps): emit does not validate. */
export function emit(repr: TcpRepr, bytes: Uint8Array, off: number, pseudo?: PseudoHeader): number {
  setU16(bytes, off + TCP.SRC_PORT, repr.srcPort);
  setU16(bytes, off + TCP.DST_PORT, repr.dstPort);
  setU32(bytes, off + TCP.SEQ, repr.seq);
  setU32(bytes, off + TCP.ACK, repr.ack);
  let at = off + TCP.HEADER_LEN;
  const options = repr.options;
  for (let i = 0; i < options.length; i++) at += emitOption(options[i]!, bytes, at);
  while (((at - off) & 3) !== 0) bytes[at++] = 0;
  const hl = at - off;
  bytes[off + TCP.DATA_OFFSET] = ((hl >>> 2) << 4) | ((repr.reserved & 7) << 1) | ((repr.flags >>> 8) & 1);
  bytes[off + TCP.FLAGS] = repr.flags;
  setU16(bytes, off + TCP.WINDOW, repr.window);
  setU16(bytes, off + TCP.URGENT, repr.urgent);
  const payload = repr.payload;
  if (payload.length !== 0) bytes.set(payload, at);
  const n = hl + payload.length;
  if (pseudo !== undefined) {
    setU16(bytes, off + TCP.CHECKSUM, 0);
    setU16(bytes, off + TCP.CHECKSUM, finishChecksum(checksumData(bytes, off, n, pseudoHeaderSum(pseudo.src, pseudo.dst, 6, n))));
  } else {
    setU16(bytes, off + TCP.CHECKSUM, repr.checksum);
  }
  return n;
}
