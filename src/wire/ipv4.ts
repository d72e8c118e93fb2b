// IPv4 (RFC 791), header only: the payload is the next layer's business.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |Type of Service|          Total Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Identification        |Flags|      Fragment Offset    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   Flags: bit 0 reserved (must be zero), bit 1 DF, bit 2 MF. Fragment offset in 8-byte units.
//
// Real capture (nat-basic/ct.eth0.pcap, ICMP echo request, DF, TTL 64, checksum 0xb612):
//   4500 0054 ae4e 4000 4001 b612 ac11 0002 c633 6401

import { struct, u16be, u32be, u8 } from '@solana/buffer-layout';
import { EMPTY_BYTES, getU16, getU32, setU16, setU32 } from './bytes.js';
import { checksumData, finishChecksum, updateChecksum16, updateChecksum32 } from './checksum.js';
import { checkRange, truncated, WireError } from './errors.js';
import { fieldOffset, fields, type HeaderLayout } from './layout.js';

export const ipv4Layout: HeaderLayout = struct(
  fields([
    u8('versionIhl'),
    u8('tos'),
    u16be('totalLength'),
    u16be('id'),
    u16be('flagsFragment'),
    u8('ttl'),
    u8('protocol'),
    u16be('checksum'),
    u32be('src'),
    u32be('dst'),
  ]),
);

/** Offsets in the IPv4 header (derived from `ipv4Layout`). */
export const IPV4 = Object.freeze({
  VERSION_IHL: fieldOffset(ipv4Layout, 'versionIhl'),
  TOS: fieldOffset(ipv4Layout, 'tos'),
  TOTAL_LEN: fieldOffset(ipv4Layout, 'totalLength'),
  ID: fieldOffset(ipv4Layout, 'id'),
  FLAGS_FRAG: fieldOffset(ipv4Layout, 'flagsFragment'),
  TTL: fieldOffset(ipv4Layout, 'ttl'),
  PROTOCOL: fieldOffset(ipv4Layout, 'protocol'),
  CHECKSUM: fieldOffset(ipv4Layout, 'checksum'),
  SRC: fieldOffset(ipv4Layout, 'src'),
  DST: fieldOffset(ipv4Layout, 'dst'),
  /** Header without options. */
  HEADER_LEN: ipv4Layout.span,
  /** IHL 15. */
  MAX_HEADER_LEN: 60,
});

export { IpProto } from './proto.js';

/** Ethernet (14) + IPv4 without options (20): where a transport writes its header in a fresh pool
 *  slot, leaving room for the headers the stack puts in front. */
export const L4_OFFSET = 34;

/** Bits of the 16-bit flags/fragment word. */
export const Ipv4Flag = Object.freeze({ RESERVED: 0x8000, DF: 0x4000, MF: 0x2000, OFFSET_MASK: 0x1fff });

export interface Ipv4Repr {
  /** The whole TOS byte (DSCP << 2 | ECN). */
  tos: number;
  /** Total length field: header + payload. */
  totalLength: number;
  id: number;
  /** The reserved ("evil") flag bit, kept so re-emit is exact. */
  reservedFlag: boolean;
  df: boolean;
  mf: boolean;
  /** Fragment offset in bytes (a multiple of 8, 0..65528). */
  fragOffset: number;
  ttl: number;
  protocol: number;
  /** Header checksum as read (emit recomputes it unless told to keep it). */
  checksum: number;
  src: number;
  dst: number;
  /** Options and their padding, as on the wire (length a multiple of 4 when parsed; 0..40). */
  options: Uint8Array;
}

// ---- fast accessors ----

export function ipv4Version(view: DataView, off: number): number {
  return view.getUint8(off) >>> 4;
}
/** Header length in bytes (IHL × 4). */
export function ipv4HeaderLen(view: DataView, off: number): number {
  return (view.getUint8(off) & 0x0f) << 2;
}
export function ipv4TotalLen(view: DataView, off: number): number {
  return view.getUint16(off + IPV4.TOTAL_LEN);
}
export function ipv4Id(view: DataView, off: number): number {
  return view.getUint16(off + IPV4.ID);
}
export function ipv4Df(view: DataView, off: number): boolean {
  return (view.getUint16(off + IPV4.FLAGS_FRAG) & Ipv4Flag.DF) !== 0;
}
export function ipv4Mf(view: DataView, off: number): boolean {
  return (view.getUint16(off + IPV4.FLAGS_FRAG) & Ipv4Flag.MF) !== 0;
}
/** Fragment offset in bytes. */
export function ipv4FragOffset(view: DataView, off: number): number {
  return (view.getUint16(off + IPV4.FLAGS_FRAG) & Ipv4Flag.OFFSET_MASK) << 3;
}
export function ipv4Ttl(view: DataView, off: number): number {
  return view.getUint8(off + IPV4.TTL);
}
export function ipv4Protocol(view: DataView, off: number): number {
  return view.getUint8(off + IPV4.PROTOCOL);
}
export function ipv4Checksum(view: DataView, off: number): number {
  return view.getUint16(off + IPV4.CHECKSUM);
}
export function ipv4Src(view: DataView, off: number): number {
  return view.getUint32(off + IPV4.SRC);
}
export function ipv4Dst(view: DataView, off: number): number {
  return view.getUint32(off + IPV4.DST);
}

