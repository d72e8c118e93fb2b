// Shared test helpers for the wire layer: hex literals, the one round-trip check every Repr goes
// through (dns-packet style), and the fuzz harness.

import { expect } from 'vitest';
import { WireError } from '../../src/wire/errors.js';

/** "4500 0054 …" → bytes (whitespace ignored). */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex literal: ${s}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** The error a call threw, asserting it is a WireError. */
export function wireErrorOf(fn: () => unknown): WireError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof WireError)) throw new Error(`expected a WireError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected a WireError, nothing was thrown');
}

export interface Codec<R> {
  parse(bytes: Uint8Array, off: number, len: number): R;
  emit(repr: R, bytes: Uint8Array, off: number): number;
  bufferLen(repr: R): number;
}

/**
 * Emit `repr` into a buffer filled with 0xa5 (a forgotten field shows) at an even and at an odd offset;
 * check: emit returns bufferLen, nothing outside [off, off+len) was touched, parse gives back an equal
 * Repr, and emitting that again gives the same bytes. Returns the emitted bytes.
 */
export function roundTrip<R>(codec: Codec<R>, repr: R, normalise: (r: R) => unknown = (r) => r): Uint8Array {
  const n = codec.bufferLen(repr);
  let first: Uint8Array | null = null;
  for (const off of [0, 1, 6, 13]) {
    const buf = new Uint8Array(off + n + 8).fill(0xa5);
    const written = codec.emit(repr, buf, off);
    expect(written).toBe(n);
    for (let i = 0; i < off; i++) expect(buf[i]).toBe(0xa5);
    for (let i = off + n; i < buf.length; i++) expect(buf[i]).toBe(0xa5);
    const bytes = buf.slice(off, off + n);
    if (first === null) first = bytes;
    else expect(toHex(bytes)).toBe(toHex(first));
    const back = codec.parse(buf, off, n);
    expect(normalise(back)).toEqual(normalise(repr));
    const again = new Uint8Array(n + 3).fill(0x5a);
    codec.emit(back, again, 3);
    expect(toHex(again.subarray(3))).toBe(toHex(bytes));
  }
  return first!;
}

/**
 * Parse `data` twice: alone in an exact-size buffer, and at an odd offset inside a larger buffer whose
 * other bytes are `fill`. Both must agree (a read past off+len would see different bytes) and any
 * exception must be a WireError. Returns the outcome of the exact-size parse.
 */
export function parseBounded<R>(parse: (b: Uint8Array, off: number, len: number) => R, data: Uint8Array, fill: number): R | WireError {
  const run = (b: Uint8Array, off: number): R | WireError => {
    try {
      return parse(b, off, data.length);
    } catch (e) {
      if (e instanceof WireError) return e;
      throw e;
    }
  };
  const exact = run(data.slice(), 0);
  const big = new Uint8Array(data.length + 64).fill(fill);
  big.set(data, 33);
  const inside = run(big, 33);
  if (exact instanceof WireError) {
    expect(inside).toBeInstanceOf(WireError);
    expect((inside as WireError).code).toBe(exact.code);
    expect((inside as WireError).offset - 33).toBe(exact.offset);
  } else {
    expect(inside).not.toBeInstanceOf(WireError);
    expect(inside).toEqual(exact);
  }
  return exact;
}
