// Two hosts on one wire: ARP, ICMP echo, the neighbour refresh, and ARP failure, checked frame by frame
// against what real Linux sends (fixtures/real-captures).

import { describe, expect, it } from 'vitest';
import { Ping } from '../../src/sockets/ping.js';
import { Nud } from '../../src/stack/neighbour.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import {
  arp, arpOp, df, dstAddr, echoIdent, echoSeq, ethDst, ethSrc, ethernet, frameLength, icmp, icmpCode, icmpPayload,
  icmpType, ipv4, quoted, Recorder, senderIp, senderMac, srcAddr, targetIp, targetMac, tos, totalLength, ttl,
} from './checker.js';
import { engine, host, MS, nic, SEC, wire } from './world.js';

const A_MAC = '52:54:00:aa:00:01';
const B_MAC = '52:54:00:aa:00:10';

function twoHosts(seed = 1) {
  const e = engine(seed);
  const w = wire(e);
  const a = host(e, 'a');
  const b = host(e, 'b');
  const an = nic(a, w, 'eth0', A_MAC, '198.51.100.1/24');
  const bn = nic(b, w, 'eth0', B_MAC, '198.51.100.10/24');
  return { e, a, b, arec: an.rec, brec: bn.rec };
}

describe('ARP then ICMP echo between two hosts', () => {
  it('resolves with a 42-byte broadcast request and a unicast reply, then echoes', () => {
    const { e, a, b, arec } = twoHosts();
    const ping = new Ping(a, { dst: '198.51.100.10', count: 1 });
    ping.start();
    e.run(2 * SEC);

    const f = arec.frames;
    expect(f.map((x) => x.dir)).toEqual(['out', 'in', 'out', 'in']);
    ethernet(f[0]!, ethDst('ff:ff:ff:ff:ff:ff'), ethSrc(A_MAC), frameLength(42));
    arp(f[0]!, arpOp('request'), senderMac(A_MAC), senderIp('198.51.100.1'), targetMac(0), targetIp('198.51.100.10'));
    ethernet(f[1]!, ethDst(A_MAC), ethSrc(B_MAC), frameLength(42));
    arp(f[1]!, arpOp('reply'), senderMac(B_MAC), senderIp('198.51.100.10'), targetMac(A_MAC), targetIp('198.51.100.1'));

    // Echo request as iputils ping sends it: DF, TTL 64, TOS 0, 56 data bytes.
    ethernet(f[2]!, ethDst(B_MAC), ethSrc(A_MAC), frameLength(98));
    ipv4(f[2]!, srcAddr('198.51.100.1'), dstAddr('198.51.100.10'), ttl(64), tos(0), df(true), totalLength(84),
      icmp(icmpType(8), icmpCode(0), echoIdent(ping.ident), echoSeq(1)));
    // Reply: no DF, TTL 64, same ident/seq/payload.
    const reqPayload = f[2]!.bytes.subarray(14 + 20 + 8);
    ipv4(f[3]!, srcAddr('198.51.100.10'), dstAddr('198.51.100.1'), ttl(64), tos(0), df(false), totalLength(84),
      icmp(icmpType(0), icmpCode(0), echoIdent(ping.ident), echoSeq(1), icmpPayload(reqPayload)));

    expect(ping.received).toBe(1);
    expect(ping.lastReply!.ttl).toBe(64);
    // A learned B from its reply (REACHABLE); B learned A from the request (STALE), then used it (DELAY).
    expect(a.neighbourState('eth0', parseIpv4('198.51.100.10'))).toBe(Nud.REACHABLE);
    expect(b.neighbourState('eth0', parseIpv4('198.51.100.1'))).toBe(Nud.DELAY);
  });

  it('puts the timeval and the 0x10, 0x11, … pattern in the payload, as iputils does', () => {
    const { e, a, arec } = twoHosts();
    const ping = new Ping(a, { dst: '198.51.100.10', count: 1, epochSec: 1_700_000_000.51909 });
    ping.start();
    e.run(SEC);
    const req = arec.ip[0]!.bytes;
    const data = req.subarray(42);
    expect(data.length).toBe(56);
    const dv = new DataView(data.buffer, data.byteOffset);
    expect(dv.getUint32(0, true)).toBe(1_700_000_000);
    expect(dv.getUint32(4, true)).toBe(0);
    expect(dv.getUint32(8, true)).toBe(519_090);
    expect(dv.getUint32(12, true)).toBe(0);
    for (let i = 16; i < 56; i++) expect(data[i]).toBe(i);
  });

  it('sends count requests an interval apart with rising sequence numbers', () => {
    const { e, a, arec } = twoHosts();
    const ping = new Ping(a, { dst: '198.51.100.10', count: 3, intervalNs: 200 * MS, size: 100 });
    const seqs: number[] = [];
    ping.onReply = (r) => seqs.push(r.seq);
    ping.start();
    e.run(5 * SEC);
    const reqs = arec.ip.filter((x) => x.dir === 'out');
    expect(reqs.length).toBe(3);
    reqs.forEach((r, i) => ipv4(r, totalLength(128), icmp(icmpType(8), echoSeq(i + 1))));
    expect(reqs[1]!.t - reqs[0]!.t).toBe(200 * MS);
    expect(reqs[2]!.t - reqs[1]!.t).toBe(200 * MS);
    expect(seqs).toEqual([1, 2, 3]);
  });
});

