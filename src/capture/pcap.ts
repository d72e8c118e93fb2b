// Classic pcap writer (the format of `tcpdump -w`), little-endian, LINKTYPE_ETHERNET by default,
// microsecond (magic a1b2c3d4) or nanosecond (magic a1b23c4d) timestamps, snap length 262144 like
// tcpdump's default. Layout: see reader.ts.
//
// The header is written to the sink at once; records are batched (64 KiB by default) and handed over
// whole, so the file on disk is a valid capture at every moment. Times are virtual nanoseconds.

import { CaptureError } from './error.js';
import { LINKTYPE_ETHERNET } from './reader.js';
import { FileSink, RecordBuffer, type ByteSink, type FileSinkOptions } from './sink.js';

export type TsPrecision = 'us' | 'ns';

export interface PcapWriterOptions {
  /** Timestamp resolution: 'us' (default, what tcpdump writes) or 'ns'. */
  precision?: TsPrecision;
  /** Longest record kept; longer frames are cut (orig_len keeps the real length). Default 262144. */
  snaplen?: number;
  /** Default 1 (Ethernet). */
  linkType?: number;
  /** Bytes of records buffered before they are written to the sink. Default 65536. */
  bufferSize?: number;
  /** Wall-clock second that virtual time 0 stands for (default 0: 1970-01-01). */
  startTimeSec?: number;
}

export const PCAP_SNAPLEN = 262144;
const HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const DEFAULT_BUFFER = 64 * 1024;

export class PcapWriter {
  readonly precision: TsPrecision;
  readonly snaplen: number;
  readonly linkType: number;
  readonly startTimeSec: number;
  /** Records written so far. */
  count = 0;
  private readonly out: RecordBuffer;
  /** Bytes handed to the buffer so far (for error offsets). */
  private offset = HEADER_LEN;

  /** Write a pcap file at `path` (with `atomic`, as `<path>.partial` renamed on close). */
  static create(path: string, opts: PcapWriterOptions & FileSinkOptions = {}): PcapWriter {
    return new PcapWriter(new FileSink(path, opts), opts, path);
  }

  constructor(
    sink: ByteSink,
    opts: PcapWriterOptions = {},
    /** Name used in errors. */
    readonly name = '<memory>',
  ) {
    this.precision = opts.precision ?? 'us';
    this.snaplen = opts.snaplen ?? PCAP_SNAPLEN;
    this.linkType = opts.linkType ?? LINKTYPE_ETHERNET;
    this.startTimeSec = opts.startTimeSec ?? 0;
    if (!Number.isInteger(this.startTimeSec) || this.startTimeSec < 0 || this.startTimeSec > 0xffffffff) {
      throw new CaptureError(name, 0, `startTimeSec ${this.startTimeSec} is not a whole second a pcap timestamp holds`);
    }
    const header = new Uint8Array(HEADER_LEN);
    const v = new DataView(header.buffer);
    v.setUint32(0, this.precision === 'ns' ? 0xa1b23c4d : 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, this.linkType, true);
    sink.write(header);
    this.out = new RecordBuffer(sink, opts.bufferSize ?? DEFAULT_BUFFER, sink instanceof FileSink);
  }

  /** Append one frame seen at virtual time `timeNs`: `len` bytes of `bytes` from `off` (copied). */
  record(timeNs: number, bytes: Uint8Array, off: number, len: number): void {
    if (this.out.closed) throw new CaptureError(this.name, this.offset, 'record written after close');
    const vsec = Math.floor(timeNs / 1e9);
    const sec = this.startTimeSec + vsec;
    if (!(vsec >= 0 && sec <= 0xffffffff)) {
      throw new CaptureError(this.name, this.offset, `time ${timeNs} ns does not fit a pcap timestamp`);
    }
    if (off < 0 || len < 0 || off + len > bytes.length) {
      throw new CaptureError(this.name, this.offset, `frame [${off}, ${off + len}) outside its ${bytes.length}-byte buffer`);
    }
    const rem = timeNs - vsec * 1e9;
    const frac = this.precision === 'ns' ? Math.floor(rem) : Math.floor(rem / 1000);
    const incl = len < this.snaplen ? len : this.snaplen;
    const out = this.out;
    out.reserve(RECORD_HEADER_LEN + incl);
    const v = out.view;
    const p = out.pos;
    v.setUint32(p, sec, true);
    v.setUint32(p + 4, frac, true);
    v.setUint32(p + 8, incl, true);
    v.setUint32(p + 12, len, true);
    out.copyFrom(bytes, off, incl, p + RECORD_HEADER_LEN);
    out.pos = p + RECORD_HEADER_LEN + incl;
    this.offset += RECORD_HEADER_LEN + incl;
    this.count++;
  }

  /** Hand buffered records to the sink (the file then holds every record so far). */
  flush(): void {
    if (!this.out.closed) this.out.flush();
  }

  /** Flush and close; an atomic file gets its final name. Closing twice does nothing. */
  close(): void {
    this.out.close();
  }

  /** Give up: buffered records are dropped and an atomic file's partial is removed. */
  abort(): void {
    this.out.abort();
  }
}
