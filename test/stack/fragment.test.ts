// IPv4 fragmentation on output and reassembly on input, frame by frame as Linux does them
// (ip_output.c ip_do_fragment, ip_fragment.c ip_frag_queue / ip_frag_reasm / ip_expire).

import { describe, expect, it } from 'vitest';
import { Ping } from '../../src/sockets/ping.js';
import { Tcp } from '../../src/sockets/tcp.js';
import { SocketError } from '../../src/sockets/ports.js';
import { parseIpv4, parseMac } from '../../src/wire/addr.js';
import { fillIpv4Checksum, fillUdpChecksum } from '../../src/wire/checksum.js';
import { DefragUser } from '../../src/stack/defrag.js';
import {
  df, dstAddr, fragOffset, icmp, icmpCode, icmpType, ipId, ipv4, mf, quoted, srcAddr, totalLength, ttl,
  type Frame,
} from './checker.js';
import { Bridge, container, engine, host, MS, nic, SEC, wire } from './world.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import type { IptablesPlan } from '../../src/plan/plan.js';

const A = '198.51.100.1';
const B = '198.51.100.10';

function twoHosts(seed = 1) {
  const e = engine(seed);
  const w = wire(e);
  const a = host(e, 'a');
  const b = host(e, 'b');
  const an = nic(a, w, 'eth0', '52:54:00:aa:00:01', `${A}/24`);
  const bn = nic(b, w, 'eth0', '52:54:00:aa:00:10', `${B}/24`);
  return { e, a, b, arec: an.rec, brec: bn.rec, an, bn };
}

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = '0123456789abcdef'.charCodeAt(i & 15);
  return out;
}

const u16 = (f: Frame, at: number): number => (f.bytes[at]! << 8) | f.bytes[at + 1]!;
const outIp = (rec: { ip: Frame[] }): Frame[] => rec.ip.filter((f) => f.dir === 'out');

