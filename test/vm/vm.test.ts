// VM network modes: user (slirp), nat (libvirt), bridged, host-only (VirtualBox), internal.
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { compilePlan } from '../../src/plan/compile.js';
import { compileError, iface, lines, ns, planOf } from '../plan/helpers.js';

function vmHost(vms: string, traffic = ''): string {
  return `
version: 1
name: t
seed: 3
wires: { lan: {} }
hosts:
  vh:
    interfaces:
      eth0: { wire: lan, ip: 192.0.2.10/24, mac: "02:00:00:00:00:10" }
    routes: [ { to: default, via: 192.0.2.1, dev: eth0 } ]
    vms:
${vms}
${traffic}`;
}

describe('user mode (slirp)', () => {
  it('guest 10.0.2.15 by default, gateway 10.0.2.2, hostfwd forwards, nothing in the host kernel', () => {
    const p = planOf(vmHost('      vm: { mode: user, forward: ["2222:22", "127.0.0.1:5353:53/udp"] }'));
    const eth0 = iface(p, 'vm', 'eth0');
    expect(eth0).toMatchObject({ kind: 'slirp-tap', slirp: 'vm', addrs: ['10.0.2.15/24'], mac: '52:54:00:12:34:56' });
    expect(ns(p, 'vm').routes).toEqual([{ to: 'default', via: '10.0.2.2', dev: 'eth0', src: null }]);
    expect(p.slirps[0]).toMatchObject({
      hostNs: 'vh',
      guestAddr: '10.0.2.15',
      gateway: '10.0.2.2',
      dns: '10.0.2.3',
      gatewayMac: '52:55:0a:00:02:02',
      forwards: [
        { proto: 'tcp', hostPort: 2222, guestPort: 22 },
        { proto: 'udp', hostPort: 5353, guestPort: 53, hostAddr: '127.0.0.1' },
      ],
    });
    expect(ns(p, 'vh').interfaces.map((i) => i.name)).toEqual(['lo', 'eth0']);
    expect(lines(p, 'vh', 'nat', 'PREROUTING')).toEqual([]);
  });

  it('refuses a guest address outside 10.0.2.0/24 or on the gateway', () => {
    expect(compileError(vmHost('      vm: { mode: user, ip: 10.0.3.5 }')).message).toMatch(/10\.0\.2\.0\/24/);
    expect(compileError(vmHost('      vm: { mode: user, ip: 10.0.2.2 }')).message).toMatch(/gateway/);
  });
});

