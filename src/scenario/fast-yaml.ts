// A fast reader for the YAML that scenario files are made of, straight into the position-keeping tree
// (./tree.ts). The `yaml` package builds a CST, then a Document of nodes, before ./tree.ts converts it:
// for a 100,000-entry traffic list that is most of the load time and most of the garbage. This reader
// covers the common subset — block mappings and sequences, one-line flow mappings and sequences (also
// spanning lines, as JSON does), plain, single- and double-quoted one-line scalars, comments — and
// resolves plain scalars with YAML 1.2's core schema exactly as the `yaml` package does (null, booleans,
// decimal/0o/0x integers through parseInt, floats, .inf/.nan). Anything outside that subset (anchors,
// aliases, tags, block scalars, multi-line plain or quoted scalars, empty values, duplicate keys,
// directives, tabs, CR line ends, anything it would otherwise have to judge as an error) makes it give
// up and return null; the caller then parses with the `yaml` package, which also words every syntax
// error. So the fast reader never decides what a file means differently from the full one:
// test/scenario/fast-yaml.test.ts holds it to the same tree, positions included, on every fixture.

import type { MapEntry, MapVal, Pos, ScalarVal, SeqVal, Val } from './tree.js';

/** Thrown inside the reader when the text leaves the subset; never escapes `fastParseTree`. */
class GiveUp {}
const GIVE_UP = new GiveUp();

const SP = 0x20;
const NL = 0x0a;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;

const MAX_DEPTH = 64;

/** Characters a plain scalar may not start with (YAML c-indicator), beyond the flow ones. */
function badPlainStart(c: number): boolean {
  // & * ! | > % @ ` ? and the flow indicators, quotes and '#' are decided by the callers.
  return c === 0x26 || c === 0x2a || c === 0x21 || c === 0x7c || c === 0x3e || c === 0x25 || c === 0x40 || c === 0x60 || c === 0x3f;
}

const isFlowIndicator = (c: number): boolean => c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE;

