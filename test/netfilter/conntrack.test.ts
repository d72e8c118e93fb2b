import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { Engine } from '../../src/sim/engine.js';
import { ACK, FIN, FakeHost, R, RST, SYN, Verdict, dockerHost, forward, input, packet, plan, read } from './helpers.js';

const SEC = 1e9;

describe('conntrack timeouts (virtual time)', () => {
  it('an unreplied UDP entry lives 30 s from its last packet; afterwards a new entry is made', () => {
    const { engine, nf } = dockerHost();
    const send = (): Verdict => forward(nf, packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1', sport: 7000, dport: 53 }), 'docker0', 'eth0');
    expect(send()).toBe(Verdict.ACCEPT);
    expect(nf.conntrackList()).toEqual([
      'udp      17 30 src=172.17.0.2 dst=198.51.100.1 sport=7000 dport=53 [UNREPLIED] src=198.51.100.1 dst=10.0.0.10 sport=53 dport=7000 mark=0 use=1',
    ]);
    engine.now += 29 * SEC;
    expect(nf.conntrackList()[0]).toContain('udp      17 1 ');
    send(); // refreshes
    expect(nf.conntrackList()[0]).toContain('udp      17 30 ');
    engine.now += 30 * SEC;
    expect(nf.conntrackList()).toEqual([]);
    expect(send()).toBe(Verdict.ACCEPT);
    expect(nf.conntrackStats()).toMatchObject({ new: 2, expired: 1 });
    expect(nf.conntrackList()).toHaveLength(1);
  });

  it('ctstate: an unreplied flow stays NEW, a replied one is ESTABLISHED', () => {
    const filter = { FORWARD: [R({ kind: 'DROP' }, { ctstate: { states: ['ESTABLISHED'], neg: false } })] };
    const { engine, nf } = dockerHost({ filter });
    const out = (): Verdict => forward(nf, packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1', sport: 7000, dport: 53 }), 'docker0', 'eth0');
    expect(out()).toBe(Verdict.ACCEPT);
    expect(out()).toBe(Verdict.ACCEPT);
    expect(forward(nf, packet(engine, { proto: 'udp', src: '198.51.100.1', dst: '10.0.0.10', sport: 53, dport: 7000 }), 'eth0', 'docker0')).toBe(Verdict.DROP);
  });

  it('UDP becomes an ASSURED stream (120 s) when still active after 2 s with replies', () => {
    const { engine, nf } = dockerHost();
    const out = (): void => void forward(nf, packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1', sport: 7000, dport: 53 }), 'docker0', 'eth0');
    const back = (): void => void forward(nf, packet(engine, { proto: 'udp', src: '198.51.100.1', dst: '10.0.0.10', sport: 53, dport: 7000 }), 'eth0', 'docker0');
    out();
    back();
    expect(nf.conntrackList()[0]).toMatch(/^udp {6}17 30 src=.* dport=53 src=.*dport=7000 mark=0 use=1$/);
    engine.now += 3 * SEC;
    out();
    expect(nf.conntrackList()[0]).toMatch(/^udp {6}17 120 .*\[ASSURED\] mark=0 use=1$/);
  });

  it('TCP: ESTABLISHED shows 432000 s (5 days) and dies after it; TIME_WAIT after 120 s', () => {
    const { engine, nf } = dockerHost();
    const c2s = (flags: number): void =>
      void forward(nf, packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.1', sport: 40000, dport: 8000, flags }), 'docker0', 'eth0');
    const s2c = (flags: number): void =>
      void forward(nf, packet(engine, { proto: 'tcp', src: '198.51.100.1', dst: '10.0.0.10', sport: 8000, dport: 40000, flags }), 'eth0', 'docker0');
    c2s(SYN);
    expect(nf.conntrackList()[0]).toBe(
      'tcp      6 120 SYN_SENT src=172.17.0.2 dst=198.51.100.1 sport=40000 dport=8000 [UNREPLIED] src=198.51.100.1 dst=10.0.0.10 sport=8000 dport=40000 mark=0 use=1',
    );
    s2c(SYN | ACK);
    c2s(ACK);
    engine.now += 1 * SEC;
    expect(nf.conntrackList()).toEqual([
      'tcp      6 431999 ESTABLISHED src=172.17.0.2 dst=198.51.100.1 sport=40000 dport=8000 src=198.51.100.1 dst=10.0.0.10 sport=8000 dport=40000 [ASSURED] mark=0 use=1',
    ]);
    c2s(FIN | ACK);
    s2c(FIN | ACK);
    c2s(ACK);
    expect(nf.conntrackList()[0]).toContain(' 120 TIME_WAIT ');
    engine.now += 120 * SEC;
    expect(nf.conntrackList()).toEqual([]);
  });

  it('a SYN in TIME_WAIT reopens the connection as a new entry', () => {
    const { engine, nf } = dockerHost();
    const c2s = (flags: number): void =>
      void forward(nf, packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.1', sport: 40000, dport: 8000, flags }), 'docker0', 'eth0');
    const s2c = (flags: number): void =>
      void forward(nf, packet(engine, { proto: 'tcp', src: '198.51.100.1', dst: '10.0.0.10', sport: 8000, dport: 40000, flags }), 'eth0', 'docker0');
    c2s(SYN);
    s2c(SYN | ACK);
    c2s(ACK);
    c2s(FIN | ACK);
    s2c(FIN | ACK);
    c2s(ACK);
    engine.now += 5 * SEC;
    c2s(SYN);
    const list = nf.conntrackList();
    expect(list).toHaveLength(1);
    expect(list[0]).toContain('tcp      6 120 SYN_SENT ');
  });

  it('a RST moves an established connection to CLOSE for 10 s', () => {
    const { engine, nf } = dockerHost();
    const mk = (flags: number, back: boolean): number =>
      back
        ? packet(engine, { proto: 'tcp', src: '198.51.100.1', dst: '10.0.0.10', sport: 8000, dport: 40000, flags })
        : packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.1', sport: 40000, dport: 8000, flags });
    forward(nf, mk(SYN, false), 'docker0', 'eth0');
    forward(nf, mk(SYN | ACK, true), 'eth0', 'docker0');
    forward(nf, mk(ACK, false), 'docker0', 'eth0');
    const rst = mk(RST, true);
    forward(nf, rst, 'eth0', 'docker0');
    expect(read(engine, rst).dst).toBe('172.17.0.2');
    expect(nf.conntrackList()[0]).toContain(' 10 CLOSE ');
  });
});

describe('table limit (nf_conntrack_max)', () => {
  it('drops new connections when full of assured entries, and counts them', () => {
    const { engine, nf } = dockerHost({ conntrackMax: 3 });
    // Three streams on distinct container addresses and ports.
    for (let n = 2; n <= 4; n++) {
      forward(nf, packet(engine, { proto: 'udp', src: `172.17.0.${n}`, dst: '198.51.100.1', sport: 7000 + n, dport: 53 }), 'docker0', 'eth0');
    }
    // Make them replied and older than 2 s, then active again: ASSURED.
    for (let n = 2; n <= 4; n++) forward(nf, packet(engine, { proto: 'udp', src: '198.51.100.1', dst: '10.0.0.10', sport: 53, dport: 7000 + n }), 'eth0', 'docker0');
    engine.now += 3 * SEC;
    for (let n = 2; n <= 4; n++) forward(nf, packet(engine, { proto: 'udp', src: `172.17.0.${n}`, dst: '198.51.100.1', sport: 7000 + n, dport: 53 }), 'docker0', 'eth0');
    expect(nf.conntrackList().every((l) => l.includes('[ASSURED]'))).toBe(true);
    const extra = packet(engine, { proto: 'udp', src: '172.17.0.9', dst: '198.51.100.1', sport: 9, dport: 53 });
    expect(forward(nf, extra, 'docker0', 'eth0')).toBe(Verdict.DROP);
    expect(nf.drops.tableFull).toBe(1);
    expect(nf.dropSummary()).toContain('nf_conntrack: table full, dropping packet: 1');
    // Established traffic still flows.
    const known = packet(engine, { proto: 'udp', src: '198.51.100.1', dst: '10.0.0.10', sport: 53, dport: 7002 });
    expect(forward(nf, known, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    // Once they time out, there is room again.
    engine.now += 121 * SEC;
    expect(forward(nf, packet(engine, { proto: 'udp', src: '172.17.0.9', dst: '198.51.100.1', sport: 9, dport: 53 }), 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
    expect(nf.conntrack.count).toBe(1);
  });

  it('evicts an entry that is not assured to make room (early_drop)', () => {
    const { engine, nf } = dockerHost({ conntrackMax: 1 });
    forward(nf, packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1', sport: 1, dport: 53 }), 'docker0', 'eth0');
    expect(forward(nf, packet(engine, { proto: 'udp', src: '172.17.0.3', dst: '198.51.100.1', sport: 2, dport: 53 }), 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
    expect(nf.conntrackStats().earlyDrop).toBe(1);
    expect(nf.conntrackList()).toHaveLength(1);
    expect(nf.conntrackList()[0]).toContain('src=172.17.0.3');
  });

  it('holds many connections (hash growth) and finds every one of them again', () => {
    const { engine, nf } = dockerHost();
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const s = packet(engine, { proto: 'tcp', src: `172.17.${Math.floor(i / 250)}.${(i % 250) + 2}`, dst: '198.51.100.1', sport: 40000, dport: 443, flags: SYN });
      forward(nf, s, 'docker0', 'eth0');
      engine.pool.release(s);
    }
    expect(nf.conntrack.count).toBe(n);
    const ports = new Set<number>();
    for (let i = 0; i < n; i++) {
      const s = packet(engine, { proto: 'tcp', src: `172.17.${Math.floor(i / 250)}.${(i % 250) + 2}`, dst: '198.51.100.1', sport: 40000, dport: 443, flags: SYN });
      forward(nf, s, 'docker0', 'eth0');
      ports.add(read(engine, s).sport);
      engine.pool.release(s);
    }
    expect(ports.size).toBe(n); // every flow its own mapped port, found again on retransmission
    expect(nf.conntrack.count).toBe(n);
  });
});

describe('incremental checksums equal full recomputation', () => {
  it('for random TCP/UDP/ICMP packets through MASQUERADE and back (property)', () => {
    const proto = fc.constantFrom<'tcp' | 'udp' | 'icmp'>('tcp', 'udp', 'icmp');
    fc.assert(
      fc.property(proto, fc.integer({ min: 2, max: 254 }), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 300 }), fc.boolean(), (p, host, sport, dport, payload, zeroUdp) => {
        const { engine, nf } = dockerHost();
        const src = `172.17.0.${host}`;
        const s = packet(engine, { proto: p, src, dst: '203.0.113.77', sport, dport, id: sport, payload, flags: SYN, noUdpChecksum: zeroUdp });
        expect(forward(nf, s, 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
        const seen = read(engine, s); // verifies every checksum by recomputation
        expect(seen.src).toBe('10.0.0.10');
        const r = packet(engine, { proto: p, type: 0, src: '203.0.113.77', dst: '10.0.0.10', sport: dport, dport: seen.sport, id: seen.id, payload, flags: SYN | ACK, noUdpChecksum: zeroUdp });
        expect(forward(nf, r, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
        const back = read(engine, r);
        expect(back.dst).toBe(src);
        if (p === 'icmp') expect(back.id).toBe(sport);
        else expect(back.dport).toBe(sport);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe('loopback', () => {
  it('a packet that leaves by lo keeps its entry on the way back in (no second entry)', () => {
    const { engine, nf } = dockerHost();
    const s = packet(engine, { proto: 'udp', src: '127.0.0.1', dst: '127.0.0.1', sport: 5000, dport: 6000 });
    expect(nf.hook(0 + 3, s, 14, '', 'lo')).toBe(Verdict.ACCEPT); // OUTPUT
    expect(nf.hook(4, s, 14, '', 'lo')).toBe(Verdict.ACCEPT); // POSTROUTING
    expect(input(nf, s, 'lo')).toBe(Verdict.ACCEPT);
    expect(nf.conntrack.count).toBe(1);
    expect(nf.conntrackList()[0]).toContain('[UNREPLIED]');
  });

  it('a slot reused for a packet arriving elsewhere does not inherit a kept loopback entry', () => {
    const { engine, nf } = dockerHost();
    const s = packet(engine, { proto: 'udp', src: '127.0.0.1', dst: '127.0.0.1', sport: 5000, dport: 6000 });
    nf.hook(3, s, 14, '', 'lo');
    nf.hook(4, s, 14, '', 'lo');
    // The stack lost it; the slot comes back holding another datagram from eth0.
    engine.pool.release(s);
    const t = packet(engine, { proto: 'udp', src: '198.51.100.3', dst: '10.0.0.10', sport: 1, dport: 2 });
    expect(t).toBe(s);
    expect(input(nf, t, 'eth0')).toBe(Verdict.ACCEPT);
    expect(nf.conntrackList()).toHaveLength(2);
    expect(nf.conntrackList()[1]).toContain('src=198.51.100.3 dst=10.0.0.10 sport=1 dport=2');
  });
});

describe('when conntrack runs at all', () => {
  it('a namespace without nat rules or ctstate matches keeps no table (as Linux without conntrack users)', () => {
    const e = new Engine({ seed: 3 });
    const nf = new Netfilter(e, e.rng, new FakeHost(['172.17.0.2'], {}));
    nf.load(plan({}, { INPUT: [R({ kind: 'DROP' }, { proto: { name: 'udp', neg: false }, dport: { port: 9, neg: false } })] }));
    expect(nf.tracking).toBe(false);
    expect(input(nf, packet(e, { proto: 'tcp', src: '172.17.0.1', dst: '172.17.0.2', sport: 1, dport: 2, flags: SYN }), 'eth0')).toBe(Verdict.ACCEPT);
    expect(input(nf, packet(e, { proto: 'udp', src: '172.17.0.1', dst: '172.17.0.2', sport: 1, dport: 9 }), 'eth0')).toBe(Verdict.DROP);
    expect(nf.conntrackList()).toEqual([]);
    expect(nf.drops.filterDrop).toBe(1);
  });

  it('a --ctstate match, or conntrack: always, turns tracking on', () => {
    const e = new Engine({ seed: 3 });
    const nf = new Netfilter(e, e.rng, new FakeHost(['172.17.0.2'], {}));
    nf.load(plan({}, { INPUT: [R({ kind: 'ACCEPT' }, { ctstate: { states: ['ESTABLISHED'], neg: false } })] }));
    expect(nf.tracking).toBe(true);
    const nf2 = new Netfilter(e, e.rng, new FakeHost(['172.17.0.2'], {}), { conntrack: 'always' });
    nf2.load(plan({}, {}));
    expect(nf2.tracking).toBe(true);
    input(nf2, packet(e, { proto: 'udp', src: '172.17.0.1', dst: '172.17.0.2', sport: 1, dport: 9 }), 'eth0');
    expect(nf2.conntrackList()).toHaveLength(1);
  });
});
