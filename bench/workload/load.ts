// Load scenarios through `wirebox run` (issue 9): 100 container replicas × 1,000 HTTP-like keep-alive
// exchanges each, and 1,000,000 UDP datagrams (against 10,000, for memory flat in count). Reported as
// frames written per second and peak memory (the child's max RSS), each as a ratio to the
// forwarding-path baseline measured in the same run: bench/world's Docker NAT path with pcap files on
// its 5 interfaces (frames forwarded per second, in process) and `wirebox run` of a one-exchange
// scenario (the tool's own memory floor).
//
// Not a Benchmark.js module (no `suites`): run it alone, `npx tsx --expose-gc bench/workload/load.ts`.
// The machine is shared: figures move with its load, ratios less so; repeat when they look off.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openForwarder } from '../world/docker.js';

const dir = mkdtempSync(join(tmpdir(), 'wirebox-load-'));

function world(containers: string, traffic: string): string {
  return `version: 1
name: load
wires: { lan: {} }
hosts:
  server:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.1/24 } }
    services:
      - { tcp: 80, reply: "HTTP/1.1 200 OK\\r\\nContent-Length: 512\\r\\n\\r\\n${'x'.repeat(512)}" }
      - { udp: 7, echo: true }
  dh:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.10/24 } }
    routes: [ { to: default, via: 192.0.2.1 } ]
    docker: { containers: { ${containers} } }
traffic:
${traffic}
`;
}

const SCENARIOS: Record<string, string> = {
  floor: world('web: {}', '  - { from: web, tcp: "192.0.2.1:80", send: "GET / HTTP/1.1\\r\\n\\r\\n" }'),
  'keepalive-100x1000': world('web: { replicas: 100 }', '  - { from: web, tcp: "192.0.2.1:80", send: "GET / HTTP/1.1\\r\\nHost: s\\r\\n\\r\\n", requests: 1000, timeout: 30s }'),
  'udp-10k': world('web: {}', '  - { from: web, udp: "192.0.2.1:7", send: { size: 64 }, count: 10000, rate: 100000/s }'),
  'udp-1M': world('web: {}', '  - { from: web, udp: "192.0.2.1:7", send: { size: 64 }, count: 1000000, rate: 100000/s }'),
};

interface Run {
  name: string;
  seconds: number;
  frames: number;
  maxRssMb: number;
  summary: string;
}

function wireboxRun(name: string, yaml: string): Run {
  const file = join(dir, `${name}.yaml`);
  const out = join(dir, name);
  writeFileSync(file, yaml);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss %M', process.execPath, 'bin/wirebox.js', 'run', file, '-o', out], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
  const frames = [...r.stdout.matchAll(/^\s+\S+\s+(\d+) frames$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  const rss = Number(/maxrss (\d+)/.exec(r.stderr)![1]) / 1024;
  const traffic = r.stdout.split('\n').filter((l) => / — /.test(l));
  const bad = traffic.filter((l) => !/ — ok/.test(l));
  const summary = `${traffic.length} traffic lines, ${bad.length} not ok${bad.length ? `: ${bad[0]!.trim()}` : ''}`;
  let bytes = 0;
  for (const f of readdirSync(out)) bytes += statSync(join(out, f)).size;
  rmSync(out, { recursive: true, force: true });
  return { name, seconds, frames, maxRssMb: rss, summary: `${summary}; ${(bytes / 2 ** 20).toFixed(1)} MiB of captures` };
}

// Baseline: the forwarding path with pcap files on its 5 interfaces, frames forwarded per second.
const N = 200_000;
const fw = openForwarder('files');
fw.forward(10_000, 64);
const b0 = process.hrtime.bigint();
fw.forward(N, 64);
const baseFps = (N * 5) / (Number(process.hrtime.bigint() - b0) / 1e9); // 5 captured frames per forwarded one
fw.close();

const runs = Object.entries(SCENARIOS).map(([n, y]) => wireboxRun(n, y));
const floor = runs.find((r) => r.name === 'floor')!;
console.log(`baseline: forwarding path with pcap files, ${(baseFps / 1e3).toFixed(0)} k captured frames/s; wirebox run floor ${floor.maxRssMb.toFixed(0)} MB max RSS`);
for (const r of runs) {
  const fps = r.frames / r.seconds;
  console.log(
    `${r.name.padEnd(20)} ${String(r.frames).padStart(9)} frames in ${r.seconds.toFixed(1).padStart(6)} s: ${(fps / 1e3).toFixed(0).padStart(5)} k frames/s = ${(fps / baseFps).toFixed(2)}× baseline; max RSS ${r.maxRssMb.toFixed(0)} MB = ${(r.maxRssMb / floor.maxRssMb).toFixed(2)}× floor (${r.summary})`,
  );
}
rmSync(dir, { recursive: true, force: true });
