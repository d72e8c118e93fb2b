// The planner's working state while a Scenario is compiled: the WorldPlan being filled in, plus the
// indexes the Docker and VM models need (which namespace runs a node, each namespace's iptables).

import type { Scenario, ServiceSpec } from '../scenario/types.js';
import type { Prng } from '../sim/prng.js';
import type {
  CidrString,
  InterfacePlan,
  MacString,
  NamespacePlan,
  NamespaceRole,
  ServicePlan,
  WorldPlan,
} from './plan.js';
import { Tables, emptyIptables } from './rules.js';

export interface PlanContext {
  s: Scenario;
  rng: Prng;
  plan: WorldPlan;
  ns: Map<string, NamespacePlan>;
  tables: Map<string, Tables>;
  /** Scenario node → the namespace its traffic and services run in. */
  nodeNs: Map<string, string>;
  /** Addresses a namespace gets later from a DHCP reservation (not in its interfaces' `addrs`). */
  leased: Map<string, CidrString[]>;
  /** Per host: the next libvirt-style tap number (vnet0, vnet1, …). */
  vnet: Map<string, number>;
}

export function newContext(s: Scenario, rng: Prng): PlanContext {
  return {
    s,
    rng,
    plan: {
      name: s.name,
      seed: s.seed,
      wires: s.wires.map((w) => ({ name: w.name, latencyNs: w.latencyNs, ...(w.netem ? { netem: w.netem } : {}) })),
      namespaces: [],
      slirps: [],
      traffic: [],
      notes: [],
    },
    ns: new Map(),
    tables: new Map(),
    nodeNs: new Map(),
    leased: new Map(),
    vnet: new Map(),
  };
}

/** A new namespace with `lo` (127.0.0.1/8), owned by node `name`. */
export function addNamespace(ctx: PlanContext, name: string, role: NamespaceRole, forward: boolean): NamespacePlan {
  if (ctx.ns.has(name)) throw new Error(`namespace ${name} planned twice`);
  const ns: NamespacePlan = {
    name,
    role,
    nodes: [name],
    forward,
    interfaces: [
      {
        kind: 'loopback',
        name: 'lo',
        mac: '00:00:00:00:00:00',
        mtu: 65536,
        addrs: ['127.0.0.1/8'],
        master: null,
        capture: false,
        captureName: `${name}.lo`,
      },
    ],
    routes: [],
    iptables: emptyIptables(),
    services: [],
    announce: [],
    dhcpClient: [],
    dhcpServers: [],
  };
  ctx.plan.namespaces.push(ns);
  ctx.ns.set(name, ns);
  ctx.tables.set(name, new Tables(ns.iptables));
  ctx.nodeNs.set(name, name);
  return ns;
}

export function getNs(ctx: PlanContext, name: string): NamespacePlan {
  const ns = ctx.ns.get(name);
  if (!ns) throw new Error(`no namespace ${name}`);
  return ns;
}

export function tablesOf(ctx: PlanContext, ns: string): Tables {
  const t = ctx.tables.get(ns);
  if (!t) throw new Error(`no namespace ${ns}`);
  return t;
}

/** Runs `node` in namespace `ns` (host-network and container-network containers). */
export function joinNamespace(ctx: PlanContext, node: string, ns: string): void {
  getNs(ctx, ns).nodes.push(node);
  ctx.nodeNs.set(node, ns);
}

type IfaceExtra =
  | { kind: 'nic'; wire: string }
  | { kind: 'veth'; peer: { ns: string; name: string } }
  | { kind: 'bridge'; ageingNs: number }
  | { kind: 'macvlan'; parent: { ns: string; name: string }; mode: 'bridge' }
  | { kind: 'slirp-tap'; slirp: string };

/** Linux's default bridge ageing time, 300 s. */
export const BRIDGE_AGEING_NS = 300e9;

export function addInterface(
  ns: NamespacePlan,
  extra: IfaceExtra,
  name: string,
  mac: MacString,
  opts: { mtu?: number; addrs?: CidrString[]; master?: string | null; offload?: boolean } = {},
): InterfacePlan {
  if (ns.interfaces.some((i) => i.name === name)) throw new Error(`interface ${name} twice in ${ns.name}`);
  const iface = {
    ...extra,
    name,
    mac,
    mtu: opts.mtu ?? 1500,
    addrs: opts.addrs ?? [],
    master: opts.master ?? null,
    capture: true,
    captureName: `${ns.name}.${name}`,
  } as InterfacePlan;
  if (opts.offload === false) iface.offload = false;
  ns.interfaces.push(iface);
  return iface;
}

export function findInterface(ns: NamespacePlan, name: string): InterfacePlan | undefined {
  return ns.interfaces.find((i) => i.name === name);
}

export function servicePlan(node: string, s: ServiceSpec): ServicePlan {
  return {
    node,
    name: s.name,
    proto: s.proto,
    port: s.port,
    bind: s.bind,
    reply: s.reply,
    echo: s.echo,
    reuseport: s.reuseport,
    ...(s.forward ? { forward: { ...s.forward } } : {}),
  };
}

/** Next libvirt tap name on a host: vnet0, vnet1, … */
export function nextVnet(ctx: PlanContext, host: string): string {
  const n = ctx.vnet.get(host) ?? 0;
  ctx.vnet.set(host, n + 1);
  return `vnet${n}`;
}
