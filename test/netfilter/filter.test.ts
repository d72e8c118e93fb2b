import { describe, expect, it } from 'vitest';
import { IptablesPlanError } from '../../src/plan/iptables-save.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { Engine } from '../../src/sim/engine.js';
import { ACK, FakeHost, Hook, L3, R, SYN, Verdict, dockerHost, forward, input, output, packet, plan, read } from './helpers.js';

describe('filter table', () => {
  it('DROP, REJECT and policies, with counters and reasons', () => {
    const { engine, nf, host } = dockerHost({
      filter: {
        INPUT: [
          R({ kind: 'DROP' }, { proto: { name: 'tcp', neg: false }, dport: { port: 23, neg: false } }),
          R({ kind: 'REJECT', with: 'tcp-reset' }, { proto: { name: 'tcp', neg: false }, dport: { port: 25, neg: false } }),
          R({ kind: 'REJECT', with: 'icmp-port-unreachable' }, { proto: { name: 'udp', neg: false } }),
          R({ kind: 'ACCEPT' }, { proto: { name: 'tcp', neg: false }, dport: { port: 22, neg: false } }),
        ],
      },
      policies: { INPUT: 'DROP' },
    });
    const to = (proto: 'tcp' | 'udp' | 'icmp', dport: number): number =>
      packet(engine, { proto, src: '198.51.100.7', dst: '10.0.0.10', sport: 40000, dport, flags: SYN });
    expect(input(nf, to('tcp', 23), 'eth0')).toBe(Verdict.DROP);
    expect(input(nf, to('tcp', 25), 'eth0')).toBe(Verdict.DROP);
    expect(input(nf, to('udp', 53), 'eth0')).toBe(Verdict.DROP);
    expect(input(nf, to('tcp', 22), 'eth0')).toBe(Verdict.ACCEPT);
    expect(input(nf, to('icmp', 0), 'eth0')).toBe(Verdict.DROP); // policy
    expect(host.rejects.map((r) => [r.kind, r.inDev])).toEqual([
      ['tcp-reset', 'eth0'],
      ['icmp-port-unreachable', 'eth0'],
    ]);
    expect(nf.drops).toMatchObject({ filterDrop: 2, filterReject: 2 });
    expect(nf.dropSummary()).toEqual(['iptables filter DROP: 2', 'iptables filter REJECT: 2']);
    // Dropped packets leave no entry behind; the accepted one is confirmed.
    expect(nf.conntrack.count).toBe(1);
    expect(nf.conntrackList()[0]).toContain('SYN_SENT src=198.51.100.7 dst=10.0.0.10 sport=40000 dport=22 [UNREPLIED]');
  });

  it('user chains: jumps, RETURN, falling off the end, as dockerd builds FORWARD', () => {
    const filter = {
      FORWARD: [
        R({ kind: 'JUMP', chain: 'DOCKER-USER' }),
        R({ kind: 'JUMP', chain: 'DOCKER-ISOLATION-STAGE-1' }),
        R({ kind: 'ACCEPT' }, { out: { name: 'docker0', neg: false }, ctstate: { states: ['RELATED', 'ESTABLISHED'], neg: false } }),
        R({ kind: 'JUMP', chain: 'DOCKER' }, { out: { name: 'docker0', neg: false } }),
        R({ kind: 'ACCEPT' }, { in: { name: 'docker0', neg: false }, out: { name: 'docker0', neg: true } }),
        R({ kind: 'ACCEPT' }, { in: { name: 'docker0', neg: false }, out: { name: 'docker0', neg: false } }),
      ],
      'DOCKER-USER': [R({ kind: 'DROP' }, { src: { cidr: '203.0.113.0/24', neg: false } }), R({ kind: 'RETURN' })],
      'DOCKER-ISOLATION-STAGE-1': [
        R({ kind: 'JUMP', chain: 'DOCKER-ISOLATION-STAGE-2' }, { in: { name: 'docker0', neg: false }, out: { name: 'docker0', neg: true } }),
        R({ kind: 'RETURN' }),
      ],
      'DOCKER-ISOLATION-STAGE-2': [R({ kind: 'DROP' }, { out: { name: 'br-+', neg: false } }), R({ kind: 'RETURN' })],
      DOCKER: [
        R({ kind: 'ACCEPT' }, { dst: { cidr: '172.17.0.2/32', neg: false }, in: { name: 'docker0', neg: true }, out: { name: 'docker0', neg: false }, proto: { name: 'tcp', neg: false }, dport: { port: 8000, neg: false } }),
      ],
    };
    const { engine, nf } = dockerHost({ filter, policies: { FORWARD: 'DROP' } });
    // Published port: DNAT, then DOCKER accepts.
    const pub = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 50000, dport: 8080, flags: SYN });
    expect(forward(nf, pub, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    // Unpublished container port from outside: falls through DOCKER to the DROP policy.
    const closed = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '172.17.0.2', sport: 50001, dport: 22, flags: SYN });
    expect(forward(nf, closed, 'eth0', 'docker0')).toBe(Verdict.DROP);
    // Blocked source in DOCKER-USER.
    const bad = packet(engine, { proto: 'tcp', src: '203.0.113.5', dst: '10.0.0.10', sport: 50002, dport: 8080, flags: SYN });
    expect(forward(nf, bad, 'eth0', 'docker0')).toBe(Verdict.DROP);
    // Container to a br-* network: isolation stage 2 (wildcard) drops.
    const iso = packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '172.18.0.2', sport: 1, dport: 2 });
    expect(forward(nf, iso, 'docker0', 'br-1a2b3c')).toBe(Verdict.DROP);
    // Container out to the world: accepted, and the reply gets in by ctstate ESTABLISHED.
    const outb = packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1', sport: 3000, dport: 53 });
    expect(forward(nf, outb, 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
    const back = packet(engine, { proto: 'udp', src: '198.51.100.1', dst: '10.0.0.10', sport: 53, dport: 3000 });
    expect(forward(nf, back, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    expect(read(engine, back).dst).toBe('172.17.0.2');
    expect(nf.drops.filterDrop).toBe(3);
    const hits = nf.ruleCounters().filter((c) => c.table === 'filter' && c.chain === 'DOCKER-ISOLATION-STAGE-2');
    expect(hits.map((c) => c.packets)).toEqual([1, 1]); // the br-* DROP, and the RETURN of the container going out
  });

  it('ctstate NEW / ESTABLISHED / INVALID / DNAT, and negation', () => {
    const filter = {
      FORWARD: [
        R({ kind: 'DROP' }, { ctstate: { states: ['INVALID'], neg: false } }),
        R({ kind: 'ACCEPT' }, { ctstate: { states: ['ESTABLISHED', 'RELATED'], neg: false } }),
        R({ kind: 'ACCEPT' }, { ctstate: { states: ['DNAT'], neg: false } }),
        R({ kind: 'ACCEPT' }, { in: { name: 'docker0', neg: false }, ctstate: { states: ['NEW'], neg: false } }),
        R({ kind: 'DROP' }, { ctstate: { states: ['NEW'], neg: true } }),
      ],
    };
    const { engine, nf } = dockerHost({ filter, policies: { FORWARD: 'DROP' } });
    // NEW from outside to a container, not DNATed: dropped by policy.
    const n = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '172.17.0.2', sport: 1, dport: 22, flags: SYN });
    expect(forward(nf, n, 'eth0', 'docker0')).toBe(Verdict.DROP);
    // DNATed: accepted by the DNAT state.
    const d = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 2, dport: 8080, flags: SYN });
    expect(forward(nf, d, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    // A SYN-ACK nobody asked for is INVALID.
    const sa = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '172.17.0.2', sport: 3, dport: 4, flags: SYN | ACK });
    expect(forward(nf, sa, 'eth0', 'docker0')).toBe(Verdict.DROP);
    // From a container: NEW accepted, the reply ESTABLISHED.
    const c = packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.1', sport: 5, dport: 80, flags: SYN });
    expect(forward(nf, c, 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
    const r = packet(engine, { proto: 'tcp', src: '198.51.100.1', dst: '10.0.0.10', sport: 80, dport: 5, flags: SYN | ACK });
    expect(forward(nf, r, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    const hits = nf.ruleCounters().filter((x) => x.table === 'filter' && x.chain === 'FORWARD').map((x) => x.packets);
    expect(hits).toEqual([1, 1, 1, 1, 0]);
  });

  it('interface matches: exact, negated, and the + wildcard; OUTPUT has no in device', () => {
    const filter = {
      OUTPUT: [R({ kind: 'DROP' }, { in: { name: 'eth0', neg: false } }), R({ kind: 'DROP' }, { out: { name: 'veth+', neg: false } })],
      INPUT: [R({ kind: 'DROP' }, { in: { name: 'eth+', neg: true } })],
    };
    const { engine, nf } = dockerHost({ filter });
    const mk = (): number => packet(engine, { proto: 'udp', src: '10.0.0.10', dst: '10.0.0.99', sport: 1, dport: 2 });
    expect(output(nf, mk(), 'eth0')).toBe(Verdict.ACCEPT);
    expect(output(nf, mk(), 'veth1234')).toBe(Verdict.DROP);
    expect(output(nf, mk(), 'vet')).toBe(Verdict.ACCEPT);
    const inp = (dev: string): Verdict => input(nf, packet(engine, { proto: 'udp', src: '10.0.0.99', dst: '10.0.0.10', sport: 3, dport: 4 }), dev);
    expect(inp('eth1')).toBe(Verdict.ACCEPT);
    expect(inp('docker0')).toBe(Verdict.DROP);
  });

  it('a REJECT answer sent through OUTPUT during reject belongs to the rejected connection (nf_ct_attach)', () => {
    const filter = { FORWARD: [R({ kind: 'REJECT', with: 'tcp-reset' }, { proto: { name: 'tcp', neg: false } })] };
    const { engine, nf, host } = dockerHost({ filter });
    host.onReject = (rj) => {
      // The stack's answer to the DNATed SYN: a RST from the container's address to the client.
      const b = engine.pool.bytes;
      const l3 = engine.pool.base(rj.slot) + L3;
      const dst = `${b[l3 + 12]}.${b[l3 + 13]}.${b[l3 + 14]}.${b[l3 + 15]}`;
      const src = `${b[l3 + 16]}.${b[l3 + 17]}.${b[l3 + 18]}.${b[l3 + 19]}`;
      expect(src).toBe('172.17.0.2');
      const rst = packet(engine, { proto: 'tcp', src, dst, sport: 8000, dport: 50000, flags: 0x04 | ACK });
      expect(output(nf, rst, 'eth0')).toBe(Verdict.ACCEPT);
      // Un-DNATed as the client expects: from the published address and port.
      expect(read(engine, rst)).toMatchObject({ src: '10.0.0.10', sport: 8080, dst: '198.51.100.7', dport: 50000 });
    };
    const syn = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 50000, dport: 8080, flags: SYN });
    expect(forward(nf, syn, 'eth0', 'docker0')).toBe(Verdict.DROP);
    expect(host.rejects).toHaveLength(1);
    expect(nf.conntrack.count).toBe(0);
    expect(nf.conntrackList()).toEqual([]);
  });

  it('refuses plans iptables-restore would refuse', () => {
    const engine = new Engine({ seed: 1 });
    const nf = new Netfilter(engine, engine.rng, new FakeHost([], {}));
    expect(() => nf.load(plan({}, { INPUT: [R({ kind: 'JUMP', chain: 'NOPE' })] }))).toThrow(IptablesPlanError);
    expect(() => nf.load(plan({}, { INPUT: [R({ kind: 'ACCEPT' }, { dport: { port: 80, neg: false } })] }))).toThrow(/--dport need -p tcp/);
    expect(() => nf.load(plan({}, { A: [R({ kind: 'JUMP', chain: 'B' })], B: [R({ kind: 'JUMP', chain: 'A' })] }))).toThrow(/loop/);
    expect(() => nf.load(plan({}, { INPUT: [R({ kind: 'MASQUERADE', toPorts: null })] }))).toThrow(/nat table/);
  });

  it('locally delivered traffic is source-NATed at INPUT when the nat INPUT chain says so', () => {
    const nat = { INPUT: [R({ kind: 'SNAT', to: '10.9.9.9', toPorts: null }, { src: { cidr: '198.51.100.0/24', neg: false } })] };
    const { engine, nf } = dockerHost({ nat });
    const s = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 1234, dport: 22, flags: SYN });
    expect(nf.hook(Hook.PREROUTING, s, L3, 'eth0', '')).toBe(Verdict.ACCEPT);
    expect(nf.hook(Hook.INPUT, s, L3, 'eth0', '')).toBe(Verdict.ACCEPT);
    expect(read(engine, s)).toMatchObject({ src: '10.9.9.9', sport: 1234 });
    const back = packet(engine, { proto: 'tcp', src: '10.0.0.10', dst: '10.9.9.9', sport: 22, dport: 1234, flags: SYN | ACK });
    expect(output(nf, back, 'eth0')).toBe(Verdict.ACCEPT);
    expect(read(engine, back)).toMatchObject({ dst: '198.51.100.7', dport: 1234 });
  });
});
