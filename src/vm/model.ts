// VM network modes compiled into the WorldPlan. Every VM is a namespace (role 'vm') with one interface,
// eth0. How eth0 reaches the world depends on the mode:
//
//   user       QEMU -netdev user / VirtualBox NAT / slirp4netns: eth0 is a 'slirp-tap' served by a
//              user-mode stack (SlirpPlan) that makes the guest's connections with the host's own sockets.
//              Guest 10.0.2.15/24 (or `ip`), gateway 10.0.2.2, DNS 10.0.2.3, default route via 10.0.2.2.
//              Guest MAC: QEMU's default 52:54:00:12:34:56 unless `mac` (each slirp is its own LAN).
//   nat        libvirt's default network: bridge virbr0 192.168.122.1/24 (MAC 52:54:00:xx:xx:xx), dnsmasq
//              DHCP 192.168.122.2–254 (lease 1 h), the VM's tap vnetN enslaved to it (host end MAC is the
//              guest's with the first byte fe, as libvirt sets it), libvirt's LIBVIRT_* chains and
//              MASQUERADE rules. `forward: ["2222:22"]` becomes the DNAT + FORWARD ACCEPT pair of libvirt's
//              documented port-forwarding hook.
//   bridged    the host NIC `interface` is moved into a new bridge brN that takes over its addresses, MAC
//              and routes (what a host must do to bridge a tap); the VM's vnetN is enslaved to it. The guest
//              needs `ip` (in the LAN's subnet) unless a DHCP server serves that LAN.
//   host-only  VirtualBox's vboxnet0 192.168.56.1/24 (MAC 0a:00:27:00:00:00) with its DHCP server
//              (192.168.56.100, range .101–.254, no router); no NAT, no route to the world.
//   internal   VMs sharing `network` on one L2 segment with no host address (a wire `intnet-HOST-NETWORK`).
//              Addresses: `ip`, else derived: the subnet of a VM of that network that has `ip` (its
//              prefix, default /24), else 192.168.(100+k).0/24 for the host's k-th internal network (in
//              order of first use); hosts numbered from .1 in VM order, skipping given addresses.
//
// A DHCP client VM gets a fixed lease (DhcpServerPlan.hosts) in VM order from the start of the range, so
// traffic may name it and forwards can point at it.

import type { HostSpec, VmSpec } from '../scenario/types.js';
import { ScenarioError } from '../scenario/errors.js';
import type { DhcpServerPlan, InterfacePlan, NamespacePlan } from '../plan/plan.js';
import { QEMU_OUI, VBOX_OUI, prefixedMac } from '../plan/ids.js';
import {
  BRIDGE_AGEING_NS,
  addInterface,
  addNamespace,
  findInterface,
  getNs,
  nextVnet,
  servicePlan,
  tablesOf,
  type PlanContext,
} from '../plan/world.js';
import { formatCidr, formatIpv4, inSubnet, parseCidr, parseIpv4, prefixMask } from '../wire/addr.js';

export const SLIRP = {
  network: '10.0.2.0/24',
  gateway: '10.0.2.2',
  dns: '10.0.2.3',
  guest: '10.0.2.15',
  gatewayMac: '52:55:0a:00:02:02',
  guestMac: '52:54:00:12:34:56',
} as const;

export const LIBVIRT = {
  bridge: 'virbr0',
  addr: '192.168.122.1',
  len: 24,
  rangeStart: '192.168.122.2',
  rangeEnd: '192.168.122.254',
  leaseSeconds: 3600,
} as const;

export const VBOX_HOSTONLY = {
  bridge: 'vboxnet0',
  mac: '0a:00:27:00:00:00',
  addr: '192.168.56.1',
  len: 24,
  dhcpServer: '192.168.56.100',
  rangeStart: '192.168.56.101',
  rangeEnd: '192.168.56.254',
  leaseSeconds: 1200,
} as const;

function guestMac(ctx: PlanContext, vm: VmSpec, oui: readonly [number, number, number]): string {
  return vm.mac ?? prefixedMac(ctx.rng.fork(`mac:${vm.name}.eth0`), oui);
}

/** libvirt gives the host end of a tap the guest's MAC with the first byte 0xfe (so a bridge never takes
 *  it as its own address). */
function tapMac(guest: string): string {
  return `fe${guest.slice(2)}`;
}

