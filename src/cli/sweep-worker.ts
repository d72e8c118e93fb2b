// One `wirebox sweep` job in a worker thread: load the file with the job's seed, emulate it into the
// job's folder, and post back what `wirebox run` would print (or the error, as the CLI would word it).

import { parentPort } from 'node:worker_threads';
import { isUserError, loadPlan } from './common.js';
import { runPlan } from './run.js';

export interface SweepJob {
  file: string;
  seed: number;
  out: string;
  pcapng: boolean;
  capture: string[];
}

export type SweepResult = { ok: true; files: number; frames: number; endNs: number } | { ok: false; userError: boolean; message: string };

parentPort?.on('message', (job: SweepJob) => {
  let res: SweepResult;
  try {
    const plan = loadPlan(job.file, job.seed, job.capture.length ? job.capture : undefined);
    const { summary, files } = runPlan(plan, job.out, { pcapng: job.pcapng });
    res = { ok: true, files: files.length, frames: summary.interfaces.reduce((a, i) => a + i.frames, 0), endNs: summary.endNs };
  } catch (e) {
    const user = isUserError(e);
    const err = e as Error;
    res = { ok: false, userError: user, message: user ? err.message : `internal error: ${err?.stack ?? String(e)}` };
  }
  parentPort!.postMessage(res);
});
