// `wirebox trace` output: per flow, the step table of the packets worth showing (text), or everything
// as JSON for tools.

import type { FlowTrace, PacketTrace, Step } from './flows.js';
import { shownPackets } from './flows.js';

/** Flows a `--flow` selector names: a 1-based number, or text found in the flow's key (any case). */
export function selectFlows(flows: FlowTrace[], selector: string | undefined): FlowTrace[] {
  if (selector === undefined) return flows;
  if (/^\d+$/.test(selector)) {
    const f = flows[Number(selector) - 1];
    return f === undefined ? [] : [f];
  }
  const s = selector.toLowerCase().replace(/->/g, '→');
  return flows.filter((f) => f.key.toLowerCase().includes(s));
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(3)} ms`;
}

function table(steps: Step[]): string[] {
  const rows = steps.map((s, i) => [String(i + 1), s.stage, `${s.ns}${s.iface ? ' ' + s.iface : ''}`, s.rule, s.changed]);
  const head = ['#', 'stage', 'namespace/interface', 'hook/chain/rule', 'what changed'];
  const w = head.map((h, c) => Math.min(c === 3 ? 72 : 40, Math.max(h.length, ...rows.map((r) => r[c]!.length))));
  const line = (r: string[]) => '    ' + r.map((x, c) => (c < r.length - 1 ? x.padEnd(w[c]!) : x)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

function packetHeading(p: PacketTrace, first: boolean): string {
  const arrow = p.dir === 'original' ? '→' : '←';
  const why = first ? `first packet ${p.dir === 'original' ? 'out' : 'back'}` : p.other!;
  return `  ${arrow} ${p.summary} — ${why}, at ${ms(p.firstNs)}${p.dropped !== null ? ` — DROPPED: ${p.dropped}` : ''}`;
}

export function formatFlows(flows: FlowTrace[]): string {
  const out: string[] = [];
  flows.forEach((f, i) => {
    const c = f.counts;
    out.push(`flow ${i + 1}: ${f.key} — ${c.original} packet${c.original === 1 ? '' : 's'} out, ${c.reply} back${c.dropped ? `, ${c.dropped} dropped` : ''}${f.nat.length ? `; ${f.nat.join('; ')}` : ''}`);
    const shown = shownPackets(f);
    const firsts = new Set(['original', 'reply'].map((d) => f.packets.find((p) => p.dir === d)));
    for (const p of shown) {
      out.push(packetHeading(p, firsts.has(p)));
      out.push(...table(p.steps));
    }
    const same = f.packets.length - shown.length;
    if (same > 0) out.push(`  (${same} more packet${same === 1 ? '' : 's'} went the same way as the first of their direction)`);
    out.push('');
  });
  return out.join('\n');
}

/** JSON for tools: every flow, every packet's steps (bytes as hex where kept). */
export function flowsJson(flows: FlowTrace[]): string {
  return (
    JSON.stringify(
      flows.map((f) => ({
        key: f.key,
        proto: f.proto,
        nat: f.nat,
        counts: f.counts,
        packets: f.packets.map((p) => ({
          id: p.pid,
          dir: p.dir,
          summary: p.summary,
          timeNs: p.firstNs,
          shown: p.other ?? (f.packets.find((x) => x.dir === p.dir) === p ? 'first' : null),
          dropped: p.dropped,
          steps: p.steps.map((s) => ({ stage: s.stage, timeNs: s.timeNs, ns: s.ns, iface: s.iface, rule: s.rule, changed: s.changed, drop: s.drop })),
        })),
      })),
      null,
      2,
    ) + '\n'
  );
}
