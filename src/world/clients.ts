// The load a traffic entry generates (docs/SCENARIO.md "Load"): `count` connections or datagrams,
// `intervalNs` apart, made one at a time as the run reaches each start — never a list of them up front,
// so memory stays flat in `count` — and one outcome for the entry, tallied as they end.
//
// - tcp: every connection is its own socket with its own ephemeral port (./tcp-apps.ts's client).
// - udp: `flows` sockets (each its own ephemeral port, as many `socket(); connect()` as flows), datagram
//   i on socket i mod flows; replies are counted; the sockets close `timeout` after the last datagram,
//   or as soon as every datagram has had its reply.

import type { TcpClientPlan, UdpClientPlan } from '../plan/plan.js';
import type { UdpSocket } from '../sockets/udp.js';
import { parseIpv4 } from '../wire/addr.js';
import { payloadBytes } from '../wire/payload.js';
import { tcpClient, type TcpResult } from './tcp-apps.js';
import type { Namespace, World } from './world.js';

export interface LoadOutcome {
  result: string;
  detail: string;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** `N bytes "text…"`: the length and a printable start of a reply, for the run summary. */
export function preview(b: Uint8Array, length = b.length): string {
  const text = decoder.decode(b.subarray(0, 40)).replace(/[^\x20-\x7e]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : '.'));
  return `${length} bytes "${text}${length > 40 ? '…' : ''}"`;
}

/** Starts `count` things `intervalNs` apart from now, each scheduled only when the previous starts. */
function paced(world: World, count: number, intervalNs: number, start: (i: number) => void): void {
  let i = 0;
  const next = (): void => {
    start(i++);
    if (i < count) world.engine.after(intervalNs, next);
  };
  next();
}

function oneTcp(t: TcpClientPlan, r: TcpResult): LoadOutcome {
  if (t.send === null || (r.bytes === 0 && r.result !== 'ok' && r.result !== 'short')) return { result: r.result, detail: r.detail };
  const reqs = t.requests > 1 ? `${t.requests} requests, ` : '';
  return { result: r.result, detail: `${reqs}reply ${preview(r.head, r.bytes)}${r.detail ? `; ${r.detail}` : ''}` };
}

/** A tcp entry's connections; `done` gets the entry's outcome once the last one has ended. */
export function runTcp(world: World, ns: Namespace, t: TcpClientPlan, done: (o: LoadOutcome) => void): void {
  const x = {
    dst: parseIpv4(t.dst),
    dport: t.dport,
    src: t.bind ? parseIpv4(t.bind) : undefined,
    sport: t.sport ?? undefined,
    send: t.send,
    requests: t.requests,
    expectBytes: t.expectBytes,
    timeoutNs: t.timeoutNs,
    ttl: t.ttl,
  };
  if (t.count === 1) {
    tcpClient(world.engine, ns.tcp, x, (r) => done(oneTcp(t, r)));
    return;
  }
  const results = new Map<string, number>();
  let ended = 0;
  let bytes = 0;
  paced(world, t.count, t.intervalNs, () =>
    tcpClient(world.engine, ns.tcp, x, (r) => {
      results.set(r.result, (results.get(r.result) ?? 0) + 1);
      bytes += r.bytes;
      if (++ended < t.count) return;
      const ok = results.get('ok') ?? 0;
      const bad = [...results].filter(([k]) => k !== 'ok').sort((a, b) => b[1] - a[1]);
      const parts = [`${ok} ok`, ...bad.map(([k, n]) => `${n} ${k}`)];
      const reqs = t.requests > 1 ? ` × ${t.requests} requests` : '';
      done({ result: bad.length === 0 ? 'ok' : bad[0]![0], detail: `${t.count} connections${reqs}: ${parts.join(', ')}; ${bytes} reply bytes` });
    }),
  );
}

/** A udp entry's datagrams. */
export function runUdp(world: World, ns: Namespace, t: UdpClientPlan, done: (o: LoadOutcome) => void): void {
  const engine = world.engine;
  const data = payloadBytes(t.send);
  const flows = Math.min(t.flows, t.count);
  const socks: UdpSocket[] = [];
  let sent = 0;
  let replies = 0;
  let replyBytes = 0;
  let first: Uint8Array | null = null;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    for (const s of socks) s.close();
    let err: string | null = null;
    for (const s of socks) if (s.errors.length > 0) err = s.errors[s.errors.length - 1]!;
    if (t.count === 1) {
      if (first !== null) done({ result: 'ok', detail: `reply ${preview(first)}` });
      else done({ result: err === 'ECONNREFUSED' ? 'refused' : err ? 'unreachable' : 'no reply', detail: err ?? `no reply within ${t.timeoutNs / 1e9} s` });
      return;
    }
    const result = replies >= sent && sent > 0 ? 'ok' : replies > 0 ? 'incomplete' : err === 'ECONNREFUSED' ? 'refused' : err ? 'unreachable' : 'no reply';
    const flowText = flows > 1 ? ` over ${flows} flows` : '';
    done({ result, detail: `${sent} datagrams sent${flowText}, ${replies} replies (${replyBytes} bytes)${err ? `; last error ${err}` : ''}` });
  };
  const onDatagram = (d: Uint8Array): void => {
    replies++;
    replyBytes += d.length;
    if (first === null) first = d.slice(0, 40);
    if (t.count === 1 || (sent === t.count && replies >= sent)) finish();
  };
  const sendOne = (i: number): void => {
    if (finished) return;
    try {
      if (i < flows) {
        // socket(); [bind]; setsockopt(IP_TTL); connect(); send()
        const s = ns.host.udp.bind({ addr: t.bind ?? 0, port: t.sport ?? 0 }, onDatagram);
        socks.push(s);
        if (t.ttl !== null) s.ttl = t.ttl;
        s.connect(t.dst, t.dport);
        s.send(data);
      } else socks[i % flows]!.send(data);
      sent++;
    } catch {
      // no route: counted through the socket's errors or as not sent
    }
    if (i === t.count - 1) engine.after(t.timeoutNs, finish);
  };
  paced(world, t.count, t.intervalNs, sendOne);
}
