// `wirebox run [FILE] --out DIR [--pcapng] [--seed N]` — emulate a scenario and write a capture per
// interface; `wirebox show FILE` — the hosts' state after the run, as the Linux tools print it.

import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROLES_FILE, rolesJson } from '../plan/roles.js';
import { World, type RunSummary } from '../world/world.js';
import { CaptureSet } from '../world/captures.js';
import { formatWorldState } from '../world/show.js';
import type { WorldPlan } from '../plan/plan.js';
import { Interrupted, UsageError, collect, guard, loadPlan } from './common.js';
import { Progress } from './progress.js';
import { OutputFolder } from './output.js';

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

function parseCount(flag: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(s)) throw new UsageError(`${flag}: expected a whole number above 0, got "${s}"`);
  return Number(s);
}

function parseSeed(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) > 0xffffffff) throw new UsageError(`--seed: expected a whole number from 0 to 4294967295, got "${s}"`);
  return Number(s);
}

/** Largest number of frames a run captures by default (`--max-frames`): some hours of a busy link,
 *  tens of gigabytes of pcap; a scenario that goes past it is almost surely not what was meant. */
export const DEFAULT_MAX_FRAMES = 100_000_000;

export interface RunPlanOptions {
  pcapng?: boolean;
  comments?: boolean;
  nsPrecision?: boolean;
  progress?: Progress | null;
  maxFrames?: number;
  /** Asked between slices of the run; a reason stops it (nothing is left in the output folder). */
  interrupted?: () => Error | null;
}

/** Emulates `plan` into `outDir` through a staging folder (./output.ts): on success the captures are put
 *  in place and listed in the folder's manifest; on any failure nothing is left. */
export function runPlan(plan: WorldPlan, outDir: string, opts: RunPlanOptions): { world: World; summary: RunSummary; files: string[] } {
  const r = startRun(plan, outDir, opts);
  try {
    return r.commit(r.world.run(undefined, r.onProgress));
  } catch (err) {
    r.abort();
    throw err;
  } finally {
    opts.progress?.done();
  }
}

/** runPlan, giving the event loop a turn every 50 ms so that `opts.interrupted` (a signal) can stop the
 *  run; stopped, it leaves nothing in the output folder. Same events, same bytes as runPlan. */
export async function runPlanAsync(plan: WorldPlan, outDir: string, opts: RunPlanOptions): Promise<{ world: World; summary: RunSummary; files: string[] }> {
  const r = startRun(plan, outDir, opts);
  try {
    return r.commit(await r.world.runAsync(undefined, r.onProgress, opts.interrupted));
  } catch (err) {
    r.abort();
    throw err;
  } finally {
    opts.progress?.done();
  }
}

function startRun(plan: WorldPlan, outDir: string, opts: RunPlanOptions) {
  const folder = OutputFolder.prepare(outDir);
  let set: CaptureSet | null = null;
  const abort = () => {
    set?.abort();
    folder.discard();
  };
  try {
    const world = World.fromPlan(plan);
    set = opts.pcapng ? CaptureSet.pcapngFile(folder.staging, plan.name) : CaptureSet.files(folder.staging, opts.nsPrecision ? 'ns' : 'us');
    set.maxFrames(opts.maxFrames ?? DEFAULT_MAX_FRAMES);
    if (opts.pcapng && opts.comments !== false) {
      // frame comments from the per-packet trace: what each frame met (NAT, the rule that decided, a drop)
      const annotated = set;
      annotated.enableAnnotations();
      world.trace({ keepEvents: false }).annotator = (dev, text) => annotated.annotate(dev, text);
    }
    world.capture(set, World.planCaptures(plan));
    const p = opts.progress ?? null;
    if (p) p.start(Math.max(world.trafficEndNs(), 1e9));
    const captures = set;
    return {
      world,
      onProgress: p ? (now: number) => p.update(now) : undefined,
      commit: (summary: RunSummary) => {
        // what each capture is (node, veth peer, bridge ports), for `compare` across seeds (src/plan/roles.ts)
        const roles = join(folder.staging, ROLES_FILE);
        writeFileSync(roles, rolesJson(plan));
        const files = folder.commit([...captures.paths(), roles]).filter((f) => basename(f) !== ROLES_FILE);
        return { world, summary, files };
      },
      abort,
    };
  } catch (err) {
    abort();
    throw err;
  }
}

/** Handlers for SIGINT and SIGTERM for the length of a run: the first asks the run to stop at its next
 *  turn (it then removes its staging folder); a second one exits at once (`onForce` cleans up). */
export function catchSignals(): { interrupted: () => 'SIGINT' | 'SIGTERM' | null; release: () => void } {
  let got: 'SIGINT' | 'SIGTERM' | null = null;
  const handler = (sig: 'SIGINT' | 'SIGTERM') => {
    // The second one: exit now; OutputFolder's exit hook still removes the staging folder.
    if (got !== null) process.exit(sig === 'SIGINT' ? 130 : 143);
    got = sig;
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    interrupted: () => got,
    release: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Two NICs with one address on one wire: Linux accepts it (no duplicate address detection for IPv4
 *  unless a tool runs arping -D), both answer ARP and a peer keeps the first answer (the second comes
 *  within neighbour locktime, 1 s); a user almost surely did not mean it, so the summary warns. */
export function duplicateAddresses(plan: WorldPlan): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const ns of plan.namespaces) {
    for (const i of ns.interfaces) {
      if (i.kind !== 'nic') continue;
      for (const a of i.addrs) {
        const key = `${i.wire} ${a.split('/')[0]}`;
        const other = seen.get(key);
        const here = `${ns.name}.${i.name}`;
        if (other === undefined) seen.set(key, here);
        else out.push(`${a.split('/')[0]} is on both ${other} and ${here}, on wire ${i.wire}: both answer ARP for it and a peer keeps whichever answer comes first`);
      }
    }
  }
  return out;
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
  for (const w of duplicateAddresses(plan)) lines.push(`warning: ${w}`);
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
    .option('--max-frames <n>', `stop with an error once more than this many frames are captured (default ${DEFAULT_MAX_FRAMES})`)
    .action((file: string | undefined, opts: RunOptions & { ns?: boolean; maxFrames?: string }) =>
      guard(async () => {
        const plan = loadPlan(file, parseSeed(opts.seed), opts.capture);
        const maxFrames = parseCount('--max-frames', opts.maxFrames);
        const progress = process.stderr.isTTY && !opts.quiet ? new Progress(process.stderr) : null;
        const signals = catchSignals();
        try {
          const { summary, files } = await runPlanAsync(plan, opts.out, {
            pcapng: opts.pcapng,
            comments: opts.comments,
            nsPrecision: opts.ns,
            progress,
            maxFrames,
            interrupted: () => {
              const sig = signals.interrupted();
              return sig === null ? null : new Interrupted(sig, opts.out);
            },
          });
          if (!opts.quiet) process.stdout.write(formatSummary(plan, summary, files));
        } finally {
          signals.release();
        }
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
