// The application side of a TCP byte stream, as the programs `wirebox real` runs use it (Python's
// sendall/recv): a writer that hands a payload to the socket in pieces as the send buffer has room —
// so a gigabyte is never held, only what the socket would queue — and a reader that counts the bytes
// of a reply against what the client expects.
//
// Writing follows what a blocking sendall does on Linux: a payload that fits the send buffer goes in
// one write (one PSH at its end, as tcp_sendmsg's final tcp_push marks it); a larger one fills the
// buffer, and the writer waits until ACKs free room (sk_stream_wait_memory, woken by sk_write_space),
// then writes again. SNDBUF is tcp_wmem's maximum (4 MiB), the size autotuning lets a bulk sender's
// buffer grow to.

import type { Engine } from '../sim/engine.js';
import type { TcpConnection } from '../sockets/tcp.js';
import { payloadChunk, payloadLength, type Payload } from '../wire/payload.js';

/** net.ipv4.tcp_wmem's maximum: the send buffer a bulk writer gets. */
export const SNDBUF = 4 * 1024 * 1024;
/** Once the buffer is full, write again when at least this much room is free (sk_stream_min_wspace
 *  is half the queued bytes; a quarter of the buffer keeps writes few and large). */
const WAKE_ROOM = SNDBUF / 4;

interface Job {
  payload: Payload | Uint8Array;
  length: number;
  offset: number;
}

/** Writes payloads to one connection in order, never holding more than the send buffer's worth. */
export class StreamWriter {
  private readonly jobs: Job[] = [];
  private scheduled = false;
  private closeWhenDone = false;
  private readonly pumpEvent = (): void => {
    this.scheduled = false;
    this.pump();
  };
  /** Bytes handed to the socket so far. */
  written = 0;

  constructor(
    private readonly engine: Engine,
    private readonly conn: TcpConnection,
  ) {}

  /** Whether every queued payload has been handed to the socket. */
  get idle(): boolean {
    return this.jobs.length === 0;
  }

  write(p: Payload | Uint8Array): void {
    const length = p instanceof Uint8Array ? p.length : payloadLength(p);
    if (length === 0) return;
    this.jobs.push({ payload: p, length, offset: 0 });
    if (this.jobs.length === 1) this.pump();
  }

  /** close(2) once everything queued has been written (at once when nothing is). */
  close(): void {
    this.closeWhenDone = true;
    if (this.jobs.length === 0) this.conn.close();
  }

  /** The connection's onAcked: room may have been freed; write later in this instant. */
  onAcked(): void {
    if (this.jobs.length === 0 || this.scheduled) return;
    if (SNDBUF - this.conn.snd.bufLen < WAKE_ROOM) return;
    this.scheduled = true;
    this.engine.after(0, this.pumpEvent);
  }

  private writable(): boolean {
    const s = this.conn.state;
    return s === 'ESTABLISHED' || s === 'CLOSE_WAIT' || s === 'SYN_SENT' || s === 'SYN_RECV';
  }

  private pump(): void {
    while (this.jobs.length > 0) {
      if (!this.writable()) {
        this.jobs.length = 0;
        return;
      }
      const job = this.jobs[0]!;
      const room = SNDBUF - this.conn.snd.bufLen;
      const left = job.length - job.offset;
      if (room < Math.min(left, WAKE_ROOM)) return; // wait for ACKs (onAcked)
      const n = Math.min(left, room);
      const p = job.payload;
      const bytes = p instanceof Uint8Array ? p.subarray(job.offset, job.offset + n) : payloadChunk(p, job.offset, n);
      this.conn.send(bytes);
      job.offset += n;
      this.written += n;
      if (job.offset === job.length) this.jobs.shift();
    }
    if (this.closeWhenDone) this.conn.close();
  }
}