export function planVms(ctx: PlanContext, host: HostSpec): void {
  for (const vm of host.vms) {
    switch (vm.mode) {
      case 'user':
        planUser(ctx, host, vm);
        break;
      case 'nat':
        planNat(ctx, host, vm);
        break;
      case 'bridged':
        planBridged(ctx, host, vm);
        break;
      case 'host-only':
        planHostOnly(ctx, host, vm);
        break;
      case 'internal':
        planInternal(ctx, host, vm);
        break;
    }
  }
}

function vmNamespace(ctx: PlanContext, vm: VmSpec): NamespacePlan {
  const ns = addNamespace(ctx, vm.name, 'vm', false);
  for (const s of vm.services) ns.services.push(servicePlan(vm.name, s));
  return ns;
}

function noForwards(vm: VmSpec): void {
  if (vm.forward.length > 0) {
    throw ScenarioError.at(vm.forward[0]!.where, `forward is for user and nat mode; a ${vm.mode} VM is reached directly`);
  }
}

// ---- user (slirp) ---------------------------------------------------------------------------------

function planUser(ctx: PlanContext, host: HostSpec, vm: VmSpec): void {
  const ns = vmNamespace(ctx, vm);
  const net = parseCidr(SLIRP.network);
  const guest = vm.ip ?? SLIRP.guest;
  const g = parseIpv4(guest);
  const len = vm.prefixLen ?? net.len;
  const off = (g - net.addr) >>> 0;
  if (!inSubnet(g, net.addr, net.len) || len !== net.len || off === 0 || off === 255 || off === 2 || off === 3) {
    throw ScenarioError.at(vm.where, `a user-mode guest's ip must be a free host address of ${SLIRP.network} (not .2 gateway, .3 DNS)`);
  }
  addInterface(ns, { kind: 'slirp-tap', slirp: vm.name }, 'eth0', vm.mac ?? SLIRP.guestMac, {
    addrs: [formatCidr(g, len)],
  });
  ns.routes.push({ to: 'default', via: SLIRP.gateway, dev: 'eth0', src: null });
  ctx.plan.slirps.push({
    name: vm.name,
    hostNs: host.name,
    guest: { ns: vm.name, ifname: 'eth0' },
    network: SLIRP.network,
    gateway: SLIRP.gateway,
    dns: SLIRP.dns,
    guestAddr: formatIpv4(g),
    gatewayMac: SLIRP.gatewayMac,
    forwards: vm.forward.map((f) => ({
      proto: f.proto,
      hostPort: f.hostPort,
      guestPort: f.containerPort,
      ...(f.hostIp ? { hostAddr: f.hostIp } : {}),
    })),
  });
}

// ---- a bridge on the host with a DHCP server (libvirt, VirtualBox host-only) --------------------------

interface HostBridge {
  server: DhcpServerPlan;
  /** Addresses fixed by `ip:` of VMs on this bridge (never leased). */
  fixed: Set<number>;
}

const hostBridges = new WeakMap<NamespacePlan, Map<string, HostBridge>>();

function bridgeOf(ns: NamespacePlan, name: string): HostBridge | undefined {
  return hostBridges.get(ns)?.get(name);
}

function ensureHostBridge(
  ctx: PlanContext,
  host: HostSpec,
  vm: VmSpec,
  name: string,
  mac: string,
  addr: string,
  len: number,
  server: Omit<DhcpServerPlan, 'ifname' | 'hosts' | 'prefixLen'>,
  onCreate: () => void,
): HostBridge {
  const hostNs = getNs(ctx, host.name);
  let map = hostBridges.get(hostNs);
  if (!map) {
    map = new Map();
    hostBridges.set(hostNs, map);
  }
  const existing = map.get(name);
  if (existing) return existing;
  const a = parseIpv4(addr);
  for (const i of hostNs.interfaces) {
    if (i.kind === 'loopback') continue;
    for (const c of i.addrs) {
      const p = parseCidr(c);
      if (inSubnet(a, p.addr, Math.min(p.len, len))) {
        throw ScenarioError.at(vm.where, `${name}'s network ${formatCidr((a & prefixMask(len)) >>> 0, len)} is already in use by ${host.name}.${i.name}`);
      }
    }
  }
  addInterface(hostNs, { kind: 'bridge', ageingNs: BRIDGE_AGEING_NS }, name, mac, { addrs: [formatCidr(a, len)] });
  const plan: DhcpServerPlan = { ifname: name, ...server, prefixLen: len, hosts: [] };
  hostNs.dhcpServers.push(plan);
  const hb: HostBridge = { server: plan, fixed: new Set() };
  map.set(name, hb);
  // Fixed addresses of every VM that will sit on this bridge are known now: keep them out of the leases.
  onCreate();
  return hb;
}

