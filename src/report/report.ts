// `wirebox report`: one self-contained report.html (no network, no CDN: the SVG is laid out in Node by
// elkjs and inlined, the little script is inline) — the topology, a ladder diagram per flow (the
// captured interfaces on its path as columns in path order, time going down, a row per packet, the
// rewrite written at the hop where it happened, drops marked; a click shows the packet's decode line
// and its trace), and tables of flows, conntrack entries, drops and the run's summary.

import { FramePrinter } from '../capture/print.js';
import type { WorldPlan } from '../plan/plan.js';
import type { FlowTrace, PacketTrace } from '../trace/flows.js';
import type { RunSummary } from '../world/world.js';
import { esc } from './html.js';
import { topologySvg } from './topology.js';

/** Packets drawn per flow; the rest are counted under the ladder. */
export const MAX_DRAWN = 60;

const COL_W = 150;
const ROW_H = 22;

function ladder(f: FlowTrace, fi: number, details: string[]): string {
  // columns: devices the flow's packets crossed, in the order the first packets met them
  const cols: string[] = [];
  for (const p of f.packets) for (const s of p.steps) if (s.stage === 'receive' || s.stage === 'transmit') if (!cols.includes(`${s.ns}.${s.iface}`)) cols.push(`${s.ns}.${s.iface}`);
  const drawn = f.packets.slice(0, MAX_DRAWN);
  const w = Math.max(cols.length, 1) * COL_W + 40;
  const h = 40 + drawn.length * ROW_H + 10;
  const parts: string[] = [];
  cols.forEach((c, i) => {
    const x = 20 + i * COL_W + COL_W / 2;
    parts.push(`<text class="col" x="${x}" y="14" text-anchor="middle">${esc(c)}</text><line class="life" x1="${x}" y1="22" x2="${x}" y2="${h}"/>`);
  });
  drawn.forEach((p, r) => {
    const y = 40 + r * ROW_H;
    const id = `p${fi}-${r}`;
    details.push(packetDetail(p, id));
    const xs: { x: number; changed: string }[] = [];
    for (const s of p.steps) {
      if (s.stage === 'receive' || s.stage === 'transmit') xs.push({ x: 20 + cols.indexOf(`${s.ns}.${s.iface}`) * COL_W + COL_W / 2, changed: '' });
      else if (s.changed && xs.length > 0) xs[xs.length - 1]!.changed += (xs[xs.length - 1]!.changed ? '; ' : '') + s.changed;
    }
    const cls = p.dropped !== null ? 'pkt drop' : p.dir === 'reply' ? 'pkt reply' : 'pkt';
    parts.push(`<g class="${cls}" data-packet="${id}" tabindex="0"><title>${esc(p.summary)}</title>`);
    for (let k = 1; k < xs.length; k++) {
      if (xs[k]!.x === xs[k - 1]!.x) continue;
      parts.push(`<line x1="${xs[k - 1]!.x}" y1="${y}" x2="${xs[k]!.x}" y2="${y}" marker-end="url(#arrow)"/>`);
    }
    for (const x of xs) if (x.changed) parts.push(`<text class="rewrite" x="${x.x + 4}" y="${y - 4}">${esc(x.changed.length > 60 ? x.changed.slice(0, 57) + '…' : x.changed)}</text>`);
    const last = xs[xs.length - 1];
    if (p.dropped !== null && last) parts.push(`<text class="dropmark" x="${last.x + 6}" y="${y + 5}">✖ ${esc(p.dropped)}</text>`);
    parts.push(`<rect class="hit" x="0" y="${y - ROW_H / 2}" width="${w}" height="${ROW_H}"/></g>`);
  });
  const more = f.packets.length - drawn.length;
  return `<section class="flow"><h3>flow ${fi + 1}: ${esc(f.key)}</h3><p>${f.counts.original} out, ${f.counts.reply} back${f.counts.dropped ? `, ${f.counts.dropped} dropped` : ''}${f.nat.length ? ` — ${esc(f.nat.join('; '))}` : ''}</p>` +
    `<svg class="ladder" data-flow="${fi}" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>${parts.join('')}</svg>` +
    (more > 0 ? `<p class="more">${more} more packet${more === 1 ? '' : 's'} not drawn (cap ${MAX_DRAWN} per flow)</p>` : '') + '</section>';
}

