// Helpers for the compare tests: read a fixture's records, edit frames in copies, write them back as
// pcap (or pcapng) files in a temporary folder.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapngWriter, PcapWriter, readCaptureFile } from '../../src/capture/index.js';
import { decodeFrame, type DecodedFrame } from '../../src/wire/frame.js';

export const FIXTURES = new URL('../../fixtures/real-captures/', import.meta.url).pathname;
export const SCENARIOS = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

export interface Rec {
  timeNs: number;
  data: Uint8Array;
}

export function fixture(scenario: string, file: string): string {
  return join(FIXTURES, scenario, file);
}

/** The records of a capture, copied, times relative to the first. */
export function records(path: string): Rec[] {
  const c = readCaptureFile(path);
  const t0 = c.records[0]?.timeNs ?? 0n;
  return c.records.map((r) => ({ timeNs: Number(r.timeNs - t0), data: r.data.slice() }));
}

export function writePcap(path: string, recs: Rec[]): string {
  const w = PcapWriter.create(path);
  for (const r of recs) w.record(r.timeNs, r.data, 0, r.data.length);
  w.close();
  return path;
}

export function writePcapng(path: string, ifaces: { name: string; recs: Rec[] }[]): string {
  const w = PcapngWriter.create(path);
  const all: { i: number; r: Rec }[] = [];
  ifaces.forEach((f) => {
    const i = w.addInterface({ name: f.name });
    for (const r of f.recs) all.push({ i, r });
  });
  all.sort((x, y) => x.r.timeNs - y.r.timeNs);
  for (const { i, r } of all) w.packet(i, r.timeNs, r.data, 0, r.data.length);
  w.close();
  return path;
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `wirebox-compare-${label}-`));
}

/** A copy of a fixture folder's pcaps, each passed through `edit(fileName, records)`. */
export function copyScenario(scenario: string, dest: string, edit: (file: string, recs: Rec[]) => Rec[] = (_, r) => r): string {
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(join(FIXTURES, scenario))) {
    if (!f.endsWith('.pcap')) {
      copyFileSync(join(FIXTURES, scenario, f), join(dest, f));
      continue;
    }
    writePcap(join(dest, f), edit(f, records(join(FIXTURES, scenario, f))));
  }
  return dest;
}

/** Calls `fn` with each frame decoded (on the record's own bytes, so writes through `r.data` land). */
export function eachFrame(recs: Rec[], fn: (f: DecodedFrame, r: Rec, index: number) => void): Rec[] {
  recs.forEach((r, i) => fn(decodeFrame(r.data, 0, r.data.length), r, i));
  return recs;
}

export function dv(r: Rec): DataView {
  return new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
}

/** Offset of the TCP option of `kind` in a frame, or -1. */
export function tcpOptionOffset(f: DecodedFrame, kind: number): number {
  const t = f.transport;
  if (t === null || t.kind !== 'tcp') return -1;
  let at = t.offset + 20;
  const end = t.offset + t.headerLen;
  while (at < end) {
    const k = f.bytes[at]!;
    if (k === 0) return -1;
    if (k === 1) {
      at++;
      continue;
    }
    if (k === kind) return at;
    at += f.bytes[at + 1]!;
  }
  return -1;
}

export function setMac(r: Rec, off: number, mac: number): void {
  for (let i = 5; i >= 0; i--) {
    r.data[off + i] = mac % 256;
    mac = Math.floor(mac / 256);
  }
}

export function getMac(r: Rec, off: number): number {
  let m = 0;
  for (let i = 0; i < 6; i++) m = m * 256 + r.data[off + i]!;
  return m;
}
