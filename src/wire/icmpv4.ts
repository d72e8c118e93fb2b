// ICMPv4 (RFC 792; fragmentation-needed MTU RFC 1191).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      |     Code      |          Checksum             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   echo: Identifier            |   echo: Sequence Number       |
//   |   errors: unused (zero) — frag-needed: unused | Next-Hop MTU  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  echo: data …   errors: Internet header + leading data bytes  |
//   |  of the original datagram (Linux quotes up to 576 bytes total)|
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Real capture (publish/client.eth0.pcap, port unreachable for UDP to 198.51.100.10:9998, quoting the
// whole original datagram):
//   0303 bbd7 0000 0000 | 4500 0020 b3c6 4000 4011 3294 c633 6401 c633 640a | e6a9 270e 000c 5490 7069 6e67

import { struct, u16be, u32be, u8 } from '@solana/buffer-layout';
import { getU16, getU32, setU16, setU32 } from './bytes.js';
import { checksumData, finishChecksum } from './checksum.js';
import { checkRange, truncated } from './errors.js';
import * as ipv4 from './ipv4.js';
import type { Ipv4Repr } from './ipv4.js';
import { fieldOffset, fields, type HeaderLayout } from './layout.js';

export const icmpLayout: HeaderLayout = struct(fields([u8('type'), u8('code'), u16be('checksum'), u32be('rest')]));
/** The echo view of bytes 4..7. */
export const icmpEchoLayout: HeaderLayout = struct(fields([u8('type'), u8('code'), u16be('checksum'), u16be('ident'), u16be('seq')]));

/** Offsets in the ICMP header (derived from the layouts). */
export const ICMP = Object.freeze({
  TYPE: fieldOffset(icmpLayout, 'type'),
  CODE: fieldOffset(icmpLayout, 'code'),
  CHECKSUM: fieldOffset(icmpLayout, 'checksum'),
  /** Bytes 4..7: "rest of header" (unused in errors, next-hop MTU in its low half for frag-needed). */
  REST: fieldOffset(icmpLayout, 'rest'),
  IDENT: fieldOffset(icmpEchoLayout, 'ident'),
  SEQ: fieldOffset(icmpEchoLayout, 'seq'),
  /** Offset of the low 16 bits holding the next-hop MTU in frag-needed. */
  MTU: fieldOffset(icmpEchoLayout, 'seq'),
  HEADER_LEN: icmpLayout.span,
});

export const IcmpType = Object.freeze({
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
});

/** Codes of type 3, destination unreachable. */
export const IcmpUnreachCode = Object.freeze({
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAG_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  NET_UNKNOWN: 6,
  HOST_UNKNOWN: 7,
  NET_PROHIBITED: 9,
  HOST_PROHIBITED: 10,
  ADMIN_PROHIBITED: 13,
});

/** Codes of type 11, time exceeded. */
export const IcmpTimeExceededCode = Object.freeze({ TTL: 0, REASSEMBLY: 1 });

/**
 * An ICMP error received about a datagram we sent, decoded once by the stack's icmp_rcv and handed
 * to the err_handler of the transport that sent the quoted datagram (Linux's icmp_socket_deliver →
 * inet_protos[protocol]->err_handler; gVisor's HandleError). Defined here, with the message format,
 * so that src/stack (which decodes it) and src/sockets (which act on it) share it without importing
 * each other.
 */
export interface IcmpErrorInfo {
  type: number;
  code: number;
  /** Next-hop MTU for frag-needed, else 0. */
  info: number;
  /** Who sent the error. */
  from: number;
  /** The quoted datagram's addresses and protocol. */
  src: number;
  dst: number;
  proto: number;
  /** TCP/UDP: the quoted ports. ICMP (an echo request): identifier and sequence, as ping_err reads them. */
  sport: number;
  dport: number;
}

/** How the message was read. */
export type Icmpv4Kind = 'echo-request' | 'echo-reply' | 'dest-unreachable' | 'time-exceeded' | 'other';

/** The original datagram quoted by an error, as far as it can be read. */
export interface Icmpv4Quote {
  /** The quoted IPv4 header (its total length is the original's, usually more than what is quoted). */
  ipv4: Ipv4Repr;
  /** The quoted bytes after that header (at least the 8 that hold the ports). */
  payload: Uint8Array;
  /** TCP/UDP ports from the quote, or -1 when not TCP/UDP or cut before them. */
  srcPort: number;
  dstPort: number;
}

export interface Icmpv4Repr {
  kind: Icmpv4Kind;
  type: number;
  code: number;
  /** Checksum field as read. */
  checksum: number;
  /** Echo identifier and sequence (bytes 4..7 of echo messages; 0 for other kinds). */
  ident: number;
  seqNo: number;
  /** Bytes 4..7 as a u32: written as is for every kind except echo (which writes ident/seqNo).
   *  For frag-needed the low 16 bits are the next-hop MTU. */
  rest: number;
  /** Everything after byte 8: echo data, or the quoted datagram of an error. A view, not a copy. */
  data: Uint8Array;
  /** Errors (dest-unreachable, time-exceeded): the quote parsed; null when it does not parse. */
  quote: Icmpv4Quote | null;
}

// ---- fast accessors ----
export function icmpType(view: DataView, off: number): number {
  return view.getUint8(off + ICMP.TYPE);
}
export function icmpCode(view: DataView, off: number): number {
  return view.getUint8(off + ICMP.CODE);
}
export function icmpIdent(view: DataView, off: number): number {
  return view.getUint16(off + ICMP.IDENT);
}
export function icmpSeq(view: DataView, off: number): number {
  return view.getUint16(off + ICMP.SEQ);
}

/** Whether the type is an error carrying a quoted datagram (RFC 1122 3.2.2: never answer one of these
 *  with another error). */
export function isIcmpError(type: number): boolean {
  return (
    type === IcmpType.DEST_UNREACHABLE ||
    type === IcmpType.SOURCE_QUENCH ||
    type === IcmpType.REDIRECT ||
    type === IcmpType.TIME_EXCEEDED ||
    type === IcmpType.PARAMETER_PROBLEM
  );
}

function kindOf(type: number): Icmpv4Kind {
  switch (type) {
    case IcmpType.ECHO_REQUEST:
      return 'echo-request';
    case IcmpType.ECHO_REPLY:
      return 'echo-reply';
    case IcmpType.DEST_UNREACHABLE:
      return 'dest-unreachable';
    case IcmpType.TIME_EXCEEDED:
      return 'time-exceeded';
    default:
      return 'other';
  }
}

function parseQuote(bytes: Uint8Array, off: number, len: number): Icmpv4Quote | null {
  let ip: Ipv4Repr;
  try {
    ip = ipv4.parseQuoted(bytes, off, len);
  } catch {
    return null; // the quote is informational; the data stays in `data` as bytes
  }
  const hl = ipv4.bufferLen(ip);
  const end = Math.min(off + len, off + Math.max(ip.totalLength, hl));
  const payload = bytes.subarray(off + hl, end);
  let srcPort = -1;
  let dstPort = -1;
  if ((ip.protocol === 6 || ip.protocol === 17) && ip.fragOffset === 0 && payload.length >= 4) {
    srcPort = getU16(payload, 0);
    dstPort = getU16(payload, 2);
  }
  return { ipv4: ip, payload, srcPort, dstPort };
}

/** Parse the message in the `len` bytes at `off` (`len` from the IPv4 total length). */
export function parse(bytes: Uint8Array, off: number, len: number): Icmpv4Repr {
  checkRange('icmpv4', bytes, off, len);
  if (len < ICMP.HEADER_LEN) throw truncated('icmpv4', off, ICMP.HEADER_LEN, len);
  const type = bytes[off + ICMP.TYPE]!;
  const kind = kindOf(type);
  const echo = kind === 'echo-request' || kind === 'echo-reply';
  const dataOff = off + ICMP.HEADER_LEN;
  const dataLen = len - ICMP.HEADER_LEN;
  return {
    kind,
    type,
    code: bytes[off + ICMP.CODE]!,
    checksum: getU16(bytes, off + ICMP.CHECKSUM),
    ident: echo ? getU16(bytes, off + ICMP.IDENT) : 0,
    seqNo: echo ? getU16(bytes, off + ICMP.SEQ) : 0,
    rest: getU32(bytes, off + ICMP.REST),
    data: bytes.subarray(dataOff, dataOff + dataLen),
    quote: kind === 'dest-unreachable' || kind === 'time-exceeded' ? parseQuote(bytes, dataOff, dataLen) : null,
  };
}

/** Next-hop MTU of a frag-needed message (0 when not one). */
export function nextHopMtu(repr: Icmpv4Repr): number {
  return repr.type === IcmpType.DEST_UNREACHABLE && repr.code === IcmpUnreachCode.FRAG_NEEDED ? repr.rest & 0xffff : 0;
}

/** Header + data. */
export function bufferLen(repr: Icmpv4Repr): number {
  return ICMP.HEADER_LEN + repr.data.length;
}

/** Write the message at `off`; the checksum is computed unless `fillChecksum` is false. Returns bytes
 *  written. `kind` is not consulted: `type` decides (echo types write ident/seqNo, others `rest`). */
export function emit(repr: Icmpv4Repr, bytes: Uint8Array, off: number, fillChecksum = true): number {
  bytes[off + ICMP.TYPE] = repr.type;
  bytes[off + ICMP.CODE] = repr.code;
  if (repr.type === IcmpType.ECHO_REQUEST || repr.type === IcmpType.ECHO_REPLY) {
    setU16(bytes, off + ICMP.IDENT, repr.ident);
    setU16(bytes, off + ICMP.SEQ, repr.seqNo);
  } else {
    setU32(bytes, off + ICMP.REST, repr.rest);
  }
  bytes.set(repr.data, off + ICMP.HEADER_LEN);
  const n = ICMP.HEADER_LEN + repr.data.length;
  if (fillChecksum) {
    setU16(bytes, off + ICMP.CHECKSUM, 0);
    setU16(bytes, off + ICMP.CHECKSUM, finishChecksum(checksumData(bytes, off, n)));
  } else {
    setU16(bytes, off + ICMP.CHECKSUM, repr.checksum);
  }
  return n;
}
