// dockerd's network model on one host, compiled into the WorldPlan: the default bridge (docker0,
// 172.17.0.0/16), user-defined bridge and macvlan networks, one veth pair per container, addresses in
// start order, MACs as each engine makes them, Docker 28's unsolicited ARPs, and the iptables rules
// (./firewall.ts). Containers with `network: host` run in the host's namespace, `container:NAME` in
// NAME's, `none` in a namespace with only lo.

import type { ContainerSpec, DockerNetworkSpec, HostSpec } from '../scenario/types.js';
import { ScenarioError } from '../scenario/errors.js';
import type { NamespacePlan } from '../plan/plan.js';
import type { Prng } from '../sim/prng.js';
import { docker27Mac, randomHex, randomLocalMac } from '../plan/ids.js';
import {
  BRIDGE_AGEING_NS,
  addInterface,
  addNamespace,
  findInterface,
  getNs,
  joinNamespace,
  servicePlan,
  tablesOf,
  type PlanContext,
} from '../plan/world.js';
import { formatCidr, formatIpv4, parseCidr, parseIpv4 } from '../wire/addr.js';
import { bridgeNetwork, containerEndpoint, daemonStart, publishPort, type Engine, type FwNetwork, type FwOptions } from './firewall.js';
import { AddressPool, networkOf, pickPool, type Prefix } from './pools.js';

/** A network as dockerd knows it once created. */
export interface DockerNetwork {
  name: string;
  driver: 'bridge' | 'macvlan';
  /** 64 hex digits (seeded), as `docker network inspect` shows. */
  id: string;
  /** Linux bridge (bridge driver) or parent interface (macvlan). */
  ifname: string;
  subnet: Prefix;
  gateway: number;
  pool: AddressPool;
  internal: boolean;
}

/** Interval and count of Docker 28's unsolicited ARPs (osl: advertiseAddrNMsgs=3, interval 1s). */
export const DOCKER28_ANNOUNCE = { count: 3, intervalNs: 1_000_000_000 } as const;

function cidrText(p: Prefix): string {
  return formatCidr(p.addr, p.len);
}

/** Prefixes already routed on the host (interface networks and explicit routes): dockerd skips pools
 *  that overlap them. */
function hostPrefixes(ns: NamespacePlan, host: HostSpec): Prefix[] {
  const out: Prefix[] = [];
  for (const i of ns.interfaces) {
    if (i.kind === 'loopback') continue;
    for (const a of i.addrs) out.push(networkOf(parseCidr(a)));
  }
  for (const r of host.routes) if (r.to !== 'default') out.push(networkOf(parseCidr(r.to)));
  return out;
}

export function planDocker(ctx: PlanContext, host: HostSpec): DockerNetwork[] {
  const docker = host.docker;
  if (!docker) return [];
  const engine: Engine = docker.engine;
  const fw: FwOptions = { engine, hairpin: !docker.userlandProxy };
  const hostNs = getNs(ctx, host.name);
  const t = tablesOf(ctx, host.name);
  const hostRng = ctx.rng.fork(`docker:${host.name}`);

  daemonStart(t, fw);

  const used = hostPrefixes(hostNs, host);
  for (const n of docker.networks) if (n.subnet) used.push(networkOf(parseCidr(n.subnet)));

  const networks = new Map<string, DockerNetwork>();

  // The default bridge network: 172.17.0.0/16 unless the host already routes it.
  const defSubnet = pickPool(used);
  if (!defSubnet) throw ScenarioError.at(docker.where, 'no free address pool for docker0');
  used.push(defSubnet);
  const def = makeBridge(ctx, host, hostNs, fw, {
    name: 'bridge',
    id: randomHex(hostRng.fork('network:bridge'), 64),
    bridge: 'docker0',
    subnet: defSubnet,
    gateway: null,
  });
  networks.set('bridge', def);

  for (const spec of docker.networks) {
    if (networks.has(spec.name)) throw ScenarioError.at(spec.where, `network ${spec.name} defined twice`);
    networks.set(spec.name, makeNetwork(ctx, host, hostNs, fw, spec, used, hostRng));
  }

  // Fixed addresses are reserved before any container takes the next free one.
  for (const ct of docker.containers) {
    if (ct.ip === null) continue;
    if (ct.network.mode !== 'network' || ct.network.network === 'bridge') {
      throw ScenarioError.at(ct.where, 'a fixed ip is only supported on user-defined networks (as dockerd)');
    }
    const net = networks.get(ct.network.network);
    if (!net) throw ScenarioError.at(ct.where, `no docker network ${ct.network.network}`);
    const ip = parseIpv4(ct.ip);
    if (!net.pool.usable(ip)) {
      throw ScenarioError.at(ct.where, `ip ${ct.ip} is not a usable address of ${net.name} (${cidrText(net.subnet)})`);
    }
    if (!net.pool.reserve(ip)) throw ScenarioError.at(ct.where, `ip ${ct.ip} is already in use on ${net.name}`);
  }

  const ports = new HostPorts();
  for (const ct of docker.containers) startContainer(ctx, host, hostNs, fw, networks, ct, ports);

  ctx.plan.notes.push(
    `${host.name}: dockerd (engine ${engine}${docker.userlandProxy ? '' : ', userland-proxy off'}), networks ` +
      [...networks.values()].map((n) => `${n.name}=${n.ifname} ${cidrText(n.subnet)}`).join(', '),
  );
  return [...networks.values()];
}

