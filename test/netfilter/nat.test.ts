import { describe, expect, it } from 'vitest';
import { ACK, FIN, R, SYN, Verdict, dockerHost, forward, icmpError, input, output, packet, read, verifyQuotedL4 } from './helpers.js';

/** A TCP handshake from a container through MASQUERADE; returns the source port the server saw. */
function handshake(h: ReturnType<typeof dockerHost>, csrc: string, sport: number, server: string, dport: number): number {
  const { engine, nf } = h;
  const syn = packet(engine, { proto: 'tcp', src: csrc, dst: server, sport, dport, flags: SYN });
  expect(forward(nf, syn, 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
  const seen = read(engine, syn);
  expect(seen.src).toBe('10.0.0.10');
  const synack = packet(engine, { proto: 'tcp', src: server, dst: '10.0.0.10', sport: dport, dport: seen.sport, flags: SYN | ACK });
  expect(forward(nf, synack, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
  const back = read(engine, synack);
  expect(back.dst).toBe(csrc);
  expect(back.dport).toBe(sport);
  const ack = packet(engine, { proto: 'tcp', src: csrc, dst: server, sport, dport, flags: ACK });
  expect(forward(nf, ack, 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
  expect(read(engine, ack).sport).toBe(seen.sport);
  return seen.sport;
}

describe('MASQUERADE', () => {
  it('keeps the source port when the tuple is free, and un-NATs the reply (checksums recomputed and equal)', () => {
    const h = dockerHost();
    const { engine, nf } = h;
    const slot = packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.1', sport: 40000, dport: 8000, flags: SYN, payload: 0 });
    expect(forward(nf, slot, 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
    const out = read(engine, slot);
    expect(out).toMatchObject({ src: '10.0.0.10', dst: '198.51.100.1', sport: 40000, dport: 8000 });

    const reply = packet(engine, { proto: 'tcp', src: '198.51.100.1', dst: '10.0.0.10', sport: 8000, dport: 40000, flags: SYN | ACK, payload: 0 });
    expect(forward(nf, reply, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    expect(read(engine, reply)).toMatchObject({ src: '198.51.100.1', dst: '172.17.0.2', sport: 8000, dport: 40000 });

    const data = packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.1', sport: 40000, dport: 8000, flags: ACK, payload: 77 });
    forward(nf, data, 'docker0', 'eth0');
    expect(read(engine, data)).toMatchObject({ src: '10.0.0.10', sport: 40000 });
  });

  it('traffic that stays on docker0 is not masqueraded (! -o docker0)', () => {
    const { engine, nf } = dockerHost();
    const slot = packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '172.17.0.3', sport: 5000, dport: 53 });
    forward(nf, slot, 'docker0', 'docker0');
    expect(read(engine, slot)).toMatchObject({ src: '172.17.0.2', sport: 5000 });
  });

  it('two containers using the same source port to the same server leave as two distinct flows', () => {
    const h = dockerHost();
    const p1 = handshake(h, '172.17.0.2', 40000, '198.51.100.1', 8000);
    const p2 = handshake(h, '172.17.0.3', 40000, '198.51.100.1', 8000);
    expect(p1).toBe(40000);
    expect(p2).not.toBe(40000);
    expect(p2).toBeGreaterThanOrEqual(1024); // the class of 40000: 1024-65535
    // Replies to each mapped port reach their own container.
    const { engine, nf } = h;
    for (const [port, ct] of [[p1, '172.17.0.2'], [p2, '172.17.0.3']] as const) {
      const r = packet(engine, { proto: 'tcp', src: '198.51.100.1', dst: '10.0.0.10', sport: 8000, dport: port, flags: ACK, payload: 5 });
      forward(nf, r, 'eth0', 'docker0');
      expect(read(engine, r)).toMatchObject({ dst: ct, dport: 40000 });
    }
    const list = nf.conntrackList();
    expect(list).toHaveLength(2);
    expect(list[1]).toContain(`src=198.51.100.1 dst=10.0.0.10 sport=8000 dport=${p2}`);
  });

  it('remaps a low port within its class (1-511, 600-1023)', () => {
    const h = dockerHost();
    handshake(h, '172.17.0.2', 100, '198.51.100.1', 8000);
    const p = handshake(h, '172.17.0.3', 100, '198.51.100.1', 8000);
    expect(p).toBeGreaterThanOrEqual(1);
    expect(p).toBeLessThanOrEqual(511);
    handshake(h, '172.17.0.2', 700, '198.51.100.1', 8000);
    const q = handshake(h, '172.17.0.3', 700, '198.51.100.1', 8000);
    expect(q).toBeGreaterThanOrEqual(600);
    expect(q).toBeLessThanOrEqual(1023);
  });

  it('reuses an existing mapping of the same source for a new destination (find_appropriate_src)', () => {
    const h = dockerHost();
    handshake(h, '172.17.0.2', 40000, '198.51.100.1', 8000);
    const remapped = handshake(h, '172.17.0.3', 40000, '198.51.100.1', 8000);
    // The same source (172.17.0.3:40000) to another server keeps its remapped port, not 40000.
    const again = handshake(h, '172.17.0.3', 40000, '198.51.100.2', 9000);
    expect(again).toBe(remapped);
  });

  it('honours --to-ports', () => {
    const nat = {
      POSTROUTING: [R({ kind: 'MASQUERADE', toPorts: { min: 20000, max: 20009 } }, { src: { cidr: '172.17.0.0/16', neg: false }, out: { name: 'docker0', neg: true }, proto: { name: 'tcp', neg: false } })],
    };
    const h = dockerHost({ nat });
    const ports = new Set<number>();
    for (let i = 0; i < 10; i++) ports.add(handshake(h, `172.17.0.${i + 2}`, 40000, '198.51.100.1', 8000));
    expect(ports.size).toBe(10);
    for (const p of ports) expect(p >= 20000 && p <= 20009).toBe(true);
  });

  it('is deterministic for a seed', () => {
    const run = (): number[] => {
      const h = dockerHost();
      return [2, 3, 4, 5].map((n) => handshake(h, `172.17.0.${n}`, 40000, '198.51.100.1', 8000));
    };
    expect(run()).toEqual(run());
  });

  it('UDP: a zero checksum stays zero, a real one is updated', () => {
    const { engine, nf } = dockerHost();
    const a = packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1', sport: 5353, dport: 53, noUdpChecksum: true, payload: 12 });
    forward(nf, a, 'docker0', 'eth0');
    expect(read(engine, a)).toMatchObject({ src: '10.0.0.10', udpCheck: 0 });
    const b = packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1', sport: 5354, dport: 53, payload: 13 });
    forward(nf, b, 'docker0', 'eth0');
    const seen = read(engine, b);
    expect(seen.src).toBe('10.0.0.10');
    expect(seen.udpCheck).not.toBe(0);
  });

  it('ICMP echo: the id plays the port; two containers with the same id get distinct ids', () => {
    const { engine, nf } = dockerHost();
    const e1 = packet(engine, { proto: 'icmp', src: '172.17.0.2', dst: '198.51.100.1', id: 77, payload: 56 });
    const e2 = packet(engine, { proto: 'icmp', src: '172.17.0.3', dst: '198.51.100.1', id: 77, payload: 56 });
    forward(nf, e1, 'docker0', 'eth0');
    forward(nf, e2, 'docker0', 'eth0');
    const s1 = read(engine, e1);
    const s2 = read(engine, e2);
    expect(s1).toMatchObject({ src: '10.0.0.10', id: 77 });
    expect(s2.src).toBe('10.0.0.10');
    expect(s2.id).not.toBe(77);
    const r2 = packet(engine, { proto: 'icmp', type: 0, src: '198.51.100.1', dst: '10.0.0.10', id: s2.id, payload: 56 });
    forward(nf, r2, 'eth0', 'docker0');
    expect(read(engine, r2)).toMatchObject({ dst: '172.17.0.3', id: 77, type: 0 });
    expect(nf.conntrackList()[1]).toBe(
      `icmp     1 30 src=172.17.0.3 dst=198.51.100.1 type=8 code=0 id=77 src=198.51.100.1 dst=10.0.0.10 type=0 code=0 id=${s2.id} mark=0 use=1`,
    );
  });

  it('MASQUERADE without an address on the way out drops and counts', () => {
    const { engine, nf, host } = dockerHost();
    host.masq.delete('eth0');
    const s = packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1' });
    expect(forward(nf, s, 'docker0', 'eth0')).toBe(Verdict.DROP);
    expect(nf.drops.natDrop).toBe(1);
  });
});

describe('DNAT for a published port', () => {
  it('rewrites the destination, keeps the client source, and un-DNATs the reply', () => {
    const { engine, nf } = dockerHost();
    const syn = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 51000, dport: 8080, flags: SYN });
    expect(forward(nf, syn, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    expect(read(engine, syn)).toMatchObject({ src: '198.51.100.7', dst: '172.17.0.2', sport: 51000, dport: 8000 });
    const synack = packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.7', sport: 8000, dport: 51000, flags: SYN | ACK });
    expect(forward(nf, synack, 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
    expect(read(engine, synack)).toMatchObject({ src: '10.0.0.10', dst: '198.51.100.7', sport: 8080, dport: 51000 });
    expect(nf.conntrackList()).toEqual([
      'tcp      6 60 SYN_RECV src=198.51.100.7 dst=10.0.0.10 sport=51000 dport=8080 src=172.17.0.2 dst=198.51.100.7 sport=8000 dport=51000 mark=0 use=1',
    ]);
  });

  it('does not DNAT what comes in on docker0 (-i docker0 -j RETURN), nor other ports', () => {
    const { engine, nf } = dockerHost();
    const a = packet(engine, { proto: 'tcp', src: '172.17.0.3', dst: '10.0.0.10', sport: 5000, dport: 8080, flags: SYN });
    input(nf, a, 'docker0');
    expect(read(engine, a)).toMatchObject({ dst: '10.0.0.10', dport: 8080 });
    const b = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 5000, dport: 8081, flags: SYN });
    input(nf, b, 'eth0');
    expect(read(engine, b)).toMatchObject({ dst: '10.0.0.10', dport: 8081 });
  });

  it('DNATs locally generated traffic at OUTPUT (! -d 127.0.0.0/8 --dst-type LOCAL)', () => {
    const { engine, nf } = dockerHost();
    const s = packet(engine, { proto: 'tcp', src: '10.0.0.10', dst: '10.0.0.10', sport: 33000, dport: 8080, flags: SYN });
    expect(output(nf, s, 'docker0')).toBe(Verdict.ACCEPT);
    expect(read(engine, s)).toMatchObject({ src: '10.0.0.10', dst: '172.17.0.2', dport: 8000 });
  });

  it('the nat table is consulted only for the first packet of a connection', () => {
    const { engine, nf } = dockerHost();
    const syn = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 51000, dport: 8080, flags: SYN });
    forward(nf, syn, 'eth0', 'docker0');
    const hitsAfterFirst = nf.ruleCounters().filter((c) => c.table === 'nat').map((c) => c.packets);
    for (let i = 0; i < 5; i++) {
      // Retransmitted SYNs (an ACK before the SYN-ACK would be INVALID and pass un-NATed, as in Linux).
      const p = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 51000, dport: 8080, flags: SYN });
      forward(nf, p, 'eth0', 'docker0');
      expect(read(engine, p)).toMatchObject({ dst: '172.17.0.2', dport: 8000 });
    }
    expect(nf.ruleCounters().filter((c) => c.table === 'nat').map((c) => c.packets)).toEqual(hitsAfterFirst);
  });

  it('REDIRECT sends to the in device address and the given port', () => {
    const nat = { PREROUTING: [R({ kind: 'REDIRECT', toPort: 3128 }, { proto: { name: 'tcp', neg: false }, dport: { port: 80, neg: false } })] };
    const { engine, nf } = dockerHost({ nat });
    const s = packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '93.184.216.34', sport: 41000, dport: 80, flags: SYN });
    input(nf, s, 'docker0');
    expect(read(engine, s)).toMatchObject({ dst: '172.17.0.1', dport: 3128 });
  });
});

describe('RELATED ICMP errors', () => {
  it('port unreachable from the server for a masqueraded UDP flow: outer and quoted headers un-NATed', () => {
    const { engine, nf } = dockerHost();
    const q = packet(engine, { proto: 'udp', src: '172.17.0.2', dst: '198.51.100.1', sport: 5000, dport: 9999, payload: 4 });
    forward(nf, q, 'docker0', 'eth0');
    expect(read(engine, q)).toMatchObject({ src: '10.0.0.10', sport: 5000 });
    const err = icmpError(engine, 3, 3, '198.51.100.1', '10.0.0.10', q, 12);
    expect(forward(nf, err, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    const seen = read(engine, err);
    expect(seen).toMatchObject({ src: '198.51.100.1', dst: '172.17.0.2', type: 3, code: 3 });
    expect(seen.inner).toEqual({ src: '172.17.0.2', dst: '198.51.100.1', sport: 5000, dport: 9999, proto: 17, id: -1 });
    expect(verifyQuotedL4(engine, err)).toBe(true);
    expect(nf.entryOf(err)).toBe(-1); // done with at POSTROUTING
  });

  it('a remapped port is restored inside the quote too (TCP, whole header quoted)', () => {
    const h = dockerHost();
    const { engine, nf } = h;
    handshake(h, '172.17.0.2', 40000, '198.51.100.1', 8000);
    const p2 = handshake(h, '172.17.0.3', 40000, '198.51.100.1', 8000);
    const data = packet(engine, { proto: 'tcp', src: '172.17.0.3', dst: '198.51.100.1', sport: 40000, dport: 8000, flags: ACK, payload: 20 });
    forward(nf, data, 'docker0', 'eth0');
    expect(read(engine, data).sport).toBe(p2);
    const err = icmpError(engine, 11, 0, '203.0.113.9', '10.0.0.10', data, 40);
    forward(nf, err, 'eth0', 'docker0');
    const seen = read(engine, err);
    expect(seen).toMatchObject({ src: '203.0.113.9', dst: '172.17.0.3', type: 11 });
    expect(seen.inner).toMatchObject({ src: '172.17.0.3', sport: 40000, dst: '198.51.100.1', dport: 8000 });
    expect(verifyQuotedL4(engine, err)).toBe(true);
  });

  it('an error from the container about a DNATed flow leaves with the published address in the quote', () => {
    const udpNat = dockerHost({
      nat: {
        PREROUTING: [R({ kind: 'DNAT', to: '172.17.0.2', toPort: 5300 }, { in: { name: 'eth0', neg: false }, proto: { name: 'udp', neg: false }, dport: { port: 53, neg: false } })],
      },
    });
    const q = packet(udpNat.engine, { proto: 'udp', src: '198.51.100.7', dst: '10.0.0.10', sport: 6000, dport: 53, payload: 3 });
    forward(udpNat.nf, q, 'eth0', 'docker0');
    expect(read(udpNat.engine, q)).toMatchObject({ dst: '172.17.0.2', dport: 5300 });
    const err = icmpError(udpNat.engine, 3, 3, '172.17.0.2', '198.51.100.7', q, 11);
    forward(udpNat.nf, err, 'docker0', 'eth0');
    const seen = read(udpNat.engine, err);
    expect(seen).toMatchObject({ src: '10.0.0.10', dst: '198.51.100.7' });
    expect(seen.inner).toMatchObject({ src: '198.51.100.7', dst: '10.0.0.10', sport: 6000, dport: 53 });
    expect(verifyQuotedL4(udpNat.engine, err)).toBe(true);
  });

  it('an error quoting nothing we know is INVALID and passes untouched', () => {
    const { engine, nf } = dockerHost({ filter: { FORWARD: [R({ kind: 'DROP' }, { ctstate: { states: ['INVALID'], neg: false } })] } });
    const q = packet(engine, { proto: 'udp', src: '10.0.0.10', dst: '198.51.100.1', sport: 1, dport: 2 });
    const err = icmpError(engine, 3, 1, '198.51.100.1', '10.0.0.10', q);
    expect(forward(nf, err, 'eth0', 'docker0')).toBe(Verdict.DROP);
    expect(nf.drops.filterDrop).toBe(1);
  });
});

describe('TCP close through NAT', () => {
  it('FIN/ACK sequence walks FIN_WAIT → CLOSE_WAIT → LAST_ACK → TIME_WAIT (120 s)', () => {
    const h = dockerHost();
    const { engine, nf } = h;
    handshake(h, '172.17.0.2', 40000, '198.51.100.1', 8000);
    expect(nf.conntrackList()[0]).toMatch(/^tcp {6}6 432000 ESTABLISHED .* \[ASSURED\] mark=0 use=1$/);
    const step = (fromCt: boolean, flags: number, state: string, secs: number): void => {
      const s = fromCt
        ? packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.1', sport: 40000, dport: 8000, flags })
        : packet(engine, { proto: 'tcp', src: '198.51.100.1', dst: '10.0.0.10', sport: 8000, dport: 40000, flags });
      forward(nf, s, fromCt ? 'docker0' : 'eth0', fromCt ? 'eth0' : 'docker0');
      expect(nf.conntrackList()[0]).toContain(`6 ${secs} ${state} `);
    };
    step(true, FIN | ACK, 'FIN_WAIT', 120);
    step(false, ACK, 'CLOSE_WAIT', 60);
    step(false, FIN | ACK, 'LAST_ACK', 30);
    step(true, ACK, 'TIME_WAIT', 120);
  });
});

describe('INVALID TCP', () => {
  it('an ACK in the original direction before the SYN-ACK is INVALID and is not translated', () => {
    const { engine, nf } = dockerHost();
    const syn = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 51000, dport: 8080, flags: SYN });
    forward(nf, syn, 'eth0', 'docker0');
    const ack = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 51000, dport: 8080, flags: ACK });
    forward(nf, ack, 'eth0', 'docker0');
    expect(read(engine, ack)).toMatchObject({ dst: '10.0.0.10', dport: 8080 });
    expect(nf.conntrackStats().invalid).toBe(1);
  });

  it('a RST as the only reply deletes the entry at once, and is itself un-NATed', () => {
    const { engine, nf } = dockerHost();
    const syn = packet(engine, { proto: 'tcp', src: '198.51.100.7', dst: '10.0.0.10', sport: 51000, dport: 8080, flags: SYN });
    forward(nf, syn, 'eth0', 'docker0');
    const rst = packet(engine, { proto: 'tcp', src: '172.17.0.2', dst: '198.51.100.7', sport: 8000, dport: 51000, flags: 0x04 | ACK });
    expect(forward(nf, rst, 'docker0', 'eth0')).toBe(Verdict.ACCEPT);
    expect(read(engine, rst)).toMatchObject({ src: '10.0.0.10', sport: 8080 });
    expect(nf.conntrackList()).toEqual([]);
    expect(nf.conntrack.count).toBe(0);
  });
});

