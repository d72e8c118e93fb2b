// UDP sockets: echo service, port unreachable, bind rules (EADDRINUSE), SO_REUSEPORT spreading,
// ephemeral ports, and the IP header fields Linux uses.

import { describe, expect, it } from 'vitest';
import { SocketError, EPHEMERAL_HIGH, EPHEMERAL_LOW, udpEphemeralPort } from '../../src/sockets/ports.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import {
  df, dstAddr, dstPort, icmp, icmpCode, icmpLength, icmpRest, icmpType, ipv4, quoted, quotedBytes, srcAddr, srcPort,
  tos, totalLength, ttl, udp, udpChecksumOk, udpPayload,
} from './checker.js';
import { engine, host, nic, SEC, wire } from './world.js';

function pair(seed = 1) {
  const e = engine(seed);
  const w = wire(e);
  const client = host(e, 'client');
  const server = host(e, 'server');
  const cn = nic(client, w, 'eth0', '52:54:00:aa:00:01', '198.51.100.1/24');
  const sn = nic(server, w, 'eth0', '52:54:00:aa:00:10', '198.51.100.10/24');
  return { e, client, server, crec: cn.rec, srec: sn.rec };
}

const echo = (data: Uint8Array, _from: number, _port: number, reply: (b: Uint8Array) => void): void => reply(data);

describe('UDP echo', () => {
  it('sends a DF datagram with a full checksum and gets the echo back from the service port', () => {
    const { e, client, server, crec } = pair();
    server.udp.bind({ port: 7 }, echo);
    const got: string[] = [];
    const s = client.udp.send({ dst: '198.51.100.10', dport: 7, data: 'ping', onDatagram: (d, from, port) => got.push(`${new TextDecoder().decode(d)} ${from} ${port}`) });
    e.run(SEC);
    expect(got).toEqual([`ping ${parseIpv4('198.51.100.10')} 7`]);
    const out = crec.ip.find((f) => f.dir === 'out')!;
    expect(out.bytes.length).toBe(46); // 14 + 20 + 8 + 4, no padding on the sender (as in nat-basic)
    ipv4(out, srcAddr('198.51.100.1'), dstAddr('198.51.100.10'), ttl(64), tos(0), df(true), totalLength(32),
      udp(srcPort(s.port), dstPort(7), udpPayload('ping'), udpChecksumOk('198.51.100.1', '198.51.100.10')));
    const back = crec.ip.find((f) => f.dir === 'in')!;
    ipv4(back, srcAddr('198.51.100.10'), ttl(64), df(true),
      udp(srcPort(7), dstPort(s.port), udpPayload('ping'), udpChecksumOk('198.51.100.10', '198.51.100.1')));
    expect(s.port).toBeGreaterThanOrEqual(EPHEMERAL_LOW);
    expect(s.port).toBeLessThanOrEqual(EPHEMERAL_HIGH);
  });

  it('a connected socket numbers its datagrams with its own counter (inet_id), one apart', () => {
    const { e, client, server, crec } = pair();
    server.udp.bind({ port: 7 }, echo);
    const s = client.udp.send({ dst: '198.51.100.10', dport: 7, data: 'a' });
    s.send('b');
    s.send('c');
    e.run(SEC);
    const ids = crec.ip.filter((f) => f.dir === 'out').map((f) => (f.bytes[18]! << 8) | f.bytes[19]!);
    expect(ids.length).toBe(3);
    expect(ids[1]).toBe((ids[0]! + 1) & 0xffff);
    expect(ids[2]).toBe((ids[0]! + 2) & 0xffff);
  });
});

