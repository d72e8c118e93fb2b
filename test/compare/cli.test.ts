// The command as a user runs it: exit 0 on a match, 1 on a difference, 2 on bad input with the file and
// the byte offset named in one line (no stack trace).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, records, tempDir, writePcap } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function wirebox(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'compare', ...args], { encoding: 'utf8', cwd: ROOT });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('wirebox compare (the command)', () => {
  const dh = fixture('nat-basic', 'dh.eth0.pcap');

  it('exit 0 on a match, 1 on a difference', () => {
    const same = wirebox(dh, dh);
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/^match: 1 file/m);
    const dir = tempDir('cli');
    const recs = records(dh);
    recs[4]!.data[22] = 62;
    const copy = writePcap(join(dir, 'dh.eth0.pcap'), recs);
    const diff = wirebox(dh, copy);
    expect(diff.code).toBe(1);
    expect(diff.out).toContain('dh.eth0.pcap frame 5 (A) / 5 (B): ipv4.ttl: 63 ≠ 62');
    const json = wirebox('--json', dh, copy);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out).verdict).toBe('differ');
  });

  it('exit 2 on a truncated file, naming the file and the byte offset', () => {
    const dir = tempDir('cli-bad');
    const bad = join(dir, 'dh.eth0.pcap');
    writeFileSync(bad, readFileSync(dh).subarray(0, 100));
    const r = wirebox(dh, bad);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`wirebox: ${bad}: byte 98: record data truncated (42 bytes needed, 2 left)\n`);
    expect(r.out).toBe('');
  });

  it('exit 2 on a foreign file, a missing file and bad arguments', () => {
    const readme = fixture('', 'README.md');
    const foreign = wirebox(readme, dh);
    expect(foreign.code).toBe(2);
    expect(foreign.err).toMatch(/README\.md: byte 0: not a pcap or pcapng file/);
    const missing = wirebox(dh, '/nonexistent/x.pcap');
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('wirebox: /nonexistent/x.pcap: cannot read: no such file\n');
    expect(wirebox(dh).code).toBe(2);
    expect(wirebox('--max', 'x', dh, dh).code).toBe(2);
    const mixed = wirebox(fixture('nat-basic', ''), dh);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/is a folder but .* is not/);
  });

  it('exit 2 on a capture whose link type is not Ethernet', () => {
    const dir = tempDir('cli-lt');
    const bytes = readFileSync(dh);
    bytes.writeUInt32LE(113, 20); // LINKTYPE_LINUX_SLL
    const sll = join(dir, 'dh.eth0.pcap');
    writeFileSync(sll, bytes);
    const r = wirebox(dh, sll);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/link type 113 is not Ethernet/);
  });
});
