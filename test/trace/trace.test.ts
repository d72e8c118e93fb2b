// The per-packet trace: the seed notes' NAT step table for the built-in example (MASQUERADE out at
// POSTROUTING, conntrack's de-NAT back at PREROUTING), a drop naming its rule (Docker 28's raw-table
// guard), and a trace that changes nothing: the same captures with it on as off.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlan } from '../../src/cli/run.js';
import { toolAvailable, tsharkFrames, tsharkProblems } from '../capture/tools.js';
import { loadPlan } from '../../src/cli/common.js';
import { tracePlan } from '../../src/cli/trace.js';
import { buildFlows, shownPackets, type FlowTrace } from '../../src/trace/flows.js';
import { World } from '../../src/world/world.js';
import { CaptureSet } from '../../src/world/captures.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function flowsOf(file?: string): FlowTrace[] {
  return buildFlows(tracePlan(loadPlan(file)).rec);
}

describe('the built-in example: the NAT step table', () => {
  const flows = flowsOf();
  const tcp = flows.find((f) => f.key.startsWith('tcp 172.17.0.2:'))!;

  it('has the TCP flow, both directions, its NAT', () => {
    expect(tcp).toBeDefined();
    expect(tcp.counts.original).toBeGreaterThan(0);
    expect(tcp.counts.reply).toBeGreaterThan(0);
    expect(tcp.nat).toEqual([expect.stringMatching(/^dh: source NAT to 192\.0\.2\.10:\d+$/)]);
  });

  it("the container's SYN: nat POSTROUTING MASQUERADE rewrites 172.17.0.2:P to 192.0.2.10:P", () => {
    const syn = tcp.packets.find((p) => p.dir === 'original')!;
    expect(syn.summary).toMatch(/^TCP \[S\] 172\.17\.0\.2:\d+ > 192\.0\.2\.1:80$/);
    const port = /:(\d+) >/.exec(syn.summary)![1];
    const post = syn.steps.find((s) => s.stage === 'POSTROUTING' && s.ns === 'dh')!;
    expect(post.rule).toContain('nat POSTROUTING: -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE');
    expect(post.rule).toContain(`conntrack NEW tcp 172.17.0.2:${port} → 192.0.2.1:80`);
    expect(post.changed).toContain(`src 172.17.0.2:${port} → 192.0.2.10:${port}`);
    expect(post.changed).toMatch(/IP checksum 0x[0-9a-f]{4} → 0x[0-9a-f]{4}, TCP checksum/);
    // the way: web eth0 → dh's veth and docker0 → PREROUTING, forward (TTL), FORWARD, POSTROUTING → eth0 → server
    const way = syn.steps.map((s) => `${s.stage} ${s.ns} ${s.iface}`);
    expect(way.indexOf('transmit web eth0')).toBeLessThan(way.indexOf('receive dh docker0'));
    expect(way.indexOf('receive dh docker0')).toBeLessThan(way.indexOf('POSTROUTING dh out eth0'));
    expect(way.indexOf('POSTROUTING dh out eth0')).toBeLessThan(way.indexOf('receive server eth0'));
    expect(syn.steps.find((s) => s.stage === 'ip_forward' && s.ns === 'dh')!.changed).toMatch(/^TTL 64 → 63, IP checksum/);
    expect(syn.steps.find((s) => s.stage === 'FORWARD' && s.ns === 'dh')!.rule).toContain('filter DOCKER-FORWARD: -A DOCKER-FORWARD -i docker0 -j ACCEPT');
    const out = syn.steps.find((s) => s.stage === 'transmit' && s.ns === 'dh' && s.iface === 'eth0')!;
    expect(out.changed).toMatch(/^MAC src .* → 02:00:00:00:00:10, MAC dst .* → 02:00:00:00:00:01$/);
  });

  it('the reply: conntrack restores 172.17.0.2:P in PREROUTING', () => {
    const synack = tcp.packets.find((p) => p.dir === 'reply')!;
    expect(synack.summary).toMatch(/^TCP \[S\.\] 192\.0\.2\.1:80 > 192\.0\.2\.10:\d+$/);
    const port = /192\.0\.2\.10:(\d+)$/.exec(synack.summary)![1];
    const pre = synack.steps.find((s) => s.stage === 'PREROUTING' && s.ns === 'dh')!;
    expect(pre.rule).toContain('conntrack ESTABLISHED (reply)');
    expect(pre.changed).toContain(`de-NAT from the conntrack entry: dst 192.0.2.10:${port} → 172.17.0.2:${port}`);
    expect(synack.steps[synack.steps.length - 1]!.ns).toBe('web');
  });

  it('the table shows the first packet of each direction; the rest went the same way', () => {
    expect(shownPackets(tcp).map((p) => p.dir)).toEqual(['original', 'reply']);
  });
});

