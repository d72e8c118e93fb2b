// REJECT through NetfilterHost.reject: the stack answers with Linux's ICMP errors (or lets TCP send
// the reset), from the INPUT and FORWARD chains.

import { describe, expect, it } from 'vitest';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import type { IptablesPlan, RulePlan } from '../../src/plan/plan.js';
import { Ping } from '../../src/sockets/ping.js';
import { dstAddr, dstPort, icmp, icmpCode, icmpType, ipId, ipv4, quoted, srcAddr, tos, totalLength, ttl, udp, df } from './checker.js';
import { fillIpv4Checksum, fillTcpChecksum, verifyTcpChecksum } from '../../src/wire/checksum.js';
import { engine, host, nic, SEC, wire, type Host } from './world.js';

function filterPlan(chain: 'INPUT' | 'FORWARD', rules: RulePlan[]): IptablesPlan {
  const t = (names: string[]) => ({ chains: names.map((name) => ({ name, policy: 'ACCEPT' as const, rules: name === chain ? rules : [] })) });
  return { nat: t(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']), filter: t(['INPUT', 'FORWARD', 'OUTPUT']) };
}

function withNetfilter(h: Host, plan: IptablesPlan): void {
  const nf = new Netfilter(h.engine, h.rng.fork('nf'), h);
  nf.load(plan);
  h.filter = nf;
}

describe('REJECT', () => {
  it('INPUT --reject-with icmp-port-unreachable / icmp-admin-prohibited answer from the rejected address', () => {
    const e = engine();
    const w = wire(e);
    const a = host(e, 'a');
    const b = host(e, 'b');
    const an = nic(a, w, 'eth0', '02:00:00:00:00:01', '10.0.0.1/24');
    nic(b, w, 'eth0', '02:00:00:00:00:02', '10.0.0.2/24');
    withNetfilter(b, filterPlan('INPUT', [
      { proto: { name: 'udp', neg: false }, dport: { port: 9, neg: false }, target: { kind: 'REJECT', with: 'icmp-port-unreachable' } },
      { proto: { name: 'icmp', neg: false }, target: { kind: 'REJECT', with: 'icmp-admin-prohibited' } },
    ]));
    // A listener on port 9 exists: the rule answers before the socket sees anything.
    let delivered = 0;
    b.udp.bind({ port: 9 }, () => delivered++);
    const s = a.udp.send({ dst: '10.0.0.2', dport: 9, data: 'x' });
    const ping = new Ping(a, { dst: '10.0.0.2', count: 1 });
    ping.start();
    e.run(2 * SEC);
    expect(delivered).toBe(0);
    expect(s.errors).toEqual(['ECONNREFUSED']);
    const errs = an.rec.ip.filter((f) => f.dir === 'in');
    expect(errs.length).toBe(2);
    ipv4(errs[0]!, srcAddr('10.0.0.2'), dstAddr('10.0.0.1'), tos(0xc0), df(false), ttl(64), icmp(icmpType(3), icmpCode(3), quoted(udp(dstPort(9)))));
    ipv4(errs[1]!, srcAddr('10.0.0.2'), icmp(icmpType(3), icmpCode(13), quoted(icmp(icmpType(8)))));
    expect(ping.errors.map((x) => x.code)).toEqual([13]);
  });

  it('FORWARD --reject-with icmp-host-unreachable answers from the router\'s address towards the sender', () => {
    const e = engine();
    const left = wire(e, 'l');
    const right = wire(e, 'r');
    const a = host(e, 'a');
    const r = host(e, 'r', true);
    const c = host(e, 'c');
    const an = nic(a, left, 'eth0', '02:00:00:00:00:0a', '10.0.1.2/24');
    nic(r, left, 'eth0', '02:00:00:00:01:00', '10.0.1.1/24');
    const r1 = nic(r, right, 'eth1', '02:00:00:00:01:01', '10.0.2.1/24');
    nic(c, right, 'eth0', '02:00:00:00:00:0c', '10.0.2.3/24');
    a.addRoute({ to: 'default', via: '10.0.1.1' });
    withNetfilter(r, filterPlan('FORWARD', [{ out: { name: 'eth1', neg: false }, target: { kind: 'REJECT', with: 'icmp-host-unreachable' } }]));
    new Ping(a, { dst: '10.0.2.3', count: 1 }).start();
    e.run(2 * SEC);
    expect(r1.rec.frames.length).toBe(0);
    const err = an.rec.ip.find((f) => f.dir === 'in')!;
    ipv4(err, srcAddr('10.0.1.1'), dstAddr('10.0.1.2'), tos(0xc0), icmp(icmpType(3), icmpCode(1), quoted(dstAddr('10.0.2.3'), ttl(63))));
    expect(e.pool.inUse).toBe(0);
  });

  it('tcp-reset is handed to the TCP module\'s tcpReset with the segment\'s offset', () => {
    const e = engine();
    const h = host(e, 'h');
    const calls: [number, string][] = [];
    h.tcpReset = (slot, l3off, inDev) => calls.push([e.pool.bytes[e.pool.base(slot) + l3off]! >>> 4, inDev]);
    const slot = e.pool.alloc();
    e.pool.bytes[e.pool.base(slot) + 14] = 0x45;
    e.pool.len[slot] = 54;
    h.reject('tcp-reset', slot, 14, 'eth0');
    expect(calls).toEqual([[4, 'eth0']]);
    e.pool.release(slot);
  });
});

describe('REJECT --reject-with tcp-reset without a TCP module hook (nf_send_reset)', () => {
  function tcpFrame(flags: number, seq: number, ack: number, payload: number): Uint8Array {
    const f = new Uint8Array(14 + 20 + 20 + payload);
    f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00], 0);
    const v = new DataView(f.buffer);
    v.setUint8(14, 0x45);
    v.setUint16(16, 40 + payload);
    v.setUint16(20, 0x4000);
    v.setUint8(22, 64);
    v.setUint8(23, 6);
    v.setUint32(26, 0x0a000001);
    v.setUint32(30, 0x0a000002);
    fillIpv4Checksum(f, 14);
    v.setUint16(34, 40000);
    v.setUint16(36, 22);
    v.setUint32(38, seq);
    v.setUint32(42, ack);
    v.setUint8(46, 0x50);
    v.setUint8(47, flags);
    v.setUint16(48, 64240);
    fillTcpChecksum(f, 34, 20 + payload, 0x0a000001, 0x0a000002);
    return f;
  }

  function world() {
    const e = engine();
    const w = wire(e);
    const a = host(e, 'a');
    const b = host(e, 'b');
    const an = nic(a, w, 'eth0', '02:00:00:00:00:01', '10.0.0.1/24');
    nic(b, w, 'eth0', '02:00:00:00:00:02', '10.0.0.2/24');
    withNetfilter(b, filterPlan('INPUT', [{ proto: { name: 'tcp', neg: false }, dport: { port: 22, neg: false }, target: { kind: 'REJECT', with: 'tcp-reset' } }]));
    return { e, an };
  }

  it('answers a SYN with RST/ACK: seq 0, ack = isn + 1, window 0, id 0, DF, TTL 64', () => {
    const { e, an } = world();
    an.dev.transmit(e.pool.fromBytes(tcpFrame(0x02, 1000, 0, 0)));
    e.run(SEC);
    const rst = an.rec.ip.find((f) => f.dir === 'in')!;
    ipv4(rst, srcAddr('10.0.0.2'), dstAddr('10.0.0.1'), ttl(64), tos(0), df(true), ipId(0), totalLength(40));
    const v = new DataView(rst.bytes.buffer, rst.bytes.byteOffset);
    expect([v.getUint16(34), v.getUint16(36), v.getUint32(38), v.getUint32(42), v.getUint8(46), v.getUint8(47), v.getUint16(48)])
      .toEqual([22, 40000, 0, 1001, 0x50, 0x14, 0]);
    expect(verifyTcpChecksum(rst.bytes, 34, 20, 0x0a000002, 0x0a000001)).toBe(true);
  });

  it('answers a segment with ACK by a bare RST at its ack number; never answers a RST', () => {
    const { e, an } = world();
    an.dev.transmit(e.pool.fromBytes(tcpFrame(0x18, 5000, 777, 10)));
    an.dev.transmit(e.pool.fromBytes(tcpFrame(0x04, 5000, 0, 0)));
    e.run(SEC);
    const rsts = an.rec.ip.filter((f) => f.dir === 'in');
    expect(rsts.length).toBe(1);
    const v = new DataView(rsts[0]!.bytes.buffer, rsts[0]!.bytes.byteOffset);
    expect([v.getUint32(38), v.getUint32(42), v.getUint8(47)]).toEqual([777, 0, 0x04]);
  });
});
