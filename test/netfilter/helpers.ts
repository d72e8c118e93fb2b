// Packets built by hand (Ethernet + IPv4 + TCP/UDP/ICMP, checksums filled by src/wire/checksum), a fake
// host stack, and readers that verify every checksum by full recomputation.

import { expect } from 'vitest';
import type { ChainPlan, IptablesPlan, RulePlan } from '../../src/plan/plan.js';
import { Engine } from '../../src/sim/engine.js';
import { formatIpv4, parseIpv4 } from '../../src/wire/addr.js';
import {
  fillIcmpChecksum, fillIpv4Checksum, fillTcpChecksum, fillUdpChecksum, verifyIcmpChecksum, verifyIpv4Checksum,
  verifyTcpChecksum, verifyUdpChecksum,
} from '../../src/wire/checksum.js';
import { Hook, Verdict, type NetfilterHost } from '../../src/netfilter/hooks.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';

export const L3 = 14;
export const ip = parseIpv4;

export const SYN = 0x02;
export const ACK = 0x10;
export const FIN = 0x01;
export const RST = 0x04;
export const PSH = 0x08;

export interface PacketSpec {
  proto: 'tcp' | 'udp' | 'icmp';
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** TCP flags (default ACK). */
  flags?: number;
  /** ICMP type/code/id (default echo request). */
  type?: number;
  code?: number;
  id?: number;
  payload?: number;
  /** UDP: send with checksum 0 ("no checksum"). */
  noUdpChecksum?: boolean;
  seq?: number;
}

function w16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}
function w32(b: Uint8Array, at: number, v: number): void {
  w16(b, at, v >>> 16);
  w16(b, at + 2, v & 0xffff);
}
function r16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}
function r32(b: Uint8Array, at: number): number {
  return ((r16(b, at) << 16) | r16(b, at + 2)) >>> 0;
}

/** Write an IPv4 header (no options) at `l3`. */
function ipv4Header(b: Uint8Array, l3: number, proto: number, src: number, dst: number, totalLen: number, id = 0x1234, ttl = 64): void {
  b[l3] = 0x45;
  b[l3 + 1] = 0;
  w16(b, l3 + 2, totalLen);
  w16(b, l3 + 4, id);
  w16(b, l3 + 6, 0x4000);
  b[l3 + 8] = ttl;
  b[l3 + 9] = proto;
  w16(b, l3 + 10, 0);
  w32(b, l3 + 12, src);
  w32(b, l3 + 16, dst);
  fillIpv4Checksum(b, l3);
}

/** A frame in a fresh pool slot. */
export function packet(engine: Engine, p: PacketSpec): number {
  const pool = engine.pool;
  const slot = pool.alloc();
  const b = pool.bytes;
  const base = pool.base(slot);
  b.fill(0xa5, base, base + 200);
  const l3 = base + L3;
  const l4 = l3 + 20;
  const src = ip(p.src);
  const dst = ip(p.dst);
  const payload = p.payload ?? 0;
  let l4len: number;
  if (p.proto === 'tcp') {
    l4len = 20 + payload;
    w16(b, l4, p.sport ?? 40000);
    w16(b, l4 + 2, p.dport ?? 80);
    w32(b, l4 + 4, p.seq ?? 1000);
    w32(b, l4 + 8, 0);
    b[l4 + 12] = 0x50;
    b[l4 + 13] = p.flags ?? ACK;
    w16(b, l4 + 14, 64240);
    w16(b, l4 + 16, 0);
    w16(b, l4 + 18, 0);
    for (let i = 0; i < payload; i++) b[l4 + 20 + i] = (i * 7 + 3) & 0xff;
    ipv4Header(b, l3, 6, src, dst, 20 + l4len);
    fillTcpChecksum(b, l4, l4len, src, dst);
  } else if (p.proto === 'udp') {
    l4len = 8 + payload;
    w16(b, l4, p.sport ?? 40000);
    w16(b, l4 + 2, p.dport ?? 53);
    w16(b, l4 + 4, l4len);
    w16(b, l4 + 6, 0);
    for (let i = 0; i < payload; i++) b[l4 + 8 + i] = (i * 13 + 1) & 0xff;
    ipv4Header(b, l3, 17, src, dst, 20 + l4len);
    if (!p.noUdpChecksum) fillUdpChecksum(b, l4, l4len, src, dst);
  } else {
    l4len = 8 + payload;
    b[l4] = p.type ?? 8;
    b[l4 + 1] = p.code ?? 0;
    w16(b, l4 + 2, 0);
    w16(b, l4 + 4, p.id ?? 0x0bad);
    w16(b, l4 + 6, 1);
    for (let i = 0; i < payload; i++) b[l4 + 8 + i] = i & 0xff;
    ipv4Header(b, l3, 1, src, dst, 20 + l4len);
    fillIcmpChecksum(b, l4, l4len);
  }
  pool.len[slot] = L3 + 20 + l4len;
  return slot;
}

