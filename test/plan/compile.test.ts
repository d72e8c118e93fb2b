// Hosts: NICs, addresses, routes, forward, the `nat` key; traffic targets named by node.
import { describe, expect, it } from 'vitest';
import { compileError, iface, lines, ns, planOf } from './helpers.js';

const ROUTER = `
version: 1
name: r
seed: 1
wires: { a: {}, b: { latency: 2ms } }
hosts:
  r:
    forward: true
    interfaces:
      eth0: { wire: a, ip: 10.0.0.1/24 }
      eth1: { wire: b, ip: [192.0.2.1/24, 192.0.2.254/24], mtu: 9000 }
    nat:
      - { masquerade: { out: eth1, source: 10.0.0.0/24 } }
      - { snat: { out: eth1, source: 10.0.1.0/24, to: 192.0.2.254 } }
      - { dnat: { in: eth1, proto: tcp, port: 8080, to: "10.0.0.2:80" } }
  inside:
    interfaces:
      eth0: { wire: a, ip: 10.0.0.2/24 }
    routes: [ { to: default, via: 10.0.0.1 }, { to: 172.16.0.0/12, dev: eth0 } ]
    services: [ { tcp: 80, reply: "hi" } ]
  outside:
    interfaces:
      eth0: { wire: b, ip: 192.0.2.7/24 }
`;

describe('hosts', () => {
  it('namespaces, NICs on wires, addresses in order, mtu, routes, forward', () => {
    const p = planOf(ROUTER);
    expect(p.wires).toEqual([
      { name: 'a', latencyNs: 0 },
      { name: 'b', latencyNs: 2_000_000 },
    ]);
    expect(p.namespaces.map((n) => [n.name, n.role, n.forward])).toEqual([
      ['r', 'host', true],
      ['inside', 'host', false],
      ['outside', 'host', false],
    ]);
    expect(iface(p, 'r', 'eth1')).toMatchObject({ kind: 'nic', wire: 'b', addrs: ['192.0.2.1/24', '192.0.2.254/24'], mtu: 9000, capture: true, captureName: 'r.eth1' });
    expect(ns(p, 'inside').routes).toEqual([
      { to: 'default', via: '10.0.0.1', dev: null, src: null },
      { to: '172.16.0.0/12', via: null, dev: 'eth0', src: null },
    ]);
    expect(ns(p, 'inside').services).toEqual([
      { node: 'inside', name: 'tcp/80', proto: 'tcp', port: 80, bind: '0.0.0.0', reply: 'hi', echo: false, reuseport: false },
    ]);
  });

  it('the nat key becomes iptables rules', () => {
    const p = planOf(ROUTER);
    expect(lines(p, 'r', 'nat', 'POSTROUTING')).toEqual([
      '-A POSTROUTING -s 10.0.0.0/24 -o eth1 -j MASQUERADE',
      '-A POSTROUTING -s 10.0.1.0/24 -o eth1 -j SNAT --to-source 192.0.2.254',
    ]);
    expect(lines(p, 'r', 'nat', 'PREROUTING')).toEqual([
      '-A PREROUTING -i eth1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80',
    ]);
    expect(ns(p, 'r').iptables.filter.chains.map((c) => [c.name, c.policy])).toEqual([
      ['INPUT', 'ACCEPT'],
      ['FORWARD', 'ACCEPT'],
      ['OUTPUT', 'ACCEPT'],
    ]);
  });
});

describe('traffic targets named by node', () => {
  it('the only address, or the only one on a subnet the source is on', () => {
    const p = planOf(`${ROUTER}
traffic:
  - { at: 1ms, from: inside, ping: outside, count: 3, interval: 200ms, size: 100 }
  - { at: 0ms, from: inside, tcp: "r:22", send: "x", sport: 4000, timeout: 3s }
  - { at: 0ms, from: outside, udp: "inside:53", send: "q" }
  - { at: 0ms, from: r, ping: 198.51.100.9 }
`);
    expect(p.traffic).toEqual([
      { kind: 'ping', atNs: 1e6, node: 'inside', ns: 'inside', dst: '192.0.2.7', count: 3, intervalNs: 2e8, size: 100, ttl: null },
      { kind: 'tcp', atNs: 0, node: 'inside', ns: 'inside', dst: '10.0.0.1', dport: 22, send: 'x', requests: 1, expectBytes: null, sport: 4000, bind: null, timeoutNs: 3e9, count: 1, intervalNs: 1e9, ttl: null },
      { kind: 'udp', atNs: 0, node: 'outside', ns: 'outside', dst: '10.0.0.2', dport: 53, send: 'q', flows: 1, sport: null, bind: null, timeoutNs: 2e9, count: 1, intervalNs: 1e9, ttl: null },
      { kind: 'ping', atNs: 0, node: 'r', ns: 'r', dst: '198.51.100.9', count: 1, intervalNs: 1e9, size: 56, ttl: null },
    ]);
  });

  it('a node with no single address on the path is refused at the entry', () => {
    const e = compileError(`${ROUTER}
traffic:
  - { at: 0ms, from: outside, ping: r }
`);
    expect(e.message).toMatch(/r has 3 addresses \(10\.0\.0\.1, 192\.0\.2\.1, 192\.0\.2\.254\).*write the address/);
    expect(e.line).toBeGreaterThan(20);
    expect(e.path).toMatch(/^traffic\[0\]/);
  });

  it('a node with only loopback cannot be a destination', () => {
    const e = compileError(`
version: 1
name: t
hosts:
  dh:
    docker:
      containers:
        a: { network: bridge }
        jail: { network: none }
traffic:
  - { at: 0ms, from: a, ping: jail }
`);
    expect(e.message).toMatch(/jail has no address/);
  });
});
