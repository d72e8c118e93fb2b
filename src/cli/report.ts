// `wirebox report [FILE] -o DIR`: run a scenario with the per-packet trace and write DIR/report.html,
// one self-contained page (src/report): topology, a ladder per flow, conntrack, drops, summary.

import type { Command } from 'commander';
import { mkdirSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { World } from '../world/world.js';
import { buildFlows } from '../trace/flows.js';
import { reportHtml } from '../report/report.js';
import type { WorldPlan } from '../plan/plan.js';
import { UsageError, guard, loadPlan } from './common.js';

export async function writeReport(plan: WorldPlan, outDir: string): Promise<string> {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new UsageError(`--out ${outDir}: exists and is not a folder`);
  const world = World.fromPlan(plan);
  const rec = world.trace();
  // conntrack -L as it stands right after the traffic (as `show` prints it), then the rest of the run
  world.run(world.trafficEndNs() + 1e9);
  const conntrack: string[][] = [];
  for (const ns of world.namespaces.values()) for (const l of ns.netfilter.conntrackList()) conntrack.push([ns.name, l]);
  const summary = world.run();
  const html = await reportHtml(plan, conntrack, summary, buildFlows(rec));
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'report.html');
  writeFileSync(file, html);
  return file;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('run a scenario and write DIR/report.html: topology, a ladder diagram per flow, conntrack, drops, summary (self-contained)')
    .argument('[file]', 'scenario file; the built-in example when omitted')
    .option('-o, --out <dir>', 'output folder', 'report')
    .action((file: string | undefined, o: { out: string }) =>
      guard(async () => {
        const f = await writeReport(loadPlan(file), o.out);
        process.stdout.write(`wrote ${f}\n`);
      }),
    );
}
