// A WorldPlan as the commands that build it on a real Linux kernel: one network namespace per plan
// namespace (named `wb-<name>`), veth pairs for container links and two-host wires, a bridge in a
// namespace of its own for a wire with more than two NICs, Linux bridges, macvlans, addresses, routes
// and sysctls. Pure: it returns argv lists, so it is tested without root and printed by --dry-run.
//
// Nothing built here has a link into the namespace `wirebox real` is started from: every device lives
// in a `wb-` namespace, so no packet of the run can route out of them.

import type { InterfacePlan, NamespacePlan, NetemPlan, WorldPlan } from '../plan/plan.js';

export const NS_PREFIX = 'wb-';
/** Namespace holding the switch of a wire that joins more than two NICs. */
export const WIRE_NS_PREFIX = 'wb-wire-';

export function nsName(planNs: string): string {
  return NS_PREFIX + planNs;
}

export type Argv = string[];

export interface Topology {
  /** Namespaces created, in order (deleted in reverse when done). */
  namespaces: string[];
  /** Commands run in order; each must succeed. */
  commands: Argv[];
  /** (namespace, interface, capture file stem) for every captured interface. */
  captures: { ns: string; ifname: string; captureName: string; ifUsed?: boolean }[];
}

const ipIn = (ns: string, ...args: string[]): Argv => ['ip', '-n', ns, ...args];
const sysctlIn = (ns: string, kv: string): Argv => ['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', kv];

