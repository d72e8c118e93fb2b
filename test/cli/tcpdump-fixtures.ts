// tcpdump's own lines for every capture in fixtures/, kept beside the captures' tree in fixtures/tcpdump/
// (<path>.txt: `tcpdump -nn`, <path>.e.txt: `tcpdump -nn -e`, TZ=UTC). They let the inspect test hold
// `wirebox inspect` to tcpdump where tcpdump is not installed; where it is, the test checks them live.
// Re-record (after adding a capture): `npx tsx test/cli/tcpdump-fixtures.ts`.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
export const EXPECTED = join(FIXTURES, 'tcpdump');

/** Every pcap/pcapng under fixtures/ (but the expected-output tree), sorted, relative to fixtures/. */
export function fixtureCaptures(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      if (d.isDirectory()) {
        if (p !== EXPECTED) walk(p);
      } else if (/\.pcap(ng)?$/.test(d.name)) out.push(relative(FIXTURES, p));
    }
  };
  walk(FIXTURES);
  return out.sort();
}

export function expectedPath(capture: string, ether: boolean): string {
  return join(EXPECTED, capture + (ether ? '.e.txt' : '.txt'));
}

/** The real tcpdump's lines for a file. */
export function tcpdumpLines(file: string, ether: boolean): string[] {
  const r = spawnSync('tcpdump', ['-nn', ...(ether ? ['-e'] : []), '-r', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`tcpdump -r ${file}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const c of fixtureCaptures()) {
    for (const ether of [false, true]) {
      const p = expectedPath(c, ether);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, tcpdumpLines(join(FIXTURES, c), ether).join('\n') + '\n');
    }
  }
  console.log(`recorded ${fixtureCaptures().length} captures into ${EXPECTED}`);
}
