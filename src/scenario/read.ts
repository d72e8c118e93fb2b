// Reading values of a tree that passed the schema (./spec.ts): each reader returns the value converted
// (durations to ns, sizes to bytes, MACs to lower case) or the default when the key is absent.

import { get, type MapVal, type SeqVal } from './tree.js';
import type { Payload } from './types.js';
import { normaliseMac, parseDuration, parseHex, parseLinkRate, parsePercent, parseSize } from './values.js';
import type { NetemSpec } from './types.js';

const IMPAIRMENTS = ['jitter', 'loss', 'duplicate', 'reorder', 'corrupt', 'rate', 'limit'];

/** The netem keys of a wire or interface; null when there is none but (for a wire) `latency`. */
export function netemOr(m: MapVal, latencyCounts: boolean): NetemSpec | null {
  if (!IMPAIRMENTS.some((k) => get(m, k)) && !(latencyCounts && get(m, 'latency'))) return null;
  const pct = (k: string): number => {
    const v = scalar(m, k);
    return v === undefined ? 0 : parsePercent(v)!;
  };
  const rate = scalar(m, 'rate');
  return {
    latencyNs: durationOr(m, 'latency', 0),
    jitterNs: durationOr(m, 'jitter', 0),
    loss: pct('loss'),
    duplicate: pct('duplicate'),
    reorder: pct('reorder'),
    corrupt: pct('corrupt'),
    rateBps: rate === undefined ? 0 : parseLinkRate(rate)!,
    limit: numOr(m, 'limit', 1000),
  };
}

export function scalar(m: MapVal, key: string): string | number | boolean | undefined {
  const v = get(m, key);
  if (!v || v.kind !== 'scalar' || v.value === null) return undefined;
  return v.value;
}
export const strOr = <T>(m: MapVal, key: string, dflt: T): string | T => {
  const v = scalar(m, key);
  return typeof v === 'string' ? v : dflt;
};
export const numOr = <T>(m: MapVal, key: string, dflt: T): number | T => {
  const v = scalar(m, key);
  return typeof v === 'number' ? v : dflt;
};
export const boolOr = <T>(m: MapVal, key: string, dflt: T): boolean | T => {
  const v = scalar(m, key);
  return typeof v === 'boolean' ? v : dflt;
};
export const durationOr = (m: MapVal, key: string, dflt: number): number => {
  const v = scalar(m, key);
  return v === undefined ? dflt : parseDuration(v)!;
};
/** `send` / `reply` as written: a string, `{ size }` (bytes) or `{ hex }` (normalised). */
export function payloadOr<T>(m: MapVal, key: string, dflt: T): Payload | T {
  const v = get(m, key);
  if (v === undefined) return dflt;
  if (v.kind === 'scalar') return typeof v.value === 'string' ? v.value : dflt;
  if (v.kind !== 'map') return dflt;
  const size = scalar(v, 'size');
  if (size !== undefined) return { size: parseSize(size)! };
  return { hex: parseHex(String(scalar(v, 'hex') ?? ''))! };
}
export const mapAt = (m: MapVal, key: string): MapVal | undefined => {
  const v = get(m, key);
  return v?.kind === 'map' ? v : undefined;
};
export const seqAt = (m: MapVal, key: string): SeqVal | undefined => {
  const v = get(m, key);
  return v?.kind === 'seq' ? v : undefined;
};
export const macOrNull = (m: MapVal, key: string): string | null => {
  const v = strOr(m, key, null);
  return v === null ? null : normaliseMac(v);
};
