// Traffic entries, from a schema-valid tree to TrafficSpecs: defaults applied, the target checked, the
// load keys (count or duration, interval or rate) turned into a count and an interval, and `from` —
// one node, a list, or a container with `replicas` (every replica) — turned into one spec per node, in
// order, all with the entry's index.

import { get, type MapVal, type Pos, type SeqVal } from './tree.js';
import type { Payload, TargetSpec, TrafficSpec, Where } from './types.js';
import { durationOr, numOr, payloadOr, scalar, strOr } from './read.js';
import { ipv4ToNum, parseHostPort, parseRate, parseSize } from './values.js';
import { payloadLength } from '../wire/payload.js';

export const PING_DEFAULTS = { count: 1, intervalNs: 1e9, size: 56 } as const;
export const TCP_TIMEOUT_NS = 10e9;
export const UDP_TIMEOUT_NS = 2e9;
/** 65535 - 8 (UDP header) - 20 (IPv4 header): the most sendto(2) takes (else EMSGSIZE). */
export const MAX_DATAGRAM = 65507;
/** Between starts when `count` is given without `interval` or `rate`: ping's default second. */
export const LOAD_INTERVAL_NS = 1e9;

/** What the traffic builder needs from the scenario builder. */
export interface BuildSite {
  where(pos: Pos, path: string): Where;
  whereOf(m: MapVal, path: string, key: string): Where;
  fail(w: Where, message: string): void;
}

export function checkDatagram(b: BuildSite, m: MapVal, path: string, key: string, p: Payload | null): void {
  if (p !== null && payloadLength(p) > MAX_DATAGRAM) {
    b.fail(b.whereOf(m, path, key), `a UDP datagram carries at most ${MAX_DATAGRAM} bytes, got ${payloadLength(p)} (sendto would fail with EMSGSIZE)`);
  }
}

/** The specs of traffic entry `index` (none when it has a problem, which is reported). */
export function buildTraffic(b: BuildSite, m: MapVal, index: number, nodes: Set<string>, replicas: Map<string, string[]>): TrafficSpec[] {
  const path = `traffic[${index}]`;
  const where = b.where(m.pos, path);
  const list = nodeList(get(m, 'from')!, path);
  const froms: string[] = [];
  let ok = true;
  for (const f of list) {
    const r = replicas.get(f.name);
    if (r) froms.push(...r);
    else if (nodes.has(f.name)) froms.push(f.name);
    else {
      b.fail(b.where(f.pos, f.path), `unknown node "${f.name}" (nodes: ${[...nodes].join(', ') || 'none'})`);
      ok = false;
    }
  }
  const kind: 'ping' | 'tcp' | 'udp' = get(m, 'ping') ? 'ping' : get(m, 'tcp') ? 'tcp' : 'udp';
  const targetWhere = b.whereOf(m, path, kind);
  const raw = strOr(m, kind, '');
  let host = raw;
  let port = 0;
  if (kind !== 'ping') {
    const hp = parseHostPort(raw)!;
    host = hp.host;
    port = hp.port;
  }
  let target: TargetSpec;
  if (ipv4ToNum(host) !== null) target = { kind: 'ip', ip: host };
  else {
    target = { kind: 'node', node: host };
    const r = replicas.get(host);
    if (r) {
      b.fail(targetWhere, `${host} has ${r.length} replicas: name one (${r[0]} … ${r[r.length - 1]})`);
      ok = false;
    } else if (!nodes.has(host)) {
      b.fail(targetWhere, `"${host}" is neither an IPv4 address nor a node of this scenario (nodes: ${[...nodes].join(', ') || 'none'})`);
      ok = false;
    }
  }
  const defaultInterval = kind === 'ping' ? PING_DEFAULTS.intervalNs : LOAD_INTERVAL_NS;
  const rate = scalar(m, 'rate');
  const intervalNs = rate !== undefined ? Math.round(1e9 / parseRate(rate)!) : durationOr(m, 'interval', defaultInterval);
  let count = numOr(m, 'count', 1);
  const duration = scalar(m, 'duration');
  if (duration !== undefined) {
    const d = durationOr(m, 'duration', 0);
    if (intervalNs === 0) {
      b.fail(b.whereOf(m, path, 'duration'), 'duration with interval: 0 would start without end: give interval or rate');
      ok = false;
    } else count = Math.max(1, Math.ceil(d / intervalNs));
  }
  const ttl = numOr(m, 'ttl', null);
  let send: Payload | null = null;
  if (kind === 'udp') {
    send = payloadOr(m, 'send', '');
    checkDatagram(b, m, path, 'send', send);
  }
  if (!ok) return [];
  return froms.map((from): TrafficSpec => {
    const common = { index, atNs: durationOr(m, 'at', 0), from, target, where, targetWhere, count, intervalNs, ttl };
    if (kind === 'ping') return { kind, ...common, size: numOr(m, 'size', PING_DEFAULTS.size) };
    const sport = numOr(m, 'sport', null);
    const bind = strOr(m, 'bind', null);
    if (kind === 'tcp') {
      const expect = scalar(m, 'expect');
      return {
        kind,
        ...common,
        port,
        send: payloadOr(m, 'send', null),
        requests: numOr(m, 'requests', 1),
        expect: expect === undefined ? null : parseSize(expect),
        sport,
        bind,
        timeoutNs: durationOr(m, 'timeout', TCP_TIMEOUT_NS),
      };
    }
    return { kind, ...common, port, send: send!, flows: numOr(m, 'flows', 1), sport, bind, timeoutNs: durationOr(m, 'timeout', UDP_TIMEOUT_NS) };
  });
}

function nodeList(v: NonNullable<ReturnType<typeof get>>, path: string): { name: string; pos: Pos; path: string }[] {
  if (v.kind === 'seq') return (v as SeqVal).items.map((it, i) => ({ name: String((it as { value: unknown }).value), pos: it.pos, path: `${path}.from[${i}]` }));
  return [{ name: String((v as { value: unknown }).value), pos: v.pos, path: `${path}.from` }];
}
