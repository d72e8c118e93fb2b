// dockerd's model: engines 27 and 28, networks, addresses, MACs, modes, and the rules it installs.
import { describe, expect, it } from 'vitest';
import { compileError, iface, lines, ns, planOf } from '../plan/helpers.js';
import { formatIptablesSave } from '../../src/plan/rules.js';

const LAN = `
version: 1
name: t
seed: 7
wires: { lan: {} }
`;

function dockerHost(docker: string, extra = ''): string {
  return `${LAN}
hosts:
  dh:
    interfaces:
      eth0: { wire: lan, ip: 192.0.2.10/24, mac: "02:00:00:00:00:10" }
    routes: [ { to: default, via: 192.0.2.1 } ]
${extra}
    docker:
${docker}
`;
}

const PUBLISH = (engine: number) =>
  dockerHost(`      engine: ${engine}
      containers:
        web: { network: bridge, publish: ["8080:80", "5353:53/udp"] }
        app: { network: bridge }`);

describe('engine 27 vs 28', () => {
  it('27: MAC 02:42 + IPv4 bytes, no unsolicited ARP', () => {
    const p = planOf(PUBLISH(27));
    expect(iface(p, 'web', 'eth0').mac).toBe('02:42:ac:11:00:02');
    expect(iface(p, 'app', 'eth0').mac).toBe('02:42:ac:11:00:03');
    expect(ns(p, 'web').announce).toEqual([]);
  });

  it('28 (the default): random locally administered MACs and 3 unsolicited ARPs a second apart', () => {
    const p = planOf(PUBLISH(28));
    const p2 = planOf(dockerHost(`      containers:
        web: { network: bridge, publish: ["8080:80", "5353:53/udp"] }
        app: { network: bridge }`));
    expect(p2.namespaces).toEqual(p.namespaces); // engine 28 is the default
    for (const c of ['web', 'app']) {
      const mac = iface(p, c, 'eth0').mac;
      expect(mac).not.toMatch(/^02:42:/);
      const first = parseInt(mac.slice(0, 2), 16);
      expect(first & 1).toBe(0); // unicast
      expect(first & 2).toBe(2); // locally administered
    }
    expect(ns(p, 'web').announce).toEqual([{ ifname: 'eth0', addr: '172.17.0.2', count: 3, intervalNs: 1e9, atNs: 0 }]);
    expect(ns(p, 'app').announce[0]!.addr).toBe('172.17.0.3');
  });

  it('27: FORWARD carries the per-bridge rules; DOCKER/ISOLATION chains with RETURN; hairpin MASQUERADE per port', () => {
    const p = planOf(PUBLISH(27));
    expect(ns(p, 'dh').iptables.filter.chains.map((c) => c.name)).toEqual([
      'INPUT',
      'FORWARD',
      'OUTPUT',
      'DOCKER',
      'DOCKER-ISOLATION-STAGE-1',
      'DOCKER-ISOLATION-STAGE-2',
      'DOCKER-USER',
    ]);
    expect(lines(p, 'dh', 'filter', 'DOCKER')).toEqual([
      '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p udp -m udp --dport 53 -j ACCEPT',
    ]);
    expect(lines(p, 'dh', 'nat', 'POSTROUTING')).toEqual([
      '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
      '-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
      '-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p udp -m udp --dport 53 -j MASQUERADE',
    ]);
    expect(ns(p, 'dh').iptables.raw!.chains.every((c) => c.rules.length === 0)).toBe(true);
  });

  // iptables-nft (1.8.9, what Docker hosts and the recordings use) lists user chains alphabetically.
  it('28: DOCKER-FORWARD/BRIDGE/CT chains, default DROP into the bridge, a raw direct-routing drop per container, no hairpin MASQUERADE', () => {
    const p = planOf(PUBLISH(28));
    const t = ns(p, 'dh').iptables;
    expect(t.filter.chains.find((c) => c.name === 'FORWARD')!.policy).toBe('DROP');
    expect(formatIptablesSave(t)).toBe(
      [
        '*raw',
        ':PREROUTING ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP',
        '-A PREROUTING -d 172.17.0.3/32 ! -i docker0 -j DROP',
        'COMMIT',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':DOCKER - [0:0]',
        ':DOCKER-BRIDGE - [0:0]',
        ':DOCKER-CT - [0:0]',
        ':DOCKER-FORWARD - [0:0]',
        ':DOCKER-ISOLATION-STAGE-1 - [0:0]',
        ':DOCKER-ISOLATION-STAGE-2 - [0:0]',
        ':DOCKER-USER - [0:0]',
        '-A FORWARD -j DOCKER-USER',
        '-A FORWARD -j DOCKER-FORWARD',
        '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p udp -m udp --dport 53 -j ACCEPT',
        '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT',
        '-A DOCKER ! -i docker0 -o docker0 -j DROP',
        '-A DOCKER-BRIDGE -o docker0 -j DOCKER',
        '-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A DOCKER-FORWARD -j DOCKER-CT',
        '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
        '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
        '-A DOCKER-FORWARD -i docker0 -j ACCEPT',
        '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2',
        '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP',
        'COMMIT',
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':DOCKER - [0:0]',
        '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
        '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
        '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
        '-A DOCKER -i docker0 -j RETURN',
        '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
        '-A DOCKER ! -i docker0 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.2:53',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('publish with a host IP matches that destination only (28 also guards a loopback host IP in raw)', () => {
    const docker = (e: number) => `      engine: ${e}
      containers:
        web: { network: bridge, publish: ["192.0.2.10:8080:80", "127.0.0.1:9090:90"] }`;
    const p27 = planOf(dockerHost(docker(27)));
    expect(lines(p27, 'dh', 'nat', 'DOCKER').slice(1)).toEqual([
      '-A DOCKER -d 192.0.2.10/32 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
      '-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 172.17.0.2:90',
    ]);
    const p28 = planOf(dockerHost(docker(28)));
    expect(lines(p28, 'dh', 'raw', 'PREROUTING')).toEqual([
      '-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP',
      '-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 9090 -j DROP',
    ]);
  });
});

describe('user-defined networks', () => {
  const NETS = (engine: number) =>
    dockerHost(`      engine: ${engine}
      networks:
        one: { driver: bridge }
        two: { driver: bridge }
        named: { driver: bridge, subnet: 10.10.0.0/24, bridge: br-named }
      containers:
        a: { network: one }
        b: { network: two }
        c: { network: one }
        d: { network: named, ip: 10.10.0.2 }
        e: { network: named }
        f: { network: bridge }`);

  it('take 172.18.0.0/16 then 172.19.0.0/16 from the default pools; br- + 12 hex of the network id', () => {
    const p = planOf(NETS(28));
    const bridges = ns(p, 'dh').interfaces.filter((i) => i.kind === 'bridge');
    expect(bridges.map((b) => b.addrs[0])).toEqual(['172.17.0.1/16', '172.18.0.1/16', '172.19.0.1/16', '10.10.0.1/24']);
    expect(bridges[0]!.name).toBe('docker0');
    expect(bridges[1]!.name).toMatch(/^br-[0-9a-f]{12}$/);
    expect(bridges[2]!.name).toMatch(/^br-[0-9a-f]{12}$/);
    expect(bridges[1]!.name).not.toBe(bridges[2]!.name);
    expect(bridges[3]!.name).toBe('br-named');
    expect(iface(p, 'a', 'eth0').addrs).toEqual(['172.18.0.2/16']);
    expect(iface(p, 'b', 'eth0').addrs).toEqual(['172.19.0.2/16']);
    expect(iface(p, 'c', 'eth0').addrs).toEqual(['172.18.0.3/16']);
    // a fixed address is reserved before the next free one is handed out
    expect(iface(p, 'd', 'eth0').addrs).toEqual(['10.10.0.2/24']);
    expect(iface(p, 'e', 'eth0').addrs).toEqual(['10.10.0.3/24']);
    expect(iface(p, 'f', 'eth0').addrs).toEqual(['172.17.0.2/16']);
    expect(ns(p, 'e').routes[0]!.via).toBe('10.10.0.1');
    const veth = ns(p, 'dh').interfaces.find((i) => i.kind === 'veth' && i.peer.ns === 'b')!;
    expect(veth.master).toBe(bridges[2]!.name);
  });

  it('pools that the host already routes are skipped', () => {
    const p = planOf(
      dockerHost(
        `      networks:
        one: { driver: bridge }
      containers:
        a: { network: one }`,
      ).replace('eth0: { wire: lan, ip: 192.0.2.10/24,', 'eth0: { wire: lan, ip: 172.18.5.10/24,')
        .replace('via: 192.0.2.1', 'via: 172.18.5.1'),
    );
    expect(iface(p, 'a', 'eth0').addrs).toEqual(['172.19.0.2/16']);
  });

  it('isolation: 27 drops between every pair of bridges through STAGE-1/STAGE-2, newest first', () => {
    const p = planOf(NETS(27));
    const [, one, two] = ns(p, 'dh').interfaces.filter((i) => i.kind === 'bridge').map((b) => b.name);
    expect(lines(p, 'dh', 'filter', 'DOCKER-ISOLATION-STAGE-1')).toEqual([
      '-A DOCKER-ISOLATION-STAGE-1 -i br-named ! -o br-named -j DOCKER-ISOLATION-STAGE-2',
      `-A DOCKER-ISOLATION-STAGE-1 -i ${two} ! -o ${two} -j DOCKER-ISOLATION-STAGE-2`,
      `-A DOCKER-ISOLATION-STAGE-1 -i ${one} ! -o ${one} -j DOCKER-ISOLATION-STAGE-2`,
      '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2',
      '-A DOCKER-ISOLATION-STAGE-1 -j RETURN',
    ]);
    expect(lines(p, 'dh', 'filter', 'DOCKER-ISOLATION-STAGE-2')).toEqual([
      '-A DOCKER-ISOLATION-STAGE-2 -o br-named -j DROP',
      `-A DOCKER-ISOLATION-STAGE-2 -o ${two} -j DROP`,
      `-A DOCKER-ISOLATION-STAGE-2 -o ${one} -j DROP`,
      '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP',
      '-A DOCKER-ISOLATION-STAGE-2 -j RETURN',
    ]);
    const fwd = lines(p, 'dh', 'filter', 'FORWARD');
    expect(fwd.slice(0, 6)).toEqual([
      '-A FORWARD -j DOCKER-USER',
      '-A FORWARD -j DOCKER-ISOLATION-STAGE-1',
      '-A FORWARD -o br-named -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A FORWARD -o br-named -j DOCKER',
      '-A FORWARD -i br-named ! -o br-named -j ACCEPT',
      '-A FORWARD -i br-named -o br-named -j ACCEPT',
    ]);
    expect(fwd).toHaveLength(2 + 4 * 4);
    expect(fwd.at(-1)).toBe('-A FORWARD -i docker0 -o docker0 -j ACCEPT');
    expect(lines(p, 'dh', 'nat', 'POSTROUTING')).toEqual([
      '-A POSTROUTING -s 10.10.0.0/24 ! -o br-named -j MASQUERADE',
      `-A POSTROUTING -s 172.19.0.0/16 ! -o ${two} -j MASQUERADE`,
      `-A POSTROUTING -s 172.18.0.0/16 ! -o ${one} -j MASQUERADE`,
      '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
    ]);
  });

  it('isolation: 28 appends STAGE-1 jumps and inserts STAGE-2 drops, with no RETURN rules', () => {
    const p = planOf(NETS(28));
    const [, one, two] = ns(p, 'dh').interfaces.filter((i) => i.kind === 'bridge').map((b) => b.name);
    expect(lines(p, 'dh', 'filter', 'DOCKER-ISOLATION-STAGE-1')).toEqual([
      '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2',
      `-A DOCKER-ISOLATION-STAGE-1 -i ${one} ! -o ${one} -j DOCKER-ISOLATION-STAGE-2`,
      `-A DOCKER-ISOLATION-STAGE-1 -i ${two} ! -o ${two} -j DOCKER-ISOLATION-STAGE-2`,
      '-A DOCKER-ISOLATION-STAGE-1 -i br-named ! -o br-named -j DOCKER-ISOLATION-STAGE-2',
    ]);
    expect(lines(p, 'dh', 'filter', 'DOCKER-ISOLATION-STAGE-2')).toEqual([
      '-A DOCKER-ISOLATION-STAGE-2 -o br-named -j DROP',
      `-A DOCKER-ISOLATION-STAGE-2 -o ${two} -j DROP`,
      `-A DOCKER-ISOLATION-STAGE-2 -o ${one} -j DROP`,
      '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP',
    ]);
    expect(lines(p, 'dh', 'filter', 'FORWARD')).toEqual(['-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD']);
  });

  it('containers on user-defined networks are addressed by name in traffic', () => {
    const p = planOf(`${NETS(28)}
traffic:
  - { at: 0ms, from: a, ping: c }
  - { at: 0ms, from: e, tcp: "d:5432" }
  - { at: 0ms, from: a, ping: dh }
  - { at: 0ms, from: b, ping: dh }
`);
    expect(p.traffic.map((t) => t.dst)).toEqual(['172.18.0.3', '10.10.0.2', '172.18.0.1', '172.19.0.1']);
  });
});

describe('network modes', () => {
  const MODES = dockerHost(
    `      containers:
        web: { network: bridge, services: [ { tcp: 80, reply: "hi" } ] }
        side: { network: "container:web", services: [ { tcp: 81, reply: "side" } ] }
        tool: { network: host, services: [ { udp: 53, echo: true } ] }
        jail: { network: none }
        late: { network: bridge }`,
    '    services: [ { tcp: 22, reply: "ssh" } ]',
  );

  it('host, none, container:NAME', () => {
    const p = planOf(MODES);
    expect(p.namespaces.map((n) => n.name)).toEqual(['dh', 'web', 'jail', 'late']);
    expect(ns(p, 'dh').nodes).toEqual(['dh', 'tool']);
    expect(ns(p, 'web').nodes).toEqual(['web', 'side']);
    expect(ns(p, 'jail').interfaces.map((i) => i.name)).toEqual(['lo']);
    expect(ns(p, 'jail').routes).toEqual([]);
    expect(ns(p, 'dh').services.map((s) => [s.node, s.proto, s.port])).toEqual([
      ['dh', 'tcp', 22],
      ['tool', 'udp', 53],
    ]);
    expect(ns(p, 'web').services.map((s) => [s.node, s.port])).toEqual([
      ['web', 80],
      ['side', 81],
    ]);
    // none and container:/host take no address: the next bridge container is .3
    expect(iface(p, 'late', 'eth0').addrs).toEqual(['172.17.0.3/16']);
    expect(ns(p, 'dh').interfaces.filter((i) => i.kind === 'veth')).toHaveLength(2);
  });

  it('traffic from a host-network or shared-namespace container runs in that namespace', () => {
    const p = planOf(`${MODES}
traffic:
  - { at: 0ms, from: tool, ping: web }
  - { at: 0ms, from: side, tcp: "dh:22" }
`);
    expect(p.traffic.map((t) => [t.node, t.ns, t.dst])).toEqual([
      ['tool', 'dh', '172.17.0.2'],
      ['side', 'web', '172.17.0.1'],
    ]);
  });

  it('a port bound twice in one namespace is refused as EADDRINUSE', () => {
    const e = compileError(
      dockerHost(
        `      containers:
        tool: { network: host, services: [ { tcp: 22, reply: "x" } ] }`,
        '    services: [ { tcp: 22, reply: "ssh" } ]',
      ),
    );
    expect(e.message).toMatch(/EADDRINUSE/);
    expect(e.path).toMatch(/tool/);
  });
});

describe('macvlan', () => {
  const MV = (engine: number) =>
    dockerHost(`      engine: ${engine}
      networks:
        lan: { driver: macvlan, parent: eth0, subnet: 192.0.2.0/24, gateway: 192.0.2.1 }
      containers:
        m1: { network: lan }
        m2: { network: lan, ip: 192.0.2.50 }`);

  it('eth0 is a bridge-mode macvlan on the parent, address from the subnet, gateway route, no NAT', () => {
    const p = planOf(MV(27));
    const m1 = iface(p, 'm1', 'eth0');
    expect(m1.kind).toBe('macvlan');
    expect(m1.kind === 'macvlan' && [m1.parent, m1.mode]).toEqual([{ ns: 'dh', name: 'eth0' }, 'bridge']);
    expect(m1.addrs).toEqual(['192.0.2.2/24']);
    expect(m1.mac).toBe('02:42:c0:00:02:02');
    expect(iface(p, 'm2', 'eth0').addrs).toEqual(['192.0.2.50/24']);
    expect(ns(p, 'm1').routes).toEqual([{ to: 'default', via: '192.0.2.1', dev: 'eth0', src: null }]);
    expect(ns(p, 'dh').interfaces.filter((i) => i.kind === 'veth')).toEqual([]);
    expect(lines(p, 'dh', 'nat', 'POSTROUTING')).toEqual(['-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE']);
    expect(planOf(MV(28)).namespaces.find((n) => n.name === 'm1')!.interfaces[1]!.mac).not.toMatch(/^02:42/);
  });

  it('an address dockerd would hand out that another node of the LAN has is refused', () => {
    const e = compileError(
      `${LAN}
hosts:
  gw:
    interfaces:
      eth0: { wire: lan, ip: 192.0.2.2/24 }
  dh:
    interfaces:
      eth0: { wire: lan, ip: 192.0.2.10/24 }
    docker:
      networks:
        lan: { driver: macvlan, parent: eth0, subnet: 192.0.2.0/24 }
      containers:
        m1: { network: lan }`,
    );
    expect(e.message).toMatch(/192\.0\.2\.2.*gw\.eth0.*ip:/);
  });
});
