// `wirebox trace [FILE] [--flow SELECTOR] [--json]`: run a scenario with the per-packet trace on
// (src/trace) and print, per flow, the step table of the first packet of each direction and of every
// packet that went another way (ICMP errors, retransmissions, drops): stage, namespace and interface,
// hook/chain/rule, what changed.

import type { Command } from 'commander';
import { World } from '../world/world.js';
import { buildFlows } from '../trace/flows.js';
import { flowsJson, formatFlows, selectFlows } from '../trace/format.js';
import type { WorldPlan } from '../plan/plan.js';
import type { TraceRecorder } from '../trace/recorder.js';
import type { RunSummary } from '../world/world.js';
import { UsageError, guard, loadPlan } from './common.js';

/** Runs `plan` in memory with the trace recorded. */
export function tracePlan(plan: WorldPlan): { world: World; rec: TraceRecorder; summary: RunSummary } {
  const world = World.fromPlan(plan);
  const rec = world.trace();
  const summary = world.run();
  return { world, rec, summary };
}

export function register(program: Command): void {
  program
    .command('trace')
    .description('run a scenario and show, per flow, each hop of a packet: devices, netfilter hooks and rules, conntrack, NAT rewrites, drops')
    .argument('[file]', 'scenario file; the built-in example when omitted')
    .option('--flow <selector>', 'only flows whose key contains this text (e.g. tcp, 192.0.2.1:80), or the flow number')
    .option('--json', 'every packet of every flow, as JSON')
    .option('--seed <n>', "override the scenario's seed")
    .action((file: string | undefined, o: { flow?: string; json?: boolean; seed?: string }) =>
      guard(() => {
        if (o.seed !== undefined && (!/^\d+$/.test(o.seed) || Number(o.seed) > 0xffffffff)) throw new UsageError(`--seed: expected a whole number from 0 to 4294967295, got "${o.seed}"`);
        const plan = loadPlan(file, o.seed === undefined ? undefined : Number(o.seed));
        const { rec } = tracePlan(plan);
        const all = buildFlows(rec);
        const flows = selectFlows(all, o.flow);
        if (flows.length === 0) {
          throw new UsageError(`--flow ${o.flow}: no flow matches; the flows are: ${all.map((f, i) => `${i + 1} ${f.key}`).join(', ')}`);
        }
        process.stdout.write(o.json ? flowsJson(flows) : formatFlows(flows));
      }),
    );
}
