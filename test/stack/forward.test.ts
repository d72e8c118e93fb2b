// host – router – host: forwarding with the TTL decrement, time exceeded, unreachable errors, and the
// netfilter hooks in the order Linux calls them.

import { describe, expect, it } from 'vitest';
import { Ping } from '../../src/sockets/ping.js';
import { Hook, Verdict, type PacketFilter } from '../../src/netfilter/hooks.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import {
  arp, arpOp, df, dstAddr, ethDst, ethSrc, ethernet, icmp, icmpCode, icmpRest, icmpType, ipId, ipv4, quoted, quotedBytes,
  srcAddr, targetIp, tos, ttl,
} from './checker.js';
import { engine, host, nic, SEC, wire } from './world.js';

function routed(seed = 1) {
  const e = engine(seed);
  const left = wire(e, 'left');
  const right = wire(e, 'right');
  const a = host(e, 'a');
  const r = host(e, 'r', true);
  const c = host(e, 'c');
  const an = nic(a, left, 'eth0', '02:00:00:00:00:0a', '10.0.1.2/24');
  const r0 = nic(r, left, 'eth0', '02:00:00:00:01:00', '10.0.1.1/24');
  const r1 = nic(r, right, 'eth1', '02:00:00:00:01:01', '10.0.2.1/24');
  const cn = nic(c, right, 'eth0', '02:00:00:00:00:0c', '10.0.2.3/24');
  a.addRoute({ to: 'default', via: '10.0.1.1' });
  c.addRoute({ to: 'default', via: '10.0.2.1' });
  return { e, a, r, c, arec: an.rec, r0rec: r0.rec, r1rec: r1.rec, crec: cn.rec };
}