describe('neighbour refresh (the "ARP refresh about 5 s after" of the real captures)', () => {
  it('DELAY turns into PROBE 5 s after first use: one unicast request, answered, entry REACHABLE', () => {
    const { e, a, b, brec } = twoHosts();
    const ping = new Ping(a, { dst: '198.51.100.10', count: 1 });
    ping.start();
    e.run(20 * SEC);
    const arps = brec.arp;
    // request in, reply out (t≈0), then B's unicast probe and A's reply 5 s after B used the entry.
    expect(arps.length).toBe(4);
    const probe = arps[2]!;
    expect(probe.dir).toBe('out');
    ethernet(probe, ethDst(A_MAC), ethSrc(B_MAC), frameLength(42));
    arp(probe, arpOp('request'), senderMac(B_MAC), senderIp('198.51.100.10'), targetMac(0), targetIp('198.51.100.1'));
    const replyOut = brec.ip.find((x) => x.dir === 'out')!;
    expect(probe.t - replyOut.t).toBe(5 * SEC);
    arp(arps[3]!, arpOp('reply'), senderIp('198.51.100.1'), targetIp('198.51.100.10'));
    expect(b.neighbourState('eth0', parseIpv4('198.51.100.1'))).toBe(Nud.REACHABLE);
  });

  it('a REACHABLE entry nobody uses goes STALE after reachable_time (15–45 s) without any frame', () => {
    const { e, a, arec } = twoHosts();
    new Ping(a, { dst: '198.51.100.10', count: 1 }).start();
    e.run(10 * SEC);
    const nFrames = arec.frames.length;
    expect(a.neighbourState('eth0', parseIpv4('198.51.100.10'))).toBe(Nud.REACHABLE);
    e.run(60 * SEC);
    expect(a.neighbourState('eth0', parseIpv4('198.51.100.10'))).toBe(Nud.STALE);
    // A sent nothing more itself (B's probe and A's reply to it are the only new frames).
    const newOut = arec.frames.slice(nFrames).filter((x) => x.dir === 'out');
    expect(newOut.every((x) => x.bytes[12] === 0x08 && x.bytes[13] === 0x06 && x.bytes[21] === 2)).toBe(true);
  });
});

describe('ARP failure', () => {
  it('three broadcast requests 1 s apart, then ICMP host unreachable to the local sender (via lo)', () => {
    const { e, a, arec } = twoHosts();
    const lo = Recorder.on(a.device('lo'));
    const ping = new Ping(a, { dst: '198.51.100.99', count: 1 });
    ping.start();
    e.run(10 * SEC);
    const reqs = arec.arp;
    expect(reqs.length).toBe(3);
    reqs.forEach((r) => {
      ethernet(r, ethDst('ff:ff:ff:ff:ff:ff'), frameLength(42));
      arp(r, arpOp('request'), senderIp('198.51.100.1'), targetIp('198.51.100.99'), targetMac(0));
    });
    expect(reqs.map((r) => r.t)).toEqual([0, SEC, 2 * SEC]);
    // Nothing but ARP left the NIC: the echo request waited and was dropped.
    expect(arec.ip.length).toBe(0);
    // The error comes back over lo, 3 s after the first request, from our own address.
    expect(lo.frames.length).toBe(1);
    const err = lo.frames[0]!;
    expect(err.t).toBe(3 * SEC);
    ipv4(err, srcAddr('198.51.100.1'), dstAddr('198.51.100.1'), tos(0xc0), df(false), ttl(64),
      icmp(icmpType(3), icmpCode(1), quoted(srcAddr('198.51.100.1'), dstAddr('198.51.100.99'), df(true), icmp(icmpType(8)))));
    expect(ping.errors).toEqual([{ seq: 1, from: parseIpv4('198.51.100.1'), type: 3, code: 1 }]);
    expect(a.neighbourState('eth0', parseIpv4('198.51.100.99'))).toBe(Nud.FAILED);
  });

  it('a later packet to a FAILED neighbour starts a new round of requests', () => {
    const { e, a, arec } = twoHosts();
    new Ping(a, { dst: '198.51.100.99', count: 2, intervalNs: 5 * SEC }).start();
    e.run(20 * SEC);
    expect(arec.arp.map((r) => r.t)).toEqual([0, SEC, 2 * SEC, 5 * SEC, 6 * SEC, 7 * SEC]);
  });
});

