// Which ports of a capture side are ephemeral (a client's random port), the rule
// src/compare/normalise.ts's header describes, and the flow keys built from addresses and ports.

import { formatIpv4 } from '../wire/addr.js';
import type { DecodedFrame } from '../wire/frame.js';
import { TcpFlag } from '../wire/tcp.js';

const WELL_KNOWN_LIMIT = 1024;

export function endpoint(ip: number, port: number): string {
  return `${formatIpv4(ip)}:${port}`;
}

export function tupleKey(proto: number, a: number, ap: number, b: number, bp: number): string {
  const x = endpoint(a, ap);
  const y = endpoint(b, bp);
  return x < y ? `${proto}|${x}|${y}` : `${proto}|${y}|${x}`;
}

/** The ephemeral ports of a side (see the header comment for the rule). */
export function ephemeralPorts(streams: { frame: DecodedFrame }[][]): Set<number> {
  const clients = new Set<number>();
  const servers = new Set<number>();
  const unresolved: [number, number][] = [];
  for (const frames of streams) {
    const seen = new Set<string>();
    const tcpWithSyn = new Set<string>();
    const tcpFirst: [string, number, number][] = [];
    for (const { frame } of frames) {
      const t = frame.transport;
      const n = frame.network;
      if (t === null || n === null || n.kind !== 'ipv4') continue;
      if (t.kind === 'tcp') {
        const r = t.repr;
        const key = tupleKey(6, n.repr.src, r.srcPort, n.repr.dst, r.dstPort);
        if ((r.flags & TcpFlag.SYN) !== 0 && (r.flags & TcpFlag.ACK) === 0) {
          clients.add(r.srcPort);
          servers.add(r.dstPort);
          tcpWithSyn.add(key);
        } else if (!seen.has(key)) tcpFirst.push([key, r.srcPort, r.dstPort]);
        seen.add(key);
      } else if (t.kind === 'udp' || (t.kind === 'raw' && t.reason === 'fragment' && n.repr.protocol === 17 && n.repr.fragOffset === 0 && t.bytes.length >= 4)) {
        // a whole datagram, or the first fragment of one (its UDP header)
        const sp = t.kind === 'udp' ? t.repr.srcPort : (t.bytes[0]! << 8) | t.bytes[1]!;
        const dp = t.kind === 'udp' ? t.repr.dstPort : (t.bytes[2]! << 8) | t.bytes[3]!;
        const key = tupleKey(17, n.repr.src, sp, n.repr.dst, dp);
        if (!seen.has(key)) {
          clients.add(sp);
          servers.add(dp);
          seen.add(key);
        }
      }
    }
    for (const [key, sp, dp] of tcpFirst) if (!tcpWithSyn.has(key)) unresolved.push([sp, dp]);
  }
  for (const [sp, dp] of unresolved) {
    const known = (p: number): boolean => p < WELL_KNOWN_LIMIT || servers.has(p);
    if (known(dp) && !known(sp)) clients.add(sp);
    else if (known(sp) && !known(dp)) clients.add(dp);
    else if (!known(sp) && !known(dp)) clients.add(Math.max(sp, dp));
  }
  const eph = new Set<number>();
  for (const p of clients) if (!servers.has(p)) eph.add(p);
  return eph;
}
