// Reading capture files: classic pcap (microsecond and nanosecond magic, either byte order) and pcapng
// (sections in either byte order, several interfaces with their own if_tsresol/if_tsoffset, Enhanced,
// Simple and obsolete Packet Blocks; other blocks are skipped by their length).
//
// pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html):
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +---------------------------------------------------------------+
//  0|          Magic Number (a1b2c3d4 µs / a1b23c4d ns)             |
//  4|     Major Version (2)         |      Minor Version (4)        |
//  8|                    Reserved1 (thiszone)                       |
// 12|                    Reserved2 (sigfigs)                        |
// 16|                        SnapLen                                |
// 20| FCS |f|0 0 0 0 0 0 0 0 0 0 0 0|         LinkType              |
//   +---------------------------------------------------------------+
// then per record: seconds, µs-or-ns, captured length, original length, data (no padding).
//
// pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): blocks of
//   type (4) | total length (4) | body | options | total length (4), lengths multiple of 4;
// the Section Header Block (0x0a0d0d0a) carries the byte-order magic 0x1a2b3c4d.
//
// Every malformed input becomes a CaptureError naming the file and the byte offset; nothing else is
// thrown. Record data are views into the given bytes (no copy).

import { readFileSync } from 'node:fs';
import { CaptureError } from './error.js';

export { CaptureError } from './error.js';

export interface CaptureInterface {
  /** if_name for pcapng (null when absent); null for pcap. */
  name: string | null;
  linkType: number;
  /** Nanoseconds per timestamp tick: 1000 for microseconds, 1 for nanoseconds (fractional when finer). */
  tsresolNs: number;
}

export interface CaptureRecord {
  /** Time since the epoch in nanoseconds (0n for Simple Packet Blocks, which carry no time). */
  timeNs: bigint;
  /** Index into `Capture.interfaces` (0 for pcap). */
  ifIndex: number;
  /** Captured bytes (a view into the file's bytes). */
  data: Uint8Array;
  /** Length of the packet on the wire (≥ data.length when the snap length cut it). */
  origLen: number;
  /** pcapng opt_comment (several joined with '\n'); null when absent and always for pcap. */
  comment: string | null;
}

export interface Capture {
  format: 'pcap' | 'pcapng';
  /** The link type of the file (pcap) or of its first interface (pcapng); -1 for a pcapng without any. */
  linkType: number;
  /** 'ns' when any interface's resolution is finer than a microsecond. */
  tsPrecision: 'us' | 'ns';
  interfaces: CaptureInterface[];
  records: CaptureRecord[];
}

export const LINKTYPE_ETHERNET = 1;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_US_SWAPPED = 0xd4c3b2a1;
const PCAP_MAGIC_NS_SWAPPED = 0x4d3cb2a1;
const PCAP_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_OPB = 0x00000002; // obsolete Packet Block
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/** Read a capture file from disk; a file that cannot be read is a CaptureError as well. */
export function readCaptureFile(path: string): Capture {
  let bytes: Uint8Array;
  try {
    const buf = readFileSync(path);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength); // plain views, not Buffers
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : (e.code ?? String(e.message));
    throw new CaptureError(path, null, `cannot read: ${why}`);
  }
  return readCapture(bytes, path);
}

