// TCP segments as Linux's tcp_options_write / tcp_transmit_skb lay them out, written straight into a
// pool slot, and the option parse of tcp_parse_options for what comes in.
//
// Checked against fixtures/real-captures (Linux 6.18):
//   SYN      win 64240 <mss 1460,sackOK,TS val X ecr 0,nop,wscale 10>   02 04 05b4 | 04 02 08 0a X 0 | 01 03 03 0a
//   SYN-ACK  win 65160 <mss 1460,sackOK,TS val Y ecr X,nop,wscale 10>
//   others   <nop,nop,TS val X ecr Y>                                   01 01 08 0a X Y
//   RST (no socket)  [R.] seq 0 ack A win 0, no options, IP id 0, DF
//
// Sequence numbers are unsigned 32-bit and compared modulo 2^32 (before()/after() of include/net/tcp.h).

import { getU32, setU16, setU32 } from '../wire/bytes.js';
import { TCP, TcpFlag, TcpOptionKind } from '../wire/tcp.js';

export const FIN = TcpFlag.FIN;
export const SYN = TcpFlag.SYN;
export const RST = TcpFlag.RST;
export const PSH = TcpFlag.PSH;
export const ACK = TcpFlag.ACK;

export const TCP_HEADER_LEN = TCP.HEADER_LEN;
const OPT_EOL = TcpOptionKind.EOL;
const OPT_NOP = TcpOptionKind.NOP;
const OPT_MSS = TcpOptionKind.MSS;
const OPT_WSCALE = TcpOptionKind.WSCALE;
const OPT_SACK_PERM = TcpOptionKind.SACK_PERMITTED;
const OPT_SACK = TcpOptionKind.SACK;
const OPT_TIMESTAMP = TcpOptionKind.TIMESTAMPS;
/** Length of "nop,nop,TS val ecr" on every segment after the handshake (TCPOLEN_TSTAMP_ALIGNED). */
export const TS_ALIGNED_LEN = 12;

export const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
export const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
export const seqGt = (a: number, b: number): boolean => ((a - b) | 0) > 0;
export const seqGe = (a: number, b: number): boolean => ((a - b) | 0) >= 0;
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0;
export const seqDiff = (a: number, b: number): number => (a - b) | 0;

/** What tcp_parse_options finds in a segment; reused across segments (one per Tcp). */
export interface ParsedOptions {
  mss: number; // 0 when absent
  wscale: number; // -1 when absent
  sackOk: boolean;
  ts: boolean;
  tsval: number;
  tsecr: number;
  sackBlocks: number; // count of SACK blocks
  /** Their edges: start, end, start, end… (up to 4 blocks). */
  sackEdges: number[];
}

export function newParsedOptions(): ParsedOptions {
  return { mss: 0, wscale: -1, sackOk: false, ts: false, tsval: 0, tsecr: 0, sackBlocks: 0, sackEdges: [0, 0, 0, 0, 0, 0, 0, 0] };
}

/** Parse the options of the TCP header at `off` (data offset taken from the header) into `o`.
 *  Malformed options stop the parse (as Linux does), keeping what was read before. */
export function parseOptions(b: Uint8Array, off: number, o: ParsedOptions): void {
  o.mss = 0;
  o.wscale = -1;
  o.sackOk = false;
  o.ts = false;
  o.tsval = 0;
  o.tsecr = 0;
  o.sackBlocks = 0;
  const hlen = (b[off + TCP.DATA_OFFSET]! >>> 4) << 2;
  const syn = (b[off + TCP.FLAGS]! & SYN) !== 0;
  let i = off + TCP_HEADER_LEN;
  const end = off + hlen;
  while (i < end) {
    const kind = b[i]!;
    if (kind === OPT_EOL) return;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) return;
    if (kind === OPT_MSS && len === 4 && syn) {
      o.mss = (b[i + 2]! << 8) | b[i + 3]!;
    } else if (kind === OPT_WSCALE && len === 3 && syn) {
      o.wscale = Math.min(b[i + 2]!, 14);
    } else if (kind === OPT_SACK_PERM && len === 2 && syn) {
      o.sackOk = true;
    } else if (kind === OPT_TIMESTAMP && len === 10) {
      o.ts = true;
      o.tsval = getU32(b, i + 2);
      o.tsecr = getU32(b, i + 6);
    } else if (kind === OPT_SACK && len >= 10 && (len - 2) % 8 === 0) {
      const n = Math.min((len - 2) >>> 3, 4);
      for (let k = 0; k < n; k++) {
        o.sackEdges[2 * k] = getU32(b, i + 2 + 8 * k);
        o.sackEdges[2 * k + 1] = getU32(b, i + 6 + 8 * k);
      }
      o.sackBlocks = n;
    }
    i += len;
  }
}