describe('forwarding', () => {
  it('decrements the TTL (checksum updated incrementally), keeps id/DF/TOS, answers come back', () => {
    const { e, a, arec, r1rec, crec } = routed();
    const ping = new Ping(a, { dst: '10.0.2.3', count: 1 });
    ping.start();
    e.run(2 * SEC);
    const sent = arec.ip.find((f) => f.dir === 'out')!;
    const onRight = r1rec.ip.find((f) => f.dir === 'out')!;
    const id = (sent.bytes[18]! << 8) | sent.bytes[19]!;
    ipv4(sent, ttl(64), df(true));
    // Out of the router: TTL 63, same id, DF and addresses; MACs of the router's eth1 and of C.
    ethernet(onRight, ethSrc('02:00:00:00:01:01'), ethDst('02:00:00:00:00:0c'));
    ipv4(onRight, srcAddr('10.0.1.2'), dstAddr('10.0.2.3'), ttl(63), df(true), tos(0), ipId(id), icmp(icmpType(8)));
    // The router resolved C with its own address on eth1 as the ARP sender.
    arp(r1rec.arp[0]!, arpOp('request'), targetIp('10.0.2.3'));
    expect(crec.ip.length).toBe(2);
    expect(ping.received).toBe(1);
    expect(ping.lastReply!.ttl).toBe(63);
  });

  it('answers TTL 1 with time exceeded from the address facing the sender, quoting the datagram', () => {
    const { e, a, arec, r1rec } = routed();
    const ping = new Ping(a, { dst: '10.0.2.3', count: 1, ttl: 1 });
    ping.start();
    e.run(2 * SEC);
    const sent = arec.ip.find((f) => f.dir === 'out')!;
    const err = arec.ip.find((f) => f.dir === 'in')!;
    ipv4(err, srcAddr('10.0.1.1'), dstAddr('10.0.1.2'), ttl(64), tos(0xc0), df(false),
      icmp(icmpType(11), icmpCode(0), quoted(ttl(1), srcAddr('10.0.1.2'), dstAddr('10.0.2.3')),
        quotedBytes(sent.bytes.subarray(14))));
    expect(r1rec.frames.length).toBe(0);
    expect(ping.errors.map((x) => [x.type, x.code, x.seq])).toEqual([[11, 0, 1]]);
  });

  it('sends net unreachable when the router has no route', () => {
    const { e, a, arec } = routed();
    new Ping(a, { dst: '192.0.2.1', count: 1 }).start();
    e.run(2 * SEC);
    const err = arec.ip.find((f) => f.dir === 'in')!;
    ipv4(err, srcAddr('10.0.1.1'), tos(0xc0), icmp(icmpType(3), icmpCode(0), quoted(dstAddr('192.0.2.1'), ttl(64))));
  });

  it('sends host unreachable back to the sender when the next hop does not answer ARP', () => {
    const { e, a, arec, r1rec } = routed();
    const ping = new Ping(a, { dst: '10.0.2.77', count: 1 });
    ping.start();
    e.run(10 * SEC);
    expect(r1rec.arp.map((f) => f.t)).toEqual([r1rec.arp[0]!.t, r1rec.arp[0]!.t + SEC, r1rec.arp[0]!.t + 2 * SEC]);
    const err = arec.ip.find((f) => f.dir === 'in')!;
    expect(err.t - r1rec.arp[0]!.t).toBe(3 * SEC);
    // The quote is the datagram as it waited: TTL already decremented.
    ipv4(err, srcAddr('10.0.1.1'), dstAddr('10.0.1.2'), tos(0xc0), df(false),
      icmp(icmpType(3), icmpCode(1), quoted(ttl(63), dstAddr('10.0.2.77'))));
    expect(ping.errors.map((x) => x.code)).toEqual([1]);
  });

  it('does not forward when ip_forward is off, and sends nothing back', () => {
    const { e, a, r, arec, r1rec } = routed();
    r.forward = false;
    new Ping(a, { dst: '10.0.2.3', count: 1 }).start();
    e.run(3 * SEC);
    expect(r1rec.frames.length).toBe(0);
    expect(arec.ip.filter((f) => f.dir === 'in').length).toBe(0);
    expect(r.stats.inAddrErrors).toBe(1);
  });

  it('calls PREROUTING, FORWARD, POSTROUTING on the router with the right devices; DROP stops it', () => {
    const { e, a, r, r1rec } = routed();
    const calls: string[] = [];
    let dropForward = false;
    const f: PacketFilter = {
      hook(h, _slot, _off, inDev, outDev) {
        calls.push(`${['PRE', 'IN', 'FWD', 'OUT', 'POST'][h]}:${inDev}>${outDev}`);
        return h === Hook.FORWARD && dropForward ? Verdict.DROP : Verdict.ACCEPT;
      },
    };
    r.filter = f;
    new Ping(a, { dst: '10.0.2.3', count: 1 }).start();
    e.run(2 * SEC);
    expect(calls).toEqual(['PRE:eth0>', 'FWD:eth0>eth1', 'POST:>eth1', 'PRE:eth1>', 'FWD:eth1>eth0', 'POST:>eth0']);
    calls.length = 0;
    dropForward = true;
    const n = r1rec.ip.length;
    new Ping(a, { dst: '10.0.2.3', count: 1 }).start();
    e.run(4 * SEC);
    expect(r1rec.ip.length).toBe(n);
    expect(calls).toEqual(['PRE:eth0>', 'FWD:eth0>eth1']);
    expect(e.pool.inUse).toBe(0);
  });

  it('calls OUTPUT/POSTROUTING for local output and PREROUTING/INPUT for local input', () => {
    const { e, a, c } = routed();
    const calls: string[] = [];
    c.filter = {
      hook(h, _s, _o, inDev, outDev) {
        calls.push(`${['PRE', 'IN', 'FWD', 'OUT', 'POST'][h]}:${inDev}>${outDev}`);
        return Verdict.ACCEPT;
      },
    };
    new Ping(a, { dst: '10.0.2.3', count: 1 }).start();
    e.run(2 * SEC);
    expect(calls).toEqual(['PRE:eth0>', 'IN:eth0>', 'OUT:>eth0', 'POST:>eth0']);
  });

  it('picks source addresses as Linux does', () => {
    const { a, r } = routed();
    expect(a.sourceFor(parseIpv4('8.8.8.8'))).toBe(parseIpv4('10.0.1.2'));
    expect(r.sourceFor(parseIpv4('10.0.2.99'))).toBe(parseIpv4('10.0.2.1'));
    expect(r.sourceFor(parseIpv4('10.0.1.2'))).toBe(parseIpv4('10.0.1.1'));
    expect(r.sourceFor(parseIpv4('192.0.2.1'))).toBe(0);
    expect(a.sourceFor(parseIpv4('10.0.1.2'))).toBe(parseIpv4('10.0.1.2'));
    expect(a.mtuFor(parseIpv4('8.8.8.8'))).toBe(1500);
    expect(a.mtuFor(parseIpv4('127.0.0.1'))).toBe(65536);
    expect(r.masqueradeSource('eth1', parseIpv4('10.0.2.3'))).toBe(parseIpv4('10.0.2.1'));
    expect(r.isLocalAddress(parseIpv4('10.0.2.1'))).toBe(true);
    expect(r.isLocalAddress(parseIpv4('127.0.0.53'))).toBe(true);
    expect(r.isLocalAddress(parseIpv4('10.0.2.255'))).toBe(false);
    expect(r.isLocalAddress(parseIpv4('10.0.2.3'))).toBe(false);
  });
});

