// `npm run bench` (tsx bench/run.ts): runs every benchmark module under bench/ and prints, per case,
// ops/s, ±% (relative margin of error) and the ratio to the suite's baseline measured in the same run.
//
// The convention — what a benchmark module (any bench/**/*.ts other than this file) exports:
//
//   import Benchmark from 'benchmark';
//   import type { BenchResults } from '../run.js';
//
//   /** Required: the suites to run, built fresh (cases added, not yet run). May be async. */
//   export function suites(): Benchmark.Suite[] {
//     const s = new Benchmark.Suite('pcap: write one 74-byte record to memory');
//     s.add('baseline: copy 74 bytes', () => { … });      // a case named "baseline…" is the baseline
//     s.add('PcapWriter.record', () => { … });
//     return [s];
//   }
//
//   /** Optional: lines printed after the module's suites ran (targets, outside comparisons). */
//   export async function after(results: BenchResults): Promise<string[]> { … }
//
// Files that export no `suites` (shared helpers such as bench/fabric/fabric.ts) are skipped.
// In each suite the first case whose name starts with "baseline" is the baseline; every other case
// gets "N.NN× baseline" = baseline ops/s ÷ case ops/s, i.e. how many times the baseline's time it takes.
// Keep cases free of allocation you don't mean to measure, and feed results into a sink so V8
// cannot drop the work.
//
// Usage:  npm run bench [-- [--quick] [filter…]]
//   filter   run only modules whose path (relative to bench/) or suite name contains one of the words
//   --quick  shorter sampling (maxTime 0.5 s per case instead of Benchmark.js's default 5 s)

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import Benchmark from 'benchmark';

export interface CaseResult {
  suite: string;
  name: string;
  /** Operations per second (mean). */
  hz: number;
  /** Relative margin of error, percent. */
  rme: number;
  samples: number;
  /** baseline hz ÷ this hz, or null when the suite has no baseline (or this is it). */
  vsBaseline: number | null;
}

/** Results of one module's suites, by suite name then case name. */
export type BenchResults = Map<string, Map<string, CaseResult>>;

export interface BenchModule {
  suites(): Benchmark.Suite[] | Promise<Benchmark.Suite[]>;
  after?(results: BenchResults): string[] | Promise<string[]>;
}

const BENCH_DIR = import.meta.dirname;

function findModules(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findModules(p));
    else if (/\.ts$/.test(name) && !/\.d\.ts$/.test(name) && p !== join(BENCH_DIR, 'run.ts')) out.push(p);
  }
  return out;
}

function runSuite(suite: Benchmark.Suite): Promise<Benchmark[]> {
  return new Promise((resolve, reject) => {
    const done: Benchmark[] = [];
    suite.on('cycle', (e: Benchmark.Event) => {
      const b = e.target as unknown as Benchmark;
      if (b.error) reject(new Error(`${String(suite.name)} / ${String(b.name)}: ${String(b.error)}`));
      done.push(b);
    });
    suite.on('complete', () => resolve(done));
    suite.on('error', (e: Benchmark.Event) => reject(new Error(String((e.target as unknown as Benchmark).error))));
    suite.run({ async: false });
  });
}

function fmtHz(hz: number): string {
  return Math.round(hz).toLocaleString('en-US');
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const filters = args.filter((a) => !a.startsWith('--'));
  if (quick) Benchmark.options.maxTime = 0.5;

  let failed = false;
  let ran = 0;
  for (const file of findModules(BENCH_DIR)) {
    const rel = relative(BENCH_DIR, file);
    const mod = (await import(pathToFileURL(file).href)) as Partial<BenchModule>;
    if (typeof mod.suites !== 'function') continue;
    const suites = await mod.suites();
    const wanted = suites.filter((s) => filters.length === 0 || filters.some((f) => rel.includes(f) || String(s.name).includes(f)));
    if (wanted.length === 0) continue;
    const results: BenchResults = new Map();
    for (const suite of wanted) {
      const name = String(suite.name);
      console.log(`\n${name}  (${rel})`);
      let benches: Benchmark[];
      try {
        benches = await runSuite(suite);
      } catch (e) {
        console.log(`  FAILED: ${(e as Error).message}`);
        failed = true;
        continue;
      }
      ran++;
      const base = benches.find((b) => String(b.name).toLowerCase().startsWith('baseline'));
      const rows = new Map<string, CaseResult>();
      const width = Math.max(...benches.map((b) => String(b.name).length));
      for (const b of benches) {
        const r: CaseResult = {
          suite: name,
          name: String(b.name),
          hz: b.hz,
          rme: b.stats.rme,
          samples: b.stats.sample.length,
          vsBaseline: base !== undefined && b !== base ? base.hz / b.hz : null,
        };
        rows.set(r.name, r);
        const ratio = r.vsBaseline === null ? (b === base ? '(baseline)' : '') : `${r.vsBaseline.toFixed(2)}× baseline`;
        console.log(`  ${pad(r.name, width)}  ${pad(fmtHz(r.hz), 14, true)} ops/s  ±${r.rme.toFixed(2).padStart(5)}%  ${pad(String(r.samples), 3, true)} runs  ${ratio}`);
      }
      results.set(name, rows);
    }
    if (typeof mod.after === 'function') {
      for (const line of await mod.after(results)) console.log(`  ${line}`);
    }
  }
  if (ran === 0) console.log(filters.length ? `no suite matches ${filters.join(', ')}` : 'no benchmark suites found');
  if (failed) process.exitCode = 1;
}

await main();