describe('fragmentation on output (ip_do_fragment)', () => {
  it('a 3,000-byte UDP datagram leaves as 1480 + 1480 + 48 bytes of data, no DF, one id, in offset order', () => {
    const { e, a, b, arec } = twoHosts();
    const got: Uint8Array[] = [];
    b.udp.bind({ port: 9000 }, (d) => got.push(d));
    const data = pattern(3000);
    const s = a.udp.send({ dst: B, dport: 9000, data });
    e.run(SEC);
    const f = outIp(arec);
    expect(f.length).toBe(3);
    const id = u16(f[0]!, 14 + 4);
    ipv4(f[0]!, srcAddr(A), dstAddr(B), totalLength(1500), df(false), mf(true), fragOffset(0), ipId(id), ttl(64));
    ipv4(f[1]!, totalLength(1500), df(false), mf(true), fragOffset(1480), ipId(id), ttl(64));
    ipv4(f[2]!, totalLength(20 + 3008 - 2960), df(false), mf(false), fragOffset(2960), ipId(id));
    expect(f.map((x) => x.bytes.length)).toEqual([1514, 1514, 14 + 68]);
    // The first fragment carries the UDP header of the whole datagram (length 3008).
    expect(u16(f[0]!, 34 + 4)).toBe(3008);
    expect(got.length).toBe(1);
    expect(Buffer.from(got[0]!).equals(Buffer.from(data))).toBe(true);
    expect(a.stats.fragOks).toBe(1);
    expect(a.stats.fragCreates).toBe(3);
    expect(b.defrag.stats.oks).toBe(1);
    s.close();
    expect(e.pool.inUse).toBe(0);
  });

  it('a datagram that fits keeps DF (IP_PMTUDISC_WANT); exactly 1472 bytes is one frame', () => {
    const { e, a, b, arec } = twoHosts();
    let n = 0;
    b.udp.bind({ port: 9000 }, () => n++);
    a.udp.send({ dst: B, dport: 9000, data: pattern(1472) });
    a.udp.send({ dst: B, dport: 9000, data: pattern(1473) });
    e.run(SEC);
    const f = outIp(arec);
    expect(f.length).toBe(3);
    ipv4(f[0]!, totalLength(1500), df(true), mf(false), fragOffset(0));
    ipv4(f[1]!, totalLength(1500), df(false), mf(true));
    ipv4(f[2]!, totalLength(21), df(false), mf(false), fragOffset(1480));
    expect(n).toBe(2);
  });

  it('cuts to a multiple of 8 below an odd MTU (1400: 1376-byte pieces)', () => {
    const { e, a, b, arec, an, bn } = twoHosts();
    an.dev.mtu = 1400;
    bn.dev.mtu = 1400;
    let n = 0;
    b.udp.bind({ port: 9000 }, () => n++);
    a.udp.send({ dst: B, dport: 9000, data: pattern(3000) });
    e.run(SEC);
    const f = outIp(arec);
    expect(f.map((x) => u16(x, 14 + 2))).toEqual([1396, 1396, 20 + 3008 - 2752]);
    ipv4(f[1]!, fragOffset(1376));
    ipv4(f[2]!, fragOffset(2752));
    expect(n).toBe(1);
  });

  it('65,507 bytes is the largest UDP payload (45 fragments); 65,508 is EMSGSIZE, never an internal error', () => {
    const { e, a, b, arec } = twoHosts();
    const got: number[] = [];
    b.udp.bind({ port: 9000 }, (d) => got.push(d.length));
    a.udp.send({ dst: B, dport: 9000, data: pattern(65_507) });
    e.run(SEC);
    const f = outIp(arec);
    expect(f.length).toBe(45);
    ipv4(f[44]!, mf(false), fragOffset(44 * 1480), totalLength(20 + 65_515 - 44 * 1480));
    expect(got).toEqual([65_507]);
    let err: unknown = null;
    try {
      a.udp.send({ dst: B, dport: 9000, data: pattern(65_508) });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(SocketError);
    expect((err as SocketError).code).toBe('EMSGSIZE');
    expect(e.pool.inUse).toBe(0);
  });

  it('ping -s 3000: the request and the reply both travel in three fragments without DF', () => {
    const { e, a, arec, brec } = twoHosts();
    const ping = new Ping(a, { dst: B, count: 2, size: 3000 });
    ping.start();
    e.run(5 * SEC);
    expect(ping.received).toBe(2);
    const req = outIp(arec);
    expect(req.length).toBe(6);
    // (A first fragment's ICMP checksum covers the whole message: read type and sequence as bytes.)
    ipv4(req[0]!, totalLength(1500), df(false), mf(true), fragOffset(0));
    expect([req[0]!.bytes[34], u16(req[0]!, 34 + 6)]).toEqual([8, 1]);
    ipv4(req[2]!, totalLength(20 + 3008 - 2960), mf(false), fragOffset(2960));
    const rep = outIp(brec);
    expect(rep.length).toBe(6);
    ipv4(rep[0]!, srcAddr(B), totalLength(1500), df(false), mf(true), fragOffset(0));
    expect([rep[0]!.bytes[34], u16(rep[0]!, 34 + 6)]).toEqual([0, 1]);
    expect(u16(rep[0]!, 18)).toBe(u16(rep[1]!, 18));
    expect(e.pool.inUse).toBe(0);
  });
});

// ---- reassembly -----------------------------------------------------------------------------------

/** Fragments of one UDP datagram from A to B, cut at the given data offsets (bytes, multiples of 8). */
function udpFragments(payload: Uint8Array, cuts: number[], id = 0x1234, dfBit = false): Uint8Array[] {
  const l4 = new Uint8Array(8 + payload.length);
  const dv = new DataView(l4.buffer);
  dv.setUint16(0, 40000);
  dv.setUint16(2, 9000);
  dv.setUint16(4, l4.length);
  l4.set(payload, 8);
  // The checksum over the whole datagram, as the sender computes it before fragmenting.
  const whole = new Uint8Array(34 + l4.length);
  whole.set(l4, 34);
  fillUdpChecksum(whole, 34, l4.length, parseIpv4(A), parseIpv4(B));
  l4.set(whole.subarray(34));
  const bounds = [0, ...cuts, l4.length];
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i]!;
    const to = bounds[i + 1]!;
    out.push(fragment(l4.subarray(from, to), from, to < l4.length, id, dfBit));
  }
  return out;
}

