// A namespace's state after a run, printed as the Linux tools print it, so a user can hold it against
// their own host: `ip addr`, `ip route`, `iptables-save` and `conntrack -L`.

import { Bridge } from '../devices/bridge.js';
import { Loopback } from '../devices/loopback.js';
import { formatIptablesSave } from '../plan/iptables-save.js';
import { formatIpv4, formatMac } from '../wire/addr.js';
import type { Namespace, World } from './world.js';

/** `ip addr` */
export function formatIpAddr(ns: Namespace): string {
  const out: string[] = [];
  const fib = ns.host.fib;
  for (const dev of ns.order) {
    const idx = dev.ifindex;
    const lo = dev instanceof Loopback;
    const flags = lo ? 'LOOPBACK,UP,LOWER_UP' : 'BROADCAST,MULTICAST,UP,LOWER_UP';
    const master = masterOf(ns, dev.name);
    out.push(`${idx}: ${dev.name}: <${flags}> mtu ${dev.mtu} qdisc noqueue${master ? ` master ${master}` : ''} state ${lo ? 'UNKNOWN' : 'UP'}`);
    out.push(lo ? '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00' : `    link/ether ${formatMac(dev.mac)} brd ff:ff:ff:ff:ff:ff`);
    for (const a of fib.addresses) {
      if (a.ifindex !== idx) continue;
      const brd = a.broadcast && !lo ? ` brd ${formatIpv4(a.broadcast)}` : '';
      const scope = a.scope === 254 ? 'host' : 'global';
      out.push(`    inet ${formatIpv4(a.addr)}/${a.len}${brd} scope ${scope}${a.secondary ? ' secondary' : ''} ${dev.name}`);
    }
  }
  return out.join('\n') + '\n';
}

function masterOf(ns: Namespace, ifname: string): string | null {
  for (const d of ns.order) if (d instanceof Bridge && d.ports.some((p) => p !== null && p.name === ifname)) return d.name;
  return null;
}

/** `ip route` (the main table). */
export function formatIpRoute(ns: Namespace): string {
  const lines: string[] = [];
  // Linux dumps the main table in key order: the default route, then prefixes by address.
  const routes = [...ns.host.fib.routes].sort((a, b) => (a.len === 0 ? -1 : b.len === 0 ? 1 : a.dst - b.dst || a.len - b.len));
  for (const r of routes) {
    const dev = ns.host.deviceByIndex(r.ifindex)?.name ?? `if${r.ifindex}`;
    const dst = r.len === 0 ? 'default' : `${formatIpv4(r.dst)}/${r.len}`;
    let line = dst;
    if (r.gateway) line += ` via ${formatIpv4(r.gateway)}`;
    line += ` dev ${dev}`;
    if (r.proto === 'kernel') line += ' proto kernel';
    if (r.scope === 253) line += ' scope link';
    if (r.prefsrc) line += ` src ${formatIpv4(r.prefsrc)}`;
    lines.push(line);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/** All four, per namespace, with headers. */
export function formatWorldState(world: World, only?: string): string {
  const parts: string[] = [];
  for (const ns of world.namespaces.values()) {
    if (only !== undefined && ns.name !== only) continue;
    const plan = world.plan?.namespaces.find((n) => n.name === ns.name);
    parts.push(`=== ${ns.name}${plan && plan.nodes.length > 1 ? ` (${plan.nodes.join(', ')})` : ''}`);
    parts.push('$ ip addr', formatIpAddr(ns).trimEnd());
    parts.push('$ ip route', formatIpRoute(ns).trimEnd() || '(empty)');
    if (plan) parts.push('$ iptables-save', formatIptablesSave(plan.iptables).trimEnd());
    const ct = ns.netfilter.conntrackList();
    parts.push('$ conntrack -L', ...ct, `conntrack v1.4.7 (conntrack-tools): ${ct.length} flow entries have been shown.`);
    parts.push('');
  }
  return parts.join('\n');
}