describe('UDP to a closed port', () => {
  it('answers ICMP port unreachable: TOS 0xc0, no DF, TTL 64, the whole datagram quoted (publish capture)', () => {
    const { e, client, crec } = pair();
    const s = client.udp.send({ dst: '198.51.100.10', dport: 9998, data: 'ping' });
    e.run(SEC);
    const sent = crec.ip.find((f) => f.dir === 'out')!;
    const err = crec.ip.find((f) => f.dir === 'in')!;
    expect(err.bytes.length).toBe(74);
    ipv4(err, srcAddr('198.51.100.10'), dstAddr('198.51.100.1'), tos(0xc0), df(false), ttl(64), totalLength(60),
      icmp(icmpType(3), icmpCode(3), icmpRest(0), icmpLength(40),
        quoted(df(true), ttl(64), udp(dstPort(9998))), quotedBytes(sent.bytes.subarray(14))));
    expect(s.errors).toEqual(['ECONNREFUSED']);
  });

  it('quotes at most 576 - 28 bytes of a long datagram', () => {
    const { e, client, crec } = pair();
    client.udp.send({ dst: '198.51.100.10', dport: 9, data: new Uint8Array(1000) });
    e.run(SEC);
    const err = crec.ip.find((f) => f.dir === 'in')!;
    ipv4(err, totalLength(576), icmp(icmpType(3), icmpLength(556)));
  });

  it('sends no port unreachable for a broadcast datagram', () => {
    const { e, client, crec } = pair();
    const s = client.udp.bind({ broadcast: true });
    s.send('hello', '198.51.100.255', 9);
    e.run(SEC);
    const out = crec.ip.filter((f) => f.dir === 'out');
    expect(out.length).toBe(1);
    expect(Array.from(out[0]!.bytes.subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 255]);
    expect(crec.ip.filter((f) => f.dir === 'in').length).toBe(0);
    expect(() => client.udp.bind().send('x', '198.51.100.255', 9)).toThrow(/EACCES/);
  });
});

describe('ICMP error rate limit (icmp_ratelimit 1 s, burst 6)', () => {
  it('answers six datagrams to a closed port at once, then one per second', () => {
    const { e, client, crec } = pair();
    // Resolve ARP both ways first.
    client.udp.send({ dst: '198.51.100.10', dport: 9, data: 'arp' });
    e.run(10 * SEC);
    const s = client.udp.bind();
    for (let i = 0; i < 10; i++) s.send('x', '198.51.100.10', 9);
    e.run(10 * SEC + 500_000_000);
    for (let i = 0; i < 3; i++) s.send('x', '198.51.100.10', 9);
    e.run(12 * SEC);
    const errs = crec.ip.filter((f) => f.dir === 'in' && f.bytes[23] === 1 && f.t >= 10 * SEC);
    // The bucket refilled to its cap (6 s) while idle: six of the ten get an answer; 0.5 s later the
    // bucket holds half a token, so none of the next three does.
    expect(errs.length).toBe(6);
    expect(client.udp.stats.outDatagrams).toBe(14);
    e.run(13 * SEC);
    s.send('x', '198.51.100.10', 9);
    e.run(14 * SEC);
    expect(crec.ip.filter((f) => f.dir === 'in' && f.bytes[23] === 1 && f.t >= 10 * SEC).length).toBe(7);
  });
});