function fragment(data: Uint8Array, offset: number, more: boolean, id: number, dfBit = false, proto = 17): Uint8Array {
  const f = new Uint8Array(34 + data.length);
  const dv = new DataView(f.buffer);
  // Ethernet: to B's MAC from A's.
  f.set([0x52, 0x54, 0x00, 0xaa, 0x00, 0x10, 0x52, 0x54, 0x00, 0xaa, 0x00, 0x01, 0x08, 0x00]);
  dv.setUint8(14, 0x45);
  dv.setUint16(16, 20 + data.length);
  dv.setUint16(18, id);
  dv.setUint16(20, (dfBit ? 0x4000 : 0) | (more ? 0x2000 : 0) | (offset >> 3));
  dv.setUint8(22, 64);
  dv.setUint8(23, proto);
  dv.setUint32(26, parseIpv4(A));
  dv.setUint32(30, parseIpv4(B));
  fillIpv4Checksum(f, 14);
  f.set(data, 34);
  return f;
}

function receiver(seed = 1) {
  const w = twoHosts(seed);
  const got: Uint8Array[] = [];
  w.b.udp.bind({ port: 9000 }, (d) => got.push(d));
  // A knows B (no ARP in the way of the ICMP answers A may get).
  const inject = (frames: Uint8Array[], gapNs = MS): void => {
    let t = w.e.now;
    for (const fr of frames) {
      const copy = fr;
      w.e.at(t, () => w.bn.dev.receive(w.e.pool.fromBytes(copy)));
      t += gapNs;
    }
  };
  return { ...w, got, inject };
}

