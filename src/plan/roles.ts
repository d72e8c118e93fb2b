// What each captured interface *is* in a world, independent of the names a seed draws. Docker names the
// host end of a container's veth from random bytes (veth42d9f79) and a user network's bridge from its
// network id (br-105e1a044afd), so two runs of one scenario with different seeds, or the emulator and a
// real run of a changed file, name the same interface differently. Its role does not change: the node it
// is on and what it leads to — a veth's peer (the container's eth0), a bridge's addresses and the
// peers of its ports. `wirebox run` writes the roles beside the captures (interfaces.json) and
// `wirebox compare` pairs two folders' captures by role where their names differ.

import type { InterfacePlan, WorldPlan } from './plan.js';

export const ROLES_FILE = 'interfaces.json';

/** Names Docker draws from random bytes (libnetwork: "veth" + 7 hex digits; "br-" + 12 of the network
 *  id); any other name is the scenario's or fixed (eth0, docker0, virbr0, vnet0) and is its own role. */
const DRAWN = /^(veth[0-9a-f]{7}|br-[0-9a-f]{12})$/;

export interface InterfaceRole {
  /** `<node>.<interface>`, the capture's name. */
  captureName: string;
  kind: InterfacePlan['kind'];
  /** Namespace the interface is in. */
  ns: string;
  /** Stable across seeds: the capture name, or for a drawn name e.g. "dh veth to web.eth0",
   *  "dh bridge 172.18.0.1/16 ports api.eth0,db.eth0". */
  role: string;
  /** A veth's other end, a macvlan's parent: `<node>.<interface>`, if captured or not. */
  peer: string | null;
  addrs: string[];
}

/** The role of every captured interface of `plan`, in plan order. */
export function interfaceRoles(plan: WorldPlan): InterfaceRole[] {
  const byName = new Map<string, InterfacePlan>();
  for (const ns of plan.namespaces) for (const i of ns.interfaces) byName.set(`${ns.name}/${i.name}`, i);
  const nameOf = (ns: string, name: string): string => byName.get(`${ns}/${name}`)?.captureName ?? `${ns}.${name}`;
  const out: InterfaceRole[] = [];
  for (const ns of plan.namespaces) {
    for (const i of ns.interfaces) {
      if (!i.capture) continue;
      let role = i.captureName;
      let peer: string | null = null;
      if (i.kind === 'veth') peer = nameOf(i.peer.ns, i.peer.name);
      if (i.kind === 'macvlan') peer = nameOf(i.parent.ns, i.parent.name);
      if (i.kind === 'veth' && DRAWN.test(i.name)) role = `${ns.name} veth to ${peer}`;
      else if (i.kind === 'bridge' && DRAWN.test(i.name)) {
        const ports = ns.interfaces
          .filter((p) => p.master === i.name)
          .map((p) => (p.kind === 'veth' ? nameOf(p.peer.ns, p.peer.name) : p.captureName))
          .sort();
        role = `${ns.name} bridge ${i.addrs.join(',') || '-'} ports ${ports.join(',') || '-'}`;
      }
      out.push({ captureName: i.captureName, kind: i.kind, ns: ns.name, role, peer, addrs: [...i.addrs] });
    }
  }
  return out;
}

/** The file's text: one object, capture name → role, in plan order. */
export function rolesJson(plan: WorldPlan): string {
  const o: Record<string, Omit<InterfaceRole, 'captureName'>> = {};
  for (const r of interfaceRoles(plan)) {
    const { captureName, ...rest } = r;
    o[captureName] = rest;
  }
  return JSON.stringify({ scenario: plan.name, interfaces: o }, null, 2) + '\n';
}
