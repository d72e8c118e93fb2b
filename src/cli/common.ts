// What every subcommand shares: turning a scenario file into a plan, and turning the errors a user can
// act on (a bad scenario, a bad capture file, a missing tool) into one clear message and exit code 2,
// never a stack trace.

import { CaptureError } from '../capture/error.js';
import { compilePlan } from '../plan/compile.js';
import { selectCaptures } from '../plan/capture.js';
import { isCaptureGlob } from '../scenario/glob.js';
import type { WorldPlan } from '../plan/plan.js';
import { RealRunError } from '../real/run.js';
import { ScenarioError } from '../scenario/errors.js';
import { loadScenarioFile, parseScenario } from '../scenario/load.js';
import { WireError } from '../wire/errors.js';
import { LimitError } from '../sim/limit.js';
import { BUILTIN_EXAMPLE, BUILTIN_EXAMPLE_NAME } from '../scenario/example.js';

/** An error whose message is for the user as it stands. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A run stopped by a signal: exit 128 + the signal's number, as a shell reports a killed program. */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(
    readonly signal: 'SIGINT' | 'SIGTERM',
    where: string,
  ) {
    super(`interrupted (${signal}): nothing written to ${where}`);
  }
  get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}

/** Exit code for bad input (a scenario, a capture file, arguments) and for a missing prerequisite. */
export const EXIT_BAD_INPUT = 2;

export function isUserError(err: unknown): err is Error {
  return (
    err instanceof ScenarioError ||
    err instanceof CaptureError ||
    err instanceof WireError ||
    err instanceof RealRunError ||
    err instanceof UsageError ||
    err instanceof LimitError
  );
}

/** Runs a subcommand body; prints user errors plainly and exits 2. Anything else is a bug: it is
 *  reported as one, with the stack, and exit code 70 (EX_SOFTWARE). */
export async function guard(body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write(`wirebox: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if (isUserError(err)) {
      process.stderr.write(`wirebox: ${err.message}\n`);
      process.exit(EXIT_BAD_INPUT);
    }
    process.stderr.write(`wirebox: internal error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(70);
  }
}

/** The scenario at `file` (or the built-in example when none is given), compiled to a plan. `capture`
 *  (`--capture GLOB`, repeatable) replaces the file's `capture.interfaces` when given. */
export function loadPlan(file: string | undefined, seed?: number, capture?: string[]): WorldPlan {
  const globs = capture ?? [];
  for (const g of globs) {
    if (!isCaptureGlob(g)) throw new UsageError(`--capture ${JSON.stringify(g)}: expected an interface glob like dh.eth0 or "*.eth0" (letters, digits, ".", "-", "_", "*", "?")`);
  }
  const compile = (positions: boolean): WorldPlan => {
    const scenario = file === undefined ? parseScenario(BUILTIN_EXAMPLE, BUILTIN_EXAMPLE_NAME) : loadScenarioFile(file, { positions });
    if (seed !== undefined) scenario.seed = seed;
    if (globs.length) scenario.capture = { ...scenario.capture, interfaces: null };
    return compilePlan(scenario);
  };
  // A file is first read without positions (a third less memory and time for a 100,000-entry file);
  // a planner error found that way is produced again from a reading with positions, to place it.
  let plan: WorldPlan;
  try {
    plan = compile(false);
  } catch (e) {
    if (!(e instanceof ScenarioError) || file === undefined) throw e;
    plan = compile(true);
  }
  if (globs.length) {
    const unmatched = selectCaptures(plan, globs);
    if (unmatched.length) throw new UsageError(`--capture ${unmatched[0]!.problem}`);
  }
  return plan;
}

/** Commander collector for a repeatable option. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
