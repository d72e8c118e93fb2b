// `wirebox sweep`: every file at every seed on worker threads, each run byte-identical to `wirebox run`
// with that seed; bad --seeds / --jobs are one line and exit 2.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSeeds } from '../../src/cli/sweep.js';

const ROOT = resolve('.');
const BUILT = join(ROOT, 'dist/cli/main.js');
function wirebox(args: string[]): { status: number; stdout: string; stderr: string } {
  const [cmd, pre] = existsSync(BUILT) ? [process.execPath, [BUILT]] : [join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/cli/main.ts')]];
  const r = spawnSync(cmd, [...pre, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('wirebox sweep', () => {
  it('runs each file at each seed into DIR/<file>/seed-<n>/, the same bytes as wirebox run --seed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirebox-sweep-'));
    const r = wirebox(['sweep', 'fixtures/scenarios/docker-bridge-nat.yaml', '--seeds', '1,7', '-j', '2', '-o', join(dir, 'ds')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^2\/2 runs on 2 threads/m);
    expect(readdirSync(join(dir, 'ds', 'docker-bridge-nat')).sort()).toEqual(['seed-1', 'seed-7']);
    expect(wirebox(['run', 'fixtures/scenarios/docker-bridge-nat.yaml', '--seed', '7', '-q', '-o', join(dir, 'run7')]).status).toBe(0);
    for (const f of readdirSync(join(dir, 'run7')).filter((x) => x.endsWith('.pcap'))) {
      expect(readFileSync(join(dir, 'ds', 'docker-bridge-nat', 'seed-7', f)).equals(readFileSync(join(dir, 'run7', f))), f).toBe(true);
    }
  });

  it('refuses bad --seeds and --jobs with one line, exit 2', () => {
    for (const args of [['--seeds', '5-1'], ['--seeds', 'x'], ['-j', '0']]) {
      const r = wirebox(['sweep', 'fixtures/scenarios/docker-bridge-nat.yaml', ...args, '-o', join(tmpdir(), 'never')]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(parseSeeds('1-3,9')).toEqual([1, 2, 3, 9]);
  });
});
