// A small declarative schema language for the scenario file, and its validator. The schema says which
// keys a mapping has (required or optional), what each value must be (type, enum, pattern or any test),
// and how variants are told apart (by which key is present, as `{ tcp: … }` vs `{ udp: … }`, or by the
// value of a key, as `driver:` or `mode:`). Validation walks the position-keeping tree (./tree.ts) and
// reports every mismatch with its place and key path, in the form
//   hosts.dh.interfaces.eth0.ip: expected an IPv4 address with prefix length like 192.0.2.1/24, got "…"
// Cross-key rules of one mapping go in an object's `check`; rules that span the file are in ./build.ts.

import type { MapVal, Pos, Val } from './tree.js';
import { rangeProblem } from './values.js';

export type ScalarType = 'string' | 'number' | 'boolean';

export interface ScalarSchema {
  t: 'scalar';
  types: ScalarType[];
  /** What the value should be, for "expected …": e.g. "a port number 1-65535". */
  expect: string;
  /** Extra test on a value of an accepted type; false gives the "expected …, got …" message. */
  test?: (v: string | number | boolean) => boolean;
  /** A more specific problem with a value that passed `test` (a whole message), or null. */
  problem?: (v: string | number | boolean) => string | null;
}

export interface Field {
  schema: Schema;
  required: boolean;
}

export interface ObjectSchema {
  t: 'object';
  /** Named in messages: "a tcp traffic entry", "an interface". */
  what: string;
  fields: Record<string, Field>;
  /** Rules between keys of this mapping (run only when its keys passed). */
  check?: (m: MapVal, path: string, report: Report) => void;
}

export interface MapSchema {
  t: 'map';
  /** e.g. "a mapping of host names to hosts". */
  expect: string;
  /** Problem with a key (a message), or null. */
  key: (k: string) => string | null;
  value: Schema;
}

export interface ListSchema {
  t: 'list';
  expect: string;
  item: Schema;
}

/** One item, or a list of items (as `ip: A/len` or `ip: [A/len, B/len]`). */
export interface OneOrListSchema {
  t: 'oneOrList';
  item: Schema;
}

/** A mapping whose kind is the one of `variants`' keys it contains (exactly one). */
export interface ByKeySchema {
  t: 'byKey';
  what: string;
  variants: Record<string, ObjectSchema>;
}

/** A mapping whose kind is the value of `key` (or `dflt` when absent). */
export interface ByValueSchema {
  t: 'byValue';
  what: string;
  key: string;
  dflt: string | null;
  variants: Record<string, ObjectSchema>;
}

/** A scalar or a mapping, told apart by what was written (as `send: "text"` or `send: { size: 1MB }`). */
export interface ScalarOrMapSchema {
  t: 'scalarOrMap';
  scalar: ScalarSchema;
  map: Schema;
}

export type Schema = ScalarSchema | ObjectSchema | MapSchema | ListSchema | OneOrListSchema | ByKeySchema | ByValueSchema | ScalarOrMapSchema;

export type Report = (pos: Pos, path: string, message: string) => void;

// ---- constructors ------------------------------------------------------------------------------------

export const req = (schema: Schema): Field => ({ schema, required: true });
export const opt = (schema: Schema): Field => ({ schema, required: false });

export function str(expect: string, test?: (s: string) => boolean, problem?: (s: string) => string | null): ScalarSchema {
  return {
    t: 'scalar',
    types: ['string'],
    expect,
    ...(test ? { test: (v) => test(v as string) } : {}),
    ...(problem ? { problem: (v) => problem(v as string) } : {}),
  };
}

export function int(min: number, max: number, expect?: string): ScalarSchema {
  const e = expect ?? `an integer ${min}-${max}`;
  return {
    t: 'scalar',
    types: ['number'],
    expect: e,
    // Out of range or not whole: its own message, naming the bound ("got 70000 (too large: at most 65535)").
    problem: (v) => {
      const p = rangeProblem(v as number, min, max);
      return p === null ? null : `expected ${e}, got ${v} (${p})`;
    },
  };
}