function makeNetwork(
  ctx: PlanContext,
  host: HostSpec,
  hostNs: NamespacePlan,
  fw: FwOptions,
  spec: DockerNetworkSpec,
  used: Prefix[],
  hostRng: Prng,
): DockerNetwork {
  const id = randomHex(hostRng.fork(`network:${spec.name}`), 64);
  if (spec.driver === 'bridge') {
    let subnet: Prefix;
    if (spec.subnet) {
      subnet = networkOf(parseCidr(spec.subnet));
    } else {
      const p = pickPool(used);
      if (!p) throw ScenarioError.at(spec.where, 'no free address pool left (dockerd: "all predefined address pools have been fully subnetted")');
      subnet = p;
      used.push(p);
    }
    const bridge = spec.bridge ?? `br-${id.slice(0, 12)}`;
    if (bridge.length > 15) throw ScenarioError.at(spec.where, `bridge name ${bridge} is longer than 15 characters`);
    if (findInterface(hostNs, bridge)) throw ScenarioError.at(spec.where, `host ${host.name} already has an interface ${bridge}`);
    return makeBridge(ctx, host, hostNs, fw, {
      name: spec.name,
      id,
      bridge,
      subnet,
      gateway: spec.gateway,
      internal: spec.internal,
      where: spec.where,
    });
  }
  // macvlan
  const parent = findInterface(hostNs, spec.parent);
  if (!parent || parent.kind === 'loopback') {
    throw ScenarioError.at(spec.where, `macvlan parent ${spec.parent} is not an interface of host ${host.name}`);
  }
  const subnet = networkOf(parseCidr(spec.subnet));
  const pool = new AddressPool(subnet);
  const gateway = spec.gateway ? parseIpv4(spec.gateway) : (subnet.addr + 1) >>> 0;
  if (!pool.usable(gateway)) throw ScenarioError.at(spec.where, `gateway ${formatIpv4(gateway)} is not in ${spec.subnet}`);
  pool.reserve(gateway);
  return { name: spec.name, driver: 'macvlan', id, ifname: spec.parent, subnet, gateway, pool, internal: false };
}

function makeBridge(
  ctx: PlanContext,
  host: HostSpec,
  hostNs: NamespacePlan,
  fw: FwOptions,
  n: { name: string; id: string; bridge: string; subnet: Prefix; gateway: string | null; internal?: boolean; where?: HostSpec['where'] },
): DockerNetwork {
  const pool = new AddressPool(n.subnet);
  const gateway = n.gateway ? parseIpv4(n.gateway) : (n.subnet.addr + 1) >>> 0;
  if (!pool.usable(gateway)) {
    throw ScenarioError.at(n.where ?? host.where, `gateway ${formatIpv4(gateway)} is not a usable address of ${cidrText(n.subnet)}`);
  }
  pool.reserve(gateway);
  // dockerd gives the bridge a random MAC when it creates it (so it does not follow its ports).
  const br = addInterface(
    hostNs,
    { kind: 'bridge', ageingNs: BRIDGE_AGEING_NS },
    n.bridge,
    randomLocalMac(ctx.rng.fork(`mac:${host.name}.${n.bridge}`)),
    { addrs: [formatCidr(gateway, n.subnet.len)] },
  );
  // setupLoopbackAddressing: with the userland proxy off, 127.0.0.1 DNATed to a container must be routable.
  if (fw.hairpin && !n.internal) br.routeLocalnet = true;
  const fwn: FwNetwork = { bridge: n.bridge, subnet: cidrText(n.subnet), internal: n.internal === true };
  bridgeNetwork(tablesOf(ctx, host.name), fw, fwn);
  return { name: n.name, driver: 'bridge', id: n.id, ifname: n.bridge, subnet: n.subnet, gateway, pool, internal: n.internal === true };
}