/** The VM's tap: `vnetN` on the host enslaved to `bridge`, `eth0` in the guest. */
function attachTap(ctx: PlanContext, host: HostSpec, ns: NamespacePlan, bridge: string, mac: string): void {
  const hostNs = getNs(ctx, host.name);
  const tap = nextVnet(ctx, host.name);
  addInterface(hostNs, { kind: 'veth', peer: { ns: ns.name, name: 'eth0' } }, tap, tapMac(mac), { master: bridge });
  addInterface(ns, { kind: 'veth', peer: { ns: host.name, name: tap } }, 'eth0', mac);
}

/** Static `ip` or a fixed DHCP lease for a VM on a host bridge; returns the guest address. */
function addressOnBridge(
  ctx: PlanContext,
  vm: VmSpec,
  ns: NamespacePlan,
  hb: HostBridge,
  bridgeAddr: string,
  len: number,
  mac: string,
  gateway: string | null,
): string {
  const net = parseIpv4(bridgeAddr);
  if (vm.ip !== null) {
    const ip = parseIpv4(vm.ip);
    const plen = vm.prefixLen ?? len;
    const server = hb.server.serverAddr ? parseIpv4(hb.server.serverAddr) : net;
    if (!inSubnet(ip, net, len) || ip === net || ip === server || plen !== len) {
      throw ScenarioError.at(vm.where, `ip ${vm.ip} is not a free host address of ${formatCidr((net & prefixMask(len)) >>> 0, len)}`);
    }
    const eth0 = findInterface(ns, 'eth0')!;
    eth0.addrs.push(formatCidr(ip, len));
    if (gateway) ns.routes.push({ to: 'default', via: gateway, dev: 'eth0', src: null });
    return vm.ip;
  }
  const start = parseIpv4(hb.server.rangeStart);
  const end = parseIpv4(hb.server.rangeEnd);
  const leased = new Set((hb.server.hosts ?? []).map((h) => parseIpv4(h.ip)));
  for (let ip = start; ip <= end; ip++) {
    if (hb.fixed.has(ip) || leased.has(ip)) continue;
    const text = formatIpv4(ip);
    hb.server.hosts!.push({ mac, ip: text });
    ns.dhcpClient.push('eth0');
    ctx.leased.set(ns.name, [formatCidr(ip, len)]);
    return text;
  }
  throw ScenarioError.at(vm.where, `the DHCP range of ${hb.server.ifname} is exhausted`);
}

function reserveFixed(host: HostSpec, mode: VmSpec['mode'], hb: () => HostBridge): void {
  for (const v of host.vms) if (v.mode === mode && v.ip !== null) hb().fixed.add(parseIpv4(v.ip));
}

// ---- nat (libvirt default network) ----------------------------------------------------------------

/** libvirt's rules for a NAT network (src/network/network_iptables.c): private chains with jumps inserted
 *  at the top of INPUT/OUTPUT/FORWARD/POSTROUTING, DNS/DHCP allowed to the host, forwarding only out of
 *  the subnet and back for established flows, MASQUERADE with ports 1024-65535 except to multicast and
 *  broadcast. */
