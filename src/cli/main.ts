// wirebox command line: one subcommand per job. Each subcommand lives in its own file in src/cli/.
// Commander's own errors (an unknown option or subcommand, a missing argument) are bad input like any
// other: one line on stderr and exit code 2 (commander's default is exit 1 with "error: …").
import { Command, CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION } from './version.js';

type Register = (program: Command) => void;

/** Each subcommand's module, imported only when that subcommand runs (or for --help), so that
 *  `wirebox --version` and every single subcommand load no more code than they use. */
const MODULES: Record<string, () => Promise<{ register: Register }>> = {
  run: () => import('./run.js'),
  show: () => import('./run.js'),
  real: () => import('./real.js'),
  inspect: () => import('./inspect.js'),
  compare: () => import('./compare.js'),
  verify: () => import('./verify.js'),
  sweep: () => import('./sweep.js'),
  trace: () => import('./trace.js'),
  report: () => import('./report.js'),
};

/** The program with the subcommands `argv` needs: just the one it names, or all of them. */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('wirebox')
    .description('Packet-level emulator of container and VM networks; writes a pcap per interface')
    .version(VERSION)
    // Set before the subcommands are added: commander copies these settings into each of them.
    .exitOverride()
    .configureOutput({
      // "error: unknown option '--pcapn'\n(Did you mean --pcapng?)" → one line, prefixed like ours.
      outputError: (str, write) => write(`wirebox: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`),
    });
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const only = argv.length > 2 && argv.slice(2).every((a) => a === '--version' || a === '-V') ? [] : first !== undefined && first in MODULES ? [MODULES[first]!] : Object.values(MODULES);
  const seen = new Set<unknown>();
  for (const load of only) {
    const mod = await load();
    if (seen.has(mod)) continue;
    seen.add(mod);
    mod.register(program);
  }
  return program;
}

/** Exit code for bad input (src/cli/common.ts's EXIT_BAD_INPUT, not imported so that --version loads
 *  nothing more). */
const EXIT_BAD_INPUT = 2;

/** The exit code for an error commander threw (with exitOverride): 0 for --help and --version, 2 for
 *  everything a user typed wrong (including `wirebox` alone, which prints the help on stderr). */
export function commanderExitCode(err: CommanderError): number {
  return err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(commanderExitCode(err));
    throw err;
  }
}

const self = fileURLToPath(import.meta.url);
const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === self || invoked.endsWith('/bin/wirebox.js')) {
  void main(process.argv);
}
