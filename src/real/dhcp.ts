// DHCP for `wirebox real`: the plan's DHCP servers as libvirt runs dnsmasq for its default network, and
// each DHCP client interface as ISC dhclient (Debian's isc-dhcp-client) — the programs the emulator's
// src/vm/dhcp-server.ts and src/vm/dhcp-client.ts model.
//
// dnsmasq gets the configuration libvirt's networkDnsmasqConfContents writes for `default` (strict-order,
// except-interface=lo, bind-dynamic, interface=virbr0, dhcp-range=START,END,NETMASK, dhcp-no-override,
// dhcp-authoritative, dhcp-lease-max, one dhcp-host=MAC,IP per fixed lease), its lease and pid files in
// the runner's temp dir, and --keep-in-foreground so the runner owns (and kills) it.
//
// dhclient runs with Debian's /etc/dhcp/dhclient.conf (its `request` list; `send host-name` = the VM's
// name, which a guest's gethostname() would be), its own lease/pid files, and a tiny script instead of
// dhclient-script: it only brings the link up and, once bound, adds the address and the default route
// inside the namespace — nothing on the host (no /etc/resolv.conf) is written.
//
// A server that is not one of its host's addresses (VirtualBox host-only's 192.168.56.100, which answers
// with raw frames from its own MAC) is not something dnsmasq can stand in for: a plan whose DHCP client
// depends on one is refused.

import type { DhcpServerPlan, InterfacePlan, NamespacePlan, WorldPlan } from '../plan/plan.js';
import { formatIpv4, parseCidr, parseIpv4, prefixMask } from '../wire/addr.js';

export interface DhcpClientRun {
  ns: NamespacePlan;
  ifname: string;
  server: { ns: NamespacePlan; plan: DhcpServerPlan };
}

type Port = { ns: NamespacePlan; iface: InterfacePlan };

