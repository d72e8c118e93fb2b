// Running the wirebox CLI as a user does: a child process (the built CLI when `npm test` has built it,
// else through tsx), with its exit code, stdout and stderr.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const BUILT = join(ROOT, 'dist/cli/main.js');

function command(): [string, string[]] {
  return existsSync(BUILT) ? [process.execPath, [BUILT]] : [join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/cli/main.ts')]];
}

export interface Result {
  status: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function wirebox(args: string[], opts: { cwd?: string; timeoutMs?: number; uid?: number; gid?: number } = {}): Result {
  const [cmd, pre] = command();
  const r = spawnSync(cmd, [...pre, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
  });
  return { status: r.status ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A running child, for sending signals mid-run. */
export function wireboxChild(args: string[], cwd = ROOT): ChildProcess {
  const [cmd, pre] = command();
  return spawn(cmd, [...pre, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'wirebox-i12-'));

/** A stack trace in output ("    at f (file:1:2)"). */
export const STACK = /\n\s+at /;
