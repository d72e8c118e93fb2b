// `wirebox real [FILE] --out DIR`: the scenario on the real Linux kernel (namespaces, veth, bridges,
// iptables, tcpdump), with the same output layout as `wirebox run`.

import type { Command } from 'commander';
import { collect, guard, loadPlan } from './common.js';
import { buildTopology } from '../real/topology.js';
import { cleanupNamespaces, leftoverNamespaces, runReal } from '../real/run.js';
import { formatIptablesSave } from '../plan/iptables-save.js';

export function register(program: Command): void {
  program
    .command('real')
    .description('run the scenario on the real Linux kernel (root): namespaces, veth, bridges, iptables, tcpdump')
    .argument('[file]', 'scenario file (YAML or JSON); the built-in example when omitted')
    .option('-o, --out <dir>', 'output folder for <node>.<interface>.pcap', 'captures-real')
    .option('--pcapng', 'write one <scenario>.pcapng with every interface named <node>.<interface>')
    .option('--capture <glob>', 'capture only interfaces matching GLOB (<node>.<interface>, * and ?; repeatable; replaces the file\'s capture.interfaces)', collect)
    .option('--settle <ms>', 'time to keep capturing after the last traffic entry', '1000')
    .option('--dry-run', 'print the commands and iptables-restore input instead of running them')
    .option('--cleanup', 'remove namespaces left by an earlier run that was killed, and exit')
    .action((file: string | undefined, opts: { out: string; capture?: string[]; settle: string; pcapng?: boolean; dryRun?: boolean; cleanup?: boolean }) =>
      guard(async () => {
        if (opts.cleanup) {
          const removed = cleanupNamespaces(leftoverNamespaces());
          process.stdout.write(removed.length ? `removed ${removed.join(', ')}\n` : 'nothing to remove\n');
          return;
        }
        const plan = loadPlan(file, undefined, opts.capture);
        if (opts.dryRun) {
          const topo = buildTopology(plan);
          for (const argv of topo.commands) process.stdout.write(argv.join(' ') + '\n');
          for (const ns of plan.namespaces) {
            process.stdout.write(`# iptables-restore in wb-${ns.name}\n${formatIptablesSave(ns.iptables)}`);
          }
          return;
        }
        const res = await runReal(plan, { outDir: opts.out, settleMs: Number(opts.settle), pcapng: opts.pcapng, log: (l) => process.stderr.write(`wirebox real: ${l}\n`) });
        for (const l of res.logs) process.stdout.write(`  ${l}\n`);
        process.stdout.write(`wrote ${res.files.length} captures to ${opts.out}: ${res.files.join(', ')}\n`);
      }),
    );
}