describe('reassembly (ip_defrag)', () => {
  it('any arrival order gives the datagram once; exact duplicates are dropped alone', () => {
    const payload = pattern(4000);
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]]) {
      const r = receiver();
      const frags = udpFragments(payload, [1480, 2960]);
      r.inject(order.map((i) => frags[i]!));
      r.e.run(SEC);
      expect(r.got.length, `order ${order}`).toBe(1);
      expect(Buffer.from(r.got[0]!).equals(Buffer.from(payload))).toBe(true);
      expect(r.b.defrag.pending).toBe(0);
      expect(r.e.pool.inUse).toBe(0);
    }
    const r = receiver();
    const frags = udpFragments(payload, [1480, 2960]);
    r.inject([frags[0]!, frags[0]!, frags[1]!, frags[2]!]);
    r.e.run(SEC);
    expect(r.got.length).toBe(1);
    expect(r.b.defrag.stats.overlaps).toBe(0);
  });

  it('a partial overlap drops the whole datagram (RFC 5722-like, Linux 4.19+)', () => {
    const r = receiver();
    const payload = pattern(3000);
    const frags = udpFragments(payload, [1480]);
    // A second piece starting 8 bytes inside the first.
    const l4 = new Uint8Array(8 + payload.length);
    const overlap = fragment(l4.subarray(1472, 1472 + 800), 1472, true, 0x1234);
    r.inject([frags[0]!, overlap, frags[1]!]);
    r.e.run(SEC);
    expect(r.got.length).toBe(0);
    expect(r.b.defrag.stats.overlaps).toBe(1);
    // The third fragment started a new queue, which then times out without its first fragment.
    r.e.run(40 * SEC);
    expect(r.b.defrag.pending).toBe(0);
    expect(r.e.pool.inUse).toBe(0);
  });

  it('after ipfrag_time (30 s) an incomplete datagram is dropped with ICMP time exceeded code 1 quoting its first fragment', () => {
    const r = receiver();
    const frags = udpFragments(pattern(3000), [1480]);
    r.inject([frags[0]!]);
    r.e.run(29 * SEC);
    expect(r.b.defrag.pending).toBe(1);
    r.e.run(31 * SEC + MS);
    expect(r.b.defrag.pending).toBe(0);
    expect(r.b.defrag.stats.timeouts).toBe(1);
    const icmpOut = outIp(r.brec);
    expect(icmpOut.length).toBe(1);
    const t0 = r.brec.frames.find((f) => f.dir === 'in')!.t;
    expect(icmpOut[0]!.t - t0).toBeGreaterThanOrEqual(30 * SEC);
    ipv4(icmpOut[0]!, srcAddr(B), dstAddr(A), df(false), icmp(icmpType(11), icmpCode(1), quoted(totalLength(1500), mf(true), fragOffset(0))));
    // 576-byte limit: 20 + 8 + 548 quoted bytes.
    ipv4(icmpOut[0]!, totalLength(576));
    expect(r.got.length).toBe(0);
  });

  it('no ICMP when the first fragment never came', () => {
    const r = receiver();
    const frags = udpFragments(pattern(3000), [1480]);
    r.inject([frags[1]!]);
    r.e.run(40 * SEC);
    expect(r.b.defrag.stats.timeouts).toBe(1);
    expect(outIp(r.brec).filter((f) => f.bytes[14 + 9] === 1).length).toBe(0);
    expect(r.e.pool.inUse).toBe(0);
  });

  it('a second last fragment ending elsewhere, or a fragment past the end, kills the queue', () => {
    const r = receiver();
    const payload = pattern(3000);
    const frags = udpFragments(payload, [1480]);
    const l4 = new Uint8Array(8 + payload.length);
    r.inject([frags[1]!, fragment(l4.subarray(1480, 1480 + 16), 1480, false, 0x1234), frags[0]!]);
    r.e.run(SEC);
    expect(r.got.length).toBe(0);
    expect(r.b.defrag.stats.fails).toBeGreaterThanOrEqual(1);
  });

  it('over ipfrag_high_thresh new fragments are dropped', () => {
    const r = receiver();
    r.b.defrag.highThresh = 10_000;
    const first: Uint8Array[] = [];
    for (let id = 1; id <= 10; id++) first.push(udpFragments(pattern(3000), [1480], id)[0]!);
    r.inject(first, 0);
    r.e.run(MS);
    // Each queued fragment costs ~2.3 KiB of truesize: the 6th finds the limit passed.
    expect(r.b.defrag.pending).toBeLessThan(10);
    expect(r.b.defrag.mem).toBeLessThanOrEqual(10_000 + 2400);
    r.e.run(40 * SEC);
    expect(r.b.defrag.mem).toBe(0);
    expect(r.e.pool.inUse).toBe(0);
  });

  it('ip_frag_too_far: more than 64 fragments from the source in between restarts the queue', () => {
    const r = receiver();
    const payload = pattern(3000);
    const frags = udpFragments(payload, [1480]);
    const others: Uint8Array[] = [];
    for (let id = 100; id < 166; id++) others.push(udpFragments(pattern(100), [48], id)[1]!);
    r.inject([frags[0]!, ...others, frags[1]!], 0);
    r.e.run(MS);
    expect(r.got.length).toBe(0);
    // Within 64 it completes.
    const r2 = receiver();
    r2.inject([frags[0]!, ...others.slice(0, 63), frags[1]!], 0);
    r2.e.run(MS);
    expect(r2.got.length).toBe(1);
  });

  it('users do not share queues: local delivery and conntrack reassemble apart', () => {
    expect(DefragUser.LOCAL_DELIVER).not.toBe(DefragUser.CONNTRACK_IN);
  });
});

