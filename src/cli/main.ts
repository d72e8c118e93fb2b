// wirebox command line: one subcommand per job. Each subcommand lives in its own file in src/cli/.
import { Command } from 'commander';
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
    .version(VERSION);
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

export async function main(argv: string[]): Promise<void> {
  await (await buildProgram(argv)).parseAsync(argv);
}

const self = fileURLToPath(import.meta.url);
const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === self || invoked.endsWith('/bin/wirebox.js')) {
  void main(process.argv);
}
