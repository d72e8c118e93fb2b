// Worlds built in code with the programmatic API (ns-3 style helpers on World/Namespace), checked with
// the gVisor-style checker vocabulary: host-to-host on a wire, two hosts through a bridge,
// host-router-host, and a macvlan child beside its parent.

import { describe, expect, it } from 'vitest';
import { Ping } from '../../src/sockets/ping.js';
import { World, type Namespace } from '../../src/world/world.js';
import { Recorder, arp, arpOp, df, dstAddr, echoSeq, ethDst, ethernet, icmp, icmpType, ipv4, senderIp, srcAddr, targetIp, ttl } from '../stack/checker.js';

const ARP = 0x0806;
const ethertype = (b: Uint8Array) => (b[12]! << 8) | b[13]!;
const ipFrames = (r: Recorder) => r.frames.filter((f) => ethertype(f.bytes) === 0x0800);
const arpFrames = (r: Recorder) => r.frames.filter((f) => ethertype(f.bytes) === ARP);

function ping(w: World, ns: Namespace, dst: string, at = 0): Ping {
  const p = new Ping(ns.host, { dst, count: 1 });
  w.engine.at(at, () => p.start());
  return p;
}

describe('worlds built in code', () => {
  it('host to host on a wire: ARP, then echo request and reply', () => {
    const w = new World({ seed: 3 });
    const lan = w.wire('lan');
    const a = w.namespace('a');
    const b = w.namespace('b');
    const ea = a.nic('eth0', lan, { mac: '02:00:00:00:00:0a', addrs: ['192.0.2.1/24'] });
    b.nic('eth0', lan, { mac: '02:00:00:00:00:0b', addrs: ['192.0.2.2/24'] });
    const rec = Recorder.on(ea);
    const p = ping(w, a, '192.0.2.2');
    w.run();
    expect(p.received).toBe(1);
    const [req, rep] = arpFrames(rec);
    arp(req!, arpOp('request'), senderIp('192.0.2.1'), targetIp('192.0.2.2'));
    ethernet(req!, ethDst('ff:ff:ff:ff:ff:ff'));
    arp(rep!, arpOp('reply'), senderIp('192.0.2.2'));
    const [echo, reply] = ipFrames(rec);
    ipv4(echo!, srcAddr('192.0.2.1'), dstAddr('192.0.2.2'), ttl(64), df(true), icmp(icmpType(8), echoSeq(1)));
    ipv4(reply!, srcAddr('192.0.2.2'), ttl(64), df(false), icmp(icmpType(0), echoSeq(1)));
  });

  it('two hosts through a bridge: the bridge learns, a third port stops seeing unicast', () => {
    const w = new World({ seed: 4 });
    const sw = w.namespace('sw');
    const br = sw.bridge('br0', { mac: '02:00:00:00:01:00' });
    const hosts = ['a', 'b', 'c'].map((n, i) => {
      const ns = w.namespace(n);
      const [inside] = w.vethPair(ns, 'eth0', { mac: `02:00:00:00:01:0${i + 1}`, addrs: [`10.0.0.${i + 1}/24`] }, sw, `p${i}`, { mac: `02:00:00:00:02:0${i + 1}` });
      sw.enslave(`p${i}`, 'br0');
      return { ns, dev: inside };
    });
    const atC = Recorder.on(hosts[2]!.dev);
    const atBr = Recorder.on(br);
    const p = ping(w, hosts[0]!.ns, '10.0.0.2');
    w.run();
    expect(p.received).toBe(1);
    expect(ipFrames(atC)).toEqual([]); // c got only the flooded ARP request
    expect(arpFrames(atC).length).toBe(1);
    expect(ipFrames(atBr).length).toBe(2); // the promiscuous bridge device saw the exchange
  });

  it('host – router – host: TTL 63 beyond the router, time exceeded when it runs out', () => {
    const w = new World({ seed: 5 });
    const left = w.wire('left');
    const right = w.wire('right');
    const a = w.namespace('a');
    const r = w.namespace('r', { forward: true });
    const b = w.namespace('b');
    a.nic('eth0', left, { mac: '02:00:00:00:03:01', addrs: ['192.0.2.10/24'] });
    r.nic('eth0', left, { mac: '02:00:00:00:03:02', addrs: ['192.0.2.1/24'] });
    r.nic('eth1', right, { mac: '02:00:00:00:03:03', addrs: ['198.51.100.1/24'] });
    const eb = b.nic('eth0', right, { mac: '02:00:00:00:03:04', addrs: ['198.51.100.10/24'] });
    a.route({ to: 'default', via: '192.0.2.1', dev: null, src: null });
    b.route({ to: 'default', via: '198.51.100.1', dev: null, src: null });
    const atB = Recorder.on(eb);
    const p = ping(w, a, '198.51.100.10');
    const q = new Ping(a.host, { dst: '198.51.100.10', count: 1, ttl: 1 });
    w.engine.at(1e9, () => q.start());
    w.run();
    expect(p.received).toBe(1);
    ipv4(ipFrames(atB)[0]!, srcAddr('192.0.2.10'), ttl(63), icmp(icmpType(8)));
    expect(q.received).toBe(0);
    expect(q.errors.map((e) => [e.type, e.from])).toEqual([[11, 0xc0000201]]); // time exceeded from 192.0.2.1
  });

  it('a macvlan child and its parent: the LAN reaches the child, the parent cannot', () => {
    const w = new World({ seed: 6 });
    const lan = w.wire('lan');
    const h = w.namespace('h');
    const c = w.namespace('c');
    const other = w.namespace('other');
    const parent = h.nic('eth0', lan, { mac: '02:00:00:00:04:01', addrs: ['192.0.2.10/24'] });
    const child = c.macvlan('eth0', parent, { mac: '02:00:00:00:04:02', addrs: ['192.0.2.20/24'] });
    other.nic('eth0', lan, { mac: '02:00:00:00:04:03', addrs: ['192.0.2.30/24'] });
    const atChild = Recorder.on(child);
    const fromLan = ping(w, other, '192.0.2.20');
    const fromParent = ping(w, h, '192.0.2.20', 1e9);
    w.run();
    expect(fromLan.received).toBe(1);
    expect(fromParent.received).toBe(0);
    // the parent's three ARP requests went out on the wire and never reached the child
    expect(arpFrames(atChild).filter((f) => f.bytes[31] === 10)).toEqual([]);
  });

  it('a run stops only well after its traffic, and says so when it had to stop early', () => {
    const w = new World({ seed: 7 });
    const tick = () => w.engine.after(1e9, tick); // a timer that re-arms for ever
    w.engine.at(0, tick);
    const s = w.run(10e9);
    expect(s.endNs).toBe(10e9);
    expect(s.notes).toEqual(['stopped at 10.000 s of virtual time with 1 events still pending']);
  });
});

describe('a scenario longer than an hour of virtual time', () => {
  it('runs to its end (the safety limit follows the traffic)', async () => {
    const { parseScenario } = await import('../../src/scenario/load.js');
    const { compilePlan } = await import('../../src/plan/compile.js');
    const plan = compilePlan(parseScenario(`version: 1
wires: { lan: {} }
hosts:
  a: { interfaces: { eth0: { wire: lan, ip: 192.0.2.1/24 } } }
  b: { interfaces: { eth0: { wire: lan, ip: 192.0.2.2/24 } } }
traffic:
  - { at: 0ms, from: b, ping: 192.0.2.1, count: 400, interval: 10s }
`, 'long.yaml'));
    const s = World.fromPlan(plan).run();
    expect(s.notes).toEqual([]);
    expect(s.endNs).toBeGreaterThan(3990e9);
    expect(s.traffic.map((t) => `${t.result} ${t.detail}`)).toEqual(['ok 400 transmitted, 400 received, 0% loss']);
  });
});

