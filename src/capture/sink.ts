// Where capture writers put their bytes: a file (optionally written as `<file>.partial` and renamed on
// close, so a failed run never leaves a half-written file under the final name) or memory (benchmarks,
// tests). Writers batch whole records in a bounded buffer (`RecordBuffer`) and hand it to the sink when
// it is full, so the file only ever grows by whole records: a crash leaves a readable capture.

import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { CaptureError } from './error.js';

/** Receives the bytes of a capture. `chunk` is only valid during the call: keep a copy, not the view. */
export interface ByteSink {
  write(chunk: Uint8Array): void;
}

/** Collects everything in one growing buffer. */
export class MemorySink implements ByteSink {
  private buf: Uint8Array;
  length = 0;

  constructor(initialCapacity = 64 * 1024) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  write(chunk: Uint8Array): void {
    const need = this.length + chunk.length;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(chunk, this.length);
    this.length = need;
  }

  /** The bytes written so far (a view; copy it before writing more if you keep it). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Forget what was written, keeping the buffer. */
  clear(): void {
    this.length = 0;
  }
}

export interface FileSinkOptions {
  /** Write `<path>.partial` and rename it to `path` on close; abort removes it. */
  atomic?: boolean;
}

/** Synchronous file output (fs.writeSync: the emulator runs in virtual time, blocking costs nothing). */
export class FileSink implements ByteSink {
  /** The file being written (`<path>.partial` when atomic). */
  readonly writingPath: string;
  private fd: number;
  private written = 0;

  constructor(
    /** The final name of the file. */
    readonly path: string,
    opts: FileSinkOptions = {},
  ) {
    this.writingPath = opts.atomic ? `${path}.partial` : path;
    try {
      this.fd = openSync(this.writingPath, 'w');
    } catch (err) {
      throw new CaptureError(this.writingPath, null, `cannot create: ${errText(err)}`);
    }
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  write(chunk: Uint8Array): void {
    if (this.fd < 0) throw new CaptureError(this.path, this.written, 'write after close');
    let done = 0;
    while (done < chunk.length) {
      try {
        done += writeSync(this.fd, chunk, done, chunk.length - done);
      } catch (err) {
        throw new CaptureError(this.writingPath, this.written + done, `write failed: ${errText(err)}`);
      }
    }
    this.written += done;
  }

  /** Close the file and, when atomic, give it its final name. */
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    if (this.writingPath !== this.path) {
      try {
        renameSync(this.writingPath, this.path);
      } catch (err) {
        throw new CaptureError(this.path, null, `cannot rename ${this.writingPath}: ${errText(err)}`);
      }
    }
  }

  /** Close without publishing: an atomic sink removes its partial file; a plain one keeps what it has. */
  abort(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    if (this.writingPath !== this.path) {
      try {
        unlinkSync(this.writingPath);
      } catch {
        // already gone: nothing to clean
      }
    }
  }
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? String(e.message ?? err);
}

/** Writers whose records must reach the disk if the process exits without closing them (uncaught
 *  exception, process.exit): their buffers are flushed in one 'exit' listener. Partial files keep their
 *  `.partial` name: the run did not finish. */
const unflushed = new Set<RecordBuffer>();
let exitHookInstalled = false;

function flushAllOnExit(): void {
  for (const b of unflushed) {
    try {
      b.flush();
    } catch {
      // the process is going away; the file still holds whole records
    }
  }
}

/** Longest frame `RecordBuffer.copyFrom` copies without allocating (ARP, ACKs, small UDP, pings). */
export const SMALL_COPY = 128;

/** A bounded buffer of whole records in front of a sink. Writers reserve room for one record, fill it
 *  through `bytes`/`view` at `pos`, then `commit`. */
export class RecordBuffer {
  bytes: Uint8Array;
  view: DataView;
  pos = 0;
  private readonly capacity: number;
  /** The buffer frames were last copied from (the packet pool's) and a DataView on it, kept so that
   *  `copyFrom` reads it without making a view per record. */
  private srcBytes: Uint8Array | null = null;
  private srcView: DataView | null = null;

  constructor(
    readonly sink: ByteSink,
    capacity: number,
    flushOnExit: boolean,
  ) {
    this.capacity = Math.max(256, capacity);
    this.bytes = new Uint8Array(this.capacity);
    this.view = new DataView(this.bytes.buffer);
    if (flushOnExit) {
      unflushed.add(this);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', flushAllOnExit);
      }
    }
  }

  /** Make room for `n` more bytes at `pos` (flushing what is buffered, or growing for a huge record). */
  reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    this.flush();
    if (n > this.bytes.length) {
      this.bytes = new Uint8Array(n);
      this.view = new DataView(this.bytes.buffer);
    }
  }

  /**
   * Copies `len` bytes of `src` from `off` to `at` in `bytes` (room already reserved). Frames up to
   * SMALL_COPY bytes are copied four bytes at a time through DataViews, allocating nothing; a longer
   * one goes through a subarray view (one small object per record, which the copy then outweighs:
   * word-by-word copying of a 1514-byte frame costs ~10× `set`).
   */
  copyFrom(src: Uint8Array, off: number, len: number, at: number): void {
    if (len > SMALL_COPY) {
      this.bytes.set(src.subarray(off, off + len), at);
      return;
    }
    let sv = this.srcView;
    if (this.srcBytes !== src || sv === null) {
      this.srcBytes = src;
      sv = this.srcView = new DataView(src.buffer, src.byteOffset, src.byteLength);
    }
    const dv = this.view;
    let k = 0;
    for (; k + 4 <= len; k += 4) dv.setUint32(at + k, sv.getUint32(off + k, true), true);
    const b = this.bytes;
    for (; k < len; k++) b[at + k] = src[off + k]!;
  }

  /** Hand the buffered records to the sink. */
  flush(): void {
    if (this.pos === 0) return;
    const n = this.pos;
    this.pos = 0;
    this.sink.write(this.bytes.subarray(0, n));
    if (this.bytes.length > this.capacity) {
      // back to the bounded size after a record larger than it
      this.bytes = new Uint8Array(this.capacity);
      this.view = new DataView(this.bytes.buffer);
    }
  }

  /** Flush and stop watching for process exit. */
  release(): void {
    this.flush();
    unflushed.delete(this);
  }

  /** Drop what is buffered and stop watching. */
  discard(): void {
    this.pos = 0;
    unflushed.delete(this);
  }

  /** Whether the writer in front of this buffer has closed or aborted. */
  closed = false;

  /** The writer's close: flush, and give an atomic file its final name. Closing twice does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    if (this.sink instanceof FileSink) this.sink.close();
  }

  /** The writer gives up: buffered records are dropped and an atomic file's partial is removed. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.discard();
    if (this.sink instanceof FileSink) this.sink.abort();
  }
}
