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