describe('ICMP redirects', () => {
  // A and two routers on one LAN; A's default route is R1, but C's network is behind R2.
  function lan() {
    const e = engine(4);
    const w = wire(e, 'lan');
    const far = wire(e, 'far');
    const a = host(e, 'a');
    const r1 = host(e, 'r1', true);
    const r2 = host(e, 'r2', true);
    const c = host(e, 'c');
    const an = nic(a, w, 'eth0', '02:00:00:00:00:0a', '10.0.0.2/24');
    const r1n = nic(r1, w, 'eth0', '02:00:00:00:00:01', '10.0.0.1/24');
    nic(r2, w, 'eth0', '02:00:00:00:00:03', '10.0.0.3/24');
    nic(r2, far, 'eth1', '02:00:00:00:09:01', '10.9.0.1/24');
    nic(c, far, 'eth0', '02:00:00:00:09:05', '10.9.0.5/24');
    a.addRoute({ to: 'default', via: '10.0.0.1' });
    r1.addRoute({ to: '10.9.0.0/16', via: '10.0.0.3' });
    c.addRoute({ to: 'default', via: '10.9.0.1' });
    return { e, a, r1, arec: an.rec, r1rec: r1n.rec };
  }

  it('a router sending a datagram back out its way in redirects the sender, and still forwards it', () => {
    const { e, a, arec } = lan();
    const ping = new Ping(a, { dst: '10.9.0.5', count: 1 });
    ping.start();
    e.run(2 * SEC);
    expect(ping.received).toBe(1);
    const redirect = arec.ip.find((f) => f.dir === 'in' && f.bytes[34] === 5)!;
    ipv4(redirect, srcAddr('10.0.0.1'), dstAddr('10.0.0.2'), tos(0xc0), df(false), ttl(64),
      icmp(icmpType(5), icmpCode(1), icmpRest(parseIpv4('10.0.0.3')), quoted(dstAddr('10.9.0.5'), ttl(63))));
  });

  it('the host ARPs for the new gateway, takes the next redirect, then sends directly to it', () => {
    const { e, a, arec, r1 } = lan();
    const ping = new Ping(a, { dst: '10.9.0.5', count: 3, intervalNs: SEC });
    ping.start();
    e.run(5 * SEC);
    expect(ping.received).toBe(3);
    const out = arec.ip.filter((f) => f.dir === 'out');
    const macs = out.map((f) => Array.from(f.bytes.subarray(0, 6)).map((x) => x.toString(16)).join(':'));
    expect(macs).toEqual(['2:0:0:0:0:1', '2:0:0:0:0:1', '2:0:0:0:0:3']);
    // The host asked who has 10.0.0.3 after the first redirect.
    expect(arec.arp.some((f) => f.dir === 'out' && f.bytes[41] === 3)).toBe(true);
    expect(r1.stats.forwarded).toBe(2);
    expect(a.routeOutput(parseIpv4('10.9.0.5'))!.nexthop).toBe(parseIpv4('10.0.0.3'));
    expect(a.routeOutput(parseIpv4('10.9.0.6'))!.nexthop).toBe(parseIpv4('10.0.0.1'));
  });

  it('rate-limits redirects to one sender: 20 ms << n apart, at most 9', () => {
    const { e, a, arec } = lan();
    a.acceptRedirects = false;
    const ping = new Ping(a, { dst: '10.9.0.5', count: 40, intervalNs: 10_000_000 });
    ping.start();
    e.run(3 * SEC);
    const times = arec.ip.filter((f) => f.dir === 'in' && f.bytes[34] === 5).map((f) => f.t);
    expect(times.length).toBe(4); // at 0, then > 40 ms, > 80 ms, > 160 ms later; 40 pings over 400 ms
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(20_000_000 * 2 ** i);
    expect(ping.received).toBe(40);
  });
});
