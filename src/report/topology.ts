// The topology drawing of `wirebox report`: namespaces as boxes holding their devices, veth pairs,
// bridge ports, macvlan parents and wires as edges, laid out by elkjs (the Eclipse Layout Kernel's
// layered algorithm, run here in Node) and drawn as SVG. NAT points and published ports are read from
// each namespace's nat table.

import { createRequire } from 'node:module';
import type { WorldPlan } from '../plan/plan.js';
import { esc } from './html.js';

interface ElkNode {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  labels?: { text: string }[];
  children?: ElkNode[];
  layoutOptions?: Record<string, string>;
  edges?: ElkEdge[];
}
interface ElkEdge {
  id: string;
  sources: string[];
  targets: string[];
  sections?: { startPoint: { x: number; y: number }; endPoint: { x: number; y: number }; bendPoints?: { x: number; y: number }[] }[];
}

/** NAT points of a namespace, from its nat table: "MASQUERADE -s 172.17.0.0/16 ! -o docker0", "publish tcp 8080 → 172.17.0.2:80". */
function natPoints(ns: WorldPlan['namespaces'][number]): string[] {
  const out: string[] = [];
  for (const c of ns.iptables.nat.chains) {
    for (const r of c.rules) {
      const t = r.target;
      if (t.kind === 'MASQUERADE') out.push(`MASQUERADE${r.src ? ` from ${r.src.neg ? '!' : ''}${r.src.cidr}` : ''}${r.out ? ` out ${r.out.neg ? '!' : ''}${r.out.name}` : ''}`);
      else if (t.kind === 'SNAT') out.push(`SNAT to ${t.to}`);
      else if (t.kind === 'DNAT') out.push(`publish ${r.proto?.name ?? ''} ${r.dport ? r.dport.port : ''} → ${t.to}${t.toPort ? `:${t.toPort}` : ''}`.replace(/\s+/g, ' '));
      else if (t.kind === 'REDIRECT') out.push(`REDIRECT${t.toPort ? ` to ${t.toPort}` : ''}`);
    }
  }
  return out;
}

const DEV_W = 190;
const LINE = 14;

/** The SVG, with one `[data-topo-node]` element per namespace and per device. */
export async function topologySvg(plan: WorldPlan): Promise<string> {
  const children: ElkNode[] = [];
  const edges: ElkEdge[] = [];
  const devId = (ns: string, dev: string) => `dev:${ns}/${dev}`;
  const seenPair = new Set<string>();
  for (const ns of plan.namespaces) {
    const devs: ElkNode[] = [];
    for (const i of ns.interfaces) {
      if (i.kind === 'loopback') continue;
      const lines = [`${i.name} (${i.kind})`, ...i.addrs];
      devs.push({ id: devId(ns.name, i.name), width: DEV_W, height: 10 + LINE * lines.length, labels: lines.map((text) => ({ text })) });
      if (i.kind === 'veth') {
        const key = [devId(ns.name, i.name), devId(i.peer.ns, i.peer.name)].sort().join('|');
        if (!seenPair.has(key)) {
          seenPair.add(key);
          edges.push({ id: `veth:${key}`, sources: [devId(ns.name, i.name)], targets: [devId(i.peer.ns, i.peer.name)] });
        }
      }
      if (i.master !== null) edges.push({ id: `port:${ns.name}/${i.name}`, sources: [devId(ns.name, i.name)], targets: [devId(ns.name, i.master)] });
      if (i.kind === 'macvlan') edges.push({ id: `macvlan:${ns.name}/${i.name}`, sources: [devId(ns.name, i.name)], targets: [devId(i.parent.ns, i.parent.name)] });
      if (i.kind === 'nic') edges.push({ id: `wire:${ns.name}/${i.name}`, sources: [devId(ns.name, i.name)], targets: [`wire:${i.wire}`] });
    }
    const nat = natPoints(ns);
    children.push({
      id: `ns:${ns.name}`,
      labels: [{ text: ns.name }, ...nat.map((text) => ({ text: `NAT: ${text}` }))],
      children: devs,
      layoutOptions: { 'elk.padding': `[top=${24 + LINE * nat.length},left=12,bottom=12,right=12]`, 'elk.algorithm': 'layered', 'elk.direction': 'DOWN' },
    });
  }
  for (const w of plan.wires) children.push({ id: `wire:${w.name}`, width: 120, height: 26, labels: [{ text: `wire ${w.name}` }] });
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.hierarchyHandling': 'INCLUDE_CHILDREN', 'elk.spacing.nodeNode': '30', 'elk.layered.spacing.nodeNodeBetweenLayers': '50' },
    children,
    edges,
  };
  const ELK = createRequire(import.meta.url)('elkjs/lib/elk.bundled.js') as new () => { layout(g: unknown): Promise<unknown> };
  const elk = new ELK();
  const laid = (await elk.layout(graph as never)) as unknown as ElkNode;
  const parts: string[] = [];
  const abs = new Map<string, { x: number; y: number }>();
  const drawNode = (n: ElkNode, ox: number, oy: number): void => {
    const x = ox + (n.x ?? 0);
    const y = oy + (n.y ?? 0);
    abs.set(n.id, { x, y });
    const kind = n.id.split(':')[0];
    const labels = n.labels ?? [];
    if (kind === 'ns') {
      parts.push(`<g data-topo-node="namespace" data-name="${esc(n.id.slice(3))}"><rect class="ns" x="${x}" y="${y}" width="${n.width}" height="${n.height}" rx="8"/>`);
      labels.forEach((l, k) => parts.push(`<text class="${k === 0 ? 'nsname' : 'nat'}" x="${x + 10}" y="${y + 16 + k * LINE}">${esc(l.text)}</text>`));
      parts.push('</g>');
      for (const c of n.children ?? []) drawNode(c, x, y);
    } else {
      const cls = kind === 'wire' ? 'wire' : 'dev';
      parts.push(`<g data-topo-node="${kind === 'wire' ? 'wire' : 'device'}" data-name="${esc(n.id.slice(kind!.length + 1))}"><rect class="${cls}" x="${x}" y="${y}" width="${n.width}" height="${n.height}" rx="4"/>`);
      labels.forEach((l, k) => parts.push(`<text class="${k === 0 ? 'devname' : 'addr'}" x="${x + 8}" y="${y + 16 + k * LINE}">${esc(l.text)}</text>`));
      parts.push('</g>');
    }
  };
  for (const c of laid.children ?? []) drawNode(c, 0, 0);
  // edges: with INCLUDE_CHILDREN, sections are relative to the edge's container (here the root)
  const collect = (n: ElkNode, ox: number, oy: number): void => {
    for (const e of n.edges ?? []) {
      for (const s of e.sections ?? []) {
        const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${ox + p.x},${oy + p.y}`).join(' ');
        parts.push(`<polyline class="edge ${e.id.split(':')[0]}" points="${pts}"/>`);
      }
    }
    for (const c of n.children ?? []) collect(c, ox + (c.x ?? 0), oy + (c.y ?? 0));
  };
  collect(laid, 0, 0);
  const w = Math.ceil((laid.width ?? 800) + 20);
  const h = Math.ceil((laid.height ?? 400) + 20);
  return `<svg class="topology" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="-10 -10 ${w} ${h}">${parts.join('')}</svg>`;
}
