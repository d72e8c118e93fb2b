// The parsed file as a small tree that keeps, for every value and key, where it was written. YAML and
// JSON both go through the `yaml` package (JSON is YAML 1.2), so both get line and column numbers.
// Maps keep their entries in file order (a JS object would move integer-like keys such as "1" first).

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YNode } from 'yaml';
import type { ScenarioIssue } from './errors.js';

export interface Pos {
  line: number;
  col: number;
}

export type Val = ScalarVal | MapVal | SeqVal;

export interface ScalarVal {
  kind: 'scalar';
  value: string | number | boolean | null;
  pos: Pos;
}

export interface MapEntry {
  key: string;
  keyPos: Pos;
  value: Val;
}

export interface MapVal {
  kind: 'map';
  entries: MapEntry[];
  pos: Pos;
}

export interface SeqVal {
  kind: 'seq';
  items: Val[];
  pos: Pos;
}

export function entry(m: MapVal, key: string): MapEntry | undefined {
  return m.entries.find((e) => e.key === key);
}

export function get(m: MapVal, key: string): Val | undefined {
  return entry(m, key)?.value;
}

/** Deepest nesting of mappings and lists a scenario may use. */
export const MAX_DEPTH = 64;
/** Most values (scalars, mappings, lists) a scenario may hold once YAML aliases are expanded. */
export const MAX_VALUES = 1_000_000;

/** Parse `text`; on a syntax error return the issues (with places) instead of a tree. */
export function parseTree(text: string, file: string): { tree: Val | null; issues: ScenarioIssue[] } {
  const lc = new LineCounter();
  const issues: ScenarioIssue[] = [];
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  } catch (e) {
    // The yaml package recurses per nesting level: ~10,000 levels of [ or { exhaust the stack.
    if (!(e instanceof RangeError)) throw e;
    issues.push({ file, line: 1, col: 1, path: '', message: `nested too deeply for a scenario (at most ${MAX_DEPTH} levels)` });
    return { tree: null, issues };
  }
  const posOf = (offset: number): Pos => {
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };
  for (const e of doc.errors) {
    const p = posOf(e.pos[0]);
    const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    // The yaml package reports its own stack overflow on absurd nesting as a document error.
    if (/Maximum call stack/.test(msg)) issues.push({ file, line: p.line, col: p.col, path: '', message: `nested too deeply for a scenario (at most ${MAX_DEPTH} levels)` });
    else issues.push({ file, line: p.line, col: p.col, path: '', message: `YAML syntax error: ${msg}` });
  }
  if (issues.length > 0) return { tree: null, issues };
  if (doc.contents === null) {
    issues.push({ file, line: 1, col: 1, path: '', message: 'the file is empty: expected a mapping with version, hosts, traffic…' });
    return { tree: null, issues };
  }
  const budget = { left: MAX_VALUES };
  const tree = convert(doc, doc.contents as YNode, posOf, file, '', issues, 0, budget);
  return { tree: issues.length > 0 ? null : tree, issues };
}

function convert(
  doc: Document,
  node: YNode,
  posOf: (offset: number) => Pos,
  file: string,
  path: string,
  issues: ScenarioIssue[],
  depth: number,
  budget: { left: number },
): Val {
  const pos = posOf(node.range?.[0] ?? 0);
  if (depth > MAX_DEPTH) {
    issues.push({ file, ...pos, path, message: `nested too deeply (at most ${MAX_DEPTH} levels)` });
    return { kind: 'scalar', value: null, pos };
  }
  // Aliases are expanded where they are used, so a few lines of anchors can stand for billions of
  // values ("billion laughs"); a scenario never needs more than this many.
  if (--budget.left < 0) {
    if (budget.left === -1) issues.push({ file, ...pos, path, message: `more than ${MAX_VALUES} values once aliases are expanded: too large for a scenario` });
    return { kind: 'scalar', value: null, pos };
  }
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (!target) {
      issues.push({ file, ...pos, path, message: `unknown alias *${node.source}` });
      return { kind: 'scalar', value: null, pos };
    }
    const v = convert(doc, target as YNode, posOf, file, path, issues, depth + 1, budget);
    return { ...v, pos } as Val;
  }
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      return { kind: 'scalar', value: v, pos };
    }
    // bigint (huge integers) and other exotic scalars: keep their text so the schema can refuse them.
    return { kind: 'scalar', value: String(node.source ?? v), pos };
  }
  if (isSeq(node)) {
    return {
      kind: 'seq',
      pos,
      items: node.items.map((it, i) =>
        it === null
          ? { kind: 'scalar' as const, value: null, pos }
          : convert(doc, it as YNode, posOf, file, `${path}[${i}]`, issues, depth + 1, budget),
      ),
    };
  }
  if (isMap(node)) {
    const entries: MapEntry[] = [];
    for (const pair of node.items) {
      const k = pair.key as YNode | null;
      const kpos = k?.range ? posOf(k.range[0]) : pos;
      let key: string;
      const kn = k && isAlias(k) ? (k.resolve(doc) as YNode | undefined) : k;
      if (kn && isScalar(kn) && kn.value !== null && typeof kn.value !== 'object') {
        key = String(kn.value);
      } else {
        issues.push({ file, ...kpos, path, message: 'expected a plain key (a name), got a complex or empty key' });
        continue;
      }
      const childPath = path ? `${path}.${key}` : key;
      const v = pair.value as YNode | null;
      const value: Val =
        v === null
          ? { kind: 'scalar', value: null, pos: kpos }
          : convert(doc, v, posOf, file, childPath, issues, depth + 1, budget);
      entries.push({ key, keyPos: kpos, value });
    }
    return { kind: 'map', entries, pos };
  }
  issues.push({ file, ...pos, path, message: 'unsupported YAML node' });
  return { kind: 'scalar', value: null, pos };
}
