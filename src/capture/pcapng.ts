// pcapng writer: one little-endian section (SHB with shb_userappl), one Interface Description Block per
// interface (if_name, if_tsresol: 9 → nanoseconds by default), then Enhanced Packet Blocks, each with an
// optional opt_comment and epb_flags (direction). Layout of a block:
//
//    0                   1                   2                   3
//   +---------------------------------------------------------------+
//  0|                          Block Type                           |
//  4|                      Block Total Length                       |
//  8/                          Block Body                           /
//   /          options: code(2) length(2) value, padded to 32 bits  /
//   /                  ... opt_endofopt (0, 0)                      /
//   |                      Block Total Length                       |
//   +---------------------------------------------------------------+
//
// Like the pcap writer, whole blocks are batched and handed to the sink, which holds a valid file
// (section and interface headers first) at every moment.

import { CaptureError } from './error.js';
import { LINKTYPE_ETHERNET } from './reader.js';
import { FileSink, RecordBuffer, type ByteSink, type FileSinkOptions } from './sink.js';
import { PCAP_SNAPLEN, type TsPrecision } from './pcap.js';

export interface PcapngWriterOptions {
  /** shb_userappl; default 'wirebox'. */
  application?: string;
  /** Bytes of blocks buffered before they are written to the sink. Default 65536. */
  bufferSize?: number;
  /** Wall-clock second that virtual time 0 stands for (default 0: 1970-01-01). */
  startTimeSec?: number;
}

export interface PcapngInterfaceOptions {
  /** if_name, e.g. 'eth0' or 'ct1.eth0'. */
  name: string;
  /** Default 1 (Ethernet). */
  linkType?: number;
  /** Default 262144. */
  snaplen?: number;
  /** if_tsresol: 'ns' (default, 9) or 'us' (6). */
  precision?: TsPrecision;
}

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_EPB = 0x00000006;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
const EPB_FIXED = 28 + 4; // type, length, ifid, ts hi, ts lo, caplen, origlen + trailing length
const DEFAULT_BUFFER = 64 * 1024;
const TWO32 = 4294967296;

const encoder = new TextEncoder();

interface IfaceState {
  snaplen: number;
  /** Nanoseconds per tick. */
  tickNs: number;
  /** startTimeSec in ticks, split in 32-bit halves (it exceeds 2^53 in nanoseconds). */
  startHi: number;
  startLo: number;
}

export class PcapngWriter {
  /** Packets written so far. */
  count = 0;
  private readonly out: RecordBuffer;
  private readonly ifaces: IfaceState[] = [];
  private offset = 0;
  private readonly startTimeSec: bigint;

  /** Write a pcapng file at `path` (with `atomic`, as `<path>.partial` renamed on close). */
  static create(path: string, opts: PcapngWriterOptions & FileSinkOptions = {}): PcapngWriter {
    return new PcapngWriter(new FileSink(path, opts), opts, path);
  }

  constructor(
    sink: ByteSink,
    opts: PcapngWriterOptions = {},
    /** Name used in errors. */
    readonly name = '<memory>',
  ) {
    const start = opts.startTimeSec ?? 0;
    if (!Number.isInteger(start) || start < 0 || start > 0xffffffff) {
      throw new CaptureError(name, 0, `startTimeSec ${start} is not a whole second since 1970 within 32 bits`);
    }
    this.startTimeSec = BigInt(start);
    this.out = new RecordBuffer(sink, opts.bufferSize ?? DEFAULT_BUFFER, sink instanceof FileSink);
    const app = encoder.encode(opts.application ?? 'wirebox');
    this.checkOption('shb_userappl', app);
    const total = 28 + optLen(app.length) + 4;
    const p = this.begin(BLOCK_SHB, total);
    const v = this.out.view;
    v.setUint32(p + 8, 0x1a2b3c4d, true);
    v.setUint16(p + 12, 1, true);
    v.setUint16(p + 14, 0, true);
    v.setBigInt64(p + 16, -1n, true); // section length not given
    let q = putOption(this.out, p + 24, SHB_USERAPPL, app);
    q = putEnd(this.out, q);
    this.end(p, total);
    this.out.flush(); // the section header reaches the file at once
  }

  /** Describe an interface (an IDB); returns its index for `packet`. */
  addInterface(opts: PcapngInterfaceOptions): number {
    this.assertOpen();
    const nameBytes = encoder.encode(opts.name);
    this.checkOption('if_name', nameBytes);
    const precision = opts.precision ?? 'ns';
    const snaplen = opts.snaplen ?? PCAP_SNAPLEN;
    const total = 20 + optLen(nameBytes.length) + optLen(1) + 4; // fixed part and trailer, options, end
    const p = this.begin(BLOCK_IDB, total);
    const v = this.out.view;
    v.setUint16(p + 8, opts.linkType ?? LINKTYPE_ETHERNET, true);
    v.setUint16(p + 10, 0, true);
    v.setUint32(p + 12, snaplen, true);
    let q = putOption(this.out, p + 16, IF_NAME, nameBytes);
    q = putOption(this.out, q, IF_TSRESOL, precision === 'ns' ? TSRESOL_NS : TSRESOL_US);
    q = putEnd(this.out, q);
    this.end(p, total);
    this.out.flush(); // a packet of this interface may only follow its description in the file
    const tickNs = precision === 'ns' ? 1 : 1000;
    const startTicks = (this.startTimeSec * 1_000_000_000n) / BigInt(tickNs);
    this.ifaces.push({
      snaplen,
      tickNs,
      startHi: Number(startTicks >> 32n),
      startLo: Number(startTicks & 0xffffffffn),
    });
    return this.ifaces.length - 1;
  }

