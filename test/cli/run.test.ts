// The CLI as a user meets it: `wirebox run` with no file writes the built-in example into ./captures;
// a bad scenario is one clear line naming file, line and column, exit code 2, no stack trace and no
// output folder; --pcapng writes one file with every interface named; show prints Linux tool output.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/reader.js';

const ROOT = resolve('.');
const BUILT = join(ROOT, 'dist/cli/main.js');

/** Runs the CLI: the built one when `npm test` has built it, else through tsx. */
function wirebox(args: string[], cwd = ROOT): { status: number; stdout: string; stderr: string } {
  const [cmd, pre] = existsSync(BUILT) ? [process.execPath, [BUILT]] : [join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/cli/main.ts')]];
  const r = spawnSync(cmd, [...pre, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'wirebox-cli-'));

describe('wirebox run', () => {
  it('with no file runs the built-in example into ./captures and prints a summary', () => {
    const cwd = tmp();
    const r = wirebox(['run'], cwd);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const files = readdirSync(join(cwd, 'captures')).sort();
    expect(files).toEqual(expect.arrayContaining(['dh.docker0.pcap', 'dh.eth0.pcap', 'server.eth0.pcap', 'web.eth0.pcap']));
    expect(files.some((f) => /^dh\.veth[0-9a-f]{7}\.pcap$/.test(f))).toBe(true);
    expect(files.some((f) => f.endsWith('.partial'))).toBe(false);
    expect(r.stdout).toMatch(/web: tcp 192\.0\.2\.1:80 — ok/);
    expect(r.stdout).toMatch(/server\.eth0\s+\d+ frames/);
    const cap = readCaptureFile(join(cwd, 'captures', 'web.eth0.pcap'));
    expect(cap.records.length).toBeGreaterThan(10);
  });

  it('--pcapng writes one file whose interfaces are named <node>.<interface>', () => {
    const out = join(tmp(), 'o');
    const r = wirebox(['run', 'fixtures/scenarios/docker-publish.yaml', '--out', out, '--pcapng', '-q']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(readdirSync(out).sort()).toEqual(['.wirebox-manifest', 'docker-publish.pcapng', 'interfaces.json']); // and what each capture is, for compare
    const cap = readCaptureFile(join(out, 'docker-publish.pcapng'));
    expect(cap.format).toBe('pcapng');
    expect(cap.interfaces.map((i) => i.name)).toEqual(expect.arrayContaining(['client.eth0', 'dh.eth0', 'dh.docker0', 'web.eth0']));
  });

  it('the same file and seed give byte-identical files; --seed changes them', () => {
    const a = join(tmp(), 'a');
    const b = join(tmp(), 'b');
    const c = join(tmp(), 'c');
    expect(wirebox(['run', 'fixtures/scenarios/docker-bridge-nat.yaml', '-o', a, '-q']).status).toBe(0);
    expect(wirebox(['run', 'fixtures/scenarios/docker-bridge-nat.yaml', '-o', b, '-q']).status).toBe(0);
    expect(wirebox(['run', 'fixtures/scenarios/docker-bridge-nat.yaml', '-o', c, '-q', '--seed', '7']).status).toBe(0);
    const read = (d: string, f: string) => spawnSync('cat', [join(d, f)]).stdout as Buffer;
    for (const f of readdirSync(a)) expect(read(b, f).equals(read(a, f)), f).toBe(true);
    expect(read(c, 'server.eth0.pcap').equals(read(a, 'server.eth0.pcap'))).toBe(false);
  });

  const bad = [
    ['bad-ip.yaml', /bad-ip\.yaml:\d+:\d+: hosts\.[\w.]+\.ip: /],
    ['bad-duration-unit.yaml', /bad-duration-unit\.yaml:\d+:\d+: /],
  ] as const;
  for (const [file, pattern] of bad) {
    it(`a bad scenario (${file}) is one clear error, exit 2, no stack, no output folder`, () => {
      const out = join(tmp(), 'never');
      const r = wirebox(['run', join('fixtures/scenarios/bad', file), '--out', out]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('unreadable input, an unknown key, a bad --seed: exit 2 with the place named', () => {
    const d = tmp();
    expect(wirebox(['run', join(d, 'missing.yaml')]).stderr).toMatch(/missing\.yaml: cannot read the scenario: no such file/);
    const f = join(d, 'typo.yaml');
    writeFileSync(f, 'version: 1\nhosts:\n  a:\n    interfaces: {}\n    servces: []\n');
    const r = wirebox(['run', f, '-o', join(d, 'o')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/typo\.yaml:5:5: hosts\.a\.servces: /);
    const s = wirebox(['run', '--seed', 'x', '-o', join(d, 'o')]);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/--seed: expected a whole number/);
    expect(existsSync(join(d, 'o'))).toBe(false);
  });

  it('--capture GLOB (repeatable) writes only the matching interfaces; one matching nothing is exit 2', () => {
    const out = join(tmp(), 'o');
    const r = wirebox(['run', 'fixtures/scenarios/docker-bridge-nat.yaml', '-o', out, '-q', '--capture', 'dh.docker0', '--capture', '*.eth0']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(out).filter((f) => f.endsWith('.pcap')).sort()).toEqual(['dh.docker0.pcap', 'dh.eth0.pcap', 'server.eth0.pcap', 'web.eth0.pcap']);
    const bad = wirebox(['run', 'fixtures/scenarios/docker-bridge-nat.yaml', '-o', join(tmp(), 'x'), '--capture', 'dh.eth7']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^wirebox: --capture dh\.eth7 matches no interface; the interfaces are .*dh\.eth0/);
    expect(bad.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('--out naming a file is refused before anything runs', () => {
    const d = tmp();
    const f = join(d, 'file');
    writeFileSync(f, 'x');
    const r = wirebox(['run', '-o', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/exists and is not a folder/);
  });
});

describe('wirebox show', () => {
  it('prints ip addr, ip route, iptables-save and conntrack -L per namespace', () => {
    const r = wirebox(['show', 'fixtures/scenarios/docker-publish.yaml', '--node', 'dh']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^=== dh/m);
    expect(r.stdout).toMatch(/inet 172\.17\.0\.1\/16 brd 172\.17\.255\.255 scope global docker0/);
    expect(r.stdout).toMatch(/^default via 198\.51\.100\.1 dev eth0/m);
    expect(r.stdout).toMatch(/^-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172\.17\.0\.2:80$/m);
    expect(r.stdout).toMatch(/^tcp\s+6 \d+ \w+ src=198\.51\.100\.1 dst=198\.51\.100\.10 sport=\d+ dport=8080 src=172\.17\.0\.2 dst=198\.51\.100\.1 sport=80/m);
  });
});

describe('wirebox --help', () => {
  it('lists the subcommands', () => {
    const r = wirebox(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['run', 'show', 'real', 'inspect']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });
});