describe('bind rules (udp_lib_lport_inuse)', () => {
  type B = { addr?: string; reuseport?: boolean; reuseaddr?: boolean };
  const cases: { name: string; first: B; second: B; ok: boolean }[] = [
    { name: 'same address twice', first: { addr: '198.51.100.1' }, second: { addr: '198.51.100.1' }, ok: false },
    { name: 'wildcard, then specific', first: {}, second: { addr: '198.51.100.1' }, ok: false },
    { name: 'specific, then wildcard', first: { addr: '198.51.100.1' }, second: {}, ok: false },
    { name: 'two different specific addresses', first: { addr: '198.51.100.1' }, second: { addr: '127.0.0.1' }, ok: true },
    { name: 'wildcard twice', first: {}, second: {}, ok: false },
    { name: 'both SO_REUSEPORT', first: { reuseport: true }, second: { reuseport: true }, ok: true },
    { name: 'only the second SO_REUSEPORT', first: {}, second: { reuseport: true }, ok: false },
    { name: 'both SO_REUSEADDR', first: { reuseaddr: true }, second: { reuseaddr: true }, ok: true },
    { name: 'only one SO_REUSEADDR', first: { reuseaddr: true }, second: {}, ok: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.ok ? 'allowed' : 'EADDRINUSE'}`, () => {
      const { client } = pair();
      client.udp.bind({ ...c.first, port: 5000 });
      const second = (): unknown => client.udp.bind({ ...c.second, port: 5000 });
      if (c.ok) expect(second).not.toThrow();
      else {
        expect(second).toThrow(SocketError);
        expect(second).toThrow(/EADDRINUSE/);
      }
    });
  }

  it('refuses an address that is not ours (EADDRNOTAVAIL), frees the port on close', () => {
    const { client } = pair();
    expect(() => client.udp.bind({ addr: '192.0.2.1', port: 1 })).toThrow(/EADDRNOTAVAIL/);
    const s = client.udp.bind({ port: 53 });
    expect(() => client.udp.bind({ port: 53 })).toThrow(/EADDRINUSE/);
    s.close();
    expect(() => client.udp.bind({ port: 53 })).not.toThrow();
  });

  it('the connected socket wins over the bound one (compute_score)', () => {
    const { e, client, server } = pair();
    const bound: number[] = [];
    const conn: number[] = [];
    server.udp.bind({ port: 6000, reuseaddr: true }, (d) => bound.push(d[0]!));
    const c = server.udp.bind({ port: 6000, reuseaddr: true }, (d) => conn.push(d[0]!));
    c.connect('198.51.100.1', 7000);
    client.udp.bind({ port: 7000 }).send(new Uint8Array([1]), '198.51.100.10', 6000);
    client.udp.bind({ port: 7001 }).send(new Uint8Array([2]), '198.51.100.10', 6000);
    e.run(SEC);
    expect(conn).toEqual([1]);
    expect(bound).toEqual([2]);
  });
});

describe('SO_REUSEPORT', () => {
  it('spreads flows over the group by 4-tuple hash; one flow always lands on the same socket', () => {
    const { e, client, server } = pair();
    const counts = [0, 0, 0, 0];
    const byPort = new Map<number, Set<number>>();
    for (let i = 0; i < 4; i++) {
      server.udp.bind({ port: 5353, reuseport: true }, (_d, _f, fromPort) => {
        counts[i]!++;
        let set = byPort.get(fromPort);
        if (set === undefined) byPort.set(fromPort, (set = new Set()));
        set.add(i);
      });
    }
    // Resolve ARP first: 400 datagrams at once would overflow unres_qlen_bytes (as on Linux).
    client.udp.bind({ port: 19999 }).send('arp', '198.51.100.10', 9);
    e.run(SEC);
    const socks = [];
    for (let p = 0; p < 200; p++) socks.push(client.udp.bind({ port: 20000 + p }));
    for (const s of socks) {
      s.send('q', '198.51.100.10', 5353);
      s.send('q', '198.51.100.10', 5353);
    }
    e.run(2 * SEC);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(400);
    for (const n of counts) expect(n).toBeGreaterThan(40);
    for (const set of byPort.values()) expect(set.size).toBe(1);
  });
});

describe('unresolved neighbour queue', () => {
  it('keeps about unres_qlen_bytes (212992) of truesize while ARP resolves, dropping the oldest', () => {
    const { e, client, server } = pair();
    const got: number[] = [];
    server.udp.bind({ port: 9 }, (d) => got.push((d[0]! << 8) | d[1]!));
    const s = client.udp.bind();
    for (let i = 0; i < 400; i++) s.send(new Uint8Array([i >> 8, i & 0xff]), '198.51.100.10', 9);
    e.run(SEC);
    // 46-byte frames cost 64 + 832 bytes each: 237 fit, the newest ones.
    expect(got.length).toBe(237);
    expect(got[0]).toBe(400 - 237);
    expect(got[236]).toBe(399);
    expect(client.neigh.drops).toBe(400 - 237);
  });
});

describe('ephemeral ports (udp_lib_get_port)', () => {
  it('stays in 32768–60999, starts at a random place and skips ports in use', () => {
    const starts = new Set<number>();
    for (let r = 0; r < 50; r++) starts.add(udpEphemeralPort((r * 0x9e3779b1) >>> 0, () => false));
    expect(starts.size).toBeGreaterThan(45);
    for (const p of starts) {
      expect(p).toBeGreaterThanOrEqual(EPHEMERAL_LOW);
      expect(p).toBeLessThanOrEqual(EPHEMERAL_HIGH);
    }
    const start = udpEphemeralPort(12345, () => false);
    expect(udpEphemeralPort(12345, (p) => p === start)).not.toBe(start);
    expect(udpEphemeralPort(1, () => true)).toBe(0);
    // With a small hash table the search hops by odd multiples of its size and still covers the range.
    const seen = new Set<number>();
    udpEphemeralPort(777, (p) => (seen.add(p), true), 1000, 1063, 16);
    expect(seen.size).toBe(64);
  });

  it('different hosts (seeds) pick different ports for the same program', () => {
    const ports = new Set<number>();
    for (let seed = 1; seed <= 10; seed++) ports.add(pair(seed).client.udp.bind().port);
    expect(ports.size).toBeGreaterThan(8);
  });
});

describe('loopback', () => {
  it('reaches its own address through lo, with netfilter seeing lo', () => {
    const { e, client } = pair();
    const got: string[] = [];
    client.udp.bind({ port: 7 }, (d, from) => got.push(`${new TextDecoder().decode(d)} from ${from}`));
    const s = client.udp.bind();
    s.send('self', '198.51.100.1', 7);
    s.send('lo', '127.0.0.1', 7);
    e.run(SEC);
    expect(got).toEqual([`self from ${parseIpv4('198.51.100.1')}`, `lo from ${parseIpv4('127.0.0.1')}`]);
  });
});

describe('SO_BINDTODEVICE (a DHCP client before it has an address)', () => {
  it('broadcasts from 0.0.0.0:68 out of its device and receives the broadcast answer', () => {
    const e = engine();
    const w = wire(e);
    const server = host(e, 'server');
    const vm = host(e, 'vm');
    nic(server, w, 'eth0', '52:54:00:00:00:01', '192.168.122.1/24');
    const vn = nic(vm, w, 'eth0', '52:54:00:00:00:99', null);
    const seen: string[] = [];
    server.udp.bind({ port: 67, broadcast: true }, (d, from, port, _reply) => {
      seen.push(`server got ${new TextDecoder().decode(d)} from ${from}:${port}`);
      server.udp.socketsOn(67)[0]!.send('offer', '255.255.255.255', 68);
    });
    const client = vm.udp.bind({ port: 68, device: 'eth0', broadcast: true }, (d, from) => seen.push(`client got ${new TextDecoder().decode(d)} from ${from}`));
    client.send('discover', '255.255.255.255', 67);
    e.run(SEC);
    expect(seen).toEqual(['server got discover from 0:68', `client got offer from ${parseIpv4('192.168.122.1')}`]);
    const out = vn.rec.ip.find((f) => f.dir === 'out')!;
    expect(Array.from(out.bytes.subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 255]);
    ipv4(out, srcAddr('0.0.0.0'), dstAddr('255.255.255.255'), ttl(64), udp(srcPort(68), dstPort(67), udpChecksumOk('0.0.0.0', '255.255.255.255')));
  });

  it('sockets bound to different devices may share a port; each sees only its device', () => {
    const e = engine();
    const w1 = wire(e, 'w1');
    const w2 = wire(e, 'w2');
    const r = host(e, 'r');
    nic(r, w1, 'eth0', '02:00:00:00:00:01', '10.1.0.1/24');
    nic(r, w2, 'eth1', '02:00:00:00:00:02', '10.2.0.1/24');
    const a = host(e, 'a');
    nic(a, w1, 'eth0', '02:00:00:00:00:0a', '10.1.0.2/24');
    const b = host(e, 'b');
    nic(b, w2, 'eth0', '02:00:00:00:00:0b', '10.2.0.2/24');
    const got: string[] = [];
    r.udp.bind({ port: 500, device: 'eth0' }, (_d, from) => got.push(`eth0 ${from}`));
    r.udp.bind({ port: 500, device: 'eth1' }, (_d, from) => got.push(`eth1 ${from}`));
    expect(() => r.udp.bind({ port: 500 })).toThrow(/EADDRINUSE/);
    a.udp.send({ dst: '10.1.0.1', dport: 500, data: 'x' });
    b.udp.send({ dst: '10.2.0.1', dport: 500, data: 'x' });
    e.run(SEC);
    expect(got.sort()).toEqual([`eth0 ${parseIpv4('10.1.0.2')}`, `eth1 ${parseIpv4('10.2.0.2')}`]);
  });
});
