// Loading big scenario files, and starting the CLI.
//
// Suite: one 10,000-entry traffic list (the docker-bridge-nat world plus `{ at, from, udp, send }`
// entries) read into the scenario tree per operation — the fast reader (src/scenario/fast-yaml.ts), with
// and without positions, and the `yaml` package through src/scenario/tree.ts — against the baseline of
// JSON.parse of the same entries as JSON, measured in the same run.
//
// after(): the issue-13 targets, each in a fresh `node` process on the built CLI (dist/, as `npm run
// build` leaves it; skipped with a reason when it is missing or older than src/): a 100,000-entry file
// through `loadPlan` (what `wirebox run` does before emulating) — CPU time, wall time and peak RSS of the
// whole process — and `wirebox --version` against `node -e 0` timed alongside. The machine is shared:
// CPU seconds are the figure to compare; wall time is printed for what it is.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Benchmark from 'benchmark';
import { fastParseTree } from '../../src/scenario/fast-yaml.js';
import { parseTree } from '../../src/scenario/tree.js';
import type { BenchResults } from '../run.js';

export let blackhole = 0;

const ROOT = join(import.meta.dirname, '..', '..');
const BASE = readFileSync(join(ROOT, 'fixtures/scenarios/docker-bridge-nat.yaml'), 'utf8').split('traffic:')[0]!;

/** The docker-bridge-nat world with `n` UDP traffic entries, one flow mapping per line. */
export function bigScenario(n: number): string {
  const out = [BASE, 'traffic:\n'];
  for (let i = 0; i < n; i++) out.push(`  - { at: ${i}ms, from: web, udp: "192.0.2.1:7", send: "ping" }\n`);
  return out.join('');
}

function asJson(n: number): string {
  const entries = [];
  for (let i = 0; i < n; i++) entries.push({ at: `${i}ms`, from: 'web', udp: '192.0.2.1:7', send: 'ping' });
  return JSON.stringify({ version: 1, traffic: entries });
}

const SUITE = 'load: read a 10,000-entry traffic list into the scenario tree';

export function suites(): Benchmark.Suite[] {
  const text = bigScenario(10_000);
  const json = asJson(10_000);
  const s = new Benchmark.Suite(SUITE);
  s.add('baseline: JSON.parse of the same entries as JSON', () => {
    blackhole ^= (JSON.parse(json) as { traffic: unknown[] }).traffic.length;
  });
  s.add('fast reader, with positions', () => {
    blackhole ^= fastParseTree(text, true) === null ? 1 : 2;
  });
  s.add('fast reader, without positions (what loadPlan reads first)', () => {
    blackhole ^= fastParseTree(text, false) === null ? 1 : 2;
  });
  s.add('yaml package + tree.ts (the reference, and the fallback)', () => {
    blackhole ^= parseTree(text, 'x.yaml').tree === null ? 1 : 2;
  });
  return [s];
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Runs `script` (ESM) in a fresh node; its last stdout line is JSON. Adds the process's CPU time,
 *  wall time and peak RSS as GNU time reports them. */
function child(args: string[]): { cpuMs: number; wallMs: number; rssMb: number; out: string } | string {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', process.execPath, ...args], { encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.error || r.status !== 0) return `failed: ${r.error?.message ?? r.stderr.trim().split('\n').slice(-2).join(' ')}`;
  const m = /(\d+\.\d+) (\d+\.\d+) (\d+)\s*$/.exec(r.stderr);
  if (!m) return 'no /usr/bin/time figures';
  return { cpuMs: (Number(m[1]) + Number(m[2])) * 1000, wallMs, rssMb: Number(m[3]) / 1024, out: r.stdout.trim() };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function after(results: BenchResults): string[] {
  const lines: string[] = [];
  const r = results.get(SUITE);
  const base = r?.get('baseline: JSON.parse of the same entries as JSON')?.hz;
  for (const [name, row] of r ?? []) {
    if (row.vsBaseline !== null && base) lines.push(`${name}: ${((1 / row.hz) * 1000).toFixed(1)} ms per 10,000 entries = ${row.vsBaseline.toFixed(2)}× JSON.parse's time`);
  }
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'cli', 'common.js'))) return [...lines, 'loading 100,000 entries: skipped (no dist/; run npm run build)'];
  if (newest(join(ROOT, 'src')) > newest(dist)) return [...lines, 'loading 100,000 entries: skipped (dist/ is older than src/; run npm run build)'];
  if (!existsSync('/usr/bin/time')) return [...lines, 'loading 100,000 entries: skipped (no /usr/bin/time to read peak RSS)'];

  const dir = mkdtempSync(join(tmpdir(), 'wirebox-load-'));
  try {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, bigScenario(100_000));
    const script = `const { loadPlan } = await import(${JSON.stringify(join(dist, 'cli', 'common.js'))});
      const p = loadPlan(${JSON.stringify(file)}); console.log(p.traffic.length);`;
    const runs = [0, 1, 2].map(() => child(['--input-type=module', '-e', script]));
    const ok = runs.filter((x): x is Exclude<typeof x, string> => typeof x !== 'string');
    if (ok.length === 0) lines.push(`loading 100,000 entries: ${String(runs[0])}`);
    else {
      if (ok.some((x) => x.out !== '100000')) lines.push(`loading 100,000 entries: WRONG entry count ${ok.map((x) => x.out).join(', ')}`);
      const cpu = median(ok.map((x) => x.cpuMs));
      const rss = Math.max(...ok.map((x) => x.rssMb));
      lines.push(
        `loading and planning 100,000 entries (whole process): ${(cpu / 1000).toFixed(2)} s CPU (target ≤ 2 s: ${cpu <= 2000 ? 'met' : 'NOT met'}), ` +
          `${(median(ok.map((x) => x.wallMs)) / 1000).toFixed(2)} s wall on this shared machine, peak RSS ${rss.toFixed(0)} MB (target ≤ 300 MB: ${rss <= 300 ? 'met' : 'NOT met'})`,
      );
    }
    const bin = join(ROOT, 'bin', 'wirebox.js');
    const ver = [0, 1, 2, 3, 4].map(() => child([bin, '--version']));
    const bare = [0, 1, 2, 3, 4].map(() => child(['-e', '0']));
    const vOk = ver.filter((x): x is Exclude<typeof x, string> => typeof x !== 'string');
    const bOk = bare.filter((x): x is Exclude<typeof x, string> => typeof x !== 'string');
    if (vOk.length && bOk.length) {
      const v = median(vOk.map((x) => x.cpuMs));
      const b = median(bOk.map((x) => x.cpuMs));
      lines.push(
        `wirebox --version: ${v.toFixed(0)} ms CPU, ${median(vOk.map((x) => x.wallMs)).toFixed(0)} ms wall (target < 150 ms: ${v < 150 ? 'met' : 'NOT met'} by CPU); ` +
          `node -e 0 alongside: ${b.toFixed(0)} ms CPU, ${median(bOk.map((x) => x.wallMs)).toFixed(0)} ms wall`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
