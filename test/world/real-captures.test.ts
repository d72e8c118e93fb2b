// The three Docker worlds recorded on a real Linux 6.18 host (fixtures/real-captures), run from their
// own scenario.yaml, match the real captures on every interface once what differs between two honest
// runs is normalised (MACs the scenario leaves unset, ephemeral ports, ICMP ids, ISNs, TS values, IP
// ids) and IGMP and trailing ARP refreshes are left out — the README beside the captures says why.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture, readCaptureFile } from '../../src/capture/reader.js';
import { captureStreams, compareCaptures, formatReport, type CaptureSide } from '../../src/compare/index.js';
import { compilePlan } from '../../src/plan/compile.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { CaptureSet } from '../../src/world/captures.js';
import { World } from '../../src/world/world.js';

const REAL = 'fixtures/real-captures';

export function emulate(scenarioFile: string): CaptureSide {
  const plan = compilePlan(loadScenarioFile(scenarioFile));
  const world = World.fromPlan(plan);
  const caps = CaptureSet.memory();
  world.capture(caps, World.planCaptures(plan));
  world.run();
  return { name: 'emulator', streams: caps.names().flatMap((n) => captureStreams(`${n}.pcap`, readCapture(caps.bytes(n), n))) };
}

export function realSide(dir: string): CaptureSide {
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap'));
  return { name: dir, streams: files.flatMap((f) => captureStreams(f, readCaptureFile(join(dir, f)))) };
}

describe.each(['nat-basic', 'publish', 'bridge-learning'])('%s: emulator against the real capture', (name) => {
  it('matches on every interface the real host captured', () => {
    const real = realSide(join(REAL, name));
    const emu = emulate(join(REAL, name, 'scenario.yaml'));
    const keys = real.streams.map((s) => s.key);
    // every interface the real host captured exists in the emulator's output too
    for (const k of keys) expect(emu.streams.map((s) => s.key)).toContain(k);
    const report = compareCaptures(emu, real, { pairs: keys.map((k) => [k, k]) });
    if (report.verdict !== 'match') console.log(formatReport(report));
    const judged = report.files.filter((f) => keys.includes(f.key));
    expect(judged.map((f) => `${f.key}: ${f.verdict}`).sort()).toEqual(keys.map((k) => `${k}: match`).sort());
    // and the comparison looked at something
    for (const f of judged) expect(f.framesAligned, f.key).toBeGreaterThan(0);
  });
});

describe('the comparison is able to fail here', () => {
  it('an emulator run of another scenario does not match nat-basic', () => {
    const real = realSide(join(REAL, 'nat-basic'));
    const emu = emulate(join(REAL, 'publish', 'scenario.yaml'));
    const report = compareCaptures(emu, real, { pairs: [['dh.eth0', 'dh.eth0']] });
    expect(report.verdict).toBe('differ');
  });
});
