// Running a scenario written inline, with its captures kept in memory, for the workload tests.

import { readCapture } from '../../src/capture/reader.js';
import { compilePlan } from '../../src/plan/compile.js';
import type { WorldPlan } from '../../src/plan/plan.js';
import { parseScenario } from '../../src/scenario/load.js';
import { decodeFrame, type DecodedFrame } from '../../src/wire/frame.js';
import { CaptureSet } from '../../src/world/captures.js';
import { World, type RunSummary } from '../../src/world/world.js';

export function runYaml(yaml: string, opts: { seed?: number } = {}): { plan: WorldPlan; world: World; summary: RunSummary; caps: CaptureSet } {
  const s = parseScenario(yaml, 'test.yaml');
  if (opts.seed !== undefined) s.seed = opts.seed;
  const plan = compilePlan(s);
  const world = World.fromPlan(plan);
  const caps = CaptureSet.memory();
  world.capture(caps, World.planCaptures(plan));
  return { plan, world, summary: world.run(), caps };
}

export function frames(caps: CaptureSet, name: string): DecodedFrame[] {
  return readCapture(caps.bytes(name), name).records.map((r) => decodeFrame(r.data, 0, r.data.length));
}

/** Two hosts on one cable: a client 192.0.2.2 and a server 192.0.2.1 with `services`. */
export function lan(services: string, traffic: string, extra = ''): string {
  return `version: 1
name: t
wires: { lan: {${extra}} }
hosts:
  server:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.1/24, mac: "02:00:00:00:00:01" } }
    services: ${services}
  client:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.2/24, mac: "02:00:00:00:00:02" } }
traffic:
${traffic}
`;
}