export function libvirtNatRules(t: ReturnType<typeof tablesOf>, bridge: string, subnet: string): void {
  for (const c of ['LIBVIRT_INP', 'LIBVIRT_OUT', 'LIBVIRT_FWO', 'LIBVIRT_FWI', 'LIBVIRT_FWX']) t.newChain('filter', c);
  t.newChain('nat', 'LIBVIRT_PRT');
  t.insert('filter', 'INPUT', '-j LIBVIRT_INP');
  t.insert('filter', 'OUTPUT', '-j LIBVIRT_OUT');
  t.insert('filter', 'FORWARD', '-j LIBVIRT_FWO');
  t.insert('filter', 'FORWARD', '-j LIBVIRT_FWI');
  t.insert('filter', 'FORWARD', '-j LIBVIRT_FWX');
  t.insert('nat', 'POSTROUTING', '-j LIBVIRT_PRT');
  for (const p of ['udp', 'tcp']) t.append('filter', 'LIBVIRT_INP', `-i ${bridge} -p ${p} -m ${p} --dport 53 -j ACCEPT`);
  for (const p of ['udp', 'tcp']) t.append('filter', 'LIBVIRT_INP', `-i ${bridge} -p ${p} -m ${p} --dport 67 -j ACCEPT`);
  for (const p of ['udp', 'tcp']) t.append('filter', 'LIBVIRT_OUT', `-o ${bridge} -p ${p} -m ${p} --dport 53 -j ACCEPT`);
  for (const p of ['udp', 'tcp']) t.append('filter', 'LIBVIRT_OUT', `-o ${bridge} -p ${p} -m ${p} --dport 68 -j ACCEPT`);
  t.append('filter', 'LIBVIRT_FWI', `-d ${subnet} -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  t.append('filter', 'LIBVIRT_FWI', `-o ${bridge} -j REJECT --reject-with icmp-port-unreachable`);
  t.append('filter', 'LIBVIRT_FWO', `-s ${subnet} -i ${bridge} -j ACCEPT`);
  t.append('filter', 'LIBVIRT_FWO', `-i ${bridge} -j REJECT --reject-with icmp-port-unreachable`);
  t.append('filter', 'LIBVIRT_FWX', `-i ${bridge} -o ${bridge} -j ACCEPT`);
  t.append('nat', 'LIBVIRT_PRT', `-s ${subnet} -d 224.0.0.0/24 -j RETURN`);
  t.append('nat', 'LIBVIRT_PRT', `-s ${subnet} -d 255.255.255.255/32 -j RETURN`);
  t.append('nat', 'LIBVIRT_PRT', `-s ${subnet} ! -d ${subnet} -p tcp -j MASQUERADE --to-ports 1024-65535`);
  t.append('nat', 'LIBVIRT_PRT', `-s ${subnet} ! -d ${subnet} -p udp -j MASQUERADE --to-ports 1024-65535`);
  t.append('nat', 'LIBVIRT_PRT', `-s ${subnet} ! -d ${subnet} -j MASQUERADE`);
}

function planNat(ctx: PlanContext, host: HostSpec, vm: VmSpec): void {
  const subnet = formatCidr((parseIpv4(LIBVIRT.addr) & prefixMask(LIBVIRT.len)) >>> 0, LIBVIRT.len);
  const bridgeMac = prefixedMac(ctx.rng.fork(`mac:${host.name}.${LIBVIRT.bridge}`), QEMU_OUI);
  const hb: HostBridge = ensureHostBridge(
    ctx,
    host,
    vm,
    LIBVIRT.bridge,
    bridgeMac,
    LIBVIRT.addr,
    LIBVIRT.len,
    {
      rangeStart: LIBVIRT.rangeStart,
      rangeEnd: LIBVIRT.rangeEnd,
      router: LIBVIRT.addr,
      dns: LIBVIRT.addr,
      leaseSeconds: LIBVIRT.leaseSeconds,
    },
    () => {
      libvirtNatRules(tablesOf(ctx, host.name), LIBVIRT.bridge, subnet);
      reserveFixed(host, 'nat', () => bridgeOf(getNs(ctx, host.name), LIBVIRT.bridge)!);
      ctx.plan.notes.push(`${host.name}: libvirt network default on ${LIBVIRT.bridge} ${LIBVIRT.addr}/${LIBVIRT.len}`);
    },
  );
  const ns = vmNamespace(ctx, vm);
  const mac = guestMac(ctx, vm, QEMU_OUI);
  attachTap(ctx, host, ns, LIBVIRT.bridge, mac);
  const ip = addressOnBridge(ctx, vm, ns, hb, LIBVIRT.addr, LIBVIRT.len, mac, LIBVIRT.addr);
  const t = tablesOf(ctx, host.name);
  for (const f of vm.forward) {
    const d = f.hostIp && f.hostIp !== '0.0.0.0' ? `-d ${f.hostIp}/32 ` : '';
    const m = `-p ${f.proto} -m ${f.proto}`;
    t.insert('filter', 'FORWARD', `-d ${ip}/32 -o ${LIBVIRT.bridge} ${m} --dport ${f.containerPort} -j ACCEPT`);
    t.insert('nat', 'PREROUTING', `${d}${m} --dport ${f.hostPort} -j DNAT --to-destination ${ip}:${f.containerPort}`);
  }
}

// ---- host-only (VirtualBox vboxnet0) ----------------------------------------------------------------

function planHostOnly(ctx: PlanContext, host: HostSpec, vm: VmSpec): void {
  noForwards(vm);
  const hb = ensureHostBridge(
    ctx,
    host,
    vm,
    VBOX_HOSTONLY.bridge,
    VBOX_HOSTONLY.mac,
    VBOX_HOSTONLY.addr,
    VBOX_HOSTONLY.len,
    {
      rangeStart: VBOX_HOSTONLY.rangeStart,
      rangeEnd: VBOX_HOSTONLY.rangeEnd,
      router: null,
      dns: null,
      leaseSeconds: VBOX_HOSTONLY.leaseSeconds,
      serverAddr: VBOX_HOSTONLY.dhcpServer,
    },
    () => {
      reserveFixed(host, 'host-only', () => bridgeOf(getNs(ctx, host.name), VBOX_HOSTONLY.bridge)!);
      bridgeOf(getNs(ctx, host.name), VBOX_HOSTONLY.bridge)!.fixed.add(parseIpv4(VBOX_HOSTONLY.dhcpServer));
      ctx.plan.notes.push(`${host.name}: host-only network on ${VBOX_HOSTONLY.bridge} ${VBOX_HOSTONLY.addr}/${VBOX_HOSTONLY.len}`);
    },
  );
  const ns = vmNamespace(ctx, vm);
  const mac = guestMac(ctx, vm, VBOX_OUI);
  attachTap(ctx, host, ns, VBOX_HOSTONLY.bridge, mac);
  addressOnBridge(ctx, vm, ns, hb, VBOX_HOSTONLY.addr, VBOX_HOSTONLY.len, mac, null);
}

// ---- bridged -------------------------------------------------------------------------------------

function planBridged(ctx: PlanContext, host: HostSpec, vm: VmSpec): void {
  noForwards(vm);
  const hostNs = getNs(ctx, host.name);
  const nicName = vm.interface;
  const nic = nicName ? findInterface(hostNs, nicName) : undefined;
  const spec = host.interfaces.find((i) => i.name === nicName);
  if (!nic || nic.kind !== 'nic' || !spec) {
    throw ScenarioError.at(vm.where, `bridged mode needs interface: one of ${host.name}'s interfaces on a wire`);
  }
  // A device has one rx_handler: a NIC that carries macvlans cannot also be a bridge port (EBUSY).
  const macvlan = ctx.plan.namespaces.find((n) =>
    n.interfaces.some((i) => i.kind === 'macvlan' && i.parent.ns === host.name && i.parent.name === nic.name),
  );
  if (macvlan) {
    throw ScenarioError.at(vm.where, `${host.name}.${nic.name} carries a macvlan (${macvlan.name}); it cannot also be bridged for a VM (EBUSY)`);
  }
  const bridge = nic.master ?? moveIntoBridge(ctx, host, hostNs, nic);
  const br = findInterface(hostNs, bridge)!;

  const ns = vmNamespace(ctx, vm);
  const mac = guestMac(ctx, vm, QEMU_OUI);
  attachTap(ctx, host, ns, bridge, mac);

  if (vm.ip !== null) {
    const ip = parseIpv4(vm.ip);
    const lan = br.addrs.map((a) => parseCidr(a)).find((p) => inSubnet(ip, p.addr, vm.prefixLen ?? p.len));
    const len = vm.prefixLen ?? lan?.len ?? null;
    if (len === null) {
      throw ScenarioError.at(vm.where, `ip ${vm.ip} is not in a subnet of ${host.name}.${nicName}; write it as ${vm.ip}/LEN`);
    }
    findInterface(ns, 'eth0')!.addrs.push(formatCidr(ip, len));
    const gw = host.routes.find((r) => r.to === 'default' && r.via !== null && inSubnet(parseIpv4(r.via), ip, len));
    if (gw?.via) ns.routes.push({ to: 'default', via: gw.via, dev: 'eth0', src: null });
    return;
  }
  const server = lanDhcpServer(ctx, spec.wire);
  if (!server) {
    throw ScenarioError.at(
      vm.where,
      `bridged VM ${vm.name} would ask the LAN (wire ${spec.wire}) for an address by DHCP, but no DHCP server is described there; give it ip:`,
    );
  }
  ns.dhcpClient.push('eth0');
}