describe('announcements (Docker 28 unsolicited ARP)', () => {
  it('broadcasts request sip = tip = addr, tha zero; a neighbour that knew the address takes the new MAC', () => {
    const { e, a, b, brec } = twoHosts();
    // A knows B at B_MAC; B "moves" to a new MAC and announces.
    new Ping(a, { dst: '198.51.100.10', count: 1 }).start();
    e.run(2 * SEC);
    b.device('eth0').mac = 0x5254000000ff;
    b.announce('eth0', parseIpv4('198.51.100.10'));
    e.run(4 * SEC);
    const ann = brec.arp.filter((f) => f.dir === 'out').at(-1)!;
    ethernet(ann, ethDst('ff:ff:ff:ff:ff:ff'), ethSrc('52:54:00:00:00:ff'), frameLength(42));
    arp(ann, arpOp('request'), senderMac('52:54:00:00:00:ff'), senderIp('198.51.100.10'), targetMac(0), targetIp('198.51.100.10'));
    expect(a.neigh.mac(a.device('eth0').ifindex, parseIpv4('198.51.100.10'))).toBe(0x5254000000ff);
    expect(a.neighbourState('eth0', parseIpv4('198.51.100.10'))).toBe(Nud.STALE);
  });

  it('a host that did not know the address learns nothing from it (arp_accept 0)', () => {
    const { e, a, b } = twoHosts();
    b.announce('eth0', parseIpv4('198.51.100.10'));
    e.run(SEC);
    expect(a.neighbourState('eth0', parseIpv4('198.51.100.10'))).toBe(Nud.NONE);
  });
});

describe('input filtering', () => {
  it('drops frames for another host\'s MAC (PACKET_OTHERHOST) without answering', () => {
    const { e, b, brec } = twoHosts();
    const pool = e.pool;
    // An echo request to B's IP but to a foreign MAC, as a promiscuous tap would pass it up.
    const frame = new Uint8Array(98);
    frame.set([0x02, 0, 0, 0, 0, 0x99, 0x52, 0x54, 0, 0xaa, 0, 0x01, 0x08, 0x00], 0);
    const slot = pool.fromBytes(frame);
    b.deliver(b.device('eth0'), slot);
    e.run(SEC);
    expect(b.stats.otherHost).toBe(1);
    expect(brec.frames.length).toBe(0);
    expect(pool.inUse).toBe(0);
  });
});

describe('ping over 65,535 requests', () => {
  it('counts every reply across the 16-bit sequence wrap (65,535 → 0 → 1 …), duplicates apart', () => {
    const { e, a, arec } = twoHosts(3);
    const count = 65_540;
    const ping = new Ping(a, { dst: '198.51.100.10', count, intervalNs: MS / 4, size: 8 });
    const wrapSeqs: number[] = [];
    ping.onReply = (r) => {
      if (ping.received >= 65_534) wrapSeqs.push(r.seq);
    };
    ping.start();
    e.run(60 * SEC);
    expect(ping.transmitted).toBe(count);
    expect(ping.received).toBe(count);
    expect(ping.duplicates).toBe(0);
    expect(ping.done).toBe(true);
    // On the wire: request 65,536 carries sequence 0, request 65,537 sequence 1.
    expect(wrapSeqs).toEqual([65_534, 65_535, 0, 1, 2, 3, 4]);
    const reqs = arec.ip.filter((x) => x.dir === 'out');
    ipv4(reqs[65_535]!, icmp(icmpType(8), echoSeq(0)));
    ipv4(reqs[65_539]!, icmp(icmpType(8), echoSeq(4)));
  });
});
