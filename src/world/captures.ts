// Where a world's capture taps write: one `<node>.<interface>.pcap` per interface, one pcapng with every
// interface named `<node>.<interface>`, or memory (tests, benchmarks). File output is atomic: each file is
// written as `<name>.partial` and renamed when the run closes it, and a failed run removes them all, so
// an output folder never holds a half-written capture.

import { join } from 'node:path';
import type { CaptureTap, NetDevice } from '../devices/device.js';
import { PcapWriter, type TsPrecision } from '../capture/pcap.js';
import { PcapngWriter } from '../capture/pcapng.js';
import { FileSink, MemorySink } from '../capture/sink.js';
import { LimitError } from '../sim/limit.js';

/** Wall-clock second that virtual time 0 stands for in written captures: 2026-01-01T00:00:00Z. A
 *  constant, so the same scenario and seed give byte-identical files. */
export const CAPTURE_EPOCH_SEC = 1767225600;

interface Entry {
  name: string;
  frames: number;
  /** Written only if it saw a frame (loopbacks under `capture: { lo: true }`). */
  ifUsed: boolean;
  tap: CaptureTap;
  writer: PcapWriter | null;
  memory: MemorySink | null;
  path: string | null;
}

/** Frames captured by every interface of a set together, against `--max-frames`. */
interface FrameBudget {
  total: number;
  max: number;
}

class CountingTap implements CaptureTap {
  constructor(
    readonly entry: { frames: number },
    readonly inner: CaptureTap,
    readonly budget: FrameBudget,
  ) {}
  frame(timeNs: number, bytes: Uint8Array, offset: number, length: number, direction: 'in' | 'out'): void {
    this.entry.frames++;
    if (++this.budget.total > this.budget.max) {
      throw new LimitError(`more than ${this.budget.max} frames captured at ${(timeNs / 1e9).toFixed(3)} s of virtual time: the limit (--max-frames ${this.budget.max}); raise it or shorten the traffic`);
    }
    this.inner.frame(timeNs, bytes, offset, length, direction);
  }
}

/** A pcapng record held back so the trace can still comment on it (see CaptureSet.annotations). */
interface PendingRecord {
  dev: NetDevice;
  ifIndex: number;
  timeNs: number;
  bytes: Uint8Array;
  direction: 'in' | 'out';
  comment: string | null;
}

export class CaptureSet {
  private readonly entries: Entry[] = [];
  /** With annotations on: the last pcapng record, written when the next one comes or at close. */
  private annotating = false;
  private pending: PendingRecord | null = null;
  private pcapng: PcapngWriter | null = null;
  private pcapngSink: MemorySink | FileSink | null = null;
  private closed = false;
  private readonly budget: FrameBudget = { total: 0, max: Infinity };

  private constructor(
    readonly mode: 'pcap-files' | 'pcapng-file' | 'memory',
    readonly dir: string | null,
    readonly precision: TsPrecision,
    readonly pcapngPath: string | null,
  ) {}

  /** `<dir>/<captureName>.pcap` per interface. */
  static files(dir: string, precision: TsPrecision = 'us'): CaptureSet {
    return new CaptureSet('pcap-files', dir, precision, null);
  }

  /** One `<dir>/<scenarioName>.pcapng`, every interface named inside. */
  static pcapngFile(dir: string, scenarioName: string): CaptureSet {
    const set = new CaptureSet('pcapng-file', dir, 'ns', join(dir, `${scenarioName}.pcapng`));
    set.pcapngSink = new FileSink(set.pcapngPath!, { atomic: true });
    set.pcapng = new PcapngWriter(set.pcapngSink, { startTimeSec: CAPTURE_EPOCH_SEC }, set.pcapngPath!);
    return set;
  }

  /** In memory, one pcap per interface (read them back with `bytes(name)`). */
  static memory(precision: TsPrecision = 'us'): CaptureSet {
    return new CaptureSet('memory', null, precision, null);
  }

  /** Stop the run with a LimitError once more than `max` frames were captured, over every interface. */
  maxFrames(max: number): this {
    this.budget.max = max;
    return this;
  }