export const bool = (): ScalarSchema => ({ t: 'scalar', types: ['boolean'], expect: 'true or false' });

export function oneOf(values: (string | number)[]): ScalarSchema {
  const types = [...new Set(values.map((v) => (typeof v === 'number' ? 'number' : 'string')))] as ScalarType[];
  return {
    t: 'scalar',
    types,
    expect: values.length === 1 ? String(values[0]) : `one of ${values.join(', ')}`,
    test: (v) => values.includes(v as string | number),
  };
}

export function custom(types: ScalarType[], expect: string, test: (v: string | number | boolean) => boolean): ScalarSchema {
  return { t: 'scalar', types, expect, test };
}

/** `s`, but a value its test refuses gets `why`'s message when `why` can say more than "expected …"
 *  (a duration too long, a prefix length above 32). */
export function explained(s: ScalarSchema, why: (v: string | number | boolean) => string | null): ScalarSchema {
  const test = s.test ?? (() => true);
  const problem = s.problem ?? (() => null);
  return { ...s, test: (v) => test(v) || why(v) !== null, problem: (v) => (test(v) ? problem(v) : why(v)) };
}

export function scalarOrMap(scalar: ScalarSchema, map: Schema): ScalarOrMapSchema {
  return { t: 'scalarOrMap', scalar, map };
}

export function obj(what: string, fields: Record<string, Field>, check?: ObjectSchema['check']): ObjectSchema {
  return { t: 'object', what, fields, ...(check ? { check } : {}) };
}

export function mapOf(expect: string, key: (k: string) => string | null, value: Schema): MapSchema {
  return { t: 'map', expect, key, value };
}

export function listOf(expect: string, item: Schema): ListSchema {
  return { t: 'list', expect, item };
}

export function oneOrList(item: Schema): OneOrListSchema {
  return { t: 'oneOrList', item };
}

export function byKey(what: string, variants: Record<string, ObjectSchema>): ByKeySchema {
  return { t: 'byKey', what, variants };
}

export function byValue(what: string, key: string, dflt: string | null, variants: Record<string, ObjectSchema>): ByValueSchema {
  return { t: 'byValue', what, key, dflt, variants };
}

// ---- validation --------------------------------------------------------------------------------------

/** How a value is shown after "got". */
export function describeVal(v: Val): string {
  if (v.kind === 'map') return 'a mapping';
  if (v.kind === 'seq') return 'a list';
  if (v.value === null) return 'nothing (null)';
  if (typeof v.value === 'string') return quoteShort(v.value);
  return String(v.value);
}

/** A string quoted for a message, cut to its first 60 characters: an error must stay one readable
 *  line even when the value is a pasted blob. */