/** The host NIC moves into a new bridge brN that takes its addresses and MAC; routes through the NIC now
 *  go through the bridge. */
function moveIntoBridge(ctx: PlanContext, host: HostSpec, hostNs: NamespacePlan, nic: InterfacePlan): string {
  let k = 0;
  while (findInterface(hostNs, `br${k}`)) k++;
  const name = `br${k}`;
  addInterface(hostNs, { kind: 'bridge', ageingNs: BRIDGE_AGEING_NS }, name, nic.mac, { mtu: nic.mtu, addrs: [...nic.addrs] });
  nic.addrs = [];
  nic.master = name;
  for (const r of hostNs.routes) if (r.dev === nic.name) r.dev = name;
  ctx.plan.notes.push(`${host.name}: ${nic.name} moved into bridge ${name} for bridged VMs`);
  return name;
}

/** A DHCP server already planned on `wire` (on a NIC on it, or on a bridge with such a NIC as a port). */
function lanDhcpServer(ctx: PlanContext, wire: string): DhcpServerPlan | null {
  for (const ns of ctx.plan.namespaces) {
    for (const srv of ns.dhcpServers) {
      const i = findInterface(ns, srv.ifname);
      if (!i) continue;
      if (i.kind === 'nic' && i.wire === wire) return srv;
      if (i.kind === 'bridge' && ns.interfaces.some((p) => p.master === i.name && p.kind === 'nic' && p.wire === wire)) {
        return srv;
      }
    }
  }
  return null;
}

