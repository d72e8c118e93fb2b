// ip_rcv's checks and local delivery corners: padding, bad headers, unknown protocols, a namespace
// without lo, the ICMP quote of a TCP segment nobody handles.

import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { Host } from '../../src/stack/host.js';
import { inetInit } from '../../src/sockets/inet.js';
import { Nic } from '../../src/devices/nic.js';
import { fillIpv4Checksum, fillUdpChecksum } from '../../src/wire/checksum.js';
import { parseIpv4, parseMac } from '../../src/wire/addr.js';
import { dstAddr, icmp, icmpCode, icmpType, ipv4, quoted, srcAddr, tos } from './checker.js';
import { engine, host, nic, SEC, wire, Recorder } from './world.js';

const A_MAC = '52:54:00:aa:00:01';
const B_MAC = '52:54:00:aa:00:10';

/** A UDP/IPv4 frame from A to B, `pad` zero bytes after the datagram (as a NIC pads to 60). */
function udpFrame(dport: number, payload: string, pad: number, proto = 17): Uint8Array {
  const data = new TextEncoder().encode(payload);
  const ipLen = 20 + 8 + data.length;
  const f = new Uint8Array(14 + ipLen + pad);
  f.set([0x52, 0x54, 0, 0xaa, 0, 0x10, 0x52, 0x54, 0, 0xaa, 0, 0x01, 0x08, 0x00], 0);
  const v = new DataView(f.buffer);
  v.setUint8(14, 0x45);
  v.setUint16(16, ipLen);
  v.setUint16(18, 0x1234);
  v.setUint16(20, 0x4000);
  v.setUint8(22, 64);
  v.setUint8(23, proto);
  v.setUint32(26, parseIpv4('198.51.100.1'));
  v.setUint32(30, parseIpv4('198.51.100.10'));
  fillIpv4Checksum(f, 14);
  v.setUint16(34, 40000);
  v.setUint16(36, dport);
  v.setUint16(38, 8 + data.length);
  f.set(data, 42);
  if (proto === 17) fillUdpChecksum(f, 34, 8 + data.length, parseIpv4('198.51.100.1'), parseIpv4('198.51.100.10'));
  return f;
}

function pair() {
  const e = engine();
  const w = wire(e);
  const a = host(e, 'a');
  const b = host(e, 'b');
  const an = nic(a, w, 'eth0', A_MAC, '198.51.100.1/24');
  const bn = nic(b, w, 'eth0', B_MAC, '198.51.100.10/24');
  return { e, a, b, an, bn };
}

describe('ip_rcv', () => {
  it('reads the datagram by its total length: Ethernet padding is ignored', () => {
    const { e, b, an } = pair();
    const got: string[] = [];
    b.udp.bind({ port: 7 }, (d) => got.push(new TextDecoder().decode(d)));
    an.dev.transmit(e.pool.fromBytes(udpFrame(7, 'hi', 14)));
    e.run(SEC);
    expect(got).toEqual(['hi']);
  });

  it('drops a bad header checksum, a short total length, a wrong version — silently, counted', () => {
    const { e, b, an, bn } = pair();
    let got = 0;
    b.udp.bind({ port: 7 }, () => got++);
    const badSum = udpFrame(7, 'x', 0);
    badSum[24] ^= 0xff;
    const longTot = udpFrame(7, 'x', 0);
    longTot[17] = 200;
    fillIpv4Checksum(longTot, 14);
    const v6 = udpFrame(7, 'x', 0);
    v6[14] = 0x65;
    for (const f of [badSum, longTot, v6]) an.dev.transmit(e.pool.fromBytes(f));
    e.run(SEC);
    expect(got).toBe(0);
    expect(b.stats.inHdrErrors).toBe(3);
    expect(bn.rec.frames.filter((f) => f.dir === 'out').length).toBe(0);
    expect(e.pool.inUse).toBe(0);
  });

  it('drops a UDP datagram with a bad checksum (no port unreachable either)', () => {
    const { e, b, an } = pair();
    const f = udpFrame(9, 'x', 0);
    f[41] ^= 0x55;
    an.dev.transmit(e.pool.fromBytes(f));
    e.run(SEC);
    expect(b.udp.stats.inErrors).toBe(1);
    expect(an.rec.frames.filter((x) => x.dir === 'in').length).toBe(0);
  });

  it('answers an IP protocol nobody handles with protocol unreachable', () => {
    const { e, an } = pair();
    an.dev.transmit(e.pool.fromBytes(udpFrame(7, 'x', 0, 132)));
    e.run(SEC);
    const err = an.rec.ip.find((f) => f.dir === 'in')!;
    ipv4(err, srcAddr('198.51.100.10'), dstAddr('198.51.100.1'), tos(0xc0), icmp(icmpType(3), icmpCode(2), quoted(dstAddr('198.51.100.10'))));
  });

  it('a namespace without a lo device still reaches its own addresses', () => {
    const e = new Engine({ seed: 2 });
    const h = new Host(e, 'bare');
    inetInit(h);
    const dev = new Nic(e, 'eth0', parseMac('02:00:00:00:00:01'));
    h.addDevice(dev);
    h.addAddress('eth0', '10.0.0.1/24');
    const rec = Recorder.on(dev);
    const got: number[] = [];
    h.udp.bind({ port: 5 }, (_d, from) => got.push(from));
    h.udp.bind().send('me', '10.0.0.1', 5);
    e.run(SEC);
    expect(got).toEqual([parseIpv4('10.0.0.1')]);
    expect(rec.frames.length).toBe(0);
  });
});
