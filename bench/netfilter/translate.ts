// Netfilter on the forwarding path: one packet of an established, MASQUERADEd TCP flow through
// PREROUTING → FORWARD → POSTROUTING (conntrack lookup, state update, filter walk, NAT rewrite with
// incremental checksums), in both directions, with a small and a crowded conntrack table.
// Each case first restores the packet from a template (the baseline case is that copy alone).

import Benchmark from 'benchmark';
import { Hook } from '../../src/netfilter/hooks.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import type { IptablesPlan, RulePlan } from '../../src/plan/plan.js';
import { Engine } from '../../src/sim/engine.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { fillIpv4Checksum, fillTcpChecksum } from '../../src/wire/checksum.js';
import type { BenchResults } from '../run.js';

const L3 = 14;
const FRAME = 14 + 20 + 20 + 64;

const masq: RulePlan = { src: { cidr: '172.17.0.0/16', neg: false }, out: { name: 'docker0', neg: true }, target: { kind: 'MASQUERADE', toPorts: null } };
const fwd: RulePlan[] = [
  { out: { name: 'docker0', neg: false }, ctstate: { states: ['RELATED', 'ESTABLISHED'], neg: false }, target: { kind: 'ACCEPT' } },
  { in: { name: 'docker0', neg: false }, out: { name: 'docker0', neg: true }, target: { kind: 'ACCEPT' } },
];
const PLAN: IptablesPlan = {
  nat: { chains: [
    { name: 'PREROUTING', policy: 'ACCEPT', rules: [] },
    { name: 'INPUT', policy: 'ACCEPT', rules: [] },
    { name: 'OUTPUT', policy: 'ACCEPT', rules: [] },
    { name: 'POSTROUTING', policy: 'ACCEPT', rules: [masq] },
  ] },
  filter: { chains: [
    { name: 'INPUT', policy: 'ACCEPT', rules: [] },
    { name: 'FORWARD', policy: 'DROP', rules: fwd },
    { name: 'OUTPUT', policy: 'ACCEPT', rules: [] },
  ] },
};

function tcpFrame(src: string, dst: string, sport: number, dport: number, flags: number): Uint8Array {
  const b = new Uint8Array(FRAME);
  const s = parseIpv4(src);
  const d = parseIpv4(dst);
  const l3 = L3;
  b[12] = 0x08;
  b[l3] = 0x45;
  b[l3 + 2] = 0;
  b[l3 + 3] = FRAME - 14;
  b[l3 + 6] = 0x40;
  b[l3 + 8] = 64;
  b[l3 + 9] = 6;
  new DataView(b.buffer).setUint32(l3 + 12, s);
  new DataView(b.buffer).setUint32(l3 + 16, d);
  fillIpv4Checksum(b, l3);
  const l4 = l3 + 20;
  new DataView(b.buffer).setUint16(l4, sport);
  new DataView(b.buffer).setUint16(l4 + 2, dport);
  b[l4 + 12] = 0x50;
  b[l4 + 13] = flags;
  new DataView(b.buffer).setUint16(l4 + 14, 502);
  fillTcpChecksum(b, l4, FRAME - 34, s, d);
  return b;
}

interface Rig {
  engine: Engine;
  nf: Netfilter;
  slot: number;
  run(template: Uint8Array, inDev: string, outDev: string): number;
}

function rig(extraFlows: number): Rig {
  const engine = new Engine({ seed: 1 });
  const host = {
    isLocalAddress: (a: number) => a === parseIpv4('10.0.0.10'),
    masqueradeSource: () => parseIpv4('10.0.0.10'),
    reject: () => {},
  };
  const nf = new Netfilter(engine, engine.rng.fork('nf'), host);
  nf.load(PLAN);
  const slot = engine.pool.alloc();
  const run = (template: Uint8Array, inDev: string, outDev: string): number => {
    const pool = engine.pool;
    const base = pool.base(slot);
    pool.bytes.set(template, base);
    let v = nf.hook(Hook.PREROUTING, slot, L3, inDev, '');
    v |= nf.hook(Hook.FORWARD, slot, L3, inDev, outDev);
    v |= nf.hook(Hook.POSTROUTING, slot, L3, '', outDev);
    return v + pool.bytes[base + L3 + 13]!;
  };
  // Crowd the table with other established flows.
  for (let i = 0; i < extraFlows; i++) {
    const a = `172.17.${(i / 250) | 0}.${(i % 250) + 2}`;
    run(tcpFrame(a, '198.51.100.1', 30000 + (i % 1000), 443, 0x02), 'docker0', 'eth0');
    run(tcpFrame('198.51.100.1', '10.0.0.10', 443, 30000 + (i % 1000), 0x12), 'eth0', 'docker0');
  }
  // The measured flow: handshake done.
  run(tcpFrame('172.17.0.2', '198.51.100.1', 40000, 8000, 0x02), 'docker0', 'eth0');
  run(tcpFrame('198.51.100.1', '10.0.0.10', 8000, 40000, 0x12), 'eth0', 'docker0');
  run(tcpFrame('172.17.0.2', '198.51.100.1', 40000, 8000, 0x10), 'docker0', 'eth0');
  return { engine, nf, slot, run };
}

let sink = 0;

export function suites(): Benchmark.Suite[] {
  const out = tcpFrame('172.17.0.2', '198.51.100.1', 40000, 8000, 0x18);
  const back = tcpFrame('198.51.100.1', '10.0.0.10', 8000, 40000, 0x18);
  const small = rig(0);
  const crowded = rig(20000);
  const s = new Benchmark.Suite('netfilter: one established MASQUERADE TCP packet, PREROUTING+FORWARD+POSTROUTING');
  const scratch = new Uint8Array(FRAME * 2);
  s.add('baseline: restore the 118-byte frame from its template', () => {
    scratch.set(out, sink & 1);
    sink += scratch[20]!;
  });
  s.add('outbound (SNAT), 1 flow', () => {
    sink += small.run(out, 'docker0', 'eth0');
  });
  s.add('reply (un-SNAT), 1 flow', () => {
    sink += small.run(back, 'eth0', 'docker0');
  });
  s.add('outbound (SNAT), 20 001 flows in the table', () => {
    sink += crowded.run(out, 'docker0', 'eth0');
  });
  return [s];
}

export function after(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const [, cases] of results) {
    for (const [name, r] of cases) {
      if (name.startsWith('baseline')) continue;
      lines.push(`netfilter ${name}: ${(r.hz / 1e6).toFixed(2)} M packets/s (${(1e9 / r.hz).toFixed(0)} ns per packet, three hooks)`);
    }
  }
  lines.push(`(sink ${sink & 1})`);
  return lines;
}
