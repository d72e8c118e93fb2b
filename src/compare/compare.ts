// compareCaptures: the structural comparison of two sides (each a set of captured interfaces).
//
//   1. Streams are paired: by equal key, or by the explicit pairs given.
//   2. Each side is normalised as a whole (normalise.ts): one token namer and one ephemeral-port set per
//      side, across all its streams.
//   3. Per pair of streams, frames are grouped by flow; flows are paired (same class and ordinal, then
//      what is left by a looser class, in order); inside each flow pair the frames are aligned by an
//      LCS over their signatures (align.ts). So flows interleaving differently in time are no difference;
//      reordering, a missing or an extra frame inside a flow is.
//   4. Aligned frames are compared field by field. Token fields (MACs, ephemeral ports, ICMP ids) must
//      correspond one to one between the sides across every file: the first pairing of two values binds
//      them, a later use of either with another value is a difference.
// Pure and deterministic: the same inputs give the same report.

import { lcsPairs } from './align.js';
import { normaliseSide, type Field, type NormFrame, type NormStream } from './normalise.js';
import type { CaptureSide, CaptureStream, CompareOptions, CompareReport, Difference, FileReport } from './types.js';

/** One-to-one correspondence between A's and B's values of one token kind. */
class Bijection {
  private readonly ab = new Map<string, Field>();
  private readonly ba = new Map<string, Field>();
  check(a: Field, b: Field): boolean {
    const ka = `${a.kind}|${a.value}`;
    const kb = `${b.kind}|${b.value}`;
    const x = this.ab.get(ka);
    const y = this.ba.get(kb);
    if (x === undefined && y === undefined) {
      this.ab.set(ka, b);
      this.ba.set(kb, a);
      return true;
    }
    return x?.value === b.value && y?.value === a.value;
  }
  /** Why a check failed: what each value is already bound to. */
  why(a: Field, b: Field): string {
    const x = this.ab.get(`${a.kind}|${a.value}`);
    const y = this.ba.get(`${b.kind}|${b.value}`);
    const parts: string[] = [];
    if (x !== undefined && x.value !== b.value) parts.push(`A's ${a.shown} is B's ${x.shown} elsewhere`);
    if (y !== undefined && y.value !== a.value) parts.push(`B's ${b.shown} is A's ${y.shown} elsewhere`);
    return parts.join('; ');
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** How two byte fields differ, in a few words. */
function bytesDiff(a: Uint8Array, b: Uint8Array): [string, string] {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i < a.length && i < b.length) return [`${a.length} bytes, byte ${i} = ${hex2(a[i]!)}`, `${b.length} bytes, byte ${i} = ${hex2(b[i]!)}`];
  return [`${a.length} bytes`, `${b.length} bytes`];
}

const ABSENT = '(absent)';

interface FieldResult {
  compared: number;
  matched: number;
  diffs: { field: string; a: string; b: string }[];
}

function compareFields(fa: Field[], fb: Field[], bij: Bijection): FieldResult {
  const byName = new Map<string, Field>();
  for (const f of fb) byName.set(f.name, f);
  const res: FieldResult = { compared: 0, matched: 0, diffs: [] };
  const seen = new Set<string>();
  for (const a of fa) {
    seen.add(a.name);
    const b = byName.get(a.name);
    res.compared++;
    if (b === undefined) {
      res.diffs.push({ field: a.name, a: a.shown, b: ABSENT });
      continue;
    }
    let same: boolean;
    if (a.kind !== b.kind) same = false;
    else if (a.kind === 'lit') same = a.value === b.value;
    else if (a.kind === 'bytes') same = sameBytes(a.bytes!, b.bytes!);
    else same = bij.check(a, b);
    if (same) res.matched++;
    else if (a.kind === 'bytes' && b.kind === 'bytes') {
      const [x, y] = bytesDiff(a.bytes!, b.bytes!);
      res.diffs.push({ field: a.name, a: x, b: y });
    } else if (a.kind === b.kind) {
      // a token that does not correspond: say what it corresponds to elsewhere
      const why = a.kind === 'lit' ? '' : bij.why(a, b);
      res.diffs.push({ field: a.name, a: a.shown, b: why === '' ? b.shown : `${b.shown} [${why}]` });
    } else res.diffs.push({ field: a.name, a: a.shown, b: b.shown });
  }
  for (const b of fb) {
    if (seen.has(b.name)) continue;
    res.compared++;
    res.diffs.push({ field: b.name, a: ABSENT, b: b.shown });
  }
  return res;
}

/** Frames of a stream grouped by flow, flows in order of first appearance. */
function byFlow(frames: NormFrame[]): Map<string, NormFrame[]> {
  const m = new Map<string, NormFrame[]>();
  for (const f of frames) {
    let l = m.get(f.flow);
    if (l === undefined) m.set(f.flow, (l = []));
    l.push(f);
  }
  return m;
}

/** Flow pairs: same flow id first, then leftovers with the same loose class, in order. */
function pairFlows(fa: Map<string, NormFrame[]>, fb: Map<string, NormFrame[]>): { pairs: [NormFrame[], NormFrame[]][]; onlyA: NormFrame[][]; onlyB: NormFrame[][] } {
  const pairs: [NormFrame[], NormFrame[]][] = [];
  const leftA: NormFrame[][] = [];
  const usedB = new Set<string>();
  for (const [id, frames] of fa) {
    const other = fb.get(id);
    if (other !== undefined) {
      pairs.push([frames, other]);
      usedB.add(id);
    } else leftA.push(frames);
  }
  const leftB = [...fb].filter(([id]) => !usedB.has(id)).map(([, f]) => f);
  const onlyA: NormFrame[][] = [];
  for (const frames of leftA) {
    const i = leftB.findIndex((o) => o[0]!.loose === frames[0]!.loose);
    if (i >= 0) {
      pairs.push([frames, leftB[i]!]);
      leftB.splice(i, 1);
    } else onlyA.push(frames);
  }
  return { pairs, onlyA, onlyB: leftB };
}

function compareStreams(a: NormStream, b: NormStream, bij: Bijection, opts: CompareOptions): FileReport {
  const report: FileReport = {
    key: a.key,
    labelA: a.label,
    labelB: b.label,
    verdict: 'match',
    framesA: a.frames.length,
    framesB: b.frames.length,
    ignoredA: a.ignored,
    ignoredB: b.ignored,
    framesAligned: 0,
    framesIdentical: 0,
    fieldsCompared: 0,
    fieldsMatched: 0,
    differences: [],
    notes: [],
  };
  const { pairs, onlyA, onlyB } = pairFlows(byFlow(a.frames), byFlow(b.frames));
  const aligned: [NormFrame, NormFrame][] = [];
  // sort keys: A's frame number; a frame only in B goes after the A frame aligned before it in its flow
  const entries: { at: number; sub: number; diff: Difference }[] = [];
  for (const [fa, fb] of pairs) {
    const matched = lcsPairs(
      fa.map((f) => f.sig),
      fb.map((f) => f.sig),
    );
    const inA = new Set(matched.map(([i]) => i));
    const inB = new Set(matched.map(([, j]) => j));
    for (const [i, j] of matched) aligned.push([fa[i]!, fb[j]!]);
    fa.forEach((f, i) => {
      if (!inA.has(i)) entries.push({ at: f.number, sub: 0, diff: { kind: 'only-a', frameA: f.number, summary: f.summary } });
    });
    let lastA = 0;
    let mi = 0;
    fb.forEach((f, j) => {
      while (mi < matched.length && matched[mi]![1] < j) lastA = fa[matched[mi++]![0]]!.number;
      if (!inB.has(j)) entries.push({ at: lastA + 0.5, sub: f.number, diff: { kind: 'only-b', frameB: f.number, summary: f.summary } });
    });
  }
  for (const fa of onlyA) for (const f of fa) entries.push({ at: f.number, sub: 0, diff: { kind: 'only-a', frameA: f.number, summary: f.summary } });
  for (const fb of onlyB) for (const f of fb) entries.push({ at: Number.MAX_SAFE_INTEGER, sub: f.number, diff: { kind: 'only-b', frameB: f.number, summary: f.summary } });

  aligned.sort((x, y) => x[0].number - y[0].number);
  for (const [fa, fb] of aligned) {
    const r = compareFields(fa.fields, fb.fields, bij);
    report.framesAligned++;
    report.fieldsCompared += r.compared;
    report.fieldsMatched += r.matched;
    if (r.diffs.length === 0) report.framesIdentical++;
    for (const d of r.diffs) entries.push({ at: fa.number, sub: 0, diff: { kind: 'field', frameA: fa.number, frameB: fb.number, field: d.field, a: d.a, b: d.b } });
  }
  if (opts.checksums) {
    let partialA = 0;
    let partialB = 0;
    for (const [side, frames] of [['a', a.frames], ['b', b.frames]] as const) {
      for (const f of frames) {
        for (const c of f.checksums) {
          if (c.status === 'partial') {
            if (side === 'a') partialA++;
            else partialB++;
          } else entries.push({ at: side === 'a' ? f.number : Number.MAX_SAFE_INTEGER, sub: f.number, diff: { kind: 'checksum', side, frame: f.number, field: c.field, found: c.found, expected: c.expected } });
        }
      }
    }
    if (partialA > 0) report.notes.push(`A: ${partialA} partial checksum(s) left for offload (not errors)`);
    if (partialB > 0) report.notes.push(`B: ${partialB} partial checksum(s) left for offload (not errors)`);
  }
  entries.sort((x, y) => x.at - y.at || x.sub - y.sub);
  report.differences = entries.map((e) => e.diff);
  report.verdict = report.differences.length === 0 ? 'match' : 'differ';
  return report;
}

function onlyOne(s: NormStream, side: 'a' | 'b'): FileReport {
  return {
    key: s.key,
    labelA: side === 'a' ? s.label : null,
    labelB: side === 'b' ? s.label : null,
    verdict: side === 'a' ? 'only-a' : 'only-b',
    framesA: side === 'a' ? s.frames.length : 0,
    framesB: side === 'b' ? s.frames.length : 0,
    ignoredA: side === 'a' ? s.ignored : 0,
    ignoredB: side === 'b' ? s.ignored : 0,
    framesAligned: 0,
    framesIdentical: 0,
    fieldsCompared: 0,
    fieldsMatched: 0,
    differences: [],
    notes: [],
  };
}

/** Compare two sides; streams are paired by key (or `opts.pairs`). */
export function compareCaptures(a: CaptureSide, b: CaptureSide, opts: CompareOptions = {}): CompareReport {
  const byKey = (streams: CaptureStream[], side: string): Map<string, CaptureStream> => {
    const m = new Map<string, CaptureStream>();
    for (const s of streams) {
      if (m.has(s.key)) throw new Error(`side ${side}: two captures named ${s.key} (${m.get(s.key)!.label}, ${s.label})`);
      m.set(s.key, s);
    }
    return m;
  };
  const ma = byKey(a.streams, a.name);
  const mb = byKey(b.streams, b.name);
  let pairs: [string, string][];
  if (opts.pairs !== undefined) {
    pairs = opts.pairs;
    for (const [x, y] of pairs) {
      if (!ma.has(x)) throw new Error(`side ${a.name}: no capture ${x}`);
      if (!mb.has(y)) throw new Error(`side ${b.name}: no capture ${y}`);
    }
  } else {
    pairs = [...ma.keys()].filter((k) => mb.has(k)).sort().map((k) => [k, k]);
  }
  const pairedA = new Set(pairs.map(([x]) => x));
  const pairedB = new Set(pairs.map(([, y]) => y));
  const restA = [...ma.keys()].filter((k) => !pairedA.has(k)).sort();
  const restB = [...mb.keys()].filter((k) => !pairedB.has(k)).sort();
  // paired streams first, in pair order, so both sides number their tokens in corresponding order
  const na = normaliseSide([...pairs.map(([x]) => ma.get(x)!), ...restA.map((k) => ma.get(k)!)], opts);
  const nb = normaliseSide([...pairs.map(([, y]) => mb.get(y)!), ...restB.map((k) => mb.get(k)!)], opts);
  const bij = new Bijection();
  const files: FileReport[] = [];
  pairs.forEach((_, i) => files.push(compareStreams(na[i]!, nb[i]!, bij, opts)));
  for (let i = pairs.length; i < na.length; i++) files.push(onlyOne(na[i]!, 'a'));
  for (let i = pairs.length; i < nb.length; i++) files.push(onlyOne(nb[i]!, 'b'));
  const totals = {
    files: files.length,
    filesMatching: files.filter((f) => f.verdict === 'match').length,
    differences: files.reduce((s, f) => s + f.differences.length + (f.verdict === 'only-a' || f.verdict === 'only-b' ? 1 : 0), 0),
    fieldsCompared: files.reduce((s, f) => s + f.fieldsCompared, 0),
    fieldsMatched: files.reduce((s, f) => s + f.fieldsMatched, 0),
  };
  return { verdict: totals.filesMatching === files.length && files.length > 0 ? 'match' : 'differ', sideA: a.name, sideB: b.name, files, totals };
}
