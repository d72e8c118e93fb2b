// Loading a scenario file: parse (YAML or JSON: the fast reader in ./fast-yaml.ts for the common subset,
// else the `yaml` package; both keep positions and give the same tree),
// validate against the declarative schema (./spec.ts), then build the typed Scenario with its defaults
// and run the checks that span the file (./build.ts). Any problem throws one ScenarioError carrying all
// problems found (up to ScenarioError.MAX_ISSUES), each as file:line:col: key.path: what was expected.

import { closeSync, openSync, readSync } from 'node:fs';
import { buildScenario } from './build.js';
import { ScenarioError, type ScenarioIssue } from './errors.js';
import { validate } from './schema.js';
import { scenarioSchema } from './spec.js';
import { parseTree, type Val } from './tree.js';
import { NO_POS, fastParseTree } from './fast-yaml.js';
import type { Scenario } from './types.js';

export { ScenarioError, formatIssue, type ScenarioIssue } from './errors.js';
export type * from './types.js';

/** Largest scenario file read: far beyond any hand-written world, small enough that reading
 *  /dev/zero or a wrong multi-gigabyte file by mistake ends at once instead of exhausting memory. */
export const MAX_SCENARIO_BYTES = 16 * 1024 * 1024;

/** Read and load `path`. A file that cannot be read, or that is not UTF-8 text, is a ScenarioError
 *  too (line 0), saying what the file is rather than echoing its bytes. */
export function loadScenarioFile(path: string, opts: { positions?: boolean } = {}): Scenario {
  const fail = (message: string): never => {
    throw new ScenarioError([{ file: path, line: 0, col: 0, path: '', message }]);
  };
  let bytes: Buffer;
  try {
    bytes = readBounded(path, MAX_SCENARIO_BYTES);
  } catch (e) {
    if (e instanceof ScenarioTooLarge) {
      // Say what it is if its first bytes tell (a large binary named by mistake), else that it is too large.
      const what = MAGIC.find(([magic]) => magic.every((b, i) => e.head[i] === b));
      return fail(what ? `is ${what[1]}, not a scenario (expected YAML or JSON text)` : `more than ${MAX_SCENARIO_BYTES / 1048576} MiB: too large for a scenario file`);
    }
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'a part of the path is not a folder' : (e as Error).message;
    return fail(`cannot read the scenario: ${why}`);
  }
  const problem = notTextProblem(bytes);
  if (problem !== null) return fail(problem);
  return parseScenario(bytes.toString('utf8'), path, opts);
}

class ScenarioTooLarge extends Error {
  constructor(readonly head: Uint8Array) {
    super('too large');
  }
}

/** The file's bytes, reading at most `max` (a FIFO like <(cat f) works; /dev/zero stops at `max`). */
function readBounded(path: string, max: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(65536);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > max) throw new ScenarioTooLarge(chunks[0] ?? chunk);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** Well-known binary formats a scenario path may name by mistake, by their first bytes. */
const MAGIC: [number[], string][] = [
  [[0x7f, 0x45, 0x4c, 0x46], 'an ELF executable'],
  [[0x1f, 0x8b], 'gzip-compressed data'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd-compressed data'],
  [[0x50, 0x4b, 0x03, 0x04], 'a zip archive'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
  [[0xd4, 0xc3, 0xb2, 0xa1], 'a pcap capture'],
  [[0xa1, 0xb2, 0xc3, 0xd4], 'a pcap capture'],
  [[0x4d, 0x3c, 0xb2, 0xa1], 'a pcap capture'],
  [[0xa1, 0xb2, 0x3c, 0x4d], 'a pcap capture'],
  [[0x0a, 0x0d, 0x0d, 0x0a], 'a pcapng capture'],
];

/** Why `bytes` cannot be a scenario's text (a known binary format, NUL bytes, UTF-16, invalid UTF-8),
 *  or null when it is UTF-8 text. The message names what the bytes are, never the bytes themselves. */
export function notTextProblem(bytes: Uint8Array): string | null {
  for (const [magic, what] of MAGIC) {
    if (bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b)) return `is ${what}, not a scenario (expected YAML or JSON text)`;
  }
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    return 'is UTF-16 text: save the scenario as UTF-8';
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return `is binary data, not a scenario (a NUL byte at offset ${nul}; expected YAML or JSON text)`;
  const at = firstInvalidUtf8(bytes);
  if (at >= 0) {
    const { line, col } = lineColOf(bytes, at);
    return `is not UTF-8 text: byte 0x${bytes[at]!.toString(16).padStart(2, '0')} at line ${line}, column ${col} (offset ${at}) is not valid UTF-8; save the scenario as UTF-8`;
  }
  return null;
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlong
 *  forms, no surrogates, nothing above U+10FFFF), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

function lineColOf(b: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) if (b[i] === 0x0a) ((line += 1), (start = i + 1));
  return { line, col: Buffer.from(b.subarray(start, offset)).toString('utf8').length + 1 };
}

