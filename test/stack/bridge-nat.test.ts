// A Docker-like host: containers on veths into a Linux bridge (docker0 172.17.0.1/16) in the host's
// namespace, the host forwarding out of eth0 with MASQUERADE and a published UDP port (DNAT) —
// the nat-basic and publish scenarios of fixtures/real-captures, with the real netfilter.

import { describe, expect, it } from 'vitest';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import type { IptablesPlan } from '../../src/plan/plan.js';
import { Ping } from '../../src/sockets/ping.js';
import { readCaptureFile } from '../../src/capture/reader.js';
import { parseIpv4, parseMac } from '../../src/wire/addr.js';
import { fillUdpChecksum } from '../../src/wire/checksum.js';
import {
  arp, arpOp, df, dstAddr, dstPort, ethernet, frameLength, icmp, icmpCode, icmpType, ipv4, quoted, srcAddr, srcPort,
  targetIp, tos, ttl, udp, udpPayload,
} from './checker.js';
import { Bridge, container, engine, host, nic, Recorder, SEC, wire, type Host } from './world.js';

function table(chains: string[], rules: Record<string, IptablesPlan['nat']['chains'][number]['rules']> = {}) {
  return { chains: chains.map((name) => ({ name, policy: 'ACCEPT' as const, rules: rules[name] ?? [] })) };
}

function dockerHost(publishUdp: boolean) {
  const e = engine(7);
  const lan = wire(e, 'wan');
  const server = host(e, 'server');
  const sn = nic(server, lan, 'eth0', '52:54:00:aa:00:01', '198.51.100.1/24');
  const dh = host(e, 'dh', true);
  const dn = nic(dh, lan, 'eth0', '52:54:00:aa:00:10', '198.51.100.10/24');
  dh.addRoute({ to: 'default', via: '198.51.100.1' });
  const br = new Bridge(e, 'docker0', parseMac('02:42:c0:00:00:01'));
  dh.addDevice(br);
  dh.addAddress('docker0', '172.17.0.1/16');
  const brRec = Recorder.on(br);
  const ct = container(e, br, dh, 'ct', '02:42:ac:11:00:02', '172.17.0.2/16', '172.17.0.1');
  const ct2 = container(e, br, dh, 'ct2', '02:42:ac:11:00:03', '172.17.0.3/16', '172.17.0.1');
  const plan: IptablesPlan = {
    nat: table(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], {
      POSTROUTING: [{ src: { cidr: '172.17.0.0/16', neg: false }, out: { name: 'docker0', neg: true }, target: { kind: 'MASQUERADE', toPorts: null } }],
      PREROUTING: publishUdp
        ? [{ in: { name: 'docker0', neg: true }, proto: { name: 'udp', neg: false }, dport: { port: 5353, neg: false }, target: { kind: 'DNAT', to: '172.17.0.2', toPort: 53 } }]
        : [],
    }),
    filter: table(['INPUT', 'FORWARD', 'OUTPUT']),
  };
  attachNetfilter(dh, plan);
  return { e, server, srec: sn.rec, dh, drec: dn.rec, brRec, ct, ct2 };
}

function attachNetfilter(h: Host, plan: IptablesPlan): Netfilter {
  const nf = new Netfilter(h.engine, h.rng.fork('nf'), h);
  nf.load(plan);
  h.filter = nf;
  return nf;
}