function startContainer(
  ctx: PlanContext,
  host: HostSpec,
  hostNs: NamespacePlan,
  fw: FwOptions,
  networks: Map<string, DockerNetwork>,
  ct: ContainerSpec,
  ports: HostPorts,
): void {
  const engine = fw.engine;
  const mode = ct.network;
  if (mode.mode === 'host') {
    joinNamespace(ctx, ct.name, host.name);
    for (const s of ct.services) hostNs.services.push(servicePlan(ct.name, s));
    if (ct.publish.length > 0) {
      ctx.plan.notes.push(`${ct.name}: published ports are discarded in host network mode (as dockerd warns)`);
    }
    return;
  }
  if (mode.mode === 'container') {
    const nsName = ctx.nodeNs.get(mode.container);
    const earlier = host.docker!.containers.findIndex((c) => c.name === mode.container);
    const self = host.docker!.containers.indexOf(ct);
    if (nsName === undefined || earlier < 0 || earlier >= self) {
      throw ScenarioError.at(ct.where, `container:${mode.container} must name an earlier container of host ${host.name}`);
    }
    joinNamespace(ctx, ct.name, nsName);
    const ns = getNs(ctx, nsName);
    for (const s of ct.services) ns.services.push(servicePlan(ct.name, s));
    if (ct.publish.length > 0) {
      throw ScenarioError.at(ct.publish[0]!.where, 'a container sharing another container\'s network cannot publish ports (dockerd: "conflicting options")');
    }
    return;
  }
  const ns = addNamespace(ctx, ct.name, 'container', false);
  for (const s of ct.services) ns.services.push(servicePlan(ct.name, s));
  if (mode.mode === 'none') {
    if (ct.publish.length > 0) ctx.plan.notes.push(`${ct.name}: published ports are discarded with network none`);
    return;
  }

  const net = networks.get(mode.network);
  if (!net) throw ScenarioError.at(ct.where, `no docker network ${mode.network} on host ${host.name}`);
  let ip: number;
  if (ct.ip !== null) {
    ip = parseIpv4(ct.ip);
  } else {
    const next = net.pool.next();
    if (next === null) throw ScenarioError.at(ct.where, `network ${net.name} (${cidrText(net.subnet)}) has no free address`);
    ip = next;
  }
  const addr = formatCidr(ip, net.subnet.len);
  const mac = ct.mac ?? (engine === 27 ? docker27Mac(ip) : randomLocalMac(ctx.rng.fork(`mac:${ct.name}.eth0`)));

  if (net.driver === 'macvlan') {
    checkLanClash(ctx, host, net, ip, ct);
    addInterface(ns, { kind: 'macvlan', parent: { ns: host.name, name: net.ifname }, mode: 'bridge' }, 'eth0', mac, {
      addrs: [addr],
    });
    ns.routes.push({ to: 'default', via: formatIpv4(net.gateway), dev: 'eth0', src: null });
    if (ct.publish.length > 0) ctx.plan.notes.push(`${ct.name}: published ports have no effect on a macvlan network`);
    return;
  }

  // One veth pair: `vethXXXXXXX` on the host, enslaved to the bridge; `eth0` in the container.
  const veth = `veth${randomHex(ctx.rng.fork(`veth:${host.name}.${ct.name}`), 7)}`;
  const hostEnd = addInterface(
    hostNs,
    { kind: 'veth', peer: { ns: ct.name, name: 'eth0' } },
    veth,
    randomLocalMac(ctx.rng.fork(`mac:${host.name}.veth:${ct.name}`)),
    { master: net.ifname },
  );
  if (fw.hairpin) hostEnd.hairpin = true;
  addInterface(ns, { kind: 'veth', peer: { ns: host.name, name: veth } }, 'eth0', mac, { addrs: [addr] });
  // An internal network has no gateway route: the container reaches its subnet only.
  if (!net.internal) ns.routes.push({ to: 'default', via: formatIpv4(net.gateway), dev: 'eth0', src: null });
  if (engine >= 28) {
    ns.announce.push({ ifname: 'eth0', addr: formatIpv4(ip), atNs: 0, ...DOCKER28_ANNOUNCE });
  }
  const t = tablesOf(ctx, host.name);
  const fwn: FwNetwork = { bridge: net.ifname, subnet: cidrText(net.subnet), internal: net.internal };
  containerEndpoint(t, engine, fwn, formatIpv4(ip));
  if (net.internal) {
    if (ct.publish.length > 0) ctx.plan.notes.push(`${ct.name}: published ports have no effect on internal network ${net.name}`);
    return;
  }
  for (const p of ct.publish) {
    const hostPort = ports.take(p, ct);
    publishPort(t, fw, fwn, {
      proto: p.proto,
      hostIp: p.hostIp,
      hostPort,
      containerIp: formatIpv4(ip),
      containerPort: p.containerPort,
    });
    // docker-proxy (default userland-proxy: true): one per published port and protocol, bound to the
    // -p host address, relaying to the container (cmd/docker-proxy; see src/world/relay.ts).
    if (!fw.hairpin) {
      hostNs.services.push({
        node: host.name,
        name: `docker-proxy ${p.proto}/${hostPort}`,
        proto: p.proto,
        port: hostPort,
        bind: p.hostIp ?? '0.0.0.0',
        reply: null,
        echo: false,
        reuseport: false,
        forward: { ip: formatIpv4(ip), port: p.containerPort },
      });
    }
  }
}