describe('nat mode (libvirt default network)', () => {
  const NAT = vmHost(`      a: { mode: nat }
      b: { mode: nat, ip: 192.168.122.2 }
      c: { mode: nat, mac: "52:54:00:00:00:0c" }`);

  it('virbr0 192.168.122.1/24, vnetN taps enslaved to it, DHCP .2-.254 with a fixed lease per DHCP guest', () => {
    const p = planOf(NAT);
    const virbr0 = iface(p, 'vh', 'virbr0');
    expect(virbr0.kind).toBe('bridge');
    expect(virbr0.addrs).toEqual(['192.168.122.1/24']);
    expect(virbr0.mac).toMatch(/^52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    const taps = ns(p, 'vh').interfaces.filter((i) => i.kind === 'veth');
    expect(taps.map((t) => [t.name, t.master, t.kind === 'veth' && t.peer.ns])).toEqual([
      ['vnet0', 'virbr0', 'a'],
      ['vnet1', 'virbr0', 'b'],
      ['vnet2', 'virbr0', 'c'],
    ]);
    const macA = iface(p, 'a', 'eth0').mac;
    expect(macA).toMatch(/^52:54:00:/);
    expect(taps[0]!.mac).toBe(`fe${macA.slice(2)}`);
    expect(iface(p, 'c', 'eth0').mac).toBe('52:54:00:00:00:0c');
    expect(ns(p, 'vh').dhcpServers).toEqual([
      {
        ifname: 'virbr0',
        rangeStart: '192.168.122.2',
        rangeEnd: '192.168.122.254',
        router: '192.168.122.1',
        dns: '192.168.122.1',
        leaseSeconds: 3600,
        prefixLen: 24,
        // .2 is b's static address, so the DHCP guests get .3 and .4
        hosts: [
          { mac: macA, ip: '192.168.122.3' },
          { mac: '52:54:00:00:00:0c', ip: '192.168.122.4' },
        ],
      },
    ]);
    expect(ns(p, 'a').dhcpClient).toEqual(['eth0']);
    expect(iface(p, 'a', 'eth0').addrs).toEqual([]);
    expect(ns(p, 'b').dhcpClient).toEqual([]);
    expect(iface(p, 'b', 'eth0').addrs).toEqual(['192.168.122.2/24']);
    expect(ns(p, 'b').routes).toEqual([{ to: 'default', via: '192.168.122.1', dev: 'eth0', src: null }]);
    expect(ns(p, 'vh').forward).toBe(true);
  });

  it("libvirt's rules: private chains, DNS/DHCP to the host, MASQUERADE with ports except multicast/broadcast", () => {
    const p = planOf(NAT);
    expect(lines(p, 'vh', 'nat', 'POSTROUTING')).toEqual(['-A POSTROUTING -j LIBVIRT_PRT']);
    expect(lines(p, 'vh', 'nat', 'LIBVIRT_PRT')).toEqual([
      '-A LIBVIRT_PRT -s 192.168.122.0/24 -d 224.0.0.0/24 -j RETURN',
      '-A LIBVIRT_PRT -s 192.168.122.0/24 -d 255.255.255.255/32 -j RETURN',
      '-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535',
      '-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -p udp -j MASQUERADE --to-ports 1024-65535',
      '-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE',
    ]);
    expect(lines(p, 'vh', 'filter', 'FORWARD')).toEqual([
      '-A FORWARD -j LIBVIRT_FWX',
      '-A FORWARD -j LIBVIRT_FWI',
      '-A FORWARD -j LIBVIRT_FWO',
    ]);
    expect(lines(p, 'vh', 'filter', 'LIBVIRT_FWI')).toEqual([
      '-A LIBVIRT_FWI -d 192.168.122.0/24 -o virbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A LIBVIRT_FWI -o virbr0 -j REJECT --reject-with icmp-port-unreachable',
    ]);
    expect(lines(p, 'vh', 'filter', 'LIBVIRT_FWO')).toEqual([
      '-A LIBVIRT_FWO -s 192.168.122.0/24 -i virbr0 -j ACCEPT',
      '-A LIBVIRT_FWO -i virbr0 -j REJECT --reject-with icmp-port-unreachable',
    ]);
    expect(lines(p, 'vh', 'filter', 'LIBVIRT_INP')).toHaveLength(4);
    expect(lines(p, 'vh', 'filter', 'INPUT')).toEqual(['-A INPUT -j LIBVIRT_INP']);
  });

  it('traffic may name a DHCP guest: it resolves to its fixed lease', () => {
    const p = planOf(`${NAT}
traffic:
  - { at: 0ms, from: a, ping: c }
  - { at: 0ms, from: vh, ping: a }
  - { at: 0ms, from: a, ping: vh }
`);
    expect(p.traffic.map((t) => t.dst)).toEqual(['192.168.122.4', '192.168.122.3', '192.168.122.1']);
  });

  it('forward in nat mode becomes a DNAT and a FORWARD ACCEPT to the guest (libvirt port-forwarding hook)', () => {
    const p = planOf(vmHost('      a: { mode: nat, forward: ["2222:22", "192.0.2.10:8053:53/udp"] }'));
    // the hook inserts each pair at the top, so the last forward comes first
    expect(lines(p, 'vh', 'nat', 'PREROUTING')).toEqual([
      '-A PREROUTING -d 192.0.2.10/32 -p udp -m udp --dport 8053 -j DNAT --to-destination 192.168.122.2:53',
      '-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 192.168.122.2:22',
    ]);
    expect(lines(p, 'vh', 'filter', 'FORWARD')).toEqual([
      '-A FORWARD -d 192.168.122.2/32 -o virbr0 -p udp -m udp --dport 53 -j ACCEPT',
      '-A FORWARD -d 192.168.122.2/32 -o virbr0 -p tcp -m tcp --dport 22 -j ACCEPT',
      '-A FORWARD -j LIBVIRT_FWX',
      '-A FORWARD -j LIBVIRT_FWI',
      '-A FORWARD -j LIBVIRT_FWO',
    ]);
  });

  it('a forward to a guest set on the spec directly (as a program may build it) works the same', () => {
    const s = parseScenario(vmHost('      a: { mode: nat }\n      u: { mode: user, forward: ["2222:22"] }'), 't.yaml');
    const vms = s.hosts[0]!.vms;
    vms[0]!.forward = vms[1]!.forward;
    const p = compilePlan(s);
    expect(lines(p, 'vh', 'nat', 'PREROUTING')).toEqual([
      '-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 192.168.122.2:22',
    ]);
  });

  it('refuses when the host already uses 192.168.122.0/24', () => {
    const y = vmHost('      a: { mode: nat }').replace('interfaces:\n', 'interfaces:\n      eth1: { wire: lan, ip: 192.168.122.7/24 }\n');
    expect(compileError(y).message).toMatch(/192\.168\.122\.0\/24 is already in use by vh\.eth1/);
  });
});

describe('bridged mode', () => {
  it('moves the host NIC into br0 (addresses, MAC, routes follow) and enslaves the VM tap to it', () => {
    const p = planOf(vmHost('      b1: { mode: bridged, interface: eth0, ip: 192.0.2.50 }\n      b2: { mode: bridged, interface: eth0, ip: 192.0.2.51/24 }'));
    const vh = ns(p, 'vh');
    expect(iface(p, 'vh', 'eth0')).toMatchObject({ kind: 'nic', wire: 'lan', addrs: [], master: 'br0', mac: '02:00:00:00:00:10' });
    expect(iface(p, 'vh', 'br0')).toMatchObject({ kind: 'bridge', addrs: ['192.0.2.10/24'], mac: '02:00:00:00:00:10' });
    expect(vh.routes).toEqual([{ to: 'default', via: '192.0.2.1', dev: 'br0', src: null }]);
    expect(vh.interfaces.filter((i) => i.master === 'br0').map((i) => i.name)).toEqual(['eth0', 'vnet0', 'vnet1']);
    expect(vh.interfaces.filter((i) => i.kind === 'bridge')).toHaveLength(1);
    expect(iface(p, 'b1', 'eth0').addrs).toEqual(['192.0.2.50/24']);
    expect(ns(p, 'b1').routes).toEqual([{ to: 'default', via: '192.0.2.1', dev: 'eth0', src: null }]);
    expect(iface(p, 'b2', 'eth0').addrs).toEqual(['192.0.2.51/24']);
  });

  it('refuses to bridge a NIC that already carries a docker macvlan', () => {
    const y = vmHost('      b1: { mode: bridged, interface: eth0, ip: 192.0.2.50 }').replace(
      '    vms:',
      '    docker:\n      networks:\n        lan: { driver: macvlan, parent: eth0, subnet: 192.0.2.0/24, gateway: 192.0.2.1 }\n      containers:\n        m: { network: lan }\n    vms:',
    );
    expect(compileError(y).message).toMatch(/vh\.eth0 carries a macvlan \(m\).*EBUSY/);
  });

  it('without ip and with no DHCP server on the LAN, asks for ip:', () => {
    const e = compileError(vmHost('      b1: { mode: bridged, interface: eth0 }'));
    expect(e.message).toMatch(/no DHCP server.*ip:/);
    expect(e.path).toMatch(/b1/);
  });
});

describe('host-only mode', () => {
  it('vboxnet0 192.168.56.1/24, VirtualBox DHCP .101-.254 from 192.168.56.100, no router, no NAT', () => {
    const p = planOf(vmHost('      h1: { mode: host-only }\n      h2: { mode: host-only, ip: 192.168.56.10 }'));
    expect(iface(p, 'vh', 'vboxnet0')).toMatchObject({ kind: 'bridge', addrs: ['192.168.56.1/24'], mac: '0a:00:27:00:00:00' });
    const srv = ns(p, 'vh').dhcpServers[0]!;
    expect(srv).toMatchObject({ ifname: 'vboxnet0', rangeStart: '192.168.56.101', rangeEnd: '192.168.56.254', router: null, dns: null, serverAddr: '192.168.56.100' });
    expect(srv.hosts).toEqual([{ mac: iface(p, 'h1', 'eth0').mac, ip: '192.168.56.101' }]);
    expect(iface(p, 'h1', 'eth0').mac).toMatch(/^08:00:27:/);
    expect(ns(p, 'h1').routes).toEqual([]);
    expect(ns(p, 'h2').routes).toEqual([]);
    expect(iface(p, 'h2', 'eth0').addrs).toEqual(['192.168.56.10/24']);
    expect(ns(p, 'vh').iptables.nat.chains.every((c) => c.rules.length === 0)).toBe(true);
    expect(compileError(vmHost('      h1: { mode: host-only, ip: 192.168.56.100 }')).message).toMatch(/not a free host address/);
  });
});

describe('internal mode', () => {
  it('VMs of one network share a segment with no host address; addresses derived or given', () => {
    const p = planOf(
      vmHost(`      i1: { mode: internal, network: intnet }
      i2: { mode: internal, network: intnet }
      j1: { mode: internal, network: other, ip: 10.9.0.1/16 }
      j2: { mode: internal, network: other }`),
    );
    expect(p.wires.map((w) => w.name)).toEqual(['lan', 'intnet-vh-intnet', 'intnet-vh-other']);
    expect(iface(p, 'i1', 'eth0')).toMatchObject({ kind: 'nic', wire: 'intnet-vh-intnet', addrs: ['192.168.100.1/24'] });
    expect(iface(p, 'i2', 'eth0')).toMatchObject({ kind: 'nic', wire: 'intnet-vh-intnet', addrs: ['192.168.100.2/24'] });
    expect(iface(p, 'j1', 'eth0').addrs).toEqual(['10.9.0.1/16']);
    expect(iface(p, 'j2', 'eth0').addrs).toEqual(['10.9.0.2/16']);
    expect(ns(p, 'vh').interfaces.map((i) => i.name)).toEqual(['lo', 'eth0']);
  });
});
