// The TCP programs of a scenario, written as the real agent's Python (src/real/agent.ts) is, on the
// emulated socket API (src/sockets/tcp.ts):
// - a service answers each read with its `reply` (or the same bytes with `echo`) and closes once the
//   peer has closed;
// - a client connects, then `requests` times writes `send` and reads the whole reply — the bytes the
//   planner worked out the service answers with, or `expect`, or else until the peer closes — and
//   closes. `timeout` is how long it waits without progress (socket.settimeout: per connect and read).
// Payloads of any size go through StreamWriter (./stream.ts): never more than a send buffer held.

import type { Engine } from '../sim/engine.js';
import type { Tcp, TcpConnection } from '../sockets/tcp.js';
import { payloadBytes, payloadLength, type Payload } from '../wire/payload.js';
import { StreamWriter } from './stream.js';

export interface TcpServiceSpec {
  addr: number;
  port: number;
  reuseport: boolean;
  reply: Payload | null;
  echo: boolean;
}

/** Opens a TCP service on `tcp`. */
export function tcpService(engine: Engine, tcp: Tcp, svc: TcpServiceSpec): void {
  // A small reply is encoded once and shared by every answer (the socket copies what it is given).
  const reply = svc.reply === null ? null : payloadLength(svc.reply) <= 65536 ? payloadBytes(svc.reply) : svc.reply;
  tcp.listen({ addr: svc.addr, port: svc.port, reuseport: svc.reuseport }, (conn: TcpConnection) => {
    const w = new StreamWriter(engine, conn);
    conn.handlers = {
      onData: (bytes) => {
        if (svc.echo) w.write(bytes);
        else if (reply !== null) w.write(reply);
      },
      onPeerClose: () => w.close(),
      onAcked: () => w.onAcked(),
    };
  });
}

export interface TcpExchange {
  dst: number;
  dport: number;
  src?: number;
  sport?: number;
  /** null: connect and close. */
  send: Payload | null;
  /** Keep-alive: send/read this many times on the connection. */
  requests: number;
  /** Reply bytes per request; null: read until the peer closes (or the timeout). */
  expectBytes: number | null;
  timeoutNs: number;
  /** IP_TTL; null: the default. */
  ttl: number | null;
}

/** How one connection ended. */
export interface TcpResult {
  /** ok, refused, timeout, reset, unreachable, or short (fewer bytes than expected). */
  result: string;
  detail: string;
  /** Reply bytes that arrived. */
  bytes: number;
  /** The first bytes of the reply (up to 40), for the summary. */
  head: Uint8Array;
}

const HEAD = 40;

/** One client connection; `done` is called exactly once. */
export function tcpClient(engine: Engine, tcp: Tcp, x: TcpExchange, done: (r: TcpResult) => void): void {
  let finished = false;
  let bytes = 0;
  let reqBytes = 0;
  let requestsDone = 0;
  let head = new Uint8Array(0);
  let lastProgress = engine.now;
  let w: StreamWriter | null = null;
  const expectedTotal = x.expectBytes === null ? null : x.expectBytes * x.requests;

  const finish = (result: string, detail: string): void => {
    if (finished) return;
    finished = true;
    done({ result, detail, bytes, head });
  };
  const got = (): string => (expectedTotal === null ? `${bytes} bytes` : `${bytes} of ${expectedTotal} bytes`);
  const request = (): void => w!.write(x.send!);

  const conn = tcp.connect(
    { dst: x.dst, dport: x.dport, src: x.src, sport: x.sport, ttl: x.ttl ?? undefined },
    {
      onConnect: (c) => {
        lastProgress = engine.now;
        w = new StreamWriter(engine, c);
        if (x.send === null) {
          finish('ok', 'connected');
          c.close();
        } else request();
      },
      onData: (chunk) => {
        lastProgress = engine.now;
        if (head.length < HEAD) {
          const h = new Uint8Array(Math.min(HEAD, head.length + chunk.length));
          h.set(head);
          h.set(chunk.subarray(0, h.length - head.length), head.length);
          head = h;
        }
        bytes += chunk.length;
        reqBytes += chunk.length;
        if (x.expectBytes === null || finished) return;
        while (reqBytes >= x.expectBytes && requestsDone < x.requests) {
          reqBytes -= x.expectBytes;
          requestsDone++;
          if (requestsDone < x.requests) request();
          else {
            finish('ok', '');
            w!.close();
          }
        }
      },
      onPeerClose: (c) => {
        if (expectedTotal === null || bytes >= expectedTotal) finish('ok', '');
        else finish('short', `connection closed by the server after ${got()}`);
        c.close();
      },
      onError: (reason) => finish(reason, reason === 'timeout' ? `no answer within ${x.timeoutNs / 1e9} s` : reason),
      onAcked: () => w?.onAcked(),
    },
  );

  // socket.settimeout: a connect or a read gives up after `timeout` without progress. One event at a
  // time: when it fires early (progress since), it re-arms for the rest.
  const check = (): void => {
    if (finished) return;
    const due = lastProgress + x.timeoutNs;
    if (engine.now < due) {
      engine.at(due, check);
      return;
    }
    if (conn.state === 'SYN_SENT') finish('timeout', `no connection within ${x.timeoutNs / 1e9} s`);
    else if (expectedTotal === null && bytes > 0) finish('ok', `read until ${x.timeoutNs / 1e9} s without data`);
    else if (bytes === 0) finish('timeout', `no reply within ${x.timeoutNs / 1e9} s`);
    else finish('short', `${got()} within ${x.timeoutNs / 1e9} s`);
    conn.close();
  };
  engine.after(x.timeoutNs, check);
}
