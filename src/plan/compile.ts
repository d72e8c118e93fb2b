// Scenario → WorldPlan. Hosts first (namespaces, NICs, addresses, routes, the `nat` key, services), then
// each host's dockerd (src/docker) and VMs (src/vm), then the traffic with node names resolved to
// addresses. Every random choice comes from `new Prng(seed)` through per-item forks, so the same seed
// gives the same plan and adding a node changes nothing about the others.

import type { HostSpec, Scenario, ServiceSpec, TrafficSpec } from '../scenario/types.js';
import { ScenarioError } from '../scenario/errors.js';
import { Prng } from '../sim/prng.js';
import { planDocker } from '../docker/model.js';
import { planVms } from '../vm/model.js';
import { inSubnet, parseCidr } from '../wire/addr.js';
import type { TrafficPlan, WorldPlan } from './plan.js';
import { randomLocalMac } from './ids.js';
import { selectCaptures } from './capture.js';
import { replyBytes, serviceFor } from './expect.js';
import { addInterface, addNamespace, getNs, servicePlan, tablesOf, type PlanContext, newContext } from './world.js';

export function compilePlan(s: Scenario): WorldPlan {
  const ctx = newContext(s, new Prng(s.seed));
  for (const h of s.hosts) planHost(ctx, h);
  for (const h of s.hosts) planDocker(ctx, h);
  for (const h of s.hosts) planVms(ctx, h);
  checkServices(ctx);
  ctx.plan.traffic = s.traffic.map((t) => planTraffic(ctx, t));
  if (s.capture.lo) for (const ns of ctx.plan.namespaces) for (const i of ns.interfaces) if (i.kind === 'loopback') i.capture = true;
  const globs = s.capture.interfaces;
  if (globs !== null) {
    const unmatched = selectCaptures(ctx.plan, globs.map((g) => g.glob));
    if (unmatched.length) throw ScenarioError.at(globs.find((g) => g.glob === unmatched[0]!.glob)!.where, unmatched[0]!.problem);
  }
  return ctx.plan;
}

function planHost(ctx: PlanContext, h: HostSpec): void {
  const ns = addNamespace(ctx, h.name, 'host', h.forward);
  for (const i of h.interfaces) {
    const mac = i.mac ?? randomLocalMac(ctx.rng.fork(`mac:${h.name}.${i.name}`));
    const netem = i.netem ?? ctx.s.wires.find((w) => w.name === i.wire)?.netem ?? null;
    addInterface(ns, { kind: 'nic', wire: i.wire, ...(netem ? { netem } : {}) }, i.name, mac, { mtu: i.mtu, addrs: [...i.ip], offload: i.offload });
  }
  for (const r of h.routes) ns.routes.push({ to: r.to, via: r.via, dev: r.dev, src: null });
  for (const s of h.services) ns.services.push(servicePlan(h.name, s));
  const t = tablesOf(ctx, h.name);
  for (const n of h.nat) {
    const src = n.kind !== 'dnat' && n.source ? `-s ${n.source} ` : '';
    switch (n.kind) {
      case 'masquerade':
        t.append('nat', 'POSTROUTING', `${src}${n.out ? `-o ${n.out} ` : ''}-j MASQUERADE`, false);
        break;
      case 'snat':
        t.append('nat', 'POSTROUTING', `${src}${n.out ? `-o ${n.out} ` : ''}-j SNAT --to-source ${n.to}`, false);
        break;
      case 'dnat': {
        const to = n.to.port === null ? n.to.ip : `${n.to.ip}:${n.to.port}`;
        t.append(
          'nat',
          'PREROUTING',
          `${n.in ? `-i ${n.in} ` : ''}-p ${n.proto} -m ${n.proto} --dport ${n.port} -j DNAT --to-destination ${to}`,
          false,
        );
        break;
      }
    }
  }
}

// ---- services sharing a namespace ----------------------------------------------------------------

/** Two services on one port of one namespace (a host and its `network: host` containers, containers
 *  sharing a namespace) are refused as bind(2) would (EADDRINUSE) unless both set reuseport. */