/**
 * Parse scenario text. `positions: false` reads it without recording where each value was written
 * (less memory and time for big files); a problem found while loading is then placed by reading the
 * file again with positions. A caller that compiles the result re-reads it the same way on a planner
 * error (src/cli/common.ts's loadPlan). `fileName` is used in messages, for the default scenario name, and to decide the
 * syntax: a `.json` name (or text starting with `{`) is read as JSON, which must then be strict JSON.
 */
export function parseScenario(text: string, fileName: string, opts: { positions?: boolean } = {}): Scenario {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const issues: ScenarioIssue[] = [];
  const isJson = /\.json$/i.test(fileName) || /^\s*\{/.test(text);
  if (isJson) {
    const jsonProblem = strictJsonProblem(text, fileName);
    if (jsonProblem) throw new ScenarioError([jsonProblem]);
  }
  // The fast reader first; the `yaml` package for what it does not cover and to word syntax errors.
  let tree = fastParseTree(text, opts.positions ?? true);
  if (tree === null) {
    const full = parseTree(text, fileName);
    if (!full.tree) throw new ScenarioError(full.issues);
    tree = full.tree;
  }
  if (tree.pos === NO_POS && opts.positions === false) {
    // Read without positions: on any problem, read again with them so the message names the place.
    const quick = tryQuick(tree, fileName);
    if (quick) return quick;
    return parseScenario(text, fileName);
  }
  const ok = validate(scenarioSchema, tree, '', (pos, path, message) => {
    issues.push({ file: fileName, line: pos.line, col: pos.col, path, message });
  });
  if (!ok) throw new ScenarioError(issues.length ? issues : [{ file: fileName, line: 1, col: 1, path: '', message: 'invalid scenario' }]);
  const built = buildScenario(tree, fileName);
  if (built.issues.length > 0) throw new ScenarioError(sortIssues(built.issues));
  return built.scenario;
}

/** The scenario from a tree without positions, or null when there is any problem to place. */
function tryQuick(tree: Val, fileName: string): Scenario | null {
  let bad = false;
  if (!validate(scenarioSchema, tree, '', () => (bad = true)) || bad) return null;
  const built = buildScenario(tree, fileName);
  return built.issues.length ? null : built.scenario;
}

function sortIssues(issues: ScenarioIssue[]): ScenarioIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
}

/**
 * JSON files go through the YAML parser (for positions), which accepts more than JSON (comments,
 * unquoted strings). For a `.json` file, check with JSON.parse first and map its error to line:col.
 */
function strictJsonProblem(text: string, file: string): ScenarioIssue | null {
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    const msg = (e as Error).message;
    let offset = text.length;
    const m = /position (\d+)/.exec(msg);
    if (m) offset = Number(m[1]);
    let line = 1;
    let col = 1;
    for (let i = 0; i < offset && i < text.length; i++) {
      if (text[i] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    const short = msg.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    return { file, line, col, path: '', message: `JSON syntax error: ${short}` };
  }
}
