import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as arp from '../../src/wire/arp.js';
import { ARP, arpIsEthernetIpv4, arpOperation, arpSenderIp, arpSenderMac, arpTargetIp, arpTargetMac, ArpOp } from '../../src/wire/arp.js';
import * as ethernet from '../../src/wire/ethernet.js';
import { ethDst, ethSrc, ethType, EtherType, setEthDst, setEthSrc, setEthType, writeEthernet } from '../../src/wire/ethernet.js';
import { parseIpv4, parseMac } from '../../src/wire/addr.js';
import { arpRepr, ethernetRepr } from './arbitraries.js';
import { hex, roundTrip, toHex, wireErrorOf } from './helpers.js';

// nat-basic/ct.eth0.pcap: who-has 172.17.0.1 tell 172.17.0.2 (42 bytes, unpadded on the veth).
const ARP_REQUEST = hex('ffff ffff ffff 0242 ac11 0002 0806 0001 0800 0604 0001 0242 ac11 0002 ac11 0002 0000 0000 0000 ac11 0001');
// vm-nat/vg.tap0.pcap: libslirp's reply, padded with zeros to 64 bytes.
const SLIRP_ARP_REPLY = hex(
  '9647 f479 116d 5255 0a00 0202 0806 0001 0800 0604 0002 5255 0a00 0202 0a00 0202 9647 f479 116d 0a00 0264' + '00'.repeat(22),
);

describe('Ethernet', () => {
  it('test_parse: a real ARP broadcast', () => {
    expect(ethernet.parse(ARP_REQUEST, 0, ARP_REQUEST.length)).toEqual({
      dst: 0xffffffffffff,
      src: parseMac('02:42:ac:11:00:02'),
      vlans: [],
      ethertype: EtherType.ARP,
    });
  });
  it('test_emit: into a 0xa5 buffer gives the real bytes', () => {
    const b = roundTrip(ethernet, { dst: 0xffffffffffff, src: 0x0242ac110002, vlans: [], ethertype: 0x0806 });
    expect(toHex(b)).toBe(toHex(ARP_REQUEST.subarray(0, 14)));
  });
  it('802.1Q and QinQ tags', () => {
    const f = hex('0242ac110002 0242c0000001 88a8 a064 8100 300a 0800 45');
    const r = ethernet.parse(f, 0, f.length);
    expect(r.vlans).toEqual([
      { tpid: 0x88a8, pcp: 5, dei: false, vid: 100 },
      { tpid: 0x8100, pcp: 1, dei: true, vid: 10 },
    ]);
    expect(r.ethertype).toBe(0x0800);
    expect(ethernet.bufferLen(r)).toBe(22);
    expect(toHex(roundTrip(ethernet, r))).toBe(toHex(f.subarray(0, 22)));
  });
  it('truncated headers and tags', () => {
    expect(wireErrorOf(() => ethernet.parse(ARP_REQUEST, 0, 13))).toMatchObject({ code: 'truncated', protocol: 'ethernet', offset: 0 });
    const tagged = hex('0242ac110002 0242c0000001 8100 0064');
    expect(wireErrorOf(() => ethernet.parse(tagged, 0, tagged.length))).toMatchObject({ code: 'truncated', offset: 12 });
  });
  it('fast accessors agree with the Repr', () => {
    const b = new Uint8Array(20).fill(0xa5);
    const v = new DataView(b.buffer);
    writeEthernet(v, 3, 0x0242ac110002, 0x0242c0000001, 0x0800);
    expect(ethernet.parse(b, 3, 17)).toEqual({ dst: 0x0242ac110002, src: 0x0242c0000001, vlans: [], ethertype: 0x0800 });
    setEthDst(v, 3, 0xffffffffffff);
    setEthSrc(v, 3, 1);
    setEthType(v, 3, 0x0806);
    expect([ethDst(v, 3), ethSrc(v, 3), ethType(v, 3)]).toEqual([0xffffffffffff, 1, 0x0806]);
  });
  it('round-trips any header', () => {
    fc.assert(fc.property(ethernetRepr, (r) => void roundTrip(ethernet, r)));
  });
});

describe('ARP', () => {
  it('test_parse: Linux request and libslirp padded reply', () => {
    expect(arp.parse(ARP_REQUEST, 14, ARP_REQUEST.length - 14)).toEqual({
      operation: ArpOp.REQUEST,
      senderMac: 0x0242ac110002,
      senderIp: parseIpv4('172.17.0.2'),
      targetMac: 0,
      targetIp: parseIpv4('172.17.0.1'),
    });
    const reply = arp.parse(SLIRP_ARP_REPLY, 14, SLIRP_ARP_REPLY.length - 14);
    expect(reply).toMatchObject({ operation: ArpOp.REPLY, senderMac: parseMac('52:55:0a:00:02:02'), senderIp: parseIpv4('10.0.2.2') });
  });
  it('test_emit', () => {
    const r = arp.parse(ARP_REQUEST, 14, 28);
    expect(toHex(roundTrip(arp, r))).toBe(toHex(ARP_REQUEST.subarray(14)));
  });
  it('fast accessors', () => {
    const v = new DataView(ARP_REQUEST.buffer, ARP_REQUEST.byteOffset);
    expect(arpIsEthernetIpv4(v, 14)).toBe(true);
    expect(arpOperation(v, 14)).toBe(1);
    expect(arpSenderMac(v, 14)).toBe(0x0242ac110002);
    expect(arpSenderIp(v, 14)).toBe(0xac110002);
    expect(arpTargetMac(v, 14)).toBe(0);
    expect(arpTargetIp(v, 14)).toBe(0xac110001);
  });
  it('refuses what it cannot read, saying where', () => {
    const b = ARP_REQUEST.slice(14);
    expect(wireErrorOf(() => arp.parse(b, 0, 27))).toMatchObject({ code: 'truncated', protocol: 'arp' });
    expect(wireErrorOf(() => arp.parse(b, 0, 7))).toMatchObject({ code: 'truncated' });
    const ieee = b.slice();
    ieee[1] = 6;
    expect(wireErrorOf(() => arp.parse(ieee, 0, 28))).toMatchObject({ code: 'bad-value', offset: ARP.HTYPE });
    const v6 = b.slice();
    v6[2] = 0x86;
    v6[3] = 0xdd;
    expect(wireErrorOf(() => arp.parse(v6, 0, 28))).toMatchObject({ code: 'bad-value', offset: ARP.PTYPE });
    const lens = b.slice();
    lens[5] = 16;
    expect(wireErrorOf(() => arp.parse(lens, 0, 28))).toMatchObject({ code: 'bad-length', offset: ARP.HLEN });
  });
  it('round-trips any packet', () => {
    fc.assert(fc.property(arpRepr, (r) => void roundTrip(arp, r)));
  });
});
