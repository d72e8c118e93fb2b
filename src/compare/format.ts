// The human report of a comparison: per difference one line naming the file, the frame on each side, the
// field and both values; per file a verdict and a score; then the overall verdict.
//
//   dh.eth0.pcap frame 5 (A) / 5 (B): ipv4.ttl: 63 ≠ 64
//   dh.eth0.pcap frame 9 (A): only in A: IP 172.17.0.2.35952 > 198.51.100.1.8000: Flags [.], ack 1, …
//   dh.eth0.pcap: differ — 2 differences; fields 402/404 matched; frames 14/15 identical (A 16, B 15)

import type { CompareReport, Difference, FileReport } from './types.js';

export interface FormatOptions {
  /** Differences shown per file (default 10); `Infinity` for all. */
  maxPerFile?: number;
}

function fileName(f: FileReport): string {
  if (f.labelA !== null && f.labelB !== null && f.labelA !== f.labelB) return `${f.labelA}=${f.labelB}`;
  return f.labelA ?? f.labelB ?? f.key;
}

export function differenceLine(file: string, d: Difference): string {
  switch (d.kind) {
    case 'field':
      return `${file} frame ${d.frameA} (A) / ${d.frameB} (B): ${d.field}: ${d.a} ≠ ${d.b}`;
    case 'only-a':
      return `${file} frame ${d.frameA} (A): only in A: ${d.summary}`;
    case 'only-b':
      return `${file} frame ${d.frameB} (B): only in B: ${d.summary}`;
    case 'checksum':
      return `${file} frame ${d.frame} (${d.side.toUpperCase()}): ${d.field} bad: 0x${d.found.toString(16).padStart(4, '0')}, should be 0x${d.expected.toString(16).padStart(4, '0')}`;
  }
}

function ratio(n: number, d: number): string {
  return `${n}/${d}`;
}

export function formatReport(r: CompareReport, opts: FormatOptions = {}): string {
  const max = opts.maxPerFile ?? 10;
  const lines: string[] = [];
  for (const f of r.files) {
    const name = fileName(f);
    if (f.verdict === 'only-a') {
      lines.push(`${name}: only in A (${r.sideA}), ${f.framesA} frames`);
      continue;
    }
    if (f.verdict === 'only-b') {
      lines.push(`${name}: only in B (${r.sideB}), ${f.framesB} frames`);
      continue;
    }
    const shown = f.differences.slice(0, max);
    for (const d of shown) lines.push(differenceLine(name, d));
    if (f.differences.length > shown.length) lines.push(`${name}: … ${f.differences.length - shown.length} more differences (--all shows them)`);
    for (const n of f.notes) lines.push(`${name}: note: ${n}`);
    const ignored = f.ignoredA + f.ignoredB > 0 ? `; ignored A ${f.ignoredA}, B ${f.ignoredB}` : '';
    const score = `fields ${ratio(f.fieldsMatched, f.fieldsCompared)} matched; frames ${ratio(f.framesIdentical, Math.max(f.framesA, f.framesB))} identical (A ${f.framesA}, B ${f.framesB}${ignored})`;
    const count = f.differences.length === 1 ? '1 difference' : `${f.differences.length} differences`;
    lines.push(f.verdict === 'match' ? `${name}: match — ${score}` : `${name}: differ — ${count}; ${score}`);
  }
  const t = r.totals;
  lines.push(
    r.verdict === 'match'
      ? `match: ${t.files} file(s), fields ${ratio(t.fieldsMatched, t.fieldsCompared)}`
      : `differ: ${t.files - t.filesMatching} of ${t.files} file(s) differ, ${t.differences} difference(s), fields ${ratio(t.fieldsMatched, t.fieldsCompared)}`,
  );
  return lines.join('\n') + '\n';
}