describe('containers behind a bridge with MASQUERADE', () => {
  it('ping from a container: ARP for the gateway, TTL 63 and the host address outside, reply back in', () => {
    const { e, srec, ct, brRec } = dockerHost(false);
    const ping = new Ping(ct.h, { dst: '198.51.100.1', count: 1 });
    ping.start();
    e.run(2 * SEC);
    expect(ping.received).toBe(1);
    const cf = ct.rec.frames;
    arp(cf[0]!, arpOp('request'), targetIp('172.17.0.1'));
    ethernet(cf[0]!, frameLength(42));
    arp(cf[1]!, arpOp('reply'));
    ipv4(cf[2]!, srcAddr('172.17.0.2'), dstAddr('198.51.100.1'), ttl(64), df(true), icmp(icmpType(8)));
    ipv4(cf[3]!, srcAddr('198.51.100.1'), dstAddr('172.17.0.2'), ttl(63), df(false), icmp(icmpType(0)));
    // On the server's wire the request comes from the host, TTL 63.
    const atServer = srec.ip.find((f) => f.dir === 'in')!;
    ipv4(atServer, srcAddr('198.51.100.10'), dstAddr('198.51.100.1'), ttl(63), df(true), icmp(icmpType(8)));
    // docker0 saw the ARP and both IP frames.
    expect(brRec.arp.length).toBe(2);
    expect(brRec.ip.length).toBe(2);
    expect(e.pool.inUse).toBe(0);
  });

  it('UDP from a container keeps its source port through MASQUERADE; the echo comes back', () => {
    const { e, server, srec, ct } = dockerHost(false);
    server.udp.bind({ port: 7 }, (d, _f, _p, reply) => reply(d));
    const got: string[] = [];
    const s = ct.h.udp.send({ dst: '198.51.100.1', dport: 7, data: 'ping', onDatagram: (d) => got.push(new TextDecoder().decode(d)) });
    e.run(2 * SEC);
    expect(got).toEqual(['ping']);
    ipv4(srec.ip.find((f) => f.dir === 'in')!, srcAddr('198.51.100.10'), ttl(63), df(true), udp(srcPort(s.port), dstPort(7), udpPayload('ping')));
  });

  it('a published UDP port reaches the container (DNAT, client address kept); a closed one answers port unreachable', () => {
    const { e, server, srec, ct } = dockerHost(true);
    const seen: number[] = [];
    ct.h.udp.bind({ port: 53 }, (d, from, _p, reply) => {
      seen.push(from);
      reply(d);
    });
    const got: string[] = [];
    server.udp.send({ dst: '198.51.100.10', dport: 5353, data: 'q', onDatagram: (d) => got.push(new TextDecoder().decode(d)) });
    const closed = server.udp.send({ dst: '198.51.100.10', dport: 9998, data: 'ping' });
    e.run(2 * SEC);
    expect(seen).toEqual([parseIpv4('198.51.100.1')]);
    expect(got).toEqual(['q']);
    // The answer to the published port leaves the host from 198.51.100.10:5353 (reverse DNAT).
    const answers = srec.ip.filter((f) => f.dir === 'in');
    ipv4(answers.find((f) => f.bytes[23] === 17)!, srcAddr('198.51.100.10'), udp(srcPort(5353)));
    const err = answers.find((f) => f.bytes[23] === 1)!;
    ipv4(err, srcAddr('198.51.100.10'), tos(0xc0), df(false), ttl(64), icmp(icmpType(3), icmpCode(3), quoted(udp(dstPort(9998)))));
    expect(closed.errors).toEqual(['ECONNREFUSED']);
  });

  it('two containers on the bridge talk directly; PACKET_OTHERHOST frames never reach the host stack', () => {
    const { e, dh, ct, ct2 } = dockerHost(false);
    const ping = new Ping(ct.h, { dst: '172.17.0.3', count: 2, intervalNs: SEC });
    ping.start();
    e.run(3 * SEC);
    expect(ping.received).toBe(2);
    ipv4(ct2.rec.ip.find((f) => f.dir === 'in')!, srcAddr('172.17.0.2'), ttl(64));
    expect(dh.stats.forwarded).toBe(0);
  });
});

describe('frames identical to the real capture', () => {
  it('the container\'s ARP request for its gateway is byte-for-byte the one in nat-basic/ct.eth0.pcap', () => {
    const cap = readCaptureFile(new URL('../../fixtures/real-captures/nat-basic/ct.eth0.pcap', import.meta.url).pathname);
    const real = cap.records.map((r) => r.data).find((d) => d[12] === 0x08 && d[13] === 0x06 && d[21] === 1)!;
    const { e, ct } = dockerHost(false);
    new Ping(ct.h, { dst: '198.51.100.1', count: 1 }).start();
    e.run(SEC);
    expect(Buffer.from(ct.rec.arp[0]!.bytes).toString('hex')).toBe(Buffer.from(real).toString('hex'));
    const realReply = cap.records.map((r) => r.data).find((d) => d[12] === 0x08 && d[13] === 0x06 && d[21] === 2)!;
    expect(Buffer.from(ct.rec.arp[1]!.bytes).toString('hex')).toBe(Buffer.from(realReply).toString('hex'));
  });

  it('the port unreachable matches publish/dh.eth0.pcap except for the IP id and checksums', () => {
    const cap = readCaptureFile(new URL('../../fixtures/real-captures/publish/dh.eth0.pcap', import.meta.url).pathname);
    const recs = cap.records.map((r) => r.data);
    const realErr = recs.find((d) => d[12] === 0x08 && d[23] === 1)!;
    const realUdp = recs.find((d) => d[12] === 0x08 && d[23] === 17)!;
    const { e, server, srec } = dockerHost(false);
    // Replay the client's datagram as captured (same ports, same id) into the host. Its UDP checksum
    // is the offload placeholder (veth): complete it, as a NIC would have.
    const sent = Uint8Array.from(realUdp);
    fillUdpChecksum(sent, 34, sent.length - 34, parseIpv4('198.51.100.1'), parseIpv4('198.51.100.10'));
    const slot = e.pool.fromBytes(sent);
    server.device('eth0').transmit(slot);
    e.run(SEC);
    const ours = srec.ip.find((f) => f.dir === 'in')!.bytes;
    const mask = (b: Uint8Array): string => {
      const c = Uint8Array.from(b);
      c[18] = c[19] = 0; // ip id
      c[24] = c[25] = 0; // ip checksum
      c[36] = c[37] = 0; // icmp checksum
      c[68] = c[69] = 0; // quoted udp checksum (the real one is the offload placeholder)
      return Buffer.from(c).toString('hex');
    };
    expect(mask(ours)).toBe(mask(realErr));
  });
});
