// Impaired links (netem's meaning, seeded): loss over many datagrams lands on the percentage, a seed
// gives byte-identical captures, a rate serialises frames so a transfer takes the rate's time.

import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/reader.js';
import { parseScenario } from '../../src/scenario/load.js';
import { compilePlan } from '../../src/plan/compile.js';
import { buildTopology } from '../../src/real/topology.js';
import { frames, runYaml } from './helpers.js';

function world(clientIf: string, wire: string, services: string, traffic: string): string {
  return `version: 1
name: t
wires: { lan: {${wire}} }
hosts:
  server:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.1/24, mac: "02:00:00:00:00:01" } }
    services: ${services}
  client:
    interfaces: { eth0: { wire: lan, ip: 192.0.2.2/24, mac: "02:00:00:00:00:02"${clientIf} } }
traffic:
${traffic}
`;
}

describe('netem', () => {
  it('loss: 5% over 100,000 datagrams loses 5% ± 0.5%; the capture never shows a lost frame', () => {
    const { summary, caps } = runYaml(
      world(', loss: 5%', '', '[ { udp: 7, echo: true } ]', '  - { at: 1s, from: client, udp: "192.0.2.1:7", send: "x", count: 100000, rate: 100000/s }\n  - { from: client, ping: 192.0.2.1, count: 3, interval: 10ms }'),
    );
    const u = summary.traffic.find((t) => t.what.startsWith('udp'))!;
    const m = /100000 datagrams sent, (\d+) replies/.exec(u.detail)!;
    const lost = 100000 - Number(m[1]);
    expect(lost / 100000).toBeGreaterThan(0.045);
    expect(lost / 100000).toBeLessThan(0.055);
    const out = frames(caps, 'client.eth0').filter((f) => f.transport?.kind === 'udp' && f.transport.repr.dstPort === 7).length;
    const arrived = frames(caps, 'server.eth0').filter((f) => f.transport?.kind === 'udp' && f.transport.repr.dstPort === 7).length;
    expect(out).toBe(arrived); // tcpdump on the egress sees what leaves the qdisc, no more
    const dropped = summary.drops.find((d) => d.where === 'client.eth0' && d.why === 'netem loss')!.count;
    expect(dropped).toBeGreaterThanOrEqual(100000 - arrived); // and the pings' and ARPs' share
  });

  it('one seed gives byte-identical captures with every impairment on; another seed differs', () => {
    const yaml = world(
      '',
      ' latency: 10ms, jitter: 5ms, loss: 2%, duplicate: 3%, reorder: 10%, corrupt: 2%, rate: 100mbit, limit: 50',
      '[ { tcp: 80, reply: { size: 200KiB } }, { udp: 7, echo: true } ]',
      '  - { from: client, tcp: "192.0.2.1:80", send: "GET", timeout: 30s }\n  - { from: client, udp: "192.0.2.1:7", send: { size: 500 }, count: 300, rate: 1000/s }',
    );
    const a = runYaml(yaml);
    const b = runYaml(yaml);
    const c = runYaml(yaml, { seed: 2 });
    for (const name of ['client.eth0', 'server.eth0']) {
      expect(Buffer.from(a.caps.bytes(name)).equals(Buffer.from(b.caps.bytes(name)))).toBe(true);
      expect(Buffer.from(a.caps.bytes(name)).equals(Buffer.from(c.caps.bytes(name)))).toBe(false);
    }
    expect(a.summary.traffic).toEqual(b.summary.traffic);
    expect(a.summary.drops.some((d) => d.why === 'netem loss')).toBe(true);
  });

  it('rate: 10mbit makes a 1 MiB download take the rate\'s time, within 5%', () => {
    const { summary, caps } = runYaml(
      world('', '', '[ { tcp: 80, reply: { size: 1MiB } } ]', '  - { from: client, tcp: "192.0.2.1:80", send: "GET", timeout: 30s }').replace(
        'mac: "02:00:00:00:00:01" }',
        'mac: "02:00:00:00:00:01", rate: 10mbit }',
      ),
    );
    expect(summary.traffic[0]).toMatchObject({ result: 'ok' });
    const recs = readCapture(caps.bytes('client.eth0'), 'c').records;
    const fr = frames(caps, 'client.eth0');
    const data = fr.map((f, i) => ({ f, t: recs[i]!.timeNs })).filter((x) => x.f.transport?.kind === 'tcp' && x.f.transport.repr.srcPort === 80);
    const first = fr.findIndex((f) => f.transport?.kind === 'tcp' && f.transport.repr.dstPort === 80);
    const elapsedNs = Number(data[data.length - 1]!.t - recs[first]!.timeNs);
    // what 10 Mbit/s says for the frames that carried the MiB (headers included: netem's rate counts
    // the frame, qdisc_pkt_len), and for the MiB alone
    const wireBits = data.reduce((n, x) => n + x.f.length * 8, 0);
    const rateNs = (wireBits * 1e9) / 10e6;
    const payloadNs = (2 ** 20 * 8 * 1e9) / 10e6;
    console.log(`1 MiB at 10mbit: ${(elapsedNs / 1e6).toFixed(1)} ms; frames at the rate ${(rateNs / 1e6).toFixed(1)} ms; payload alone ${(payloadNs / 1e6).toFixed(1)} ms`);
    expect(Math.abs(elapsedNs - rateNs) / rateNs).toBeLessThan(0.05);
    expect(elapsedNs).toBeGreaterThan(payloadNs);
  });

  it('bad values are one line with the place', () => {
    const bad = (ifx: string, wire = '') => () => parseScenario(world(ifx, wire, '[]', '  - { from: client, ping: server }'), 't.yaml');
    expect(bad(', loss: 120%')).toThrow(/t\.yaml:9:\d+: hosts\.client\.interfaces\.eth0\.loss: expected a percentage like 5% or 0\.5, got "120%"/);
    expect(bad(', rate: 10mbps-ish')).toThrow(/interfaces\.eth0\.rate: expected a rate like 100mbit/);
    expect(bad(', reorder: 5%')).toThrow(/interfaces\.eth0\.reorder: reorder needs a latency/);
    expect(bad(', loss: 1%', ' loss: 1%')).toThrow(/t\.yaml:9:\d+: hosts\.client\.interfaces\.eth0: wire lan is impaired already/);
  });

  it('wirebox real applies the same with tc qdisc … netem on each impaired interface', () => {
    const plan = compilePlan(parseScenario(world(', loss: 5%, rate: 10mbit', '', '[]', '  - { from: client, ping: server }'), 't.yaml'));
    const tc = buildTopology(plan).commands.filter((c) => c.includes('tc'));
    expect(tc).toEqual([['ip', 'netns', 'exec', 'wb-client', 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'limit', '1000', 'loss', '5%', 'rate', '10000000bit']]);
    const both = compilePlan(parseScenario(world('', ' latency: 10ms, jitter: 1ms, reorder: 25%', '[]', '  - { from: client, ping: server }'), 't.yaml'));
    expect(buildTopology(both).commands.filter((c) => c.includes('tc')).map((c) => c.slice(3, 4).concat(c.slice(8)))).toEqual([
      ['wb-server', 'eth0', 'root', 'netem', 'limit', '1000', 'delay', '10000us', '1000us', 'reorder', '25%'],
      ['wb-client', 'eth0', 'root', 'netem', 'limit', '1000', 'delay', '10000us', '1000us', 'reorder', '25%'],
    ]);
  });
});
