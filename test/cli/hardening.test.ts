// Issue 12's table, row by row, as a user meets it: a spawned `wirebox`, its exit code, its stderr (one
// line, naming the file or path, no stack trace) and the output folder afterwards.
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, STACK, tmp, wirebox } from './spawn.js';

const EXAMPLE = join(ROOT, 'fixtures/scenarios/docker-bridge-nat.yaml');

describe('command-line errors are bad input: exit 2, one line', () => {
  it('an unknown option', () => {
    const r = wirebox(['run', '--pcapn', EXAMPLE]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("wirebox: unknown option '--pcapn' (Did you mean --pcapng?)\n");
  });

  it('an unknown subcommand', () => {
    const r = wirebox(['rnu']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^wirebox: unknown command 'rnu'/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--help and --version still exit 0', () => {
    expect(wirebox(['--version']).status).toBe(0);
    expect(wirebox(['run', '--help']).status).toBe(0);
  });
});

describe('a scenario that is not text is refused by what it is, not echoed', () => {
  const out = () => join(tmp(), 'o');

  it('a binary file (an ELF executable)', () => {
    const d = tmp();
    const f = join(d, 'scenario.yaml');
    copyFileSync(process.execPath, f);
    const o = out();
    const r = wirebox(['run', f, '-o', o]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`wirebox: ${f}: is an ELF executable, not a scenario (expected YAML or JSON text)\n`);
    expect(existsSync(o)).toBe(false);
  });

  it('binary data with NUL bytes, and Latin-1 text', () => {
    const d = tmp();
    writeFileSync(join(d, 'nul.yaml'), Buffer.from('version: 1\n\0\0\x01\x02hosts: {}\n', 'latin1'));
    writeFileSync(join(d, 'latin1.yaml'), Buffer.from('version: 1\nname: caf\xe9\n', 'latin1'));
    const a = wirebox(['run', join(d, 'nul.yaml'), '-o', out()]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/nul\.yaml: is binary data, not a scenario \(a NUL byte at offset 11; expected YAML or JSON text\)\n$/);
    const b = wirebox(['run', join(d, 'latin1.yaml'), '-o', out()]);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/latin1\.yaml: is not UTF-8 text: byte 0xe9 at line 2, column 10 \(offset 20\) is not valid UTF-8/);
    for (const r of [a, b]) expect(r.stderr.split('\n')).toHaveLength(2);
  });

  it('a long pasted value is cut in the message', () => {
    const d = tmp();
    writeFileSync(join(d, 's.yaml'), `version: 1\nname: "${'x'.repeat(5000)} y"\nhosts: {}\n`);
    const r = wirebox(['run', join(d, 's.yaml'), '-o', out()]);
    expect(r.status).toBe(2);
    expect(r.stderr.length).toBeLessThan(300);
    expect(r.stderr).toMatch(/got "x{40}"… \(5002 characters\)/);
  });
});

describe('values are checked for range, each with its own message', () => {
  it('at: 100000000000s says the value is too long, not that it is no duration', () => {
    const o = join(tmp(), 'o');
    const r = wirebox(['run', join(ROOT, 'fixtures/scenarios/bad/range-duration-too-long.yaml'), '-o', o]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/range-duration-too-long\.yaml:10:11: traffic\[0\]\.at: 100000000000s is too long: a duration may be at most 1000000s \(11\.6 days\) of virtual time\n$/);
    expect(r.stderr).not.toMatch(STACK);
    expect(existsSync(o)).toBe(false);
    expect(readdirSync(join(o, '..'))).toEqual([]);
  });
});
