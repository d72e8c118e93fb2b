// wirebox command line: one subcommand per job. Each subcommand lives in its own file in src/cli/.
// Commander's own errors (an unknown option or subcommand, a missing argument) are bad input like any
// other: one line on stderr and exit code 2 (commander's default is exit 1 with "error: …").
import { Command, CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register as registerReal } from './real.js';
import { register as registerRun } from './run.js';
import { register as registerInspect } from './inspect.js';
import { register as registerCompare } from './compare.js';
import { register as registerVerify } from './verify.js';
import { EXIT_BAD_INPUT } from './common.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('wirebox')
    .description('Packet-level emulator of container and VM networks; writes a pcap per interface')
    .version('0.1.0')
    // Set before the subcommands are added: commander copies these settings into each of them.
    .exitOverride()
    .configureOutput({
      // "error: unknown option '--pcapn'\n(Did you mean --pcapng?)" → one line, prefixed like ours.
      outputError: (str, write) => write(`wirebox: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`),
    });
  registerRun(program);
  registerReal(program);
  registerInspect(program);
  registerCompare(program);
  registerVerify(program);
  return program;
}

/** The exit code for an error commander threw (with exitOverride): 0 for --help and --version, 2 for
 *  everything a user typed wrong (including `wirebox` alone, which prints the help on stderr). */
export function commanderExitCode(err: CommanderError): number {
  return err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
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
