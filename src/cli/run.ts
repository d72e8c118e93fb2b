// `wirebox run [FILE] --out DIR [--pcapng] [--seed N]` — emulate a scenario and write a capture per
// interface; `wirebox show FILE` — the hosts' state after the run, as the Linux tools print it.

import type { Command } from 'commander';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROLES_FILE, rolesJson } from '../plan/roles.js';
import { World, type RunSummary } from '../world/world.js';
import { CaptureSet } from '../world/captures.js';
import { formatWorldState } from '../world/show.js';
import type { WorldPlan } from '../plan/plan.js';
import { UsageError, collect, guard, loadPlan } from './common.js';
import { Progress } from './progress.js';

export interface RunOptions {
  out: string;
  pcapng?: boolean;
  /** commander's --no-comments */
  comments?: boolean;
  seed?: string;
  nsPrecision?: boolean;
  quiet?: boolean;
  capture?: string[];
}

function parseSeed(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) > 0xffffffff) throw new UsageError(`--seed: expected a whole number from 0 to 4294967295, got "${s}"`);
  return Number(s);
}

/** Emulates `plan` into `outDir`; on any failure removes every file it started. */
export function runPlan(plan: WorldPlan, outDir: string, opts: { pcapng?: boolean; comments?: boolean; nsPrecision?: boolean; progress?: Progress | null }): { world: World; summary: RunSummary; files: string[] } {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new UsageError(`--out ${outDir}: exists and is not a folder`);
  const world = World.fromPlan(plan);
  mkdirSync(outDir, { recursive: true });
  const set = opts.pcapng ? CaptureSet.pcapngFile(outDir, plan.name) : CaptureSet.files(outDir, opts.nsPrecision ? 'ns' : 'us');
  try {
    if (opts.pcapng && opts.comments !== false) {
      // frame comments from the per-packet trace: what each frame met (NAT, the rule that decided, a drop)
      set.enableAnnotations();
      world.trace({ keepEvents: false }).annotator = (dev, text) => set.annotate(dev, text);
    }
    world.capture(set, World.planCaptures(plan));
    const p = opts.progress ?? null;
    if (p) p.start(Math.max(world.trafficEndNs(), 1e9));
    const summary = world.run(undefined, p ? (now) => p.update(now) : undefined);
    p?.done();
    // what each capture is (node, veth peer, bridge ports), for `compare` across seeds (src/plan/roles.ts)
    writeFileSync(join(outDir, ROLES_FILE), rolesJson(plan));
    return { world, summary, files: set.paths() };
  } catch (err) {
    set.abort();
    throw err;
  }
}

export function formatSummary(plan: WorldPlan, s: RunSummary, files: string[]): string {
  const lines: string[] = [];
  lines.push(`${plan.name}: ${plan.namespaces.length} namespaces, ${s.interfaces.length} captured interfaces, ${(s.endNs / 1e9).toFixed(3)} s of virtual time`);
  lines.push('interfaces:');
  for (const i of s.interfaces) lines.push(`  ${i.captureName.padEnd(28)} ${String(i.frames).padStart(6)} frames`);
  if (s.traffic.length) {
    lines.push('traffic:');
    for (const t of [...s.traffic].sort((a, b) => a.atNs - b.atNs)) {
      lines.push(`  ${(t.atNs / 1e6).toFixed(0).padStart(6)} ms  ${t.node}: ${t.what} — ${t.result}${t.detail && t.detail !== t.result ? ` (${t.detail})` : ''}`);
    }
  }
  if (s.connections.length) {
    lines.push('connections (as conntrack confirmed them, with their NAT):');
    for (const c of s.connections) lines.push(`  ${c}`);
  }
  if (s.drops.length) {
    lines.push('dropped or refused:');
    for (const d of s.drops) lines.push(`  ${d.where}: ${d.count} × ${d.why}`);
  }
  for (const n of s.notes) lines.push(`note: ${n}`);
  lines.push(`wrote ${files.length} file${files.length === 1 ? '' : 's'}${files.length ? ': ' + files.join(', ') : ''}`);
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('run')
    .description('emulate a scenario and write <node>.<interface>.pcap for every interface')
    .argument('[file]', 'scenario file (YAML or JSON); without it, a built-in example: a container reaching a server through MASQUERADE')
    .option('-o, --out <dir>', 'output folder', 'captures')
    .option('--pcapng', 'write one <scenario>.pcapng with every interface named <node>.<interface>; frames carry comments saying what they met (NAT rewrites, the rule that decided, drops)')
    .option('--no-comments', 'with --pcapng: no frame comments (and no per-packet trace)')
    .option('--seed <n>', "override the scenario's seed")
    .option('--capture <glob>', 'capture only interfaces matching GLOB (<node>.<interface>, * and ?; repeatable; replaces the file\'s capture.interfaces)', collect)
    .option('--ns', 'nanosecond timestamps in pcap files (default microseconds, as tcpdump)')
    .option('-q, --quiet', 'print nothing on success')
    .action((file: string | undefined, opts: RunOptions & { ns?: boolean }) =>
      guard(() => {
        const plan = loadPlan(file, parseSeed(opts.seed), opts.capture);
        const progress = process.stderr.isTTY && !opts.quiet ? new Progress(process.stderr) : null;
        const { summary, files } = runPlan(plan, opts.out, { pcapng: opts.pcapng, comments: opts.comments, nsPrecision: opts.ns, progress });
        if (!opts.quiet) process.stdout.write(formatSummary(plan, summary, files));
      }),
    );

  program
    .command('show')
    .description("run a scenario in memory and print each host's ip addr, ip route, iptables-save and conntrack -L")
    .argument('[file]', 'scenario file; the built-in example when omitted')
    .option('--seed <n>', "override the scenario's seed")
    .option('--node <name>', 'only this namespace')
    .action((file: string | undefined, opts: { seed?: string; node?: string }) =>
      guard(() => {
        const plan = loadPlan(file, parseSeed(opts.seed));
        if (opts.node && !plan.namespaces.some((n) => n.name === opts.node)) {
          throw new UsageError(`--node ${opts.node}: no such namespace; there are ${plan.namespaces.map((n) => n.name).join(', ')}`);
        }
        const world = World.fromPlan(plan);
        // conntrack -L is shown as it stands right after the traffic, before entries time out.
        world.run(world.trafficEndNs() + 1e9);
        process.stdout.write(formatWorldState(world, opts.node));
      }),
    );
}