/** Parse capture bytes; `name` is used in error messages. */
export function readCapture(bytes: Uint8Array, name: string): Capture {
  if (bytes.length < 4) {
    throw new CaptureError(name, 0, `file header truncated (${PCAP_HEADER_LEN} bytes needed, ${bytes.length} left)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic === BLOCK_SHB) return readPcapng(bytes, view, name);
  switch (magic) {
    case PCAP_MAGIC_US:
    case PCAP_MAGIC_US_SWAPPED:
    case PCAP_MAGIC_NS:
    case PCAP_MAGIC_NS_SWAPPED:
      return readPcap(bytes, view, name, magic);
    default:
      throw new CaptureError(name, 0, `not a pcap or pcapng file (magic 0x${hex8(view.getUint32(0, false))})`);
  }
}

function readPcap(bytes: Uint8Array, view: DataView, name: string, magic: number): Capture {
  const le = magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS;
  const ns = magic === PCAP_MAGIC_NS || magic === PCAP_MAGIC_NS_SWAPPED;
  if (bytes.length < PCAP_HEADER_LEN) {
    throw new CaptureError(name, 0, `file header truncated (${PCAP_HEADER_LEN} bytes needed, ${bytes.length} left)`);
  }
  const major = view.getUint16(4, le);
  if (major !== 2) throw new CaptureError(name, 4, `unsupported pcap version ${major}.${view.getUint16(6, le)}`);
  const linkType = view.getUint32(20, le) & 0xffff;
  const tick = ns ? 1n : 1000n;
  const records: CaptureRecord[] = [];
  const capture: Capture = {
    format: 'pcap',
    linkType,
    tsPrecision: ns ? 'ns' : 'us',
    interfaces: [{ name: null, linkType, tsresolNs: ns ? 1 : 1000 }],
    records,
  };
  try {
    readPcapRecords(bytes, view, name, le, tick, records);
  } catch (err) {
    if (err instanceof CaptureError) err.partial = capture;
    throw err;
  }
  return capture;
}

function readPcapRecords(bytes: Uint8Array, view: DataView, name: string, le: boolean, tick: bigint, records: CaptureRecord[]): void {
  let off = PCAP_HEADER_LEN;
  while (off < bytes.length) {
    const left = bytes.length - off;
    if (left < PCAP_RECORD_HEADER_LEN) {
      throw new CaptureError(name, off, `record header truncated (${PCAP_RECORD_HEADER_LEN} bytes needed, ${left} left)`);
    }
    const sec = view.getUint32(off, le);
    const frac = view.getUint32(off + 4, le);
    const inclLen = view.getUint32(off + 8, le);
    const origLen = view.getUint32(off + 12, le);
    const dataOff = off + PCAP_RECORD_HEADER_LEN;
    const dataLeft = bytes.length - dataOff;
    if (inclLen > dataLeft) {
      throw new CaptureError(name, dataOff, `record data truncated (${inclLen} bytes needed, ${dataLeft} left)`);
    }
    records.push({
      timeNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * tick,
      ifIndex: 0,
      data: bytes.subarray(dataOff, dataOff + inclLen),
      origLen,
      comment: null,
    });
    off = dataOff + inclLen;
  }
}

interface SectionInterface {
  /** Index in the capture's interface list. */
  global: number;
  /** Timestamp ticks per second. */
  unitsPerSec: bigint;
  /** if_tsoffset, seconds. */
  offsetSec: bigint;
  snaplen: number;
}

function readPcapng(bytes: Uint8Array, view: DataView, name: string): Capture {
  const interfaces: CaptureInterface[] = [];
  const records: CaptureRecord[] = [];
  const summary = (anyFine: boolean): Capture => ({
    format: 'pcapng',
    linkType: interfaces.length === 0 ? -1 : interfaces[0]!.linkType,
    tsPrecision: anyFine ? 'ns' : 'us',
    interfaces,
    records,
  });
  const state = { anyFine: false };
  try {
    readPcapngBlocks(bytes, view, name, interfaces, records, state);
  } catch (err) {
    if (err instanceof CaptureError) err.partial = summary(state.anyFine);
    throw err;
  }
  return summary(state.anyFine);
}

function readPcapngBlocks(
  bytes: Uint8Array,
  view: DataView,
  name: string,
  interfaces: CaptureInterface[],
  records: CaptureRecord[],
  state: { anyFine: boolean },
): void {
  let section: SectionInterface[] = [];
  let le = true;
  let off = 0;

  while (off < bytes.length) {
    const left = bytes.length - off;
    if (left < 12) {
      throw new CaptureError(name, off, `block header truncated (12 bytes needed, ${left} left)`);
    }
    const typeLe = view.getUint32(off, true);
    if (typeLe === BLOCK_SHB) {
      // The byte order of the section is told by its own magic, after the type and length.
      const bom = view.getUint32(off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === BYTE_ORDER_MAGIC_SWAPPED) le = false;
      else throw new CaptureError(name, off + 8, `bad byte-order magic 0x${hex8(view.getUint32(off + 8, false))} in section header`);
    }
    const type = view.getUint32(off, le);
    const total = view.getUint32(off + 4, le);
    if (total < 12 || total % 4 !== 0) {
      throw new CaptureError(name, off + 4, `bad block length ${total} (block type 0x${hex8(type)}; must be a multiple of 4, at least 12)`);
    }
    if (total > left) {
      throw new CaptureError(name, off, `block truncated (${total} bytes needed, ${left} left)`);
    }
    const trailer = view.getUint32(off + total - 4, le);
    if (trailer !== total) {
      throw new CaptureError(name, off + total - 4, `trailing block length ${trailer} differs from leading ${total}`);
    }
    const body = off + 8;
    const bodyEnd = off + total - 4;

    switch (type) {
      case BLOCK_SHB: {
        if (total < 28) throw new CaptureError(name, off + 4, `bad block length ${total} (section header needs at least 28)`);
        const major = view.getUint16(body + 4, le);
        if (major !== 1) throw new CaptureError(name, body + 4, `unsupported pcapng version ${major}.${view.getUint16(body + 6, le)}`);
        section = [];
        readOptions(view, name, body + 16, bodyEnd, le, () => {});
        break;
      }
      case BLOCK_IDB: {
        if (total < 20) throw new CaptureError(name, off + 4, `bad block length ${total} (interface description needs at least 20)`);
        const linkType = view.getUint16(body, le);
        const snaplen = view.getUint32(body + 4, le);
        let ifName: string | null = null;
        let unitsPerSec = 1_000_000n;
        let offsetSec = 0n;
        readOptions(view, name, body + 8, bodyEnd, le, (code, at, len) => {
          if (code === IF_NAME) ifName = utf8(bytes, at, len);
          else if (code === IF_TSRESOL) {
            if (len < 1) throw new CaptureError(name, at, 'if_tsresol option is empty');
            const r = bytes[at]!;
            const exp = BigInt(r & 0x7f);
            if ((r & 0x7f) > 60) throw new CaptureError(name, at, `if_tsresol ${r} out of range`);
            unitsPerSec = r & 0x80 ? 1n << exp : 10n ** exp;
          } else if (code === IF_TSOFFSET) {
            if (len < 8) throw new CaptureError(name, at, `if_tsoffset option has ${len} bytes, 8 needed`);
            offsetSec = view.getBigInt64(at, le);
          }
        });
        if (unitsPerSec > 1_000_000n) state.anyFine = true;
        section.push({ global: interfaces.length, unitsPerSec, offsetSec, snaplen });
        interfaces.push({ name: ifName, linkType, tsresolNs: 1e9 / Number(unitsPerSec) });
        break;
      }
      case BLOCK_EPB:
      case BLOCK_OPB: {
        const epb = type === BLOCK_EPB;
        if (total < 32) throw new CaptureError(name, off + 4, `bad block length ${total} (packet block needs at least 32)`);
        const ifId = epb ? view.getUint32(body, le) : view.getUint16(body, le);
        const iface = section[ifId];
        if (iface === undefined) {
          throw new CaptureError(name, body, `packet refers to interface ${ifId}, but the section describes ${section.length}`);
        }
        const ts = (BigInt(view.getUint32(body + 4, le)) << 32n) | BigInt(view.getUint32(body + 8, le));
        const capLen = view.getUint32(body + 12, le);
        const origLen = view.getUint32(body + 16, le);
        const dataOff = body + 20;
        if (capLen > bodyEnd - dataOff) {
          throw new CaptureError(name, body + 12, `captured length ${capLen} runs past the end of its block (${bodyEnd - dataOff} bytes left)`);
        }
        const comments: string[] = [];
        readOptions(view, name, dataOff + pad4(capLen), bodyEnd, le, (code, at, len) => {
          if (code === OPT_COMMENT) comments.push(utf8(bytes, at, len));
        });
        records.push({
          timeNs: iface.offsetSec * 1_000_000_000n + (ts * 1_000_000_000n) / iface.unitsPerSec,
          ifIndex: iface.global,
          data: bytes.subarray(dataOff, dataOff + capLen),
          origLen,
          comment: comments.length === 0 ? null : comments.join('\n'),
        });
        break;
      }
      case BLOCK_SPB: {
        if (total < 16) throw new CaptureError(name, off + 4, `bad block length ${total} (simple packet block needs at least 16)`);
        const iface = section[0];
        if (iface === undefined) throw new CaptureError(name, off, 'simple packet block before any interface description');
        const origLen = view.getUint32(body, le);
        const dataOff = body + 4;
        let capLen = Math.min(origLen, bodyEnd - dataOff);
        if (iface.snaplen !== 0) capLen = Math.min(capLen, iface.snaplen);
        records.push({
          timeNs: 0n,
          ifIndex: iface.global,
          data: bytes.subarray(dataOff, dataOff + capLen),
          origLen,
          comment: null,
        });
        break;
      }
      default:
        break; // name resolution, statistics, custom, ...: not ours to read
    }
    off += total;
  }
}

/** Walk a TLV option list from `start` to `end`, calling `each(code, valueOffset, valueLength)`. */
function readOptions(
  view: DataView,
  name: string,
  start: number,
  end: number,
  le: boolean,
  each: (code: number, at: number, len: number) => void,
): void {
  let at = start;
  while (at < end) {
    if (end - at < 4) throw new CaptureError(name, at, `option header truncated (4 bytes needed, ${end - at} left in block)`);
    const code = view.getUint16(at, le);
    const len = view.getUint16(at + 2, le);
    if (code === OPT_ENDOFOPT) return;
    if (4 + pad4(len) > end - at) {
      throw new CaptureError(name, at + 2, `option ${code} length ${len} runs past the end of its block (${end - at - 4} bytes left)`);
    }
    each(code, at + 4, len);
    at += 4 + pad4(len);
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

const decoder = new TextDecoder('utf-8');

function utf8(bytes: Uint8Array, at: number, len: number): string {
  let end = at + len;
  while (end > at && bytes[end - 1] === 0) end--; // some writers include a terminating NUL
  return decoder.decode(bytes.subarray(at, end));
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
