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
import { bridgeNetwork, containerEndpoint, daemonStart, publishPort, type Engine, type FwNetwork } from './firewall.js';
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
  const hostNs = getNs(ctx, host.name);
  const t = tablesOf(ctx, host.name);
  const hostRng = ctx.rng.fork(`docker:${host.name}`);

  daemonStart(t, engine);

  const used = hostPrefixes(hostNs, host);
  for (const n of docker.networks) if (n.subnet) used.push(networkOf(parseCidr(n.subnet)));

  const networks = new Map<string, DockerNetwork>();

  // The default bridge network: 172.17.0.0/16 unless the host already routes it.
  const defSubnet = pickPool(used);
  if (!defSubnet) throw ScenarioError.at(docker.where, 'no free address pool for docker0');
  used.push(defSubnet);
  const def = makeBridge(ctx, host, hostNs, engine, {
    name: 'bridge',
    id: randomHex(hostRng.fork('network:bridge'), 64),
    bridge: 'docker0',
    subnet: defSubnet,
    gateway: null,
  });
  networks.set('bridge', def);

  for (const spec of docker.networks) {
    if (networks.has(spec.name)) throw ScenarioError.at(spec.where, `network ${spec.name} defined twice`);
    networks.set(spec.name, makeNetwork(ctx, host, hostNs, engine, spec, used, hostRng));
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

  for (const ct of docker.containers) startContainer(ctx, host, hostNs, engine, networks, ct);

  ctx.plan.notes.push(
    `${host.name}: dockerd (engine ${engine}), networks ` +
      [...networks.values()].map((n) => `${n.name}=${n.ifname} ${cidrText(n.subnet)}`).join(', '),
  );
  return [...networks.values()];
}

function makeNetwork(
  ctx: PlanContext,
  host: HostSpec,
  hostNs: NamespacePlan,
  engine: Engine,
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
    return makeBridge(ctx, host, hostNs, engine, {
      name: spec.name,
      id,
      bridge,
      subnet,
      gateway: spec.gateway,
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
  return { name: spec.name, driver: 'macvlan', id, ifname: spec.parent, subnet, gateway, pool };
}

function makeBridge(
  ctx: PlanContext,
  host: HostSpec,
  hostNs: NamespacePlan,
  engine: Engine,
  n: { name: string; id: string; bridge: string; subnet: Prefix; gateway: string | null; where?: HostSpec['where'] },
): DockerNetwork {
  const pool = new AddressPool(n.subnet);
  const gateway = n.gateway ? parseIpv4(n.gateway) : (n.subnet.addr + 1) >>> 0;
  if (!pool.usable(gateway)) {
    throw ScenarioError.at(n.where ?? host.where, `gateway ${formatIpv4(gateway)} is not a usable address of ${cidrText(n.subnet)}`);
  }
  pool.reserve(gateway);
  // dockerd gives the bridge a random MAC when it creates it (so it does not follow its ports).
  addInterface(
    hostNs,
    { kind: 'bridge', ageingNs: BRIDGE_AGEING_NS },
    n.bridge,
    randomLocalMac(ctx.rng.fork(`mac:${host.name}.${n.bridge}`)),
    { addrs: [formatCidr(gateway, n.subnet.len)] },
  );
  const fw: FwNetwork = { bridge: n.bridge, subnet: cidrText(n.subnet) };
  bridgeNetwork(tablesOf(ctx, host.name), engine, fw);
  return { name: n.name, driver: 'bridge', id: n.id, ifname: n.bridge, subnet: n.subnet, gateway, pool };
}

function startContainer(
  ctx: PlanContext,
  host: HostSpec,
  hostNs: NamespacePlan,
  engine: Engine,
  networks: Map<string, DockerNetwork>,
  ct: ContainerSpec,
): void {
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
  addInterface(
    hostNs,
    { kind: 'veth', peer: { ns: ct.name, name: 'eth0' } },
    veth,
    randomLocalMac(ctx.rng.fork(`mac:${host.name}.veth:${ct.name}`)),
    { master: net.ifname },
  );
  addInterface(ns, { kind: 'veth', peer: { ns: host.name, name: veth } }, 'eth0', mac, { addrs: [addr] });
  ns.routes.push({ to: 'default', via: formatIpv4(net.gateway), dev: 'eth0', src: null });
  if (engine === 28) {
    ns.announce.push({ ifname: 'eth0', addr: formatIpv4(ip), atNs: 0, ...DOCKER28_ANNOUNCE });
  }
  const t = tablesOf(ctx, host.name);
  const fw = { bridge: net.ifname, subnet: cidrText(net.subnet) };
  containerEndpoint(t, engine, fw, formatIpv4(ip));
  for (const p of ct.publish) {
    publishPort(t, engine, fw, {
      proto: p.proto,
      hostIp: p.hostIp,
      hostPort: p.hostPort,
      containerIp: formatIpv4(ip),
      containerPort: p.containerPort,
    });
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