/** An ICMP error (`type`/`code`) from `src` to `dst` quoting the IPv4 header and `quoteL4` bytes of the
 *  packet in `about` (as it was when the sender saw it). */
export function icmpError(engine: Engine, type: number, code: number, src: string, dst: string, about: number, quoteL4 = 8): number {
  const pool = engine.pool;
  const slot = pool.alloc();
  const b = pool.bytes;
  const base = pool.base(slot);
  const l3 = base + L3;
  const l4 = l3 + 20;
  const qBase = pool.base(about) + L3;
  const qLen = 20 + quoteL4;
  b.copyWithin(l4 + 8, qBase, qBase + qLen);
  b[l4] = type;
  b[l4 + 1] = code;
  w16(b, l4 + 2, 0);
  w32(b, l4 + 4, 0);
  ipv4Header(b, l3, 1, ip(src), ip(dst), 20 + 8 + qLen, 0x4321, 64);
  b[l3 + 1] = 0xc0;
  fillIpv4Checksum(b, l3);
  fillIcmpChecksum(b, l4, 8 + qLen);
  pool.len[slot] = L3 + 20 + 8 + qLen;
  return slot;
}

export interface Seen {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** ICMP: type, code, id. */
  type: number;
  code: number;
  id: number;
  ttl: number;
  udpCheck: number;
  /** For ICMP errors: the quoted header. */
  inner?: { src: string; dst: string; sport: number; dport: number; proto: number; id: number };
}

/** Read the frame back, asserting every checksum by full recomputation. */
export function read(engine: Engine, slot: number): Seen {
  const b = engine.pool.bytes;
  const l3 = engine.pool.base(slot) + L3;
  expect(verifyIpv4Checksum(b, l3), 'IPv4 header checksum').toBe(true);
  const total = r16(b, l3 + 2);
  const proto = b[l3 + 9]!;
  const src = r32(b, l3 + 12);
  const dst = r32(b, l3 + 16);
  const l4 = l3 + 20;
  const l4len = total - 20;
  const out: Seen = { src: formatIpv4(src), dst: formatIpv4(dst), sport: 0, dport: 0, type: -1, code: -1, id: -1, ttl: b[l3 + 8]!, udpCheck: -1 };
  if (proto === 6) {
    expect(verifyTcpChecksum(b, l4, l4len, src, dst), 'TCP checksum').toBe(true);
    out.sport = r16(b, l4);
    out.dport = r16(b, l4 + 2);
  } else if (proto === 17) {
    expect(verifyUdpChecksum(b, l4, l4len, src, dst), 'UDP checksum').toBe(true);
    out.sport = r16(b, l4);
    out.dport = r16(b, l4 + 2);
    out.udpCheck = r16(b, l4 + 6);
  } else if (proto === 1) {
    expect(verifyIcmpChecksum(b, l4, l4len), 'ICMP checksum').toBe(true);
    out.type = b[l4]!;
    out.code = b[l4 + 1]!;
    out.id = r16(b, l4 + 4);
    if (out.type === 3 || out.type === 11) {
      const q = l4 + 8;
      expect(verifyIpv4Checksum(b, q), 'quoted IPv4 header checksum').toBe(true);
      const qp = b[q + 9]!;
      out.inner = {
        src: formatIpv4(r32(b, q + 12)),
        dst: formatIpv4(r32(b, q + 16)),
        sport: r16(b, q + 20),
        dport: r16(b, q + 22),
        proto: qp,
        id: qp === 1 ? r16(b, q + 24) : -1,
      };
    }
  }
  return out;
}

/** Verify the checksum of a transport header quoted whole inside an ICMP error. */
export function verifyQuotedL4(engine: Engine, slot: number): boolean {
  const b = engine.pool.bytes;
  const l3 = engine.pool.base(slot) + L3;
  const q = l3 + 28;
  const total = r16(b, q + 2);
  const src = r32(b, q + 12);
  const dst = r32(b, q + 16);
  const proto = b[q + 9]!;
  if (proto === 6) return verifyTcpChecksum(b, q + 20, total - 20, src, dst);
  if (proto === 17) return verifyUdpChecksum(b, q + 20, total - 20, src, dst);
  return verifyIcmpChecksum(b, q + 20, total - 20);
}

export interface Rejected {
  kind: string;
  slot: number;
  inDev: string;
}

/** A host stack reduced to what netfilter asks of it. */
export class FakeHost implements NetfilterHost {
  locals = new Set<number>();
  masq = new Map<string, number>();
  rejects: Rejected[] = [];
  onReject: ((r: Rejected) => void) | null = null;