  /** Append one frame (an EPB) seen on interface `ifIndex` at virtual time `timeNs`; the bytes are copied.
   *  `direction` becomes epb_flags (inbound/outbound), `comment` an opt_comment. */
  packet(
    ifIndex: number,
    timeNs: number,
    bytes: Uint8Array,
    off: number,
    len: number,
    comment: string | null = null,
    direction: 'in' | 'out' | null = null,
  ): void {
    this.assertOpen();
    const iface = this.ifaces[ifIndex];
    if (iface === undefined) {
      throw new CaptureError(this.name, this.offset, `packet for interface ${ifIndex}, but ${this.ifaces.length} are described`);
    }
    if (!(timeNs >= 0 && timeNs <= Number.MAX_SAFE_INTEGER)) {
      throw new CaptureError(this.name, this.offset, `time ${timeNs} ns does not fit a pcapng timestamp`);
    }
    if (off < 0 || len < 0 || off + len > bytes.length) {
      throw new CaptureError(this.name, this.offset, `frame [${off}, ${off + len}) outside its ${bytes.length}-byte buffer`);
    }
    const incl = len < iface.snaplen ? len : iface.snaplen;
    const commentBytes = comment === null ? null : encoder.encode(comment);
    if (commentBytes !== null) this.checkOption('opt_comment', commentBytes);
    let opts = 0;
    if (commentBytes !== null) opts += optLen(commentBytes.length);
    if (direction !== null) opts += 8;
    if (opts !== 0) opts += 4; // opt_endofopt
    const total = EPB_FIXED + pad4(incl) + opts;
    const p = this.begin(BLOCK_EPB, total);
    const out = this.out;
    const v = out.view;
    const ticks = Math.floor(timeNs / iface.tickNs);
    const tHi = Math.floor(ticks / TWO32);
    let lo = ticks - tHi * TWO32 + iface.startLo;
    let hi = tHi + iface.startHi;
    if (lo >= TWO32) {
      lo -= TWO32;
      hi += 1;
    }
    v.setUint32(p + 8, ifIndex, true);
    v.setUint32(p + 12, hi, true);
    v.setUint32(p + 16, lo, true);
    v.setUint32(p + 20, incl, true);
    v.setUint32(p + 24, len, true);
    out.copyFrom(bytes, off, incl, p + 28);
    let q = p + 28 + incl;
    while (q & 3) out.bytes[q++] = 0;
    if (opts !== 0) {
      if (commentBytes !== null) q = putOption(out, q, OPT_COMMENT, commentBytes);
      if (direction !== null) {
        v.setUint16(q, EPB_FLAGS, true);
        v.setUint16(q + 2, 4, true);
        v.setUint32(q + 4, direction === 'in' ? 1 : 2, true);
        q += 8;
      }
      putEnd(out, q);
    }
    this.end(p, total);
    this.count++;
  }

  /** Hand buffered blocks to the sink. */
  flush(): void {
    if (!this.out.closed) this.out.flush();
  }

  /** Flush and close; an atomic file gets its final name. Closing twice does nothing. */
  close(): void {
    this.out.close();
  }

  /** Give up: buffered blocks are dropped and an atomic file's partial is removed. */
  abort(): void {
    this.out.abort();
  }

  private checkOption(what: string, value: Uint8Array): void {
    if (value.length > 0xffff) {
      throw new CaptureError(this.name, this.offset, `${what} of ${value.length} bytes exceeds the 65535 an option can hold`);
    }
  }

  private assertOpen(): void {
    if (this.out.closed) throw new CaptureError(this.name, this.offset, 'block written after close');
  }

  /** Reserve a block of `total` bytes and write its type and length; returns its position. */
  private begin(type: number, total: number): number {
    this.out.reserve(total);
    const p = this.out.pos;
    this.out.view.setUint32(p, type, true);
    this.out.view.setUint32(p + 4, total, true);
    return p;
  }

  private end(p: number, total: number): void {
    this.out.view.setUint32(p + total - 4, total, true);
    this.out.pos = p + total;
    this.offset += total;
  }
}

const TSRESOL_NS = Uint8Array.of(9);
const TSRESOL_US = Uint8Array.of(6);

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Bytes an option with an `n`-byte value takes: header plus padded value. */
function optLen(n: number): number {
  return 4 + pad4(n);
}

function putOption(out: RecordBuffer, q: number, code: number, value: Uint8Array): number {
  out.view.setUint16(q, code, true);
  out.view.setUint16(q + 2, value.length, true);
  out.bytes.set(value, q + 4);
  let e = q + 4 + value.length;
  while (e & 3) out.bytes[e++] = 0;
  return e;
}

function putEnd(out: RecordBuffer, q: number): number {
  out.view.setUint32(q, 0, true);
  return q + 4;
}