describe('forwarding fragments without conntrack', () => {
  it('a router passes fragments on as they are, refragmenting one that exceeds its next MTU', () => {
    const e = engine(5);
    const left = wire(e, 'left');
    const right = wire(e, 'right');
    const a = host(e, 'a');
    const an = nic(a, left, 'eth0', '52:54:00:00:00:0a', '10.0.1.2/24');
    a.addRoute({ to: 'default', via: '10.0.1.1' });
    const r = host(e, 'r', true);
    nic(r, left, 'eth0', '52:54:00:00:01:00', '10.0.1.1/24');
    const r1 = nic(r, right, 'eth1', '52:54:00:00:01:01', '10.0.2.1/24');
    r1.dev.mtu = 1000;
    const c = host(e, 'c');
    const cn = nic(c, right, 'eth0', '52:54:00:00:00:0c', '10.0.2.3/24');
    cn.dev.mtu = 1000;
    c.addRoute({ to: 'default', via: '10.0.2.1' });
    const got: number[] = [];
    c.udp.bind({ port: 9000 }, (d) => got.push(d.length));
    a.udp.send({ dst: '10.0.2.3', dport: 9000, data: pattern(3000) });
    e.run(SEC);
    const sent = outIp(an.rec);
    expect(sent.map((f) => u16(f, 16))).toEqual([1500, 1500, 68]);
    const onRight = outIp(r1.rec);
    // 1480 data → 976 + 504 each; the last (48 bytes) as is; offsets continue the original ones.
    expect(onRight.map((f) => u16(f, 16))).toEqual([996, 524, 996, 524, 68]);
    expect(onRight.map((f) => (u16(f, 20) & 0x1fff) * 8)).toEqual([0, 976, 1480, 2456, 2960]);
    expect(onRight.map((f) => (u16(f, 20) & 0x2000) !== 0)).toEqual([true, true, true, true, false]);
    onRight.forEach((f) => ipv4(f, ttl(63), df(false)));
    expect(got).toEqual([3000]);
    expect(e.pool.inUse).toBe(0);
  });

  it('DF too big: ICMP fragmentation needed with the next-hop MTU, and the sender learns the path MTU', () => {
    const e = engine(6);
    const left = wire(e, 'left');
    const right = wire(e, 'right');
    const a = host(e, 'a');
    const an = nic(a, left, 'eth0', '52:54:00:00:00:0a', '10.0.1.2/24');
    a.addRoute({ to: 'default', via: '10.0.1.1' });
    const r = host(e, 'r', true);
    nic(r, left, 'eth0', '52:54:00:00:01:00', '10.0.1.1/24');
    const r1 = nic(r, right, 'eth1', '52:54:00:00:01:01', '10.0.2.1/24');
    r1.dev.mtu = 1400;
    const c = host(e, 'c');
    nic(c, right, 'eth0', '52:54:00:00:00:0c', '10.0.2.3/24').dev.mtu = 1400;
    c.addRoute({ to: 'default', via: '10.0.2.1' });
    const got: number[] = [];
    c.udp.bind({ port: 9000 }, (d) => got.push(d.length));
    const s = a.udp.bind({});
    s.send(pattern(1472), '10.0.2.3', 9000); // fits A's link: DF
    e.run(SEC);
    const back = an.rec.ip.filter((f) => f.dir === 'in');
    expect(back.length).toBe(1);
    ipv4(back[0]!, srcAddr('10.0.1.1'), icmp(icmpType(3), icmpCode(4), quoted(totalLength(1500), df(true))));
    expect(u16(back[0]!, 34 + 6)).toBe(1400);
    expect(got).toEqual([]);
    expect(a.pathMtu(parseIpv4('10.0.2.3'))).toBe(1400);
    // The same datagram again now leaves in two fragments sized for 1400, without DF.
    s.send(pattern(1472), '10.0.2.3', 9000);
    e.run(2 * SEC);
    const again = outIp(an.rec).slice(1);
    expect(again.map((f) => u16(f, 16))).toEqual([1396, 20 + 1480 - 1376]);
    again.forEach((f) => ipv4(f, df(false)));
    expect(got).toEqual([1472]);
    // A TCP connection opened now advertises and uses the path MTU's MSS (advmss = 1400 - 40).
    const tcp = new Tcp(a);
    a.setTransport(6, tcp);
    tcp.connect({ dst: parseIpv4('10.0.2.3'), dport: 80 }, {});
    e.run(3 * SEC);
    const syn = outIp(an.rec).find((f) => f.bytes[14 + 9] === 6)!;
    // Options start at 34 + 20: kind 2, length 4, MSS.
    expect([syn.bytes[54], syn.bytes[55], u16(syn, 56)]).toEqual([2, 4, 1360]);
    // ip_rt_mtu_expires: 600 s later the device MTU applies again.
    e.run(602 * SEC);
    expect(a.pathMtu(parseIpv4('10.0.2.3'))).toBe(1500);
  });
});

