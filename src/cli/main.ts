// wirebox command line: one subcommand per job. Each subcommand lives in its own file in src/cli/.
import { Command } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register as registerReal } from './real.js';
import { register as registerRun } from './run.js';
import { register as registerInspect } from './inspect.js';
import { register as registerCompare } from './compare.js';
import { register as registerVerify } from './verify.js';
import { register as registerTrace } from './trace.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('wirebox')
    .description('Packet-level emulator of container and VM networks; writes a pcap per interface')
    .version('0.1.0');
  registerRun(program);
  registerReal(program);
  registerInspect(program);
  registerCompare(program);
  registerVerify(program);
  registerTrace(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}

const self = fileURLToPath(import.meta.url);
const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === self || invoked.endsWith('/bin/wirebox.js')) {
  void main(process.argv);
}
