// `wirebox sweep FILE… --seeds LIST -j N -o DIR`: many runs for a pcap dataset — every file at every
// seed, each in `DIR/<scenario file stem>/seed-<n>/` with `wirebox run`'s layout — spread over N worker
// threads (node:worker_threads, one world per thread at a time; worlds share nothing). Output is one
// line per finished job, in finishing order, then a total; exit 1 when any job failed.

import type { Command } from 'commander';
import { basename, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { UsageError, collect, guard } from './common.js';
import type { SweepJob, SweepResult } from './sweep-worker.js';

/** "1-4", "1,5,9", "1-3,10" → seeds in order, each 0…2^32-1; at most 100,000. */
export function parseSeeds(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UsageError(`--seeds: expected seeds like 1-10 or 1,2,7, got "${s}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > 0xffffffff || b > 0xffffffff || b < a) throw new UsageError(`--seeds: "${part}" is not a range of seeds 0-4294967295`);
    if (out.length + (b - a + 1) > 100_000) throw new UsageError('--seeds: more than 100,000 runs');
    for (let x = a; x <= b; x++) out.push(x);
  }
  return out;
}

export async function sweep(jobs: SweepJob[], threads: number, onDone: (job: SweepJob, r: SweepResult) => void): Promise<void> {
  // The worker is the compiled sweep-worker.js next to this module (dist/cli); under tsx the .ts one.
  const self = new URL(import.meta.url);
  const workerUrl = new URL(self.pathname.endsWith('.ts') ? './sweep-worker.ts' : './sweep-worker.js', self);
  let next = 0;
  const runOne = (w: Worker): Promise<void> =>
    new Promise((resolve, reject) => {
      const go = (): void => {
        if (next >= jobs.length) {
          resolve();
          return;
        }
        const job = jobs[next++]!;
        w.once('message', (r: SweepResult) => {
          onDone(job, r);
          go();
        });
        w.postMessage(job);
      };
      w.once('error', reject);
      go();
    });
  const workers = Array.from({ length: Math.min(threads, jobs.length) }, () => new Worker(workerUrl));
  try {
    await Promise.all(workers.map(runOne));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export function register(program: Command): void {
  program
    .command('sweep')
    .description('run scenario files at many seeds on worker threads (a pcap dataset): DIR/<file>/seed-<n>/')
    .argument('<files...>', 'scenario files')
    .option('--seeds <list>', 'seeds, e.g. 1-100 or 1,2,7', '1')
    .option('-j, --jobs <n>', 'worker threads (default: the cores available)')
    .option('-o, --out <dir>', 'output folder', 'dataset')
    .option('--pcapng', 'one <scenario>.pcapng per run')
    .option('--capture <glob>', 'capture only interfaces matching GLOB (repeatable)', collect)
    .action((files: string[], opts: { seeds: string; jobs?: string; out: string; pcapng?: boolean; capture?: string[] }) =>
      guard(async () => {
        const seeds = parseSeeds(opts.seeds);
        const threads = opts.jobs === undefined ? availableParallelism() : Number(opts.jobs);
        if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new UsageError(`--jobs: expected a whole number 1-256, got "${opts.jobs}"`);
        const stems = files.map((f) => basename(f).replace(/\.(ya?ml|json)$/i, ''));
        if (new Set(stems).size !== stems.length) throw new UsageError('two files have the same name; their runs would share a folder');
        const jobs: SweepJob[] = files.flatMap((file, i) =>
          seeds.map((seed) => ({ file, seed, out: join(opts.out, stems[i]!, `seed-${seed}`), pcapng: !!opts.pcapng, capture: opts.capture ?? [] })),
        );
        const t0 = performance.now();
        let failed = 0;
        let frames = 0;
        let badInput: string | null = null;
        await sweep(jobs, threads, (job, r) => {
          if (r.ok) {
            frames += r.frames;
            process.stdout.write(`${job.out}: ${r.files} files, ${r.frames} frames, ${(r.endNs / 1e9).toFixed(3)} s virtual\n`);
          } else {
            failed++;
            if (r.userError) badInput ??= r.message;
            process.stdout.write(`${job.out}: FAILED: ${r.message.split('\n')[0]}\n`);
          }
        });
        const s = (performance.now() - t0) / 1000;
        process.stdout.write(`${jobs.length - failed}/${jobs.length} runs on ${threads} threads in ${s.toFixed(2)} s (${(jobs.length / s).toFixed(2)} runs/s, ${Math.round(frames / s)} captured frames/s)\n`);
        if (badInput !== null && failed === jobs.length) throw new UsageError(badInput);
        if (failed) process.exitCode = 1;
      }),
    );
}
