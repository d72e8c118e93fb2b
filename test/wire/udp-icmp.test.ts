import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { l4ChecksumStatus, udpChecksum, verifyIcmpChecksum, verifyUdpChecksum } from '../../src/wire/checksum.js';
import * as icmpv4 from '../../src/wire/icmpv4.js';
import { ICMP, icmpCode, icmpIdent, icmpSeq, icmpType, IcmpType, IcmpUnreachCode, isIcmpError, type Icmpv4Repr } from '../../src/wire/icmpv4.js';
import * as udp from '../../src/wire/udp.js';
import { UDP, udpChecksumField, udpDstPort, udpLength, udpSrcPort } from '../../src/wire/udp.js';
import { icmpv4Repr, udpRepr } from './arbitraries.js';
import { hex, roundTrip, toHex, wireErrorOf, type Codec } from './helpers.js';

const CT = 0xac110002; // 172.17.0.2
const SRV = 0xc6336401; // 198.51.100.1
// nat-basic/ct.eth0.pcap: "ping" 172.17.0.2:57817 → 198.51.100.1:7, checksum = offload placeholder.
const UDP_PING = hex('e1d9 0007 000c d665 7069 6e67');

describe('UDP', () => {
  it('test_parse', () => {
    expect(udp.parse(UDP_PING, 0, 12)).toEqual({ srcPort: 57817, dstPort: 7, length: 12, checksum: 0xd665, payload: hex('7069 6e67') });
    expect(l4ChecksumStatus(UDP_PING, 0, 12, CT, SRV, 17)).toBe('partial');
  });
  it('test_emit: keeps the checksum as read, or fills the full one given the pseudo header', () => {
    const r = udp.parse(UDP_PING, 0, 12);
    expect(toHex(roundTrip(udp, r))).toBe(toHex(UDP_PING));
    const b = new Uint8Array(13).fill(0xa5);
    expect(udp.emit(r, b, 1, { src: CT, dst: SRV })).toBe(12);
    expect(verifyUdpChecksum(b, 1, 12, CT, SRV)).toBe(true);
    expect((b[1 + UDP.CHECKSUM]! << 8) | b[2 + UDP.CHECKSUM]!).toBe(udpChecksum(UDP_PING, 0, 12, CT, SRV));
    expect(l4ChecksumStatus(b, 1, 12, CT, SRV, 17)).toBe('ok');
  });
  it('test_overlong: bytes past the UDP length are ignored', () => {
    const b = new Uint8Array(20);
    b.set(UDP_PING);
    expect(udp.parse(b, 0, 20).payload.length).toBe(4);
  });
  it('length field lies: too short, past the bytes, below the header', () => {
    expect(wireErrorOf(() => udp.parse(UDP_PING, 0, 7))).toMatchObject({ code: 'truncated', protocol: 'udp', offset: 0 });
    expect(wireErrorOf(() => udp.parse(UDP_PING, 0, 11))).toMatchObject({ code: 'truncated', offset: UDP.LENGTH });
    const b = UDP_PING.slice();
    b[5] = 7;
    expect(wireErrorOf(() => udp.parse(b, 0, 12))).toMatchObject({ code: 'bad-length', offset: UDP.LENGTH });
  });
  it('fast accessors', () => {
    const v = new DataView(UDP_PING.buffer, UDP_PING.byteOffset);
    expect([udpSrcPort(v, 0), udpDstPort(v, 0), udpLength(v, 0), udpChecksumField(v, 0)]).toEqual([57817, 7, 12, 0xd665]);
  });
  it('round-trips any datagram; filled checksums always verify and are never zero', () => {
    fc.assert(
      fc.property(udpRepr, fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (r, src, dst) => {
        roundTrip(udp, r);
        const b = new Uint8Array(udp.bufferLen(r));
        udp.emit(r, b, 0, { src, dst });
        expect(verifyUdpChecksum(b, 0, b.length, src, dst)).toBe(true);
        expect(udpChecksumField(new DataView(b.buffer), 0)).not.toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

// nat-basic/ct.eth0.pcap: echo request id 18782 seq 1, 56 data bytes.
const ECHO = hex('0800 4d43 495e 0001 e433 046b 0000 0000 b2eb 0700 0000 0000 1011 1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637');
// publish/client.eth0.pcap: port unreachable, quoting UDP 198.51.100.1:59049 → 198.51.100.10:9998.
const PORT_UNREACH = hex('0303 bbd7 0000 0000 4500 0020 b3c6 4000 4011 3294 c633 6401 c633 640a e6a9 270e 000c 5490 7069 6e67');

/** ICMP with the checksum kept as it was (the round trip compares the Repr field by field). */
const icmpKeep: Codec<Icmpv4Repr> = {
  parse: icmpv4.parse,
  emit: (r, b, off) => icmpv4.emit(r, b, off, false),
  bufferLen: icmpv4.bufferLen,
};

describe('ICMPv4', () => {
  it('test_parse: echo request', () => {
    const r = icmpv4.parse(ECHO, 0, ECHO.length);
    expect(r).toMatchObject({ kind: 'echo-request', type: 8, code: 0, checksum: 0x4d43, ident: 18782, seqNo: 1, quote: null });
    expect(r.data.length).toBe(56);
    expect(verifyIcmpChecksum(ECHO, 0, ECHO.length)).toBe(true);
  });
  it('test_emit: echo request, checksum computed', () => {
    const r = icmpv4.parse(ECHO, 0, ECHO.length);
    const b = new Uint8Array(ECHO.length + 1).fill(0xa5);
    expect(icmpv4.emit({ ...r, checksum: 0 }, b, 1)).toBe(ECHO.length);
    expect(toHex(b.subarray(1))).toBe(toHex(ECHO));
    expect(toHex(roundTrip(icmpKeep, r))).toBe(toHex(ECHO));
  });
  it('test_parse: port unreachable with its quoted datagram', () => {
    const r = icmpv4.parse(PORT_UNREACH, 0, PORT_UNREACH.length);
    expect(r).toMatchObject({ kind: 'dest-unreachable', type: IcmpType.DEST_UNREACHABLE, code: IcmpUnreachCode.PORT, rest: 0, ident: 0, seqNo: 0 });
    expect(r.quote).not.toBeNull();
    expect(r.quote!.ipv4).toMatchObject({ protocol: 17, src: SRV, dst: 0xc633640a, totalLength: 32, ttl: 64 });
    expect([r.quote!.srcPort, r.quote!.dstPort]).toEqual([59049, 9998]);
    expect(toHex(r.quote!.payload)).toBe('e6a9270e000c549070696e67');
    expect(verifyIcmpChecksum(PORT_UNREACH, 0, PORT_UNREACH.length)).toBe(true);
    expect(toHex(roundTrip(icmpKeep, r))).toBe(toHex(PORT_UNREACH));
    expect(isIcmpError(r.type)).toBe(true);
    expect(isIcmpError(IcmpType.ECHO_REPLY)).toBe(false);
  });
  it('a short or broken quote stays raw in data', () => {
    const cut = PORT_UNREACH.slice(0, 8 + 12);
    const r = icmpv4.parse(cut, 0, cut.length);
    expect(r.quote).toBeNull();
    expect(r.data.length).toBe(12);
    const b = PORT_UNREACH.slice();
    b[8] = 0x60; // not IPv4
    expect(icmpv4.parse(b, 0, b.length).quote).toBeNull();
    // Header + 4 bytes: the ports are there, the rest of the UDP header is not.
    const short = PORT_UNREACH.slice(0, 8 + 20 + 4);
    const q = icmpv4.parse(short, 0, short.length).quote!;
    expect([q.srcPort, q.dstPort]).toEqual([59049, 9998]);
  });
  it('frag-needed: next-hop MTU; time exceeded', () => {
    const b = PORT_UNREACH.slice();
    b[1] = IcmpUnreachCode.FRAG_NEEDED;
    b[6] = 0x05;
    b[7] = 0xdc;
    expect(icmpv4.nextHopMtu(icmpv4.parse(b, 0, b.length))).toBe(1500);
    b[0] = IcmpType.TIME_EXCEEDED;
    b[1] = 0;
    const t = icmpv4.parse(b, 0, b.length);
    expect(t.kind).toBe('time-exceeded');
    expect(icmpv4.nextHopMtu(t)).toBe(0);
    expect(t.quote!.dstPort).toBe(9998);
  });
  it('other types are kept raw', () => {
    const ts = hex('0d00 0000 1234 0001 0000 0001 0000 0000 0000 0000');
    const r = icmpv4.parse(ts, 0, ts.length);
    expect(r).toMatchObject({ kind: 'other', type: 13, rest: 0x12340001, ident: 0, seqNo: 0 });
    expect(toHex(roundTrip(icmpKeep, r))).toBe(toHex(ts));
  });
  it('truncated', () => {
    expect(wireErrorOf(() => icmpv4.parse(ECHO, 0, 7))).toMatchObject({ code: 'truncated', protocol: 'icmpv4', offset: 0 });
  });
  it('fast accessors', () => {
    const v = new DataView(ECHO.buffer, ECHO.byteOffset);
    expect([icmpType(v, 0), icmpCode(v, 0), icmpIdent(v, 0), icmpSeq(v, 0)]).toEqual([8, 0, 18782, 1]);
    expect(ICMP.HEADER_LEN).toBe(8);
  });
  it('round-trips any message; filled checksums verify', () => {
    fc.assert(
      fc.property(icmpv4Repr, (r) => {
        roundTrip(icmpKeep, r);
        const b = new Uint8Array(icmpv4.bufferLen(r));
        icmpv4.emit(r, b, 0);
        expect(verifyIcmpChecksum(b, 0, b.length)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
