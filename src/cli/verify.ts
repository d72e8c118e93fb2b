// `wirebox verify FILE`: run the scenario in the emulator and on the real kernel, and print one verdict
// per interface (exit 0 only when every interface matches).

import type { Command } from 'commander';
import { formatReport } from '../compare/format.js';
import { verifyPlan } from '../real/verify.js';
import { collect, guard, loadPlan } from './common.js';

export function register(program: Command): void {
  program
    .command('verify')
    .description('run the scenario in the emulator and on the real kernel (root), and compare every interface')
    .argument('[file]', 'scenario file; the built-in example when omitted')
    .option('--keep-real <dir>', 'keep the real kernel captures in this folder')
    .option('--capture <glob>', 'capture only interfaces matching GLOB (<node>.<interface>, * and ?; repeatable; replaces the file\'s capture.interfaces)', collect)
    .option('--strict', 'also compare IP id patterns and windows after the handshake')
    .option('--json', 'print the comparison report as JSON')
    .option('--all', 'list every difference (default: the first few per interface)')
    .action((file: string | undefined, opts: { keepReal?: string; capture?: string[]; strict?: boolean; json?: boolean; all?: boolean }) =>
      guard(async () => {
        const plan = loadPlan(file, undefined, opts.capture);
        const { report } = await verifyPlan(plan, {
          compare: { strict: opts.strict },
          keepReal: opts.keepReal,
          log: (l) => process.stderr.write(`wirebox verify: ${l}\n`),
        });
        if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else {
          for (const f of report.files) {
            const verdict = f.verdict === 'match' ? 'MATCH' : f.verdict === 'differ' ? 'DIFFER' : f.verdict === 'only-a' ? 'EMULATOR ONLY' : 'REAL ONLY';
            process.stdout.write(`${f.key.padEnd(28)} ${verdict.padEnd(14)} ${f.fieldsMatched}/${f.fieldsCompared} fields, ${f.framesIdentical}/${Math.max(f.framesA, f.framesB)} frames\n`);
          }
          if (report.verdict !== 'match') process.stdout.write('\n' + formatReport(report, { maxPerFile: opts.all ? Infinity : 10 }));
          process.stdout.write(`${plan.name}: ${report.verdict === 'match' ? 'the emulator matches the real kernel' : 'differences found'}\n`);
        }
        if (report.verdict !== 'match') process.exitCode = 1;
      }),
    );
}
