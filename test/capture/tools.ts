// External tools the capture tests check our files with (tshark, capinfos, tcpdump). Missing tools skip
// the tests with a printed reason, except in CI (CI=true), where a missing tool fails them.
import { spawnSync } from 'node:child_process';

export function haveTool(cmd: string, versionArg = '--version'): boolean {
  const r = spawnSync(cmd, [versionArg], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

/** Whether tests needing `cmd` should run; prints why not, and throws in CI. */
export function toolAvailable(cmd: string, versionArg = '--version'): boolean {
  if (haveTool(cmd, versionArg)) return true;
  const why = `${cmd} is not installed (Debian: apt-get install tshark tcpdump)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}: these tests must run in CI`);
  console.warn(`skipping tests that need ${cmd}: ${why}`);
  return false;
}

export function run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// ---- tshark as the judge of our captures (shared by the capture, world and example tests) ----------

const SEVERITY_ERROR = 0x800000;

export interface TsharkFrame {
  number: number;
  malformed: boolean;
  severities: number[];
  messages: string;
  checksumStatuses: string[];
  comment: string;
  ifName: string;
}

/** One row per frame: malformed flag, expert severities, checksum statuses of every layer. */
export function tsharkFrames(file: string): TsharkFrame[] {
  const r = run('tshark', [
    '-r', file,
    '-o', 'ip.check_checksum:TRUE',
    '-o', 'tcp.check_checksum:TRUE',
    '-o', 'udp.check_checksum:TRUE',
    '-T', 'fields',
    '-E', 'separator=|',
    '-E', 'occurrence=a',
    '-E', 'aggregator=,',
    '-e', 'frame.number',
    '-e', '_ws.malformed',
    '-e', '_ws.expert.severity',
    '-e', '_ws.expert.message',
    '-e', 'ip.checksum.status',
    '-e', 'tcp.checksum.status',
    '-e', 'udp.checksum.status',
    '-e', 'icmp.checksum.status',
    '-e', 'frame.comment',
    '-e', 'frame.interface_name',
  ]);
  if (r.status !== 0) throw new Error(`tshark -r ${file} failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const [num, malformed, sev, msg, ip, tcp, udp, icmp, comment, ifName] = line.split('|');
      return {
        number: Number(num),
        malformed: (malformed ?? '') !== '',
        severities: (sev ?? '').split(',').filter((s) => s !== '').map(Number),
        messages: msg ?? '',
        checksumStatuses: [ip, tcp, udp, icmp].flatMap((s) => (s ?? '').split(',')).filter((s) => s !== ''),
        comment: comment ?? '',
        ifName: ifName ?? '',
      };
    });
}

/** The problems tshark sees in a file: malformed frames, expert errors, checksums that are not good. */
export function tsharkProblems(file: string): string[] {
  const out: string[] = [];
  for (const f of tsharkFrames(file)) {
    if (f.malformed) out.push(`frame ${f.number}: malformed`);
    if (f.severities.some((s) => s >= SEVERITY_ERROR)) out.push(`frame ${f.number}: expert error: ${f.messages}`);
    // 0 = bad, 1 = good, 2 = not verified (an ICMP error's quoted, cut transport header)
    if (f.checksumStatuses.includes('0')) out.push(`frame ${f.number}: bad checksum`);
  }
  // the same through -z expert,error, the summary a person would read
  const z = run('tshark', ['-r', file, '-q', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-z', 'expert,error']);
  const m = /Errors \((\d+)\)/.exec(z.stdout);
  if (m !== null && Number(m[1]) > 0) out.push(`expert summary: ${m[1]} errors`);
  return out;
}