describe('RELATED errors about pings', () => {
  it('time exceeded for a masqueraded echo request: the quoted echo gets its id and source back', () => {
    const { engine, nf } = dockerHost();
    const first = packet(engine, { proto: 'icmp', src: '172.17.0.9', dst: '198.51.100.1', id: 500, payload: 56 });
    forward(nf, first, 'docker0', 'eth0');
    const e = packet(engine, { proto: 'icmp', src: '172.17.0.2', dst: '198.51.100.1', id: 500, payload: 56 });
    forward(nf, e, 'docker0', 'eth0');
    const mapped = read(engine, e).id;
    expect(mapped).not.toBe(500);
    const err = icmpError(engine, 11, 0, '203.0.113.1', '10.0.0.10', e, 8);
    expect(forward(nf, err, 'eth0', 'docker0')).toBe(Verdict.ACCEPT);
    const seen = read(engine, err);
    expect(seen).toMatchObject({ src: '203.0.113.1', dst: '172.17.0.2', type: 11 });
    expect(seen.inner).toMatchObject({ src: '172.17.0.2', dst: '198.51.100.1', proto: 1, id: 500 });
    // Only 8 bytes of the echo are quoted: its checksum field must be the one the container sent.
    const sent = packet(engine, { proto: 'icmp', src: '172.17.0.2', dst: '198.51.100.1', id: 500, payload: 56 });
    const b = engine.pool.bytes;
    const quoted = b.slice(engine.pool.base(err) + 14 + 28 + 20, engine.pool.base(err) + 14 + 28 + 28);
    const original = b.slice(engine.pool.base(sent) + 14 + 20, engine.pool.base(sent) + 14 + 28);
    expect(Array.from(quoted)).toEqual(Array.from(original));
  });
});