/** The fixed 20 bytes of a TCP header; `hlen` includes the options. Checksum and urgent pointer 0. */
export function writeHeader(
  b: Uint8Array,
  off: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  hlen: number,
): void {
  setU16(b, off + TCP.SRC_PORT, sport);
  setU16(b, off + TCP.DST_PORT, dport);
  setU32(b, off + TCP.SEQ, seq);
  setU32(b, off + TCP.ACK, ack);
  b[off + TCP.DATA_OFFSET] = (hlen >>> 2) << 4;
  b[off + TCP.FLAGS] = flags;
  setU16(b, off + TCP.WINDOW, window);
  setU16(b, off + TCP.CHECKSUM, 0);
  setU16(b, off + TCP.URGENT, 0);
}

/** What a SYN or SYN-ACK carries (tcp_syn_options / tcp_synack_options). */
export interface SynOptions {
  mss: number;
  sack: boolean;
  ts: boolean;
  tsval: number;
  tsecr: number;
  wscale: number; // -1: no window scale option
}

/** Length of the SYN options Linux would write for `o` (always a multiple of 4). */
export function synOptionsLen(o: SynOptions): number {
  let n = 4; // MSS
  if (o.ts) n += 12; // (sackOK or nop,nop) + TS
  else if (o.sack) n += 4; // nop,nop,sackOK
  if (o.wscale >= 0) n += 4; // nop,wscale
  return n;
}

/** tcp_options_write for a SYN: MSS; SACK_PERM merged with TS (or nop,nop,SACK_PERM); nop,WS. */
export function writeSynOptions(b: Uint8Array, at: number, o: SynOptions): number {
  const start = at;
  b[at] = OPT_MSS;
  b[at + 1] = 4;
  setU16(b, at + 2, o.mss);
  at += 4;
  if (o.ts) {
    if (o.sack) {
      b[at] = OPT_SACK_PERM;
      b[at + 1] = 2;
    } else {
      b[at] = OPT_NOP;
      b[at + 1] = OPT_NOP;
    }
    b[at + 2] = OPT_TIMESTAMP;
    b[at + 3] = 10;
    setU32(b, at + 4, o.tsval);
    setU32(b, at + 8, o.tsecr);
    at += 12;
  } else if (o.sack) {
    b[at] = OPT_NOP;
    b[at + 1] = OPT_NOP;
    b[at + 2] = OPT_SACK_PERM;
    b[at + 3] = 2;
    at += 4;
  }
  if (o.wscale >= 0) {
    b[at] = OPT_NOP;
    b[at + 1] = OPT_WSCALE;
    b[at + 2] = 3;
    b[at + 3] = o.wscale;
    at += 4;
  }
  return at - start;
}

/** nop,nop,TS val ecr (12 bytes). */
export function writeTsOption(b: Uint8Array, at: number, tsval: number, tsecr: number): void {
  b[at] = OPT_NOP;
  b[at + 1] = OPT_NOP;
  b[at + 2] = OPT_TIMESTAMP;
  b[at + 3] = 10;
  setU32(b, at + 4, tsval);
  setU32(b, at + 8, tsecr);
}

/** nop,nop,SACK with `n` blocks from `edges` (start,end pairs); returns the bytes written (4 + 8n). */
export function writeSackOption(b: Uint8Array, at: number, edges: ArrayLike<number>, n: number): number {
  b[at] = OPT_NOP;
  b[at + 1] = OPT_NOP;
  b[at + 2] = OPT_SACK;
  b[at + 3] = 2 + 8 * n;
  for (let i = 0; i < n; i++) {
    setU32(b, at + 4 + 8 * i, edges[2 * i]!);
    setU32(b, at + 8 + 8 * i, edges[2 * i + 1]!);
  }
  return 4 + 8 * n;
}