  constructor(locals: string[], masq: Record<string, string>) {
    for (const a of locals) this.locals.add(ip(a));
    for (const [dev, a] of Object.entries(masq)) this.masq.set(dev, ip(a));
  }
  isLocalAddress(addr: number): boolean {
    return this.locals.has(addr >>> 0) || addr >>> 24 === 127;
  }
  masqueradeSource(outDev: string): number {
    return this.masq.get(outDev) ?? 0;
  }
  primaryAddress(dev: string): number {
    return this.masq.get(dev) ?? 0;
  }
  reject(kind: Rejected['kind'], slot: number, _l3off: number, inDev: string): void {
    const r = { kind, slot, inDev };
    this.rejects.push(r);
    this.onReject?.(r);
  }
}

export const R = (target: RulePlan['target'], m: Omit<RulePlan, 'target'> = {}): RulePlan => ({ ...m, target });

/** An iptables plan: built-in chains with ACCEPT policies unless given (filter only), then the user chains. */
export function plan(nat: Record<string, RulePlan[]>, filter: Record<string, RulePlan[]> = {}, policies: Record<string, 'ACCEPT' | 'DROP'> = {}): IptablesPlan {
  const table = (builtins: string[], chains: Record<string, RulePlan[]>, pol: Record<string, 'ACCEPT' | 'DROP'>): { chains: ChainPlan[] } => {
    const out: ChainPlan[] = builtins.map((n) => ({ name: n, policy: pol[n] ?? 'ACCEPT', rules: chains[n] ?? [] }));
    for (const [n, rules] of Object.entries(chains)) if (!builtins.includes(n)) out.push({ name: n, policy: null, rules });
    return { chains: out };
  };
  return {
    nat: table(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], nat, {}),
    filter: table(['INPUT', 'FORWARD', 'OUTPUT'], filter, policies),
  };
}

/** dockerd's nat rules for docker0 172.17.0.0/16, with 8080 → 172.17.0.2:8000 published. */
export function dockerNat(): Record<string, RulePlan[]> {
  return {
    PREROUTING: [R({ kind: 'JUMP', chain: 'DOCKER' }, { addrtype: { dst: { type: 'LOCAL', neg: false } } })],
    OUTPUT: [R({ kind: 'JUMP', chain: 'DOCKER' }, { dst: { cidr: '127.0.0.0/8', neg: true }, addrtype: { dst: { type: 'LOCAL', neg: false } } })],
    POSTROUTING: [R({ kind: 'MASQUERADE', toPorts: null }, { src: { cidr: '172.17.0.0/16', neg: false }, out: { name: 'docker0', neg: true } })],
    DOCKER: [
      R({ kind: 'RETURN' }, { in: { name: 'docker0', neg: false } }),
      R({ kind: 'DNAT', to: '172.17.0.2', toPort: 8000 }, { in: { name: 'docker0', neg: true }, proto: { name: 'tcp', neg: false }, dport: { port: 8080, neg: false } }),
    ],
  };
}

/** A docker host: eth0 10.0.0.10 (uplink), docker0 172.17.0.1. */
export function dockerHost(opts: { conntrackMax?: number; filter?: Record<string, RulePlan[]>; policies?: Record<string, 'ACCEPT' | 'DROP'>; nat?: Record<string, RulePlan[]> } = {}): {
  engine: Engine;
  nf: Netfilter;
  host: FakeHost;
} {
  const engine = new Engine({ seed: 7 });
  const host = new FakeHost(['10.0.0.10', '172.17.0.1'], { eth0: '10.0.0.10', docker0: '172.17.0.1' });
  const nf = new Netfilter(engine, engine.rng.fork('nf'), host, opts.conntrackMax === undefined ? {} : { conntrackMax: opts.conntrackMax });
  nf.load(plan(opts.nat ?? dockerNat(), opts.filter ?? {}, opts.policies ?? {}));
  return { engine, nf, host };
}

/** A forwarded packet's way through the host: PREROUTING, FORWARD, POSTROUTING. */
export function forward(nf: Netfilter, slot: number, inDev: string, outDev: string): Verdict {
  if (nf.hook(Hook.PREROUTING, slot, L3, inDev, '') === Verdict.DROP) return Verdict.DROP;
  if (nf.hook(Hook.FORWARD, slot, L3, inDev, outDev) === Verdict.DROP) return Verdict.DROP;
  return nf.hook(Hook.POSTROUTING, slot, L3, '', outDev);
}

/** A packet for the host itself: PREROUTING, INPUT. */
export function input(nf: Netfilter, slot: number, inDev: string): Verdict {
  if (nf.hook(Hook.PREROUTING, slot, L3, inDev, '') === Verdict.DROP) return Verdict.DROP;
  return nf.hook(Hook.INPUT, slot, L3, inDev, '');
}

/** A packet the host sends: OUTPUT, POSTROUTING. */
export function output(nf: Netfilter, slot: number, outDev: string): Verdict {
  if (nf.hook(Hook.OUTPUT, slot, L3, '', outDev) === Verdict.DROP) return Verdict.DROP;
  return nf.hook(Hook.POSTROUTING, slot, L3, '', outDev);
}

export { Hook, Verdict };