/** dockerd's port allocator (portallocator): per protocol and host address, a port given is taken; a
 *  mapping without a host port gets the next free one from the start of ip_local_port_range (32768),
 *  a host range its first free port. */
class HostPorts {
  private readonly taken = new Map<string, Set<number>>();
  private last = new Map<string, number>();

  take(p: ContainerSpec['publish'][number], ct: ContainerSpec): number {
    const key = `${p.proto}/${p.hostIp ?? '0.0.0.0'}`;
    let set = this.taken.get(key);
    if (!set) this.taken.set(key, (set = new Set()));
    const clash = (port: number): boolean => {
      if (set!.has(port)) return true;
      // 0.0.0.0 clashes with every address and every address with 0.0.0.0
      for (const [k, s] of this.taken) {
        if (k === key || !k.startsWith(`${p.proto}/`)) continue;
        if ((k.endsWith('/0.0.0.0') || key.endsWith('/0.0.0.0')) && s.has(port)) return true;
      }
      return false;
    };
    let port: number;
    if (p.hostPort !== 0 && !p.hostRange) {
      port = p.hostPort;
      if (clash(port)) throw ScenarioError.at(p.where, `${ct.name}: host port ${p.proto}/${port} is already allocated (dockerd: "Bind for ${p.hostIp ?? '0.0.0.0'}:${port} failed: port is already allocated")`);
    } else {
      const [first, last] = p.hostRange ? [p.hostRange.first, p.hostRange.last] : [32768, 60999];
      const start = p.hostRange ? first : (this.last.get(key) ?? first - 1) + 1;
      let found = 0;
      for (let i = 0; i <= last - first && found === 0; i++) {
        const c = first + ((start - first + i) % (last - first + 1));
        if (!clash(c)) found = c;
      }
      if (found === 0) throw ScenarioError.at(p.where, `${ct.name}: no free host port for ${p.proto}/${p.containerPort} (dockerd: "all ports are allocated")`);
      port = found;
      if (!p.hostRange) this.last.set(key, port);
    }
    set.add(port);
    return port;
  }
}

/** dockerd does not know who else is on a macvlan's LAN; an address it hands out that another node of
 *  the scenario already has would make an unusable world, so it is refused. */
function checkLanClash(ctx: PlanContext, host: HostSpec, net: DockerNetwork, ip: number, ct: ContainerSpec): void {
  const parent = host.interfaces.find((i) => i.name === net.ifname);
  if (!parent) return;
  for (const h of ctx.s.hosts) {
    for (const i of h.interfaces) {
      if (i.wire !== parent.wire) continue;
      for (const a of i.ip) {
        if (parseCidr(a).addr === ip) {
          throw ScenarioError.at(
            ct.where,
            `dockerd would give ${ct.name} ${formatIpv4(ip)} on macvlan ${net.name}, which ${h.name}.${i.name} already has; set ip:`,
          );
        }
      }
    }
  }
}