function checkServices(ctx: PlanContext): void {
  const byNs = new Map<string, { node: string; s: ServiceSpec }[]>();
  const add = (node: string, list: ServiceSpec[]): void => {
    const ns = ctx.nodeNs.get(node);
    if (ns === undefined) return;
    let l = byNs.get(ns);
    if (!l) byNs.set(ns, (l = []));
    for (const s of list) l.push({ node, s });
  };
  for (const h of ctx.s.hosts) {
    add(h.name, h.services);
    for (const c of h.docker?.containers ?? []) add(c.name, c.services);
    for (const v of h.vms) add(v.name, v.services);
  }
  for (const list of byNs.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = 0; j < i; j++) {
        const a = list[j]!;
        const b = list[i]!;
        if (a.node === b.node) continue; // the loader checks one node's own services
        if (a.s.proto !== b.s.proto || a.s.port !== b.s.port) continue;
        const overlap = a.s.bind === b.s.bind || a.s.bind === '0.0.0.0' || b.s.bind === '0.0.0.0';
        if (overlap && !(a.s.reuseport && b.s.reuseport)) {
          throw ScenarioError.at(
            b.s.where,
            `${b.s.proto} port ${b.s.port} is already bound by ${a.node} in the same network namespace (EADDRINUSE); set reuseport: true on both`,
          );
        }
      }
    }
  }
}

// ---- traffic ---------------------------------------------------------------------------------------

/** Addresses (CIDR form) a namespace has or will get, loopback excluded. */
function nsAddrs(ctx: PlanContext, ns: string): string[] {
  const out: string[] = [];
  for (const i of getNs(ctx, ns).interfaces) if (i.kind !== 'loopback') out.push(...i.addrs);
  out.push(...(ctx.leased.get(ns) ?? []));
  return out;
}

/**
 * A node name as a traffic destination: its only address, or else the only one on a subnet the source
 * is attached to (a container naming its docker host gets the bridge's gateway address; a LAN client
 * naming the same host gets its LAN address). Anything else is ambiguous and refused.
 */
export function resolveNode(ctx: PlanContext, from: string, node: string, where: TrafficSpec['targetWhere']): string {
  const targetNs = ctx.nodeNs.get(node);
  if (targetNs === undefined) throw ScenarioError.at(where, `no node named ${node}`);
  const addrs = nsAddrs(ctx, targetNs);
  if (addrs.length === 0) {
    throw ScenarioError.at(where, `${node} has no address other than loopback (or gets one by DHCP from no known server)`);
  }
  const plain = (c: string): string => c.split('/')[0]!;
  if (addrs.length === 1) return plain(addrs[0]!);
  const fromNs = ctx.nodeNs.get(from);
  if (fromNs !== undefined) {
    if (fromNs === targetNs) return '127.0.0.1';
    const mine = nsAddrs(ctx, fromNs).map((c) => parseCidr(c));
    const onLink = addrs.filter((c) => {
      const a = parseCidr(c).addr;
      return mine.some((m) => inSubnet(a, m.addr, m.len));
    });
    const uniq = [...new Set(onLink.map(plain))];
    if (uniq.length === 1) return uniq[0]!;
  }
  throw ScenarioError.at(
    where,
    `${node} has ${addrs.length} addresses (${addrs.map(plain).join(', ')}) and none is the only one on the path from ${from}; write the address`,
  );
}

function planTraffic(ctx: PlanContext, t: TrafficSpec): TrafficPlan {
  const ns = ctx.nodeNs.get(t.from);
  if (ns === undefined) throw ScenarioError.at(t.where, `no node named ${t.from}`);
  const dst = t.target.kind === 'ip' ? t.target.ip : resolveNode(ctx, t.from, t.target.node, t.targetWhere);
  // Written out rather than spread (`{ kind, ...common }`): a spread after another key takes V8's
  // generic copy, a microsecond per entry, which a 100,000-entry traffic list notices.
  const { atNs, count, intervalNs, ttl } = t;
  const node = t.from;
  switch (t.kind) {
    case 'ping':
      return { kind: 'ping', atNs, node, ns, dst, count, intervalNs, ttl, size: t.size };
    case 'udp':
      return { kind: 'udp', atNs, node, ns, dst, count, intervalNs, ttl, dport: t.port, sport: t.sport, bind: t.bind, timeoutNs: t.timeoutNs, send: t.send, flows: t.flows };
    case 'tcp': {
      const expectBytes = t.expect ?? replyBytes(serviceFor(ctx.plan, ns, dst, t.port, 'tcp'), t.send);
      if (t.requests > 1 && expectBytes === null) {
        throw ScenarioError.at(t.where, `requests: ${t.requests} needs to know where one reply ends: no service of this scenario answers ${dst}:${t.port}, so give expect: SIZE`);
      }
      const { port: dport, sport, bind, timeoutNs, send, requests } = t;
      return { kind: 'tcp', atNs, node, ns, dst, count, intervalNs, ttl, dport, sport, bind, timeoutNs, send, requests, expectBytes };
    }
  }
}