export function quoteShort(s: string): string {
  if (s.length <= 60) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, 40))}… (${s.length} characters)`;
}

/** `path.key`, or `path["key"]` when the key is not a plain name (so the path stays readable). */
export function keyPath(path: string, key: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(key) || key.includes('..')) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}
const join = keyPath;

function listWords(keys: string[]): string {
  return keys.join(', ');
}

/** Validate `v` against `s`, reporting every problem. Returns whether `v` passed. */
export function validate(s: Schema, v: Val, path: string, report: Report): boolean {
  switch (s.t) {
    case 'scalar': {
      if (v.kind !== 'scalar' || v.value === null || !s.types.includes(typeof v.value as ScalarType)) {
        report(v.pos, path, `expected ${s.expect}, got ${describeVal(v)}`);
        return false;
      }
      if (s.test && !s.test(v.value)) {
        report(v.pos, path, `expected ${s.expect}, got ${describeVal(v)}`);
        return false;
      }
      const p = s.problem?.(v.value) ?? null;
      if (p !== null) {
        report(v.pos, path, p);
        return false;
      }
      return true;
    }
    case 'object':
      return validateObject(s, v, path, report, null);
    case 'scalarOrMap':
      return validate(v.kind === 'map' ? s.map : s.scalar, v, path, report);
    case 'map': {
      if (v.kind !== 'map') {
        report(v.pos, path, `expected ${s.expect}, got ${describeVal(v)}`);
        return false;
      }
      let ok = true;
      for (const e of v.entries) {
        const p = s.key(e.key);
        if (p !== null) {
          report(e.keyPos, join(path, e.key), p);
          ok = false;
        }
        ok = validate(s.value, e.value, join(path, e.key), report) && ok;
      }
      return ok;
    }
    case 'list': {
      if (v.kind !== 'seq') {
        report(v.pos, path, `expected ${s.expect}, got ${describeVal(v)}`);
        return false;
      }
      let ok = true;
      v.items.forEach((it, i) => {
        ok = validate(s.item, it, `${path}[${i}]`, report) && ok;
      });
      return ok;
    }
    case 'oneOrList': {
      if (v.kind !== 'seq') return validate(s.item, v, path, report);
      let ok = true;
      v.items.forEach((it, i) => {
        ok = validate(s.item, it, `${path}[${i}]`, report) && ok;
      });
      return ok;
    }
    case 'byKey': {
      const names = Object.keys(s.variants);
      if (v.kind !== 'map') {
        report(v.pos, path, `expected ${s.what} (a mapping with one of ${listWords(names)}), got ${describeVal(v)}`);
        return false;
      }
      const present = v.entries.filter((e) => names.includes(e.key));
      if (present.length === 0) {
        report(v.pos, path, `expected ${s.what} with exactly one of ${listWords(names)}, got none of them`);
        return false;
      }
      if (present.length > 1) {
        report(
          present[1]!.keyPos,
          join(path, present[1]!.key),
          `${s.what} takes exactly one of ${listWords(names)}, got both ${present[0]!.key} and ${present[1]!.key}`,
        );
        return false;
      }
      return validateObject(s.variants[present[0]!.key]!, v, path, report, null);
    }
    case 'byValue': {
      const names = Object.keys(s.variants);
      if (v.kind !== 'map') {
        report(v.pos, path, `expected ${s.what} (a mapping), got ${describeVal(v)}`);
        return false;
      }
      const e = v.entries.find((x) => x.key === s.key);
      let kind: string;
      if (!e) {
        if (s.dflt === null) {
          report(v.pos, path, `missing required key "${s.key}" (one of ${listWords(names)})`);
          return false;
        }
        kind = s.dflt;
      } else {
        const kv = e.value;
        if (kv.kind !== 'scalar' || typeof kv.value !== 'string' || !names.includes(kv.value)) {
          report(kv.pos, join(path, s.key), `expected one of ${listWords(names)}, got ${describeVal(kv)}`);
          return false;
        }
        kind = kv.value;
      }
      return validateObject(s.variants[kind]!, v, path, report, s.key);
    }
  }
}

function validateObject(s: ObjectSchema, v: Val, path: string, report: Report, extraKey: string | null): boolean {
  if (v.kind !== 'map') {
    report(v.pos, path, `expected ${s.what} (a mapping), got ${describeVal(v)}`);
    return false;
  }
  let ok = true;
  const known = Object.keys(s.fields);
  for (const e of v.entries) {
    if (e.key === extraKey) continue;
    const f = s.fields[e.key];
    if (!f || !Object.prototype.hasOwnProperty.call(s.fields, e.key)) {
      report(e.keyPos, join(path, e.key), `unknown key "${e.key}" in ${s.what} (known keys: ${listWords(known)})`);
      ok = false;
      continue;
    }
    ok = validate(f.schema, e.value, join(path, e.key), report) && ok;
  }
  for (const [k, f] of Object.entries(s.fields)) {
    if (f.required && !v.entries.some((e) => e.key === k)) {
      report(v.pos, path, `missing required key "${k}" in ${s.what}`);
      ok = false;
    }
  }
  if (ok && s.check) {
    let checkOk = true;
    s.check(v, path, (pos, p, m) => {
      checkOk = false;
      report(pos, p, m);
    });
    ok = checkOk;
  }
  return ok;
}