const printer = new FramePrinter({ ether: true });

function packetDetail(p: PacketTrace, id: string): string {
  const first = p.steps.find((s) => s.bytes !== null);
  const line = first?.bytes ? printer.record(first.bytes, first.bytes.length) : p.summary;
  const rows = p.steps.map((s, i) => `<tr><td>${i + 1}</td><td>${esc(s.stage)}</td><td>${esc(`${s.ns} ${s.iface}`)}</td><td>${esc(s.rule)}</td><td>${esc(s.changed)}</td></tr>`).join('');
  return `<div class="detail" id="${id}" hidden><h4>${esc(p.summary)}</h4><pre>${esc(line)}</pre><table><tr><th>#</th><th>stage</th><th>namespace/interface</th><th>hook/chain/rule</th><th>what changed</th></tr>${rows}</table></div>`;
}

function table(head: string[], rows: string[][]): string {
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

const CSS = `body{font:13px system-ui,sans-serif;margin:16px;color:#222}h2{margin-top:28px}table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.ns{fill:#f4f7fb;stroke:#6b8fb8}.dev{fill:#fff;stroke:#555}.wire{fill:#fff7e0;stroke:#b08a2e}.edge{fill:none;stroke:#888;stroke-width:1.5}.edge.veth{stroke:#2a7}.edge.wire{stroke:#b08a2e}
.nsname{font-weight:bold}.nat{fill:#a33;font-size:11px}.devname{font-weight:600}.addr{font-size:11px;fill:#444}.col{font-size:11px}.life{stroke:#bbb;stroke-dasharray:3 3}
.pkt line{stroke:#246;stroke-width:1.5}.pkt.reply line{stroke:#692}.pkt.drop line{stroke:#c22}.rewrite{font-size:10px;fill:#a33}.dropmark{fill:#c22;font-size:11px}.hit{fill:transparent;cursor:pointer}.pkt:hover .hit{fill:rgba(0,0,0,.05)}
#detail{position:sticky;bottom:0;background:#fff;border-top:2px solid #246;max-height:45vh;overflow:auto}pre{background:#f6f6f6;padding:4px}`;

const SCRIPT = `document.querySelectorAll('[data-packet]').forEach(function(g){g.addEventListener('click',function(){var d=document.getElementById(g.getAttribute('data-packet'));var pane=document.getElementById('detail');pane.innerHTML=d.innerHTML;});});`;

export async function reportHtml(plan: WorldPlan, conntrack: string[][], summary: RunSummary, flows: FlowTrace[]): Promise<string> {
  const details: string[] = [];
  const ladders = flows.map((f, i) => ladder(f, i, details)).join('');
  const svg = await topologySvg(plan);
  return `<!doctype html><html><head><meta charset="utf-8"><title>wirebox report: ${esc(plan.name)}</title><style>${CSS}</style></head><body>
<h1>${esc(plan.name)}</h1>
<h2>Topology</h2>${svg}
<h2>Flows</h2>${table(['#', 'flow', 'out', 'back', 'dropped', 'NAT'], flows.map((f, i) => [String(i + 1), f.key, String(f.counts.original), String(f.counts.reply), String(f.counts.dropped), f.nat.join('; ')]))}
${ladders}
<h2>Conntrack entries</h2>${table(['namespace', 'conntrack -L'], conntrack)}
<h2>Drops</h2>${table(['where', 'count', 'why'], summary.drops.map((d) => [d.where, String(d.count), d.why]))}
<h2>Summary</h2>${table(['interface', 'frames'], summary.interfaces.map((i) => [i.captureName, String(i.frames)]))}
${table(['at', 'node', 'traffic', 'result'], summary.traffic.map((t) => [`${(t.atNs / 1e6).toFixed(0)} ms`, t.node, t.what, t.result]))}
<div id="detail"><p>Click a packet in a ladder for its decode line and its trace.</p></div>
${details.join('')}
<script>${SCRIPT}</script></body></html>`;
}