  /** `ifUsed`: the file is kept only if a frame crossed the device (an empty one is removed at close). */
  attach(name: string, dev: NetDevice, ifUsed = false): void {
    if (this.entries.some((e) => e.name === name)) throw new Error(`two interfaces are captured as ${name}`);
    const entry: Entry = { name, frames: 0, ifUsed, tap: null as unknown as CaptureTap, writer: null, memory: null, path: null };
    let inner: CaptureTap;
    if (this.mode === 'pcapng-file') {
      const ifIndex = this.pcapng!.addInterface({ name });
      const w = this.pcapng!;
      if (this.annotating) {
        inner = {
          frame: (t, b, o, l, d) => {
            this.flushPending();
            this.pending = { dev, ifIndex, timeNs: t, bytes: b.slice(o, o + l), direction: d, comment: null };
          },
        };
      } else inner = { frame: (t, b, o, l, d) => w.packet(ifIndex, t, b, o, l, null, d) };
    } else {
      let sink: MemorySink | FileSink;
      if (this.mode === 'memory') {
        sink = entry.memory = new MemorySink();
      } else {
        entry.path = join(this.dir!, `${name}.pcap`);
        sink = new FileSink(entry.path, { atomic: true });
      }
      const writer = (entry.writer = new PcapWriter(sink, { precision: this.precision, startTimeSec: CAPTURE_EPOCH_SEC }, entry.path ?? name));
      inner = { frame: (t, b, o, l) => writer.record(t, b, o, l) };
    }
    entry.tap = new CountingTap(entry, inner, this.budget);
    dev.taps.push(entry.tap);
    this.entries.push(entry);
  }

  /** pcapng only, before interfaces are attached: each record is held until the next one so that
   *  `annotate` can give it an opt_comment (the per-packet trace says there what the packet met:
   *  a NAT rewrite, the rule that decided, a drop right after this capture point). */
  enableAnnotations(): void {
    if (this.mode !== 'pcapng-file') return;
    if (this.entries.length !== 0) throw new Error('enableAnnotations before attaching interfaces');
    this.annotating = true;
  }

  get annotations(): boolean {
    return this.annotating;
  }

  /** Adds `text` to the comment of the frame just captured on `dev`, if that is the last record. */
  annotate(dev: NetDevice, text: string): void {
    const p = this.pending;
    if (p === null || p.dev !== dev) return;
    p.comment = p.comment === null ? text : `${p.comment}; ${text}`;
  }

  private flushPending(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    this.pcapng!.packet(p.ifIndex, p.timeNs, p.bytes, 0, p.bytes.length, p.comment, p.direction);
  }

  /** Finishes every file (renaming `.partial` to the final name). */
  close(): void {
    if (this.closed) return;
    if (this.annotating) this.flushPending();
    this.closed = true;
    for (const e of this.entries) {
      if (this.unused(e)) e.writer?.abort();
      else e.writer?.close();
    }
    this.pcapng?.close();
  }

  /** An `ifUsed` capture that saw nothing: not written, not listed. */
  private unused(e: Entry): boolean {
    return e.ifUsed && e.frames === 0;
  }

  /** A failed run: removes every file this set started. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries) e.writer?.abort();
    this.pcapng?.abort();
  }

  counts(): { captureName: string; frames: number }[] {
    return this.entries.filter((e) => !this.unused(e)).map((e) => ({ captureName: e.name, frames: e.frames }));
  }

  /** Paths written (after close). */
  paths(): string[] {
    if (this.mode === 'pcapng-file') return [this.pcapngPath!];
    return this.entries.filter((e) => e.path !== null && !this.unused(e)).map((e) => e.path!);
  }

  /** The pcap bytes of a capture held in memory. */
  bytes(name: string): Uint8Array {
    const e = this.entries.find((x) => x.name === name);
    if (!e || !e.memory) throw new Error(`no in-memory capture ${name}`);
    e.writer?.flush();
    return e.memory.bytes();
  }

  names(): string[] {
    return this.entries.filter((e) => !this.unused(e)).map((e) => e.name);
  }
}