const RE_NULL = /^(?:~|[Nn]ull|NULL)$/;
const RE_BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const RE_OCT = /^0o[0-7]+$/;
const RE_INT = /^[-+]?[0-9]+$/;
const RE_HEX = /^0x[0-9a-fA-F]+$/;
const RE_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const RE_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const RE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** A plain scalar's value under the core schema, in the `yaml` package's order of tags. */
export function resolvePlain(s: string): string | number | boolean | null {
  const c = s.charCodeAt(0);
  // Only these first characters can start a non-string: digits + - . ~ n N t T f F 0.
  if (!((c >= 0x30 && c <= 0x39) || c === 0x2b || c === DASH || c === 0x2e || c === 0x7e || c === 0x6e || c === 0x4e || c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46)) return s;
  if (RE_NULL.test(s)) return null;
  if (RE_BOOL.test(s)) return s.charCodeAt(0) === 0x74 || s.charCodeAt(0) === 0x54;
  if (RE_OCT.test(s)) return parseInt(s.substring(2), 8);
  if (RE_INT.test(s)) return parseInt(s, 10);
  if (RE_HEX.test(s)) return parseInt(s.substring(2), 16);
  if (RE_NAN.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity;
  if (RE_EXP.test(s) || RE_FLOAT.test(s)) return parseFloat(s);
  return s;
}

/** The one place every node of a tree read without positions shares (line 0: "not recorded"). */
export const NO_POS: Pos = Object.freeze({ line: 0, col: 0 });

class Reader {
  i = 0;
  line = 1;
  lineStart = 0;
  /** Keys seen so far, so that 100,000 `from:` keys are one string, not 100,000. */
  readonly keys = new Map<string, string>();
  constructor(
    readonly t: string,
    readonly positions: boolean,
  ) {}

  pos(): Pos {
    return this.positions ? { line: this.line, col: this.i - this.lineStart + 1 } : NO_POS;
  }

  c(at = this.i): number {
    return at < this.t.length ? this.t.charCodeAt(at) : -1;
  }

  /** End of content on this line: EOF, newline, or a comment after a space. */
  atLineEnd(): boolean {
    const c = this.c();
    return c === -1 || c === NL || c === HASH;
  }

  skipSpaces(): void {
    while (this.c() === SP) this.i++;
  }

  /** After a value: spaces, an optional comment, then the end of the line (or give up). */
  endLine(): void {
    this.skipSpaces();
    const c = this.c();
    if (c === HASH) {
      // '#' glued to what precedes it would be part of a value in YAML: not our case.
      if (this.i > this.lineStart && this.t.charCodeAt(this.i - 1) !== SP) throw GIVE_UP;
      while (this.c() !== NL && this.c() !== -1) this.i++;
    } else if (c !== NL && c !== -1) throw GIVE_UP;
  }

  /** Moves to the first content character of the next line that has content; returns its indent, or
   *  -1 at the end. Stays put when already in the middle of a line with content. */
  nextContent(): number {
    for (;;) {
      const c = this.c();
      if (c === -1) return -1;
      if (c === NL) {
        this.i++;
        this.line++;
        this.lineStart = this.i;
        continue;
      }
      if (this.i === this.lineStart) {
        while (this.c() === SP) this.i++;
        const d = this.c();
        if (d === NL || d === -1) continue;
        if (d === HASH) {
          while (this.c() !== NL && this.c() !== -1) this.i++;
          continue;
        }
        // Document markers and directives at column 1 are not ours.
        if (this.i === this.lineStart && (d === 0x25 || (d === DASH && this.t.startsWith('---', this.i)) || (d === 0x2e && this.t.startsWith('...', this.i)))) throw GIVE_UP;
        return this.i - this.lineStart;
      }
      return this.i - this.lineStart;
    }
  }

  // ---- block context ------------------------------------------------------------------------------

  /** A node starting at the current content character of a line whose indent is `ind`, inside a block
   *  whose indent is `parent` (-1 at the top). */
  blockNode(ind: number, parent: number, depth: number): Val {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    if (this.isSeqDash()) return this.blockSeq(ind, depth);
    return this.valueOrMap(ind, parent, depth);
  }

  isSeqDash(): boolean {
    if (this.c() !== DASH) return false;
    const n = this.c(this.i + 1);
    return n === SP || n === NL || n === -1;
  }

  blockSeq(ind: number, depth: number): SeqVal {
    const pos = this.pos();
    const items: Val[] = [];
    for (;;) {
      this.i++; // '-'
      this.skipSpaces();
      if (this.atLineEnd()) {
        this.endLine();
        const next = this.nextContent();
        if (next <= ind) throw GIVE_UP; // an empty item
        items.push(this.blockNode(next, ind, depth + 1));
      } else {
        if (this.isSeqDash()) throw GIVE_UP; // "- - x"
        items.push(this.valueOrMap(this.i - this.lineStart, ind, depth + 1));
      }
      const next = this.nextContent();
      if (next === ind && this.isSeqDash()) continue;
      if (next > ind) throw GIVE_UP;
      return { kind: 'seq', items, pos };
    }
  }

  /**
   * At column `col`: either a scalar or flow collection ending its line, or the first key of a block
   * mapping whose keys sit at `col`. `parent`: the enclosing block's indent; lines indented past it
   * would continue a scalar.
   */
  valueOrMap(col: number, parent: number, depth: number): Val {
    const start = this.i;
    const c = this.c();
    if (c === LBRACE || c === LBRACKET) {
      const v = this.flow(parent, depth);
      this.skipSpaces();
      if (this.c() === COLON) throw GIVE_UP; // a flow collection as a key
      this.endLine();
      return v;
    }
    const key = this.scalarOrKey(true);
    if (!key.isKey) {
      this.endLine();
      // A plain scalar continued on a more indented line is one multi-line scalar: not ours.
      if (key.plain) this.noContinuation(parent);
      return key.val;
    }
    this.i = start;
    return this.blockMap(col, depth);
  }

  /** Gives up when the next content line is indented past `ind` (a continuation of a plain scalar). */
  noContinuation(ind: number): void {
    const save = [this.i, this.line, this.lineStart] as const;
    const next = this.nextContent();
    [this.i, this.line, this.lineStart] = save;
    if (next > ind) throw GIVE_UP;
  }

  blockMap(ind: number, depth: number): MapVal {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    const pos = this.pos();
    const entries: MapEntry[] = [];
    for (;;) {
      if (this.isSeqDash()) throw GIVE_UP;
      const keyPos = this.pos();
      const keyStart = this.i;
      const k = this.scalarOrKey(true);
      if (!k.isKey || this.i - keyStart > 1024) throw GIVE_UP;
      const key = keyString(k.val, this.keys);
      for (let j = 0; j < entries.length; j++) if (entries[j]!.key === key) throw GIVE_UP; // duplicate: the full parser words it
      this.i++; // ':'
      this.skipSpaces();
      let value: Val;
      if (this.atLineEnd()) {
        this.endLine();
        const next = this.nextContent();
        if (next > ind) value = this.blockNode(next, ind, depth + 1);
        else if (next === ind && this.isSeqDash()) value = this.blockSeq(ind, depth + 1);
        else throw GIVE_UP; // an empty value
      } else {
        const c = this.c();
        if (c === LBRACE || c === LBRACKET) {
          value = this.flow(ind, depth + 1);
          this.endLine();
        } else {
          const v = this.scalarOrKey(false);
          if (v.isKey) throw GIVE_UP; // "a: b: c"
          this.endLine();
          if (v.plain) this.noContinuation(ind);
          value = v.val;
        }
      }
      entries.push({ key, keyPos, value });
      const next = this.nextContent();
      if (next === ind) continue;
      if (next > ind) throw GIVE_UP;
      return { kind: 'map', entries, pos };
    }
  }

  /**
   * A scalar at the cursor, in block context (`block`) or flow context; tells whether a `:` that makes
   * it a mapping key follows (the cursor is then left on the ':').
   */
  scalarOrKey(block: boolean): { val: ScalarVal; isKey: boolean; plain: boolean } {
    const pos = this.pos();
    const c = this.c();
    let value: string | number | boolean | null;
    let plain = false;
    if (c === DQUOTE) value = this.doubleQuoted();
    else if (c === SQUOTE) value = this.singleQuoted();
    else {
      value = this.plainScalar(block);
      plain = true;
    }
    const val: ScalarVal = { kind: 'scalar', value, pos };
    if (plain) {
      // plainScalar stopped at ':' only when it is followed by a space, the line's end (or, in flow
      // context, a flow indicator).
      return { val, isKey: this.c() === COLON, plain };
    }
    // A quoted key may be followed directly by ':' (JSON style); spaces before it are allowed too.
    const save = this.i;
    this.skipSpaces();
    if (this.c() === COLON) {
      const n = this.c(this.i + 1);
      if (n === SP || n === NL || n === -1 || !block) return { val, isKey: true, plain };
    }
    this.i = save;
    return { val, isKey: false, plain };
  }

  plainScalar(block: boolean): string | number | boolean | null {
    const t = this.t;
    const start = this.i;
    const c0 = this.c();
    if (c0 === -1 || c0 === NL || c0 === HASH || c0 === SP || badPlainStart(c0) || isFlowIndicator(c0)) throw GIVE_UP;
    if (c0 === COLON) throw GIVE_UP;
    if (c0 === DASH) {
      // "-" starts a plain scalar only when a safe character follows (not a space, nor in flow context a
      // flow indicator).
      const c1 = this.c(start + 1);
      if (c1 === SP || c1 === NL || c1 === -1 || c1 === HASH || (!block && isFlowIndicator(c1))) throw GIVE_UP;
    }
    let i = start;
    let end = start; // one past the last non-space character
    const n = t.length;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c === NL) break;
      if (c === 0x0d || c === 0x09) throw GIVE_UP;
      if (c === COLON) {
        const d = i + 1 < n ? t.charCodeAt(i + 1) : -1;
        if (d === SP || d === NL || d === -1 || (!block && isFlowIndicator(d))) break;
      } else if (c === HASH) {
        if (t.charCodeAt(i - 1) === SP) break;
      } else if (!block && isFlowIndicator(c)) break;
      i++;
      if (c !== SP) end = i;
    }
    // On the ':' of a key (spaces before it belong to no one), else just after the text.
    this.i = i < n && t.charCodeAt(i) === COLON ? i : end;
    return resolvePlain(t.substring(start, end));
  }

  doubleQuoted(): string {
    const t = this.t;
    let i = this.i + 1;
    let out = '';
    let from = i;
    for (;;) {
      if (i >= t.length) throw GIVE_UP;
      const c = t.charCodeAt(i);
      if (c === DQUOTE) break;
      if (c === NL || c === 0x0d || c === 0x09) throw GIVE_UP;
      if (c === BACKSLASH) {
        out += t.substring(from, i);
        const e = t[i + 1];
        let hexLen = 0;
        switch (e) {
          case '0': out += '\0'; break;
          case 'a': out += '\x07'; break;
          case 'b': out += '\b'; break;
          case 't': out += '\t'; break;
          case 'n': out += '\n'; break;
          case 'v': out += '\v'; break;
          case 'f': out += '\f'; break;
          case 'r': out += '\r'; break;
          case 'e': out += '\x1b'; break;
          case ' ': out += ' '; break;
          case '"': out += '"'; break;
          case '/': out += '/'; break;
          case '\\': out += '\\'; break;
          case 'N': out += '\u0085'; break;
          case '_': out += '\u00a0'; break;
          case 'L': out += '\u2028'; break;
          case 'P': out += '\u2029'; break;
          case 'x': hexLen = 2; break;
          case 'u': hexLen = 4; break;
          case 'U': hexLen = 8; break;
          default: throw GIVE_UP;
        }
        if (hexLen) {
          const hex = t.substr(i + 2, hexLen);
          if (hex.length !== hexLen || !/^[0-9a-fA-F]+$/.test(hex)) throw GIVE_UP;
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff) throw GIVE_UP;
          out += String.fromCodePoint(cp);
        }
        i += 2 + hexLen;
        from = i;
        continue;
      }
      i++;
    }
    out += t.substring(from, i);
    this.i = i + 1;
    return out;
  }

  singleQuoted(): string {
    const t = this.t;
    let i = this.i + 1;
    let out = '';
    let from = i;
    for (;;) {
      if (i >= t.length) throw GIVE_UP;
      const c = t.charCodeAt(i);
      if (c === NL || c === 0x0d || c === 0x09) throw GIVE_UP;
      if (c === SQUOTE) {
        if (t.charCodeAt(i + 1) === SQUOTE) {
          out += t.substring(from, i + 1);
          i += 2;
          from = i;
          continue;
        }
        break;
      }
      i++;
    }
    out += t.substring(from, i);
    this.i = i + 1;
    return out;
  }

  // ---- flow context -------------------------------------------------------------------------------

  /** Spaces, newlines and comments inside a flow collection; continuation lines must be indented past
   *  the enclosing block's `ind` (the `yaml` package refuses them otherwise). */
  flowSpace(ind: number): void {
    for (;;) {
      const c = this.c();
      if (c === SP) this.i++;
      else if (c === NL) {
        this.i++;
        this.line++;
        this.lineStart = this.i;
        while (this.c() === SP) this.i++;
        const d = this.c();
        const at = this.i - this.lineStart;
        // Content must be indented past the block; a closing bracket may sit at the block's indent.
        if (d !== NL && d !== -1 && d !== HASH && (at < ind || (at === ind && d !== RBRACE && d !== RBRACKET))) throw GIVE_UP;
      } else if (c === HASH) {
        if (this.i > this.lineStart && this.t.charCodeAt(this.i - 1) !== SP) throw GIVE_UP;
        while (this.c() !== NL && this.c() !== -1) this.i++;
      } else if (c === 0x09 || c === 0x0d) throw GIVE_UP;
      else return;
    }
  }

  flow(ind: number, depth: number): Val {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    const pos = this.pos();
    const open = this.c();
    this.i++;
    const close = open === LBRACE ? RBRACE : RBRACKET;
    const entries: MapEntry[] = [];
    const items: Val[] = [];
    this.flowSpace(ind);
    let first = true;
    for (;;) {
      if (this.c() === close) break;
      if (!first) {
        if (this.c() !== COMMA) throw GIVE_UP;
        this.i++;
        this.flowSpace(ind);
        if (this.c() === close) break; // a trailing comma
      }
      first = false;
      if (open === LBRACE) {
        const keyPos = this.pos();
        const c = this.c();
        if (c === LBRACE || c === LBRACKET || c === -1) throw GIVE_UP;
        const keyStart = this.i;
        const k = this.scalarOrKey(false);
        if (!k.isKey || this.i - keyStart > 1024) throw GIVE_UP; // a key without a value, or too long
        const key = keyString(k.val, this.keys);
        for (let j = 0; j < entries.length; j++) if (entries[j]!.key === key) throw GIVE_UP;
        this.i++; // ':'
        this.flowSpace(ind);
        const vc = this.c();
        if (vc === COMMA || vc === RBRACE || vc === -1) throw GIVE_UP; // an empty value
        entries.push({ key, keyPos, value: this.flowValue(ind, depth) });
      } else {
        const vc = this.c();
        if (vc === COMMA || vc === RBRACKET || vc === -1) throw GIVE_UP;
        items.push(this.flowValue(ind, depth));
        if (this.c() === COLON) throw GIVE_UP; // a single-pair mapping inside a sequence
      }
      this.flowSpace(ind);
    }
    this.i++; // close
    return open === LBRACE ? { kind: 'map', entries, pos } : { kind: 'seq', items, pos };
  }

  flowValue(ind: number, depth: number): Val {
    const c = this.c();
    if (c === LBRACE || c === LBRACKET) return this.flow(ind, depth + 1);
    const v = this.scalarOrKey(false);
    if (v.isKey) throw GIVE_UP;
    if (v.plain) {
      // A plain scalar that a newline interrupts may continue on the next line: not ours.
      const save = [this.i, this.line, this.lineStart] as const;
      this.skipSpaces();
      const d = this.c();
      if (d === NL || d === HASH) {
        this.flowSpace(ind);
        const e = this.c();
        if (e !== COMMA && e !== RBRACE && e !== RBRACKET) throw GIVE_UP;
      }
      [this.i, this.line, this.lineStart] = save;
    }
    return v.val;
  }
}

/** A key as ./tree.ts makes it: String(value) of a non-null scalar. */
function keyString(v: ScalarVal, keys: Map<string, string>): string {
  if (v.value === null) throw GIVE_UP;
  const k = String(v.value);
  const known = keys.get(k);
  if (known !== undefined) return known;
  keys.set(k, k);
  return k;
}

/**
 * The tree of `text`, or null when the text is outside the subset this reader covers (the caller then
 * uses the full parser, which gives the same tree or the error). Without `positions` every node shares
 * NO_POS: a third less memory and garbage for big files, for callers that read the file again with
 * positions when they have an error to place.
 */
export function fastParseTree(text: string, positions = true): Val | null {
  if (text.includes('\t') || text.includes('\r')) return null;
  const r = new Reader(text, positions);
  try {
    const ind = r.nextContent();
    if (ind < 0) return null;
    const v = r.blockNode(ind, -1, 0);
    if (r.nextContent() !== -1) return null;
    return v;
  } catch (e) {
    if (e === GIVE_UP) return null;
    // A reader bug must never decide for the file: the full parser is the reference.
    if (e instanceof RangeError) return null;
    throw e;
  }
}
