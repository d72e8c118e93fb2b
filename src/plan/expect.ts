// Which described service a client's connection reaches, so that a `tcp` entry knows how many reply
// bytes make the whole answer (docs/SCENARIO.md: "for a service described in the scenario, all the
// bytes it replies"). Worked out on the plan, the way the packets will go: the namespace that owns the
// destination address (or the client's own for loopback and its own addresses); a service bound there
// on the port answers; otherwise a DNAT rule of that namespace's nat table (docker publish, libvirt and
// `nat: dnat` forwards), a userland relay (`forward:`) or a user-mode network's hostfwd sends it on,
// and the search follows. Anything
// else (no service, an address outside the scenario) gives null: the client then reads until
// `expect` bytes, the peer's close or its timeout.

import { inSubnet, parseCidr, parseIpv4 } from '../wire/addr.js';
import { payloadLength } from '../wire/payload.js';
import type { Payload, ServicePlan, WorldPlan } from './plan.js';

/** The service a connection from namespace `fromNs` to dst:dport/proto ends at, or null. */
export function serviceFor(plan: WorldPlan, fromNs: string, dst: string, dport: number, proto: 'tcp' | 'udp'): ServicePlan | null {
  let ns = ownerOf(plan, fromNs, dst);
  for (let hop = 0; hop < 4 && ns !== null; hop++) {
    const nsp = plan.namespaces.find((n) => n.name === ns)!;
    const svc = nsp.services.find((s) => s.proto === proto && s.port === dport && (s.bind === '0.0.0.0' || s.bind === dst));
    if (svc?.forward) {
      // a userland relay (docker-proxy, socat): the answer comes from where it forwards to
      dst = svc.forward.ip;
      dport = svc.forward.port;
      ns = ownerOf(plan, ns, dst);
      continue;
    }
    if (svc) return svc;
    const to = dnatOf(plan, ns, dst, dport, proto);
    if (to === null) return null;
    dst = to.ip;
    dport = to.port;
    ns = to.ns ?? ownerOf(plan, ns, dst);
  }
  return null;
}

/** Reply bytes per request a client sending `send` gets from `svc` (null when it cannot be known). */
export function replyBytes(svc: ServicePlan | null, send: Payload | null): number | null {
  if (svc === null || send === null) return null;
  if (svc.echo) return payloadLength(send);
  return svc.reply === null ? null : payloadLength(svc.reply);
}

function ownerOf(plan: WorldPlan, fromNs: string, dst: string): string | null {
  const a = parseIpv4(dst);
  if (inSubnet(a, parseIpv4('127.0.0.0'), 8)) return fromNs;
  const mine = plan.namespaces.find((n) => n.name === fromNs);
  if (mine?.interfaces.some((i) => i.addrs.some((c) => c.split('/')[0] === dst))) return fromNs;
  for (const n of plan.namespaces) {
    if (n.interfaces.some((i) => i.kind !== 'loopback' && i.addrs.some((c) => c.split('/')[0] === dst))) return n.name;
  }
  // an address handed out by DHCP (a fixed lease of a planned server)
  for (const n of plan.namespaces) {
    for (const d of n.dhcpServers) {
      const h = d.hosts?.find((x) => x.ip === dst);
      if (h) {
        const owner = plan.namespaces.find((m) => m.interfaces.some((i) => i.mac === h.mac));
        if (owner) return owner.name;
      }
    }
  }
  return null;
}

/** Where the nat table of `ns` sends dst:dport (the first DNAT rule that matches), or where a
 *  user-mode network's hostfwd on that host does; null when nothing does. */
function dnatOf(plan: WorldPlan, ns: string, dst: string, dport: number, proto: 'tcp' | 'udp'): { ip: string; port: number; ns?: string } | null {
  const nsp = plan.namespaces.find((n) => n.name === ns)!;
  const a = parseIpv4(dst);
  for (const chain of nsp.iptables.nat.chains) {
    for (const r of chain.rules) {
      if (r.target.kind !== 'DNAT' || r.dport?.neg || r.dport?.port !== dport) continue;
      if (r.proto && (r.proto.neg || r.proto.name !== proto)) continue;
      if (r.dst) {
        const c = parseCidr(r.dst.cidr.includes('/') ? r.dst.cidr : `${r.dst.cidr}/32`);
        if (inSubnet(a, c.addr, c.len) === r.dst.neg) continue;
      }
      return { ip: r.target.to, port: r.target.toPort ?? dport };
    }
  }
  for (const s of plan.slirps) {
    if (s.hostNs !== ns) continue;
    const f = s.forwards.find((x) => x.proto === proto && x.hostPort === dport && (!x.hostAddr || x.hostAddr === '0.0.0.0' || x.hostAddr === dst));
    if (f) return { ip: s.guestAddr, port: f.guestPort, ns: s.guest.ns };
  }
  return null;
}
