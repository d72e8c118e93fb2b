import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IptablesPlanError, formatIptablesSave, quoteString } from '../../src/plan/iptables-save.js';
import type { IptablesPlan } from '../../src/plan/plan.js';
import { R, dockerNat, plan } from './helpers.js';

/** dockerd 27's rules for docker0 with 8080 → 172.17.0.2:8000, and a few more targets and matchers. */
function dockerPlan(): IptablesPlan {
  return plan(
    {
      ...dockerNat(),
      POSTROUTING: [
        ...dockerNat().POSTROUTING!,
        R({ kind: 'MASQUERADE', toPorts: null }, { src: { cidr: '172.17.0.2', neg: false }, dst: { cidr: '172.17.0.2/32', neg: false }, proto: { name: 'tcp', neg: false }, dport: { port: 8000, neg: false } }),
        R({ kind: 'SNAT', to: '10.0.0.10', toPorts: { min: 1024, max: 2047 } }, { src: { cidr: '192.168.7.1/24', neg: false }, proto: { name: 'udp', neg: false } }),
        R({ kind: 'MASQUERADE', toPorts: { min: 5000, max: 5000 } }, { out: { name: 'wg+', neg: false }, proto: { name: 'udp', neg: false } }),
      ],
      OUTPUT: [...dockerNat().OUTPUT!, R({ kind: 'REDIRECT', toPort: 3128 }, { proto: { name: 'tcp', neg: false }, dport: { port: 80, neg: false }, comment: 'transparent proxy' })],
    },
    {
      FORWARD: [
        R({ kind: 'JUMP', chain: 'DOCKER-USER' }),
        R({ kind: 'JUMP', chain: 'DOCKER-ISOLATION-STAGE-1' }),
        R({ kind: 'ACCEPT' }, { out: { name: 'docker0', neg: false }, ctstate: { states: ['ESTABLISHED', 'RELATED'], neg: false } }),
        R({ kind: 'JUMP', chain: 'DOCKER' }, { out: { name: 'docker0', neg: false } }),
        R({ kind: 'ACCEPT' }, { in: { name: 'docker0', neg: false }, out: { name: 'docker0', neg: true } }),
        R({ kind: 'ACCEPT' }, { in: { name: 'docker0', neg: false }, out: { name: 'docker0', neg: false } }),
      ],
      INPUT: [
        R({ kind: 'DROP' }, { ctstate: { states: ['DNAT', 'SNAT', 'ESTABLISHED', 'RELATED', 'NEW', 'INVALID'], neg: true } }),
        R({ kind: 'REJECT', with: 'icmp-port-unreachable' }, { proto: { name: 'udp', neg: false }, sport: { port: 53, neg: true }, dport: { port: 9, neg: false } }),
        R({ kind: 'REJECT', with: 'tcp-reset' }, { proto: { name: 'tcp', neg: false }, addrtype: { src: { type: 'LOCAL', neg: true }, dst: { type: 'LOCAL', neg: false } } }),
        R({ kind: 'ACCEPT' }, { proto: { name: 'icmp', neg: false }, comment: 'ping' }),
        R({ kind: 'ACCEPT' }, { proto: { name: 'udp', neg: true }, src: { cidr: '0.0.0.0/0', neg: false } }),
      ],
      DOCKER: [
        R({ kind: 'ACCEPT' }, { dst: { cidr: '172.17.0.2/32', neg: false }, in: { name: 'docker0', neg: true }, out: { name: 'docker0', neg: false }, proto: { name: 'tcp', neg: false }, dport: { port: 8000, neg: false } }),
      ],
      'DOCKER-ISOLATION-STAGE-1': [
        R({ kind: 'JUMP', chain: 'DOCKER-ISOLATION-STAGE-2' }, { in: { name: 'docker0', neg: false }, out: { name: 'docker0', neg: true } }),
        R({ kind: 'RETURN' }),
      ],
      'DOCKER-ISOLATION-STAGE-2': [R({ kind: 'DROP' }, { out: { name: 'docker0', neg: false } }), R({ kind: 'RETURN' })],
      'DOCKER-USER': [R({ kind: 'RETURN' })],
    },
    { FORWARD: 'DROP' },
  );
}

const EXPECTED = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -m conntrack ! --ctstate INVALID,NEW,RELATED,ESTABLISHED,SNAT,DNAT -j DROP
-A INPUT -p udp -m udp ! --sport 53 --dport 9 -j REJECT --reject-with icmp-port-unreachable
-A INPUT -p tcp -m addrtype ! --src-type LOCAL --dst-type LOCAL -j REJECT --reject-with tcp-reset
-A INPUT -p icmp -m comment --comment ping -j ACCEPT
-A INPUT ! -p udp -j ACCEPT
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 8000 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -p tcp -m tcp --dport 80 -m comment --comment "transparent proxy" -j REDIRECT --to-ports 3128
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 8000 -j MASQUERADE
-A POSTROUTING -s 192.168.7.0/24 -p udp -j SNAT --to-source 10.0.0.10:1024-2047
-A POSTROUTING -o wg+ -p udp -j MASQUERADE --to-ports 5000
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:8000
COMMIT
`;

/** `iptables-restore` then `iptables-save` in a throwaway network namespace, when this machine allows it. */
function realRoundTrip(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wirebox-ipt-'));
  try {
    const file = join(dir, 'rules');
    writeFileSync(file, text);
    const r = spawnSync('unshare', ['-n', 'sh', '-c', `iptables-restore < '${file}' && iptables-save`], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) return `refused (${r.status}): ${r.stderr}`;
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const canRoundTrip = ((): boolean => {
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'iptables-save >/dev/null && command -v iptables-restore'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0;
})();

describe('formatIptablesSave', () => {
  it('prints what iptables-save prints', () => {
    expect(formatIptablesSave(dockerPlan())).toBe(EXPECTED);
  });

  it.skipIf(!canRoundTrip)('round-trips through the real iptables-restore / iptables-save (needs root and unshare -n)', () => {
    const text = formatIptablesSave(dockerPlan());
    const back = realRoundTrip(text);
    const withoutComments = back
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    expect(withoutComments).toBe(text);
  });

  it.skipIf(!canRoundTrip)('iptables-restore --test accepts it', () => {
    const r = spawnSync('iptables-restore', ['--test'], { input: formatIptablesSave(dockerPlan()), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('quotes like xtables_save_string', () => {
    expect(quoteString('abc-DEF_09')).toBe('abc-DEF_09');
    expect(quoteString('a b')).toBe('"a b"');
    expect(quoteString(`say "hi" it's`)).toBe(`"say \\"hi\\" it\\'s"`);
    expect(quoteString('')).toBe('""');
  });

  it('refuses what iptables-restore would refuse', () => {
    expect(() => formatIptablesSave(plan({}, { INPUT: [R({ kind: 'ACCEPT' }, { dport: { port: 1, neg: false } })] }))).toThrow(IptablesPlanError);
    expect(() => formatIptablesSave(plan({}, { INPUT: [R({ kind: 'JUMP', chain: 'X' })] }))).toThrow(/unknown chain/);
    expect(() => formatIptablesSave(plan({ PREROUTING: [R({ kind: 'REJECT', with: 'tcp-reset' })] }))).toThrow(/filter table/);
    expect(() => formatIptablesSave(plan({ PREROUTING: [R({ kind: 'DNAT', to: '10.0.0.1', toPort: 80 })] }))).toThrow(/needs -p tcp/);
  });
});
