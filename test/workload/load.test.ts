// Load keys: count / interval / rate / duration on every verb, udp flows, `from` lists and container
// replicas; traffic is generated as the run goes, so memory does not grow with count.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { frames, lan, runYaml } from './helpers.js';

const SYN = 0x02;

describe('load keys', () => {
  it('tcp count: N connections, each from its own ephemeral port, interval apart', () => {
    const { summary, caps } = runYaml(lan('[ { tcp: 80, reply: "ok" } ]', '  - { from: client, tcp: "192.0.2.1:80", send: "x", count: 20, rate: 100/s }'));
    expect(summary.traffic).toHaveLength(1);
    expect(summary.traffic[0]).toMatchObject({ result: 'ok', detail: '20 connections: 20 ok; 40 reply bytes' });
    const syns = frames(caps, 'client.eth0').flatMap((f) => (f.transport?.kind === 'tcp' && f.transport.repr.flags === SYN ? [f.transport.repr.srcPort] : []));
    expect(syns).toHaveLength(20);
    expect(new Set(syns).size).toBe(20);
  });

  it('udp count over one socket, and over several with flows', () => {
    const one = runYaml(lan('[ { udp: 7, echo: true } ]', '  - { from: client, udp: "192.0.2.1:7", send: { size: 100 }, count: 50, interval: 1ms }'));
    expect(one.summary.traffic[0]).toMatchObject({ result: 'ok', detail: '50 datagrams sent, 50 replies (5000 bytes)' });
    const ports = (caps: typeof one.caps) =>
      new Set(frames(caps, 'client.eth0').flatMap((f) => (f.transport?.kind === 'udp' && f.transport.repr.dstPort === 7 ? [f.transport.repr.srcPort] : [])));
    expect(ports(one.caps).size).toBe(1);
    const four = runYaml(lan('[ { udp: 7, echo: true } ]', '  - { from: client, udp: "192.0.2.1:7", send: "x", count: 50, interval: 1ms, flows: 4 }'));
    expect(four.summary.traffic[0]).toMatchObject({ result: 'ok', detail: '50 datagrams sent over 4 flows, 50 replies (50 bytes)' });
    expect(ports(four.caps).size).toBe(4);
  });

  it('duration: D with interval makes D / interval starts; ping keeps its own count', () => {
    const s = parseScenario(lan('[]', '  - { from: client, udp: "192.0.2.1:7", duration: 2s, interval: 100ms }\n  - { from: client, ping: server, count: 3, rate: 5/s }'), 't.yaml');
    expect(s.traffic[0]).toMatchObject({ count: 20, intervalNs: 100e6 });
    expect(s.traffic[1]).toMatchObject({ count: 3, intervalNs: 200e6 });
  });

  it('replicas start NAME-1 … NAME-N in order; from: NAME means every replica, from may be a list', () => {
    const { plan, summary } = runYaml(`version: 1
wires: { lan: {} }
hosts:
  server:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.1/24 } }
    services: [ { tcp: 80, reply: "hello" } ]
  dh:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.10/24 } }
    routes: [ { to: default, via: 192.0.2.1 } ]
    docker: { containers: { web: { replicas: 3 }, db: {} } }
traffic:
  - { from: web, tcp: "192.0.2.1:80", send: "GET", requests: 2 }
  - { from: [db, web-2], ping: 192.0.2.1 }
`);
    const names = plan.namespaces.filter((n) => n.role === 'container').map((n) => n.name);
    expect(names).toEqual(['web-1', 'web-2', 'web-3', 'db']);
    expect(plan.traffic.map((t) => t.node)).toEqual(['web-1', 'web-2', 'web-3', 'db', 'web-2']);
    expect(summary.traffic.map((t) => t.result)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const tcp = summary.traffic.filter((t) => t.what.startsWith('tcp'));
    expect(tcp.map((t) => t.node).sort()).toEqual(['web-1', 'web-2', 'web-3']);
    for (const t of tcp) expect(t.detail).toMatch(/^2 requests, reply 10 bytes "hellohello"/);
  });

  it('bad load values are one line with the place', () => {
    const bad = (traffic: string) => () => parseScenario(lan('[]', traffic), 't.yaml');
    expect(bad('  - { from: client, udp: "192.0.2.1:7", count: 3, duration: 1s }')).toThrow(/t\.yaml:11:\d+: traffic\[0\]\.duration: an entry takes count or duration, not both/);
    expect(bad('  - { from: client, udp: "192.0.2.1:7", rate: 10 }')).toThrow(/traffic\[0\]\.rate: expected a rate like 100\/s, got 10/);
    expect(bad('  - { from: client, tcp: "192.0.2.1:7", count: 2, sport: 4000 }')).toThrow(/traffic\[0\]\.sport: sport with more than one connection/);
    expect(bad('  - { from: [client, nobody], ping: server }')).toThrow(/t\.yaml:11:\d+: traffic\[0\]\.from\[1\]: unknown node "nobody"/);
    expect(bad('  - { from: client, ping: server, ttl: 0 }')).toThrow(/traffic\[0\]\.ttl: expected a TTL 1-255, got 0/);
  });
});

describe('memory is flat in count', () => {
  // A fresh process per run, so that the heap measured is this run's alone; the peak of the heap left
  // after full collections during the run is what the run holds.
  function peakMb(count: number): number {
    const script = `
      import { parseScenario } from './src/scenario/load.ts';
      import { compilePlan } from './src/plan/compile.ts';
      import { World } from './src/world/world.ts';
      const yaml = ${JSON.stringify(lan('[ { udp: 7, echo: true } ]', `  - { from: client, udp: "192.0.2.1:7", send: { size: 64 }, count: ${count}, rate: 100000/s }`))};
      const w = World.fromPlan(compilePlan(parseScenario(yaml, 't.yaml')));
      // what the run holds: the heap after a full collection, every 8 Ki events
      let peak = 0, n = 0;
      const s = w.run(undefined, () => { if ((++n & 7) !== 0) return; globalThis.gc(); const h = process.memoryUsage().heapUsed; if (h > peak) peak = h; });
      if (s.traffic[0].result !== 'ok') throw new Error(JSON.stringify(s.traffic));
      console.log(JSON.stringify({ peak: peak / 2 ** 20, detail: s.traffic[0].detail }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd() });
    if (r.status !== 0) throw new Error(r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { peak: number; detail: string };
    expect(out.detail).toBe(`${count} datagrams sent, ${count} replies (${64 * count} bytes)`);
    return out.peak;
  }

  it('10,000 and 1,000,000 datagrams peak at about the same heap', () => {
    const small = peakMb(10_000);
    const large = peakMb(1_000_000);
    console.log(`peak heap: 10k datagrams ${small.toFixed(1)} MB, 1M datagrams ${large.toFixed(1)} MB`);
    expect(large).toBeLessThan(small * 1.5 + 8);
  }, 600_000);
});
