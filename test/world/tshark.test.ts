// Every capture every example scenario writes (and the real-capture scenarios, run by the emulator)
// opens cleanly in Wireshark: tshark with IPv4/TCP/UDP checksum validation on finds no malformed frame,
// no bad checksum and no expert error, in pcap and in pcapng.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../src/cli/common.js';
import { runPlan } from '../../src/cli/run.js';
import { toolAvailable, tsharkFrames, tsharkProblems } from '../capture/tools.js';

const scenarios = [
  ...readdirSync('fixtures/scenarios').filter((f) => f.endsWith('.yaml')).map((f) => join('fixtures/scenarios', f)),
  ...['nat-basic', 'publish', 'bridge-learning'].map((n) => join('fixtures/real-captures', n, 'scenario.yaml')),
];

describe.runIf(toolAvailable('tshark'))('tshark accepts every capture the examples write', () => {
  for (const file of scenarios) {
    it(file, () => {
      const out = mkdtempSync(join(tmpdir(), 'wirebox-tshark-'));
      const { files } = runPlan(loadPlan(file), out, {});
      expect(files.length).toBeGreaterThan(0);
      let frames = 0;
      for (const f of files) {
        expect(tsharkProblems(f), f).toEqual([]);
        frames += tsharkFrames(f).length;
      }
      expect(frames).toBeGreaterThan(0);
    });
  }

  it('pcapng output of a whole world, interfaces named', () => {
    const out = mkdtempSync(join(tmpdir(), 'wirebox-tshark-'));
    const { files } = runPlan(loadPlan('fixtures/scenarios/docker-publish.yaml'), out, { pcapng: true });
    expect(files).toHaveLength(1);
    expect(tsharkProblems(files[0]!)).toEqual([]);
    const names = new Set(tsharkFrames(files[0]!).map((f) => f.ifName));
    expect(names).toEqual(new Set(['client.eth0', 'dh.eth0', 'dh.docker0', 'web.eth0', [...names].find((n) => n.startsWith('dh.veth'))!]));
  });
});