/** Every interface on the same L2 segment as `start` (veth peers, bridge ports, wires). */
function segment(plan: WorldPlan, start: Port): Port[] {
  const byKey = new Map<string, Port>();
  for (const ns of plan.namespaces) for (const iface of ns.interfaces) byKey.set(`${ns.name}/${iface.name}`, { ns, iface });
  const seen = new Set<string>();
  const out: Port[] = [];
  const todo = [start];
  while (todo.length > 0) {
    const p = todo.pop()!;
    const key = `${p.ns.name}/${p.iface.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
    const next: (Port | undefined)[] = [];
    if (p.iface.kind === 'veth') next.push(byKey.get(`${p.iface.peer.ns}/${p.iface.peer.name}`));
    if (p.iface.master) next.push(byKey.get(`${p.ns.name}/${p.iface.master}`));
    if (p.iface.kind === 'bridge') for (const i of p.ns.interfaces) if (i.master === p.iface.name) next.push({ ns: p.ns, iface: i });
    if (p.iface.kind === 'nic') {
      const wire = p.iface.wire;
      for (const ns of plan.namespaces) for (const i of ns.interfaces) if (i.kind === 'nic' && i.wire === wire) next.push({ ns, iface: i });
    }
    for (const n of next) if (n) todo.push(n);
  }
  return out;
}

/** The address a server answers from: its serverAddr, else its interface's primary address. */
export function serverAddress(ns: NamespacePlan, s: DhcpServerPlan): string | null {
  if (s.serverAddr !== undefined) return s.serverAddr;
  const iface = ns.interfaces.find((i) => i.name === s.ifname);
  const first = iface?.addrs[0];
  return first ? first.split('/')[0]! : null;
}

/** Whether the server's address is one of its namespace's own (dnsmasq can answer from it). */
export function serverIsLocal(ns: NamespacePlan, s: DhcpServerPlan): boolean {
  const addr = serverAddress(ns, s);
  return addr !== null && ns.interfaces.some((i) => i.addrs.some((c) => c.split('/')[0] === addr));
}

/** Each DHCP client with the server on its segment; throws a message for a client without one. */
export function dhcpClients(plan: WorldPlan): DhcpClientRun[] {
  const runs: DhcpClientRun[] = [];
  for (const ns of plan.namespaces) {
    for (const ifname of ns.dhcpClient) {
      const iface = ns.interfaces.find((i) => i.name === ifname);
      if (!iface) throw new Error(`namespace ${ns.name}: DHCP client on unknown interface ${ifname}`);
      const seg = segment(plan, { ns, iface });
      let server: DhcpClientRun['server'] | undefined;
      for (const p of seg) {
        const s = p.ns.dhcpServers.find((d) => d.ifname === p.iface.name);
        if (s) {
          server = { ns: p.ns, plan: s };
          break;
        }
      }
      if (!server) throw new Error(`namespace ${ns.name} asks for an address by DHCP on ${ifname}, but no DHCP server is on its network`);
      runs.push({ ns, ifname, server });
    }
  }
  return runs;
}

/** The servers the clients use, each once, in plan order. */
export function dhcpServersInUse(runs: DhcpClientRun[]): { ns: NamespacePlan; plan: DhcpServerPlan }[] {
  const out: { ns: NamespacePlan; plan: DhcpServerPlan }[] = [];
  for (const r of runs) if (!out.some((o) => o.plan === r.server.plan)) out.push(r.server);
  return out;
}

/** dnsmasq's configuration file, as libvirt writes it for its default network (plus the run's files). */
export function dnsmasqConf(ns: NamespacePlan, s: DhcpServerPlan, files: { pid: string; leases: string }): string {
  const iface = ns.interfaces.find((i) => i.name === s.ifname);
  const primary = iface?.addrs[0] ? parseCidr(iface.addrs[0]) : null;
  const len = s.prefixLen ?? primary?.len ?? 24;
  const mask = formatIpv4(prefixMask(len));
  const own = serverAddress(ns, s);
  const count = parseIpv4(s.rangeEnd) - parseIpv4(s.rangeStart) + 1;
  const lines = ['strict-order', `pid-file=${files.pid}`, 'except-interface=lo', 'bind-dynamic', `interface=${s.ifname}`];
  // libvirt's default network leaves the lease at dnsmasq's default, 1 h.
  lines.push(`dhcp-range=${s.rangeStart},${s.rangeEnd},${mask}${s.leaseSeconds === 3600 ? '' : `,${s.leaseSeconds}`}`);
  lines.push('dhcp-no-override', 'dhcp-authoritative', `dhcp-lease-max=${count}`);
  for (const h of s.hosts ?? []) lines.push(`dhcp-host=${h.mac},${h.ip}`);
  lines.push(`dhcp-leasefile=${files.leases}`);
  // dnsmasq offers itself as router (option 3) and, with its DNS on, as DNS server (option 6).
  if (s.router === null) lines.push('dhcp-option=3');
  else if (s.router !== own) lines.push(`dhcp-option=3,${s.router}`);
  if (s.dns === null || s.dns !== own) {
    lines.push('port=0');
    if (s.dns !== null) lines.push(`dhcp-option=6,${s.dns}`);
  }
  return lines.join('\n') + '\n';
}

/** Debian's /etc/dhcp/dhclient.conf, with the VM's name as host-name (its gethostname()). */
export function dhclientConf(hostname: string): string {
  return [
    'option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;',
    '',
    `send host-name "${hostname}";`,
    'request subnet-mask, broadcast-address, time-offset, routers,',
    '\tdomain-name, domain-name-servers, domain-search, host-name,',
    '\tdhcp6.name-servers, dhcp6.domain-search, dhcp6.fqdn, dhcp6.sntp-servers,',
    '\tnetbios-name-servers, netbios-scope, interface-mtu,',
    '\trfc3442-classless-static-routes, ntp-servers;',
    '',
  ].join('\n');
}

/** In place of dhclient-script: the link up, then the lease's address and default route — in the
 *  namespace only (dhclient runs inside it), as dhclient-script's BOUND does; no resolv.conf. */
export const DHCLIENT_SCRIPT = `#!/bin/sh
case "$reason" in
  PREINIT)
    ip link set dev "$interface" up ;;
  BOUND|REBOOT)
    if [ -n "$new_broadcast_address" ]; then brd="$new_broadcast_address"; else brd=+; fi
    ip -4 addr add "$new_ip_address/$new_subnet_mask" broadcast "$brd" dev "$interface"
    for r in $new_routers; do ip -4 route add default via "$r" dev "$interface"; break; done ;;
esac
exit 0
`;