// ---- internal -------------------------------------------------------------------------------------

const internalNets = new WeakMap<PlanContext, Map<string, { wire: string; net: number; len: number; used: Set<number> }>>();

function planInternal(ctx: PlanContext, host: HostSpec, vm: VmSpec): void {
  noForwards(vm);
  const netName = vm.network;
  if (!netName) throw ScenarioError.at(vm.where, 'internal mode needs network: NAME');
  let nets = internalNets.get(ctx);
  if (!nets) {
    nets = new Map();
    internalNets.set(ctx, nets);
  }
  const key = `${host.name}\u0000${netName}`;
  let net = nets.get(key);
  if (!net) {
    const wire = `intnet-${host.name}-${netName}`;
    if (ctx.plan.wires.some((w) => w.name === wire)) throw ScenarioError.at(vm.where, `wire name ${wire} is taken`);
    ctx.plan.wires.push({ name: wire, latencyNs: 0 });
    const members = host.vms.filter((v) => v.mode === 'internal' && v.network === netName);
    const given = members.find((v) => v.ip !== null);
    let base: number;
    let len: number;
    if (given) {
      len = given.prefixLen ?? 24;
      base = (parseIpv4(given.ip!) & prefixMask(len)) >>> 0;
    } else {
      const k = [...nets.keys()].filter((x) => x.startsWith(`${host.name}\u0000`)).length;
      len = 24;
      base = parseIpv4(`192.168.${100 + k}.0`);
    }
    const used = new Set(members.filter((v) => v.ip !== null).map((v) => parseIpv4(v.ip!)));
    net = { wire, net: base, len, used };
    nets.set(key, net);
    ctx.plan.notes.push(`${host.name}: internal network ${netName} (${formatCidr(base, len)}) on wire ${wire}`);
  }
  const ns = vmNamespace(ctx, vm);
  const mac = guestMac(ctx, vm, VBOX_OUI);
  let addr: string;
  if (vm.ip !== null) {
    addr = formatCidr(parseIpv4(vm.ip), vm.prefixLen ?? net.len);
  } else {
    const size = 2 ** (32 - net.len);
    let ip = -1;
    for (let off = 1; off < size - 1; off++) {
      const cand = (net.net + off) >>> 0;
      if (!net.used.has(cand)) {
        ip = cand;
        break;
      }
    }
    if (ip < 0) throw ScenarioError.at(vm.where, `internal network ${netName} has no free address`);
    net.used.add(ip);
    addr = formatCidr(ip, net.len);
  }
  addInterface(ns, { kind: 'nic', wire: net.wire }, 'eth0', mac, { addrs: [addr] });
}