describe('a dropped packet names its rule', () => {
  it("Docker 28's raw-table guard against routing straight to a container", () => {
    const flows = flowsOf(join(ROOT, 'fixtures/scenarios/docker-direct-routing.yaml'));
    const direct = flows.find((f) => f.key.startsWith('tcp ') && f.key.endsWith('→ 172.17.0.2:80'))!;
    expect(direct.counts.dropped).toBeGreaterThan(0);
    const p = direct.packets[0]!;
    expect(p.dropped).toBe('raw table DROP');
    const last = p.steps[p.steps.length - 1]!;
    expect(last).toMatchObject({ stage: 'PREROUTING', ns: 'dh', drop: 'raw table DROP' });
    expect(last.rule).toContain('raw PREROUTING: -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP');
    // the retries are shown too: they were dropped as well
    expect(shownPackets(direct).length).toBe(direct.packets.length);
  });
});

describe('recording changes nothing', () => {
  it('the same bytes on every interface with the trace on as off', () => {
    const plan = loadPlan(join(ROOT, 'fixtures/scenarios/docker-publish.yaml'));
    const capture = (traced: boolean) => {
      const w = World.fromPlan(plan);
      if (traced) w.trace();
      const set = CaptureSet.memory();
      w.capture(set, World.planCaptures(plan));
      w.run();
      return World.planCaptures(plan).map((c) => Buffer.from(set.bytes(c.captureName)).toString('hex'));
    };
    expect(capture(true)).toEqual(capture(false));
  });

  it('off by default: no ids, no device or netfilter tracer', () => {
    const w = World.fromPlan(loadPlan(undefined));
    expect(w.engine.pool.ids).toBeNull();
    for (const ns of w.namespaces.values()) {
      expect(ns.netfilter.tracer).toBeNull();
      for (const d of ns.order) expect(d.trace).toBeNull();
    }
  });
});

describe('wirebox trace (the command)', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'trace', ...args], { encoding: 'utf8', cwd: ROOT });

  it('prints the step table of the selected flow, and JSON', () => {
    const r = cli('--flow', '192.0.2.1:80');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^flow 1: tcp 172\.17\.0\.2:\d+ → 192\.0\.2\.1:80/);
    expect(r.stdout).toMatch(/POSTROUTING +dh out eth0 +nat POSTROUTING: -A POSTROUTING -s 172\.17\.0\.0\/16 ! -o docker0 -j MASQUERADE/);
    const j = cli('--flow', 'udp', '--json');
    expect(j.status).toBe(0);
    const flows = JSON.parse(j.stdout) as { key: string; packets: { steps: unknown[] }[] }[];
    expect(flows.map((f) => f.key)).toEqual([expect.stringMatching(/^udp 172\.17\.0\.2:\d+ → 192\.0\.2\.1:7$/)]);
  });

  it('exit 2 and the flows listed when the selector matches none', () => {
    const r = cli('--flow', 'sctp');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^wirebox: --flow sctp: no flow matches; the flows are: 1 arp/);
  });
});

describe('annotated pcapng', () => {
  const haveTshark = toolAvailable('tshark');
  it.runIf(haveTshark)('tshark shows frame.comment on the NAT-ed frames, the drop on its frame, and the file stays clean', () => {
    const out = mkdtempSync(join(tmpdir(), 'wirebox-trace-png-'));
    const { files } = runPlan(loadPlan(undefined), out, { pcapng: true });
    const frames = tsharkFrames(files[0]!);
    const commented = frames.filter((f) => f.comment !== '');
    const masq = commented.find((f) => /dh: POSTROUTING nat MASQUERADE 172\.17\.0\.2:\d+ → 192\.0\.2\.10:\d+/.test(f.comment))!;
    expect(masq.ifName).toBe('dh.eth0');
    const [, a, b] = /172\.17\.0\.2:(\d+) → 192\.0\.2\.10:(\d+)/.exec(masq.comment)!;
    expect(a).toBe(b);
    expect(commented.some((f) => f.ifName === 'dh.docker0' && /dh: PREROUTING conntrack de-NAT 192\.0\.2\.10:\d+ → 172\.17\.0\.2:\d+/.test(f.comment))).toBe(true);
    // frames nothing happened to carry none (the container's own, the server's)
    expect(commented.every((f) => f.ifName.startsWith('dh.'))).toBe(true);
    expect(tsharkProblems(files[0]!)).toEqual([]);

    const out2 = mkdtempSync(join(tmpdir(), 'wirebox-trace-png-'));
    const drop = runPlan(loadPlan(join(ROOT, 'fixtures/scenarios/docker-direct-routing.yaml')), out2, { pcapng: true });
    const dropped = tsharkFrames(drop.files[0]!).filter((f) => f.comment.includes('dropped after this capture'));
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped[0]!.ifName).toBe('dh.eth0');
    expect(dropped[0]!.comment).toBe('dh: PREROUTING raw DROP by -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP, dropped after this capture');

    const out3 = mkdtempSync(join(tmpdir(), 'wirebox-trace-png-'));
    const bare = runPlan(loadPlan(undefined), out3, { pcapng: true, comments: false });
    expect(tsharkFrames(bare.files[0]!).filter((f) => f.comment !== '')).toEqual([]);
    expect(tsharkFrames(bare.files[0]!).length).toBe(frames.length);
  });
});
