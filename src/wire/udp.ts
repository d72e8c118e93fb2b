// UDP (RFC 768).
//
//    0      7 8     15 16    23 24    31
//   +--------+--------+--------+--------+
//   |     Source      |   Destination   |
//   |      Port       |      Port       |
//   +--------+--------+--------+--------+
//   |                 |                 |
//   |     Length      |    Checksum     |
//   +--------+--------+--------+--------+
//   |          data octets ...
//   +---------------- ...
//
// Checksum over pseudo header (src, dst, 0, 17, UDP length) + header + data; a computed 0 is sent as
// 0xffff, a received 0 means "no checksum". Real capture (nat-basic/ct.eth0.pcap, 172.17.0.2 → 198.51.100.1,
// "ping" to port 7; locally sent, so the field holds the offload placeholder — the folded pseudo-header
// sum 0xd665 — not a full checksum):
//   e1d9 0007 000c d665 | 70 69 6e 67

import { struct, u16be } from '@solana/buffer-layout';
import { getU16, setU16 } from './bytes.js';
import { checksumData, finishChecksum, pseudoHeaderSum } from './checksum.js';
import { checkRange, truncated, WireError } from './errors.js';
import { fieldOffset, fields, type HeaderLayout } from './layout.js';

export const udpLayout: HeaderLayout = struct(fields([u16be('srcPort'), u16be('dstPort'), u16be('length'), u16be('checksum')]));

/** Offsets in the UDP header (derived from `udpLayout`). */
export const UDP = Object.freeze({
  SRC_PORT: fieldOffset(udpLayout, 'srcPort'),
  DST_PORT: fieldOffset(udpLayout, 'dstPort'),
  LENGTH: fieldOffset(udpLayout, 'length'),
  CHECKSUM: fieldOffset(udpLayout, 'checksum'),
  HEADER_LEN: udpLayout.span,
});

/** Addresses of the IPv4 pseudo header, needed to fill a TCP or UDP checksum. */
export interface PseudoHeader {
  src: number;
  dst: number;
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** Length field (header + data). */
  length: number;
  /** Checksum field as read (0 = none). */
  checksum: number;
  /** The data (`length - 8` bytes), a view on the parsed buffer. */
  payload: Uint8Array;
}

// ---- fast accessors ----
export function udpSrcPort(view: DataView, off: number): number {
  return view.getUint16(off + UDP.SRC_PORT);
}
export function udpDstPort(view: DataView, off: number): number {
  return view.getUint16(off + UDP.DST_PORT);
}
export function udpLength(view: DataView, off: number): number {
  return view.getUint16(off + UDP.LENGTH);
}
export function udpChecksumField(view: DataView, off: number): number {
  return view.getUint16(off + UDP.CHECKSUM);
}

// ---- Repr ----

/** Parse the datagram in the `len` bytes at `off` (`len` is what IPv4 says; bytes past the UDP length
 *  field are ignored, as Linux trims them). */
export function parse(bytes: Uint8Array, off: number, len: number): UdpRepr {
  checkRange('udp', bytes, off, len);
  if (len < UDP.HEADER_LEN) throw truncated('udp', off, UDP.HEADER_LEN, len);
  const length = getU16(bytes, off + UDP.LENGTH);
  if (length < UDP.HEADER_LEN) throw new WireError('bad-length', 'udp', off + UDP.LENGTH, `length ${length} < 8`);
  if (length > len) throw new WireError('truncated', 'udp', off + UDP.LENGTH, `length ${length} > ${len} bytes available`);
  return {
    srcPort: getU16(bytes, off + UDP.SRC_PORT),
    dstPort: getU16(bytes, off + UDP.DST_PORT),
    length,
    checksum: getU16(bytes, off + UDP.CHECKSUM),
    payload: bytes.subarray(off + UDP.HEADER_LEN, off + length),
  };
}

/** Header + payload. */
export function bufferLen(repr: UdpRepr): number {
  return UDP.HEADER_LEN + repr.payload.length;
}

/** Write header and payload at `off`. With `pseudo` the checksum is computed (over `repr.length`
 *  bytes; a zero goes out as 0xffff); without, `repr.checksum` is written as is. Returns bytes written. */
export function emit(repr: UdpRepr, bytes: Uint8Array, off: number, pseudo?: PseudoHeader): number {
  setU16(bytes, off + UDP.SRC_PORT, repr.srcPort);
  setU16(bytes, off + UDP.DST_PORT, repr.dstPort);
  setU16(bytes, off + UDP.LENGTH, repr.length);
  bytes.set(repr.payload, off + UDP.HEADER_LEN);
  const n = UDP.HEADER_LEN + repr.payload.length;
  if (pseudo !== undefined) {
    setU16(bytes, off + UDP.CHECKSUM, 0);
    const sum = checksumData(bytes, off, n, pseudoHeaderSum(pseudo.src, pseudo.dst, 17, repr.length));
    setU16(bytes, off + UDP.CHECKSUM, finishChecksum(sum) || 0xffff);
  } else {
    setU16(bytes, off + UDP.CHECKSUM, repr.checksum);
  }
  return n;
}