/** ip_decrease_ttl: TTL - 1 with the RFC 1624 checksum update. Returns the new TTL (the caller drops
 *  and answers time-exceeded when it was ≤ 1 before; this function does not check). */
export function ipv4DecrementTtl(view: DataView, off: number): number {
  const word = view.getUint16(off + IPV4.TTL); // TTL << 8 | protocol
  const next = word - 0x100;
  view.setUint16(off + IPV4.TTL, next);
  view.setUint16(off + IPV4.CHECKSUM, updateChecksum16(view.getUint16(off + IPV4.CHECKSUM), word, next));
  return next >>> 8;
}

/** Rewrite the source address (SNAT) with the RFC 1624 header-checksum update. The transport checksum
 *  (pseudo header) is the caller's: `updateChecksum32(check, old, addr)` on the TCP/UDP field. */
export function ipv4SetSrc(view: DataView, off: number, addr: number): void {
  const old = view.getUint32(off + IPV4.SRC);
  view.setUint32(off + IPV4.SRC, addr);
  view.setUint16(off + IPV4.CHECKSUM, updateChecksum32(view.getUint16(off + IPV4.CHECKSUM), old, addr >>> 0));
}

/** Rewrite the destination address (DNAT) with the header-checksum update (see `ipv4SetSrc`). */
export function ipv4SetDst(view: DataView, off: number, addr: number): void {
  const old = view.getUint32(off + IPV4.DST);
  view.setUint32(off + IPV4.DST, addr);
  view.setUint16(off + IPV4.CHECKSUM, updateChecksum32(view.getUint16(off + IPV4.CHECKSUM), old, addr >>> 0));
}

/**
 * The stack's output path: write a 20-byte header (no options) with its checksum, computed from the
 * field values without reading the buffer back. `totalLength` includes the header.
 */
export function writeIpv4Header(
  view: DataView,
  off: number,
  tos: number,
  totalLength: number,
  id: number,
  df: boolean,
  ttl: number,
  protocol: number,
  src: number,
  dst: number,
): void {
  const w0 = 0x4500 | (tos & 0xff);
  const w3 = df ? Ipv4Flag.DF : 0;
  const w4 = ((ttl & 0xff) << 8) | (protocol & 0xff);
  let sum = w0 + (totalLength & 0xffff) + (id & 0xffff) + w3 + w4 + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  view.setUint16(off, w0);
  view.setUint16(off + IPV4.TOTAL_LEN, totalLength);
  view.setUint16(off + IPV4.ID, id);
  view.setUint16(off + IPV4.FLAGS_FRAG, w3);
  view.setUint16(off + IPV4.TTL, w4);
  view.setUint16(off + IPV4.CHECKSUM, ~sum & 0xffff);
  view.setUint32(off + IPV4.SRC, src);
  view.setUint32(off + IPV4.DST, dst);
}

// ---- Repr ----

function parseHeader(bytes: Uint8Array, off: number, len: number, strictTotal: boolean): Ipv4Repr {
  checkRange('ipv4', bytes, off, len);
  if (len < IPV4.HEADER_LEN) throw truncated('ipv4', off, IPV4.HEADER_LEN, len);
  const vihl = bytes[off]!;
  if (vihl >>> 4 !== 4) throw new WireError('bad-version', 'ipv4', off, `version ${vihl >>> 4}`);
  const headerLen = (vihl & 0x0f) << 2;
  if (headerLen < IPV4.HEADER_LEN) throw new WireError('bad-length', 'ipv4', off, `IHL ${vihl & 0x0f} < 5`);
  if (headerLen > len) throw truncated('ipv4', off, headerLen, len);
  const totalLength = getU16(bytes, off + IPV4.TOTAL_LEN);
  if (totalLength < headerLen)
    throw new WireError('bad-length', 'ipv4', off + IPV4.TOTAL_LEN, `total length ${totalLength} < header length ${headerLen}`);
  if (strictTotal && totalLength > len)
    throw new WireError('truncated', 'ipv4', off + IPV4.TOTAL_LEN, `total length ${totalLength} > ${len} bytes available`);
  const ff = getU16(bytes, off + IPV4.FLAGS_FRAG);
  return {
    tos: bytes[off + IPV4.TOS]!,
    totalLength,
    id: getU16(bytes, off + IPV4.ID),
    reservedFlag: (ff & Ipv4Flag.RESERVED) !== 0,
    df: (ff & Ipv4Flag.DF) !== 0,
    mf: (ff & Ipv4Flag.MF) !== 0,
    fragOffset: (ff & Ipv4Flag.OFFSET_MASK) << 3,
    ttl: bytes[off + IPV4.TTL]!,
    protocol: bytes[off + IPV4.PROTOCOL]!,
    checksum: getU16(bytes, off + IPV4.CHECKSUM),
    src: getU32(bytes, off + IPV4.SRC),
    dst: getU32(bytes, off + IPV4.DST),
    options: headerLen === IPV4.HEADER_LEN ? EMPTY_BYTES : bytes.subarray(off + IPV4.HEADER_LEN, off + headerLen),
  };
}