describe('nf_defrag: conntrack and NAT see whole datagrams, forwarding refragments (frag_max_size)', () => {
  function table(chains: string[], rules: Record<string, IptablesPlan['nat']['chains'][number]['rules']> = {}) {
    return { chains: chains.map((name) => ({ name, policy: 'ACCEPT' as const, rules: rules[name] ?? [] })) };
  }
  function natWorld() {
    const e = engine(11);
    const lan = wire(e, 'wan');
    const server = host(e, 'server');
    const sn = nic(server, lan, 'eth0', '52:54:00:aa:00:01', '198.51.100.1/24');
    const dh = host(e, 'dh', true);
    const dn = nic(dh, lan, 'eth0', '52:54:00:aa:00:10', '198.51.100.10/24');
    dh.addRoute({ to: 'default', via: '198.51.100.1' });
    const br = new Bridge(e, 'docker0', parseMac('02:42:c0:00:00:01'));
    dh.addDevice(br);
    dh.addAddress('docker0', '172.17.0.1/16');
    const ct = container(e, br, dh, 'ct', '02:42:ac:11:00:02', '172.17.0.2/16', '172.17.0.1');
    const nf = new Netfilter(e, dh.rng.fork('nf'), dh);
    nf.load({
      nat: table(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], {
        POSTROUTING: [{ src: { cidr: '172.17.0.0/16', neg: false }, out: { name: 'docker0', neg: true }, target: { kind: 'MASQUERADE', toPorts: null } }],
      }),
      filter: table(['INPUT', 'FORWARD', 'OUTPUT']),
    });
    dh.filter = nf;
    return { e, server, srec: sn.rec, dh, drec: dn.rec, ct, nf };
  }

  it('a 3,000-byte UDP datagram through MASQUERADE: NATed once, refragmented 1500/1500/68 both ways', () => {
    const { e, server, srec, dh, drec, ct, nf } = natWorld();
    const echoed: number[] = [];
    server.udp.bind({ port: 7 }, (d, _f, _p, reply) => reply(d));
    const data = pattern(3000);
    const got: Uint8Array[] = [];
    ct.h.udp.send({ dst: '198.51.100.1', dport: 7, data, onDatagram: (d) => got.push(d) });
    e.run(2 * SEC);
    expect(got.length).toBe(1);
    expect(Buffer.from(got[0]!).equals(Buffer.from(data))).toBe(true);
    const fromCt = outIp(ct.rec);
    expect(fromCt.map((f) => u16(f, 16))).toEqual([1500, 1500, 68]);
    const out = outIp(drec);
    expect(out.map((f) => u16(f, 16))).toEqual([1500, 1500, 68]);
    const id = u16(fromCt[0]!, 18);
    // Same id and offsets as the container sent; source rewritten in every fragment; TTL 63.
    out.forEach((f, i) => ipv4(f, srcAddr('198.51.100.10'), dstAddr('198.51.100.1'), ipId(id), ttl(63), df(false), mf(i < 2), fragOffset(i * 1480)));
    // The server reassembled a datagram whose UDP checksum (NATed once, in the first fragment) is right.
    expect(server.udp.stats.inErrors).toBe(0);
    expect(server.defrag.stats.oks).toBe(1);
    // The reply: the host reassembled it (conntrack), un-NATed it and refragmented it to the container.
    const back = ct.rec.ip.filter((f) => f.dir === 'in');
    expect(back.map((f) => u16(f, 16))).toEqual([1500, 1500, 68]);
    back.forEach((f) => ipv4(f, srcAddr('198.51.100.1'), dstAddr('172.17.0.2'), ttl(63)));
    expect(dh.defrag.stats.oks).toBe(2);
    expect(nf.conntrack.stats.new).toBe(1);
    expect(nf.conntrack.stats.found).toBe(1);
    expect(srec.ip.filter((f) => f.dir === 'in').length).toBe(3);
    expect(echoed).toEqual([]);
    expect(e.pool.inUse).toBe(0);
  });
});
