// The iptables argument parser, printer and operation replay the models are written with.
import { describe, expect, it } from 'vitest';
import { RuleSyntaxError, Tables, emptyIptables, formatRule, rule } from '../../src/plan/rules.js';

describe('rule()', () => {
  it('parses matchers with negation and targets with options', () => {
    expect(rule('-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE')).toEqual({
      src: { cidr: '172.17.0.0/16', neg: false },
      out: { name: 'docker0', neg: true },
      target: { kind: 'MASQUERADE', toPorts: null },
    });
    expect(rule('! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:8000')).toEqual({
      in: { name: 'docker0', neg: true },
      proto: { name: 'tcp', neg: false },
      dport: { port: 8080, neg: false },
      target: { kind: 'DNAT', to: '172.17.0.2', toPort: 8000 },
    });
    expect(rule('-d 172.17.0.2 -j ACCEPT').dst).toEqual({ cidr: '172.17.0.2/32', neg: false });
    expect(rule('-d 0/0 -j ACCEPT').dst).toBeUndefined();
    expect(rule('-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT').ctstate).toEqual({
      states: ['RELATED', 'ESTABLISHED'],
      neg: false,
    });
    expect(rule('-m addrtype --src-type LOCAL -j DOCKER').addrtype).toEqual({ src: { type: 'LOCAL', neg: false } });
    expect(rule('-p udp -j MASQUERADE --to-ports 1024-65535').target).toEqual({
      kind: 'MASQUERADE',
      toPorts: { min: 1024, max: 65535 },
    });
    expect(rule('-j SNAT --to-source 192.0.2.1').target).toEqual({ kind: 'SNAT', to: '192.0.2.1', toPorts: null });
    expect(rule('-j REJECT --reject-with tcp-reset').target).toEqual({ kind: 'REJECT', with: 'tcp-reset' });
    expect(rule('-j DOCKER-ISOLATION-STAGE-2').target).toEqual({ kind: 'JUMP', chain: 'DOCKER-ISOLATION-STAGE-2' });
  });

  it('refuses what it does not understand', () => {
    for (const bad of ['-s 1.2.3.4', '-x y -j ACCEPT', '-p sctp -j ACCEPT', '-j DNAT', '-m set -j ACCEPT', '-j ACCEPT !', '--dport 99999 -j ACCEPT']) {
      expect(() => rule(bad), bad).toThrow(RuleSyntaxError);
    }
  });

  it('prints in iptables-save order whatever order it was written in', () => {
    expect(formatRule(rule('-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j DOCKER'))).toBe(
      '! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
    );
    expect(formatRule(rule('-p tcp -d 172.17.0.2 --dport 80 ! -i docker0 -o docker0 -j ACCEPT'))).toBe(
      '-d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT',
    );
  });
});

describe('Tables', () => {
  it('replays -N -A -I -D and EnsureJumpRule', () => {
    const plan = emptyIptables();
    const t = new Tables(plan);
    t.newChain('filter', 'X');
    t.newChain('filter', 'X');
    expect(plan.filter.chains.filter((c) => c.name === 'X')).toHaveLength(1);
    t.append('filter', 'FORWARD', '-o a -j ACCEPT');
    t.append('filter', 'FORWARD', '-o a -j ACCEPT'); // unique by default
    t.insert('filter', 'FORWARD', '-o b -j ACCEPT');
    t.insert('filter', 'FORWARD', '-o c -j ACCEPT', 2);
    t.ensureJump('filter', 'FORWARD', 'X');
    t.append('filter', 'FORWARD', '-j X', false);
    t.ensureJump('filter', 'FORWARD', 'X');
    const show = () => plan.filter.chains.find((c) => c.name === 'FORWARD')!.rules.map((r) => formatRule(r));
    expect(show()).toEqual(['-j X', '-o b -j ACCEPT', '-o c -j ACCEPT', '-o a -j ACCEPT', '-j X']);
    t.delete('filter', 'FORWARD', '-o c -j ACCEPT');
    expect(show()).toHaveLength(4);
    t.policy('filter', 'FORWARD', 'DROP');
    expect(plan.filter.chains[1]!.policy).toBe('DROP');
    expect(() => t.policy('filter', 'X', 'DROP')).toThrow();
    expect(() => t.append('nat', 'NOPE', '-j ACCEPT')).toThrow();
  });
});