/** The commands that build `plan` (without iptables, services, slirp or captures). */
export function buildTopology(plan: WorldPlan): Topology {
  const namespaces: string[] = [];
  const commands: Argv[] = [];
  const captures: Topology['captures'] = [];

  const addNs = (name: string) => {
    namespaces.push(name);
    commands.push(['ip', 'netns', 'add', name]);
    // No IPv6 chatter (router solicitations, MLD): the recordings disable it too.
    commands.push(sysctlIn(name, 'net.ipv6.conf.all.disable_ipv6=1'));
    commands.push(sysctlIn(name, 'net.ipv6.conf.default.disable_ipv6=1'));
    commands.push(ipIn(name, 'link', 'set', 'lo', 'up'));
  };

  for (const ns of plan.namespaces) addNs(nsName(ns.name));

  // Wires: who plugs into each.
  const nicsOnWire = new Map<string, { ns: NamespacePlan; iface: InterfacePlan }[]>();
  for (const w of plan.wires) nicsOnWire.set(w.name, []);
  for (const ns of plan.namespaces) {
    for (const iface of ns.interfaces) {
      if (iface.kind === 'nic') {
        const list = nicsOnWire.get(iface.wire);
        if (!list) throw new Error(`plan: interface ${ns.name}.${iface.name} is on unknown wire ${iface.wire}`);
        list.push({ ns, iface });
      }
    }
  }

  // 1. Bridges first, so that ports can be enslaved as they are made.
  for (const ns of plan.namespaces) {
    for (const iface of ns.interfaces) {
      if (iface.kind !== 'bridge') continue;
      const centis = Math.round(iface.ageingNs / 1e7);
      commands.push(ipIn(nsName(ns.name), 'link', 'add', iface.name, 'type', 'bridge', 'ageing_time', String(centis)));
    }
  }

  // 2. Links: wires, veth pairs, macvlans.
  let wireIndex = 0;
  for (const [wire, nics] of nicsOnWire) {
    if (nics.length === 2) {
      const [a, b] = nics as [{ ns: NamespacePlan; iface: InterfacePlan }, { ns: NamespacePlan; iface: InterfacePlan }];
      commands.push(['ip', 'link', 'add', a.iface.name, 'netns', nsName(a.ns.name), 'type', 'veth', 'peer', 'name', b.iface.name, 'netns', nsName(b.ns.name)]);
    } else if (nics.length > 0) {
      const wns = WIRE_NS_PREFIX + wire;
      addNs(wns);
      commands.push(ipIn(wns, 'link', 'add', 'sw', 'type', 'bridge'));
      commands.push(ipIn(wns, 'link', 'set', 'sw', 'type', 'bridge', 'mcast_snooping', '0'));
      nics.forEach(({ ns, iface }, i) => {
        const port = `p${i}`;
        commands.push(['ip', 'link', 'add', iface.name, 'netns', nsName(ns.name), 'type', 'veth', 'peer', 'name', port, 'netns', wns]);
        commands.push(ipIn(wns, 'link', 'set', port, 'master', 'sw', 'up'));
      });
      commands.push(ipIn(wns, 'link', 'set', 'sw', 'up'));
    }
    wireIndex++;
  }
  void wireIndex;

  const vethDone = new Set<string>();
  for (const ns of plan.namespaces) {
    for (const iface of ns.interfaces) {
      if (iface.kind === 'veth') {
        const key = [`${ns.name}/${iface.name}`, `${iface.peer.ns}/${iface.peer.name}`].sort().join('|');
        if (vethDone.has(key)) continue;
        vethDone.add(key);
        commands.push(['ip', 'link', 'add', iface.name, 'netns', nsName(ns.name), 'type', 'veth', 'peer', 'name', iface.peer.name, 'netns', nsName(iface.peer.ns)]);
      } else if (iface.kind === 'macvlan') {
        const parentNs = nsName(iface.parent.ns);
        const tmp = `wbmv${commands.length % 100000}`;
        commands.push(ipIn(parentNs, 'link', 'add', tmp, 'link', iface.parent.name, 'type', 'macvlan', 'mode', iface.mode));
        commands.push(ipIn(parentNs, 'link', 'set', tmp, 'netns', nsName(ns.name), 'name', iface.name));
      }
    }
  }

  // 3. Per interface: MAC, MTU, master, addresses, up — in plan order.
  for (const ns of plan.namespaces) {
    const n = nsName(ns.name);
    for (const iface of ns.interfaces) {
      if (iface.kind === 'loopback' || iface.kind === 'slirp-tap') continue;
      commands.push(ipIn(n, 'link', 'set', iface.name, 'address', iface.mac, 'mtu', String(iface.mtu)));
      if (iface.master) commands.push(ipIn(n, 'link', 'set', iface.name, 'master', iface.master));
      if (iface.master && iface.hairpin) commands.push(ipIn(n, 'link', 'set', iface.name, 'type', 'bridge_slave', 'hairpin', 'on'));
      if (iface.routeLocalnet) commands.push(sysctlIn(n, `net.ipv4.conf.${iface.name}.route_localnet=1`));
      // offload: false — what the emulator's device does when it cuts GSO super-frames before sending
      if (iface.offload === false) commands.push(['ip', 'netns', 'exec', n, 'ethtool', '-K', iface.name, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    }
    for (const iface of ns.interfaces) {
      if (iface.kind === 'loopback' || iface.kind === 'slirp-tap') continue;
      for (const cidr of iface.addrs) commands.push(ipIn(n, 'addr', 'add', cidr, 'brd', '+', 'dev', iface.name));
      commands.push(ipIn(n, 'link', 'set', iface.name, 'up'));
      if (iface.kind === 'nic' && iface.netem) commands.push(netemCommand(n, iface.name, iface.netem));
      if (iface.capture) captures.push({ ns: n, ifname: iface.name, captureName: iface.captureName });
    }
    // capture: { lo: true } — tcpdump -i lo; the runner drops the file if nothing crossed it.
    const lo = ns.interfaces.find((i) => i.kind === 'loopback');
    if (lo?.capture) captures.push({ ns: n, ifname: lo.name, captureName: lo.captureName, ifUsed: true });
    commands.push(sysctlIn(n, `net.ipv4.ip_forward=${ns.forward ? 1 : 0}`));
  }

  // 4. Routes (after every address, so gateways are reachable).
  for (const ns of plan.namespaces) {
    if (ns.interfaces.some((i) => i.kind === 'slirp-tap')) continue; // routed once slirp has made the tap
    commands.push(...routeCommands(ns));
  }
  return { namespaces, commands, captures };
}

/** `tc qdisc add dev IF root netem …` with the plan's parameters (src/devices/netem.ts is the
 *  emulator's side); a parameter at its default is left out, as tc prints it. */
export function netemCommand(n: string, ifname: string, p: NetemPlan): Argv {
  const argv: Argv = ['ip', 'netns', 'exec', n, 'tc', 'qdisc', 'add', 'dev', ifname, 'root', 'netem', 'limit', String(p.limit)];
  const us = (ns: number): string => `${ns / 1000}us`;
  if (p.latencyNs > 0 || p.jitterNs > 0) {
    argv.push('delay', us(p.latencyNs));
    if (p.jitterNs > 0) argv.push(us(p.jitterNs));
  }
  if (p.loss > 0) argv.push('loss', `${p.loss}%`);
  if (p.duplicate > 0) argv.push('duplicate', `${p.duplicate}%`);
  if (p.reorder > 0) argv.push('reorder', `${p.reorder}%`);
  if (p.corrupt > 0) argv.push('corrupt', `${p.corrupt}%`);
  if (p.rateBps > 0) argv.push('rate', `${p.rateBps}bit`);
  return argv;
}

export function routeCommands(ns: NamespacePlan): Argv[] {
  const n = nsName(ns.name);
  return ns.routes.map((r) => {
    const argv = ipIn(n, 'route', 'add', r.to);
    if (r.via) argv.push('via', r.via);
    if (r.dev) argv.push('dev', r.dev);
    if (r.src) argv.push('src', r.src);
    return argv;
  });
}

/** Commands that configure a slirp tap once slirp4netns has created it in the guest namespace. */
export function slirpTapCommands(ns: NamespacePlan, iface: InterfacePlan): Argv[] {
  const n = nsName(ns.name);
  const cmds: Argv[] = [ipIn(n, 'link', 'set', iface.name, 'address', iface.mac, 'mtu', String(iface.mtu))];
  for (const cidr of iface.addrs) cmds.push(ipIn(n, 'addr', 'add', cidr, 'brd', '+', 'dev', iface.name));
  cmds.push(ipIn(n, 'link', 'set', iface.name, 'up'));
  cmds.push(...routeCommands(ns));
  return cmds;
}
