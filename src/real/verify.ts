// `wirebox verify`: one plan, run by the emulator (in memory) and on the real kernel (`runReal`), and
// every interface's captures compared structurally — the loop that tells a user whether the emulator's
// output can stand in for their host's.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture, readCaptureFile } from '../capture/reader.js';
import { captureStreams, compareCaptures, type CaptureSide, type CompareOptions, type CompareReport } from '../compare/index.js';
import type { WorldPlan } from '../plan/plan.js';
import { CaptureSet } from '../world/captures.js';
import { World } from '../world/world.js';
import { runReal } from './run.js';

/** The emulator's captures of `plan`, in memory. */
export function emulatedSide(plan: WorldPlan): CaptureSide {
  const world = World.fromPlan(plan);
  const caps = CaptureSet.memory();
  world.capture(caps, World.planCaptures(plan));
  world.run();
  return { name: 'emulator', streams: caps.names().flatMap((n) => captureStreams(`${n}.pcap`, readCapture(caps.bytes(n), n))) };
}

/** Every `.pcap` of a folder as one side. */
export function folderSide(dir: string, name = dir): CaptureSide {
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort();
  return { name, streams: files.flatMap((f) => captureStreams(f, readCaptureFile(join(dir, f)))) };
}

export interface VerifyResult {
  report: CompareReport;
  realLogs: string[];
}

/** Runs `plan` both ways and compares them; `keepReal` keeps the real captures in that folder. */
export async function verifyPlan(plan: WorldPlan, opts: { compare?: CompareOptions; keepReal?: string; settleMs?: number; log?: (l: string) => void } = {}): Promise<VerifyResult> {
  const emu = emulatedSide(plan);
  const dir = opts.keepReal ?? mkdtempSync(join(tmpdir(), 'wirebox-verify-'));
  try {
    const res = await runReal(plan, { outDir: dir, settleMs: opts.settleMs, log: opts.log });
    const real = folderSide(dir, 'real kernel');
    const report = compareCaptures(emu, real, opts.compare ?? {});
    return { report, realLogs: res.logs };
  } finally {
    if (opts.keepReal === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