/** Parse the header of the datagram in the `len` bytes at `off` (bytes past `totalLength` are the
 *  link's padding, allowed). The options are a view on `bytes`, not a copy. */
export function parse(bytes: Uint8Array, off: number, len: number): Ipv4Repr {
  return parseHeader(bytes, off, len, true);
}

/** Parse the header quoted inside an ICMP error: the quote is cut short on purpose, so a total length
 *  beyond the available bytes is accepted. */
export function parseQuoted(bytes: Uint8Array, off: number, len: number): Ipv4Repr {
  return parseHeader(bytes, off, len, false);
}

/** Header length: 20 + options, rounded up to a multiple of 4. */
export function bufferLen(repr: Ipv4Repr): number {
  return IPV4.HEADER_LEN + ((repr.options.length + 3) & ~3);
}

/** Payload length announced by the header. */
export function payloadLen(repr: Ipv4Repr): number {
  return repr.totalLength - bufferLen(repr);
}

/** Write the header at `off`; the checksum is computed unless `fillChecksum` is false (then
 *  `repr.checksum` is written as is). Returns the header length. */
export function emit(repr: Ipv4Repr, bytes: Uint8Array, off: number, fillChecksum = true): number {
  const optLen = repr.options.length;
  const headerLen = IPV4.HEADER_LEN + ((optLen + 3) & ~3);
  bytes[off] = 0x40 | (headerLen >>> 2);
  bytes[off + IPV4.TOS] = repr.tos;
  setU16(bytes, off + IPV4.TOTAL_LEN, repr.totalLength);
  setU16(bytes, off + IPV4.ID, repr.id);
  setU16(
    bytes,
    off + IPV4.FLAGS_FRAG,
    (repr.reservedFlag ? Ipv4Flag.RESERVED : 0) | (repr.df ? Ipv4Flag.DF : 0) | (repr.mf ? Ipv4Flag.MF : 0) | ((repr.fragOffset >>> 3) & Ipv4Flag.OFFSET_MASK),
  );
  bytes[off + IPV4.TTL] = repr.ttl;
  bytes[off + IPV4.PROTOCOL] = repr.protocol;
  setU32(bytes, off + IPV4.SRC, repr.src);
  setU32(bytes, off + IPV4.DST, repr.dst);
  if (optLen !== 0) {
    bytes.set(repr.options, off + IPV4.HEADER_LEN);
    for (let i = IPV4.HEADER_LEN + optLen; i < headerLen; i++) bytes[off + i] = 0;
  }
  if (fillChecksum) {
    setU16(bytes, off + IPV4.CHECKSUM, 0);
    setU16(bytes, off + IPV4.CHECKSUM, finishChecksum(checksumData(bytes, off, headerLen)));
  } else {
    setU16(bytes, off + IPV4.CHECKSUM, repr.checksum);
  }
  return headerLen;
}

// ---- options (for tools; the stack keeps them as bytes) ----

export const Ipv4OptionType = Object.freeze({ EOL: 0, NOP: 1, RECORD_ROUTE: 7, TIMESTAMP: 68, LSRR: 131, SSRR: 137, ROUTER_ALERT: 148 });

export interface Ipv4Option {
  /** The whole type byte (copied flag, class, number). */
  type: number;
  /** Bytes after type and length (empty for EOL/NOP; for EOL, the padding after it). */
  data: Uint8Array;
}

/** Split an options area into options, in order. An EOL ends the list (its `data` is what follows).
 *  `at` is the options' offset in the packet, for error messages. */
export function parseOptions(options: Uint8Array, at = 0): Ipv4Option[] {
  const out: Ipv4Option[] = [];
  let i = 0;
  while (i < options.length) {
    const type = options[i]!;
    if (type === Ipv4OptionType.EOL) {
      out.push({ type, data: options.subarray(i + 1) });
      break;
    }
    if (type === Ipv4OptionType.NOP) {
      out.push({ type, data: options.subarray(i + 1, i + 1) });
      i++;
      continue;
    }
    if (i + 1 >= options.length) throw truncated('ipv4', at + i, 2, options.length - i);
    const l = options[i + 1]!;
    if (l < 2 || i + l > options.length) throw new WireError('bad-length', 'ipv4', at + i + 1, `option ${type} length ${l}`);
    out.push({ type, data: options.subarray(i + 2, i + l) });
    i += l;
  }
  return out;
}
