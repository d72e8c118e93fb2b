import { describe, expect, it } from 'vitest';
import type { RulePlan } from '../../src/plan/plan.js';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CompiledTable, ruleMatches, type PacketFacts } from '../../src/netfilter/rules.js';
import { R, ip } from './helpers.js';

const base: PacketFacts = { inDev: 'eth0', outDev: 'docker0', src: ip('198.51.100.7'), dst: ip('172.17.0.2'), proto: 6, sport: 40000, dport: 8000, hasPorts: true, ctBits: CT_NEW };
const locals = { isLocalAddress: (a: number) => a === ip('10.0.0.10') };

function matches(m: Omit<RulePlan, 'target'>, p: Partial<PacketFacts> = {}): boolean {
  const t = new CompiledTable('filter', { chains: [{ name: 'INPUT', policy: 'ACCEPT', rules: [R({ kind: 'ACCEPT' }, m)] }, { name: 'FORWARD', policy: 'ACCEPT', rules: [] }, { name: 'OUTPUT', policy: 'ACCEPT', rules: [] }] });
  return ruleMatches(t, 0, { ...base, ...p }, locals);
}

describe('matchers (table-driven)', () => {
  const cases: [string, Omit<RulePlan, 'target'>, Partial<PacketFacts>, boolean][] = [
    ['no matcher', {}, {}, true],
    ['-i eth0', { in: { name: 'eth0', neg: false } }, {}, true],
    ['-i eth1', { in: { name: 'eth1', neg: false } }, {}, false],
    ['! -i eth1', { in: { name: 'eth1', neg: true } }, {}, true],
    ['-i eth+', { in: { name: 'eth+', neg: false } }, {}, true],
    ['-i e+', { in: { name: 'e+', neg: false } }, { inDev: 'enp3s0' }, true],
    ['-i + (any)', { in: { name: '+', neg: false } }, { inDev: 'x' }, true],
    ['-i veth+ on eth0', { in: { name: 'veth+', neg: false } }, {}, false],
    ['-i eth0 at OUTPUT (no in device)', { in: { name: 'eth0', neg: false } }, { inDev: '' }, false],
    ['! -i docker0 at OUTPUT', { in: { name: 'docker0', neg: true } }, { inDev: '' }, true],
    ['-o docker0', { out: { name: 'docker0', neg: false } }, {}, true],
    ['! -o docker0', { out: { name: 'docker0', neg: true } }, {}, false],
    ['-s 198.51.100.0/24', { src: { cidr: '198.51.100.0/24', neg: false } }, {}, true],
    ['-s 198.51.100.9/24 (host bits ignored)', { src: { cidr: '198.51.100.9/24', neg: false } }, {}, true],
    ['-s 198.51.100.8/32', { src: { cidr: '198.51.100.8', neg: false } }, {}, false],
    ['! -s 198.51.100.8/32', { src: { cidr: '198.51.100.8', neg: true } }, {}, true],
    ['-s 0.0.0.0/0', { src: { cidr: '0.0.0.0/0', neg: false } }, {}, true],
    ['-d 172.17.0.0/16', { dst: { cidr: '172.17.0.0/16', neg: false } }, {}, true],
    ['! -d 172.17.0.0/16', { dst: { cidr: '172.17.0.0/16', neg: true } }, {}, false],
    ['-d 128.0.0.0/1 (high bit)', { dst: { cidr: '128.0.0.0/1', neg: false } }, { dst: ip('200.1.1.1') }, true],
    ['-p tcp', { proto: { name: 'tcp', neg: false } }, {}, true],
    ['-p udp', { proto: { name: 'udp', neg: false } }, {}, false],
    ['! -p udp', { proto: { name: 'udp', neg: true } }, {}, true],
    ['-p tcp --dport 8000', { proto: { name: 'tcp', neg: false }, dport: { port: 8000, neg: false } }, {}, true],
    ['-p tcp ! --dport 8000', { proto: { name: 'tcp', neg: false }, dport: { port: 8000, neg: true } }, {}, false],
    ['-p tcp --sport 40000 --dport 8001', { proto: { name: 'tcp', neg: false }, sport: { port: 40000, neg: false }, dport: { port: 8001, neg: false } }, {}, false],
    ['-p udp --dport 8000 on a TCP packet', { proto: { name: 'udp', neg: false }, dport: { port: 8000, neg: false } }, {}, false],
    ['-p tcp ! --dport 1 on a later fragment (no ports)', { proto: { name: 'tcp', neg: false }, dport: { port: 1, neg: true } }, { hasPorts: false }, false],
    ['--dst-type LOCAL', { addrtype: { dst: { type: 'LOCAL', neg: false } } }, { dst: ip('10.0.0.10') }, true],
    ['--dst-type LOCAL (not ours)', { addrtype: { dst: { type: 'LOCAL', neg: false } } }, {}, false],
    ['! --src-type LOCAL', { addrtype: { src: { type: 'LOCAL', neg: true } } }, {}, true],
    ['--ctstate NEW', { ctstate: { states: ['NEW'], neg: false } }, {}, true],
    ['--ctstate RELATED,ESTABLISHED on NEW', { ctstate: { states: ['RELATED', 'ESTABLISHED'], neg: false } }, {}, false],
    ['--ctstate RELATED,ESTABLISHED', { ctstate: { states: ['RELATED', 'ESTABLISHED'], neg: false } }, { ctBits: CT_ESTABLISHED }, true],
    ['--ctstate DNAT', { ctstate: { states: ['DNAT'], neg: false } }, { ctBits: CT_NEW | CT_DNAT }, true],
    ['! --ctstate INVALID', { ctstate: { states: ['INVALID'], neg: true } }, { ctBits: CT_INVALID }, false],
  ];
  for (const [name, m, p, want] of cases) {
    it(name, () => expect(matches(m, p)).toBe(want));
  }
});
