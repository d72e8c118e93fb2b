// The four real-capture scenarios compile to the world they were recorded in.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../src/scenario/load.js';
import { compilePlan } from '../../src/plan/compile.js';
import { formatIptablesSave } from '../../src/plan/rules.js';
import { iface, lines, ns } from './helpers.js';

function fixture(name: string) {
  const path = `fixtures/real-captures/${name}/scenario.yaml`;
  return compilePlan(parseScenario(readFileSync(path, 'utf8'), path));
}

describe('fixtures/real-captures', () => {
  it('nat-basic: docker0, one container with the classic MAC, MASQUERADE out', () => {
    const p = fixture('nat-basic');
    expect(p.namespaces.map((n) => n.name)).toEqual(['server', 'dh', 'ct']);
    const dh = ns(p, 'dh');
    expect(dh.forward).toBe(true);
    expect(dh.interfaces.map((i) => i.name)).toEqual(['lo', 'eth0', 'docker0', expect.stringMatching(/^veth[0-9a-f]{7}$/)]);
    const docker0 = iface(p, 'dh', 'docker0');
    expect(docker0.kind).toBe('bridge');
    expect(docker0.addrs).toEqual(['172.17.0.1/16']);
    const veth = dh.interfaces[3]!;
    expect(veth.kind === 'veth' && veth.peer).toEqual({ ns: 'ct', name: 'eth0' });
    expect(veth.master).toBe('docker0');
    expect(veth.capture).toBe(true);
    expect(veth.captureName).toBe(`dh.${veth.name}`);
    const eth0 = iface(p, 'ct', 'eth0');
    expect(eth0.mac).toBe('02:42:ac:11:00:02');
    expect(eth0.addrs).toEqual(['172.17.0.2/16']);
    expect(eth0.kind === 'veth' && eth0.peer).toEqual({ ns: 'dh', name: veth.name });
    expect(eth0.captureName).toBe('ct.eth0');
    expect(ns(p, 'ct').routes).toEqual([{ to: 'default', via: '172.17.0.1', dev: 'eth0', src: null }]);
    expect(ns(p, 'ct').announce).toEqual([]); // engine 27 sends no unsolicited ARP
    expect(lines(p, 'dh', 'nat', 'POSTROUTING')).toEqual(['-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE']);
    expect(iface(p, 'server', 'eth0').mac).toBe('52:54:00:aa:00:01');
    expect(ns(p, 'server').services.map((s) => `${s.proto}/${s.port}`)).toEqual(['tcp/8000', 'udp/7']);
    expect(p.traffic.map((t) => [t.kind, t.node, t.ns, t.dst])).toEqual([
      ['ping', 'ct', 'ct', '198.51.100.1'],
      ['tcp', 'ct', 'ct', '198.51.100.1'],
      ['udp', 'ct', 'ct', '198.51.100.1'],
    ]);
    for (const n of p.namespaces) {
      expect(n.interfaces[0]).toMatchObject({ kind: 'loopback', name: 'lo', addrs: ['127.0.0.1/8'], capture: false });
    }
  });

  it('publish: engine 27 rule set, exactly as iptables-save prints it', () => {
    const p = fixture('publish');
    expect(formatIptablesSave(ns(p, 'dh').iptables)).toBe(
      [
        // engine 27 never touches the raw table, and iptables-save lists only tables in use
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':DOCKER - [0:0]',
        ':DOCKER-ISOLATION-STAGE-1 - [0:0]',
        ':DOCKER-ISOLATION-STAGE-2 - [0:0]',
        ':DOCKER-USER - [0:0]',
        '-A FORWARD -j DOCKER-USER',
        '-A FORWARD -j DOCKER-ISOLATION-STAGE-1',
        '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A FORWARD -o docker0 -j DOCKER',
        '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT',
        '-A FORWARD -i docker0 -o docker0 -j ACCEPT',
        '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 8000 -j ACCEPT',
        '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2',
        '-A DOCKER-ISOLATION-STAGE-1 -j RETURN',
        '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP',
        '-A DOCKER-ISOLATION-STAGE-2 -j RETURN',
        '-A DOCKER-USER -j RETURN',
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
        '-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 8000 -j MASQUERADE',
        '-A DOCKER -i docker0 -j RETURN',
        '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:8000',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(ns(p, 'ct').services).toEqual([
      expect.objectContaining({ node: 'ct', proto: 'tcp', port: 8000, bind: '0.0.0.0', echo: false }),
    ]);
    expect(p.traffic.map((t) => t.dst)).toEqual(['198.51.100.10', '198.51.100.10', '198.51.100.10']);
  });

  it('bridge-learning: three containers get .2 .3 .4 in start order, three veths on docker0', () => {
    const p = fixture('bridge-learning');
    expect(['ct1', 'ct2', 'ct3'].map((c) => [iface(p, c, 'eth0').addrs[0], iface(p, c, 'eth0').mac])).toEqual([
      ['172.17.0.2/16', '02:42:ac:11:00:02'],
      ['172.17.0.3/16', '02:42:ac:11:00:03'],
      ['172.17.0.4/16', '02:42:ac:11:00:04'],
    ]);
    const veths = ns(p, 'dh').interfaces.filter((i) => i.kind === 'veth');
    expect(veths).toHaveLength(3);
    expect(new Set(veths.map((v) => v.name)).size).toBe(3);
    expect(veths.every((v) => v.master === 'docker0')).toBe(true);
    expect(new Set([...veths.map((v) => v.mac), iface(p, 'dh', 'docker0').mac]).size).toBe(4);
    expect(p.traffic[0]).toMatchObject({ node: 'ct1', dst: '172.17.0.3', dport: 8000 });
  });

  it('vm-nat: a user-mode guest at 10.0.2.100 behind a slirp on vh', () => {
    const p = fixture('vm-nat');
    const vg = ns(p, 'vg');
    expect(vg.role).toBe('vm');
    const eth0 = iface(p, 'vg', 'eth0');
    expect(eth0.kind === 'slirp-tap' && eth0.slirp).toBe('vg');
    expect(eth0.addrs).toEqual(['10.0.2.100/24']);
    expect(vg.routes).toEqual([{ to: 'default', via: '10.0.2.2', dev: 'eth0', src: null }]);
    expect(p.slirps).toEqual([
      {
        name: 'vg',
        hostNs: 'vh',
        guest: { ns: 'vg', ifname: 'eth0' },
        network: '10.0.2.0/24',
        gateway: '10.0.2.2',
        dns: '10.0.2.3',
        guestAddr: '10.0.2.100',
        gatewayMac: '52:55:0a:00:02:02',
        forwards: [],
      },
    ]);
    // user mode touches nothing in the host's kernel
    expect(formatIptablesSave(ns(p, 'vh').iptables)).not.toMatch(/-A /);
    expect(p.traffic.every((t) => t.ns === 'vg')).toBe(true);
  });
});
