import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { verifyIpv4Checksum } from '../../src/wire/checksum.js';
import * as ipv4 from '../../src/wire/ipv4.js';
import {
  IPV4,
  ipv4Checksum,
  ipv4DecrementTtl,
  ipv4Df,
  ipv4Dst,
  ipv4FragOffset,
  ipv4HeaderLen,
  ipv4Id,
  ipv4Mf,
  ipv4Protocol,
  ipv4SetDst,
  ipv4SetSrc,
  ipv4Src,
  ipv4TotalLen,
  ipv4Ttl,
  ipv4Version,
  writeIpv4Header,
  type Ipv4Repr,
} from '../../src/wire/ipv4.js';
import { ipv4Repr } from './arbitraries.js';
import { hex, roundTrip, toHex, wireErrorOf, type Codec } from './helpers.js';

// nat-basic/ct.eth0.pcap: ICMP echo request 172.17.0.2 → 198.51.100.1, DF, TTL 64.
const ECHO_HDR = hex('4500 0054 ae4e 4000 4001 b612 ac11 0002 c633 6401');
// nat-basic/ct.eth0.pcap: the bridge's IGMPv3 report, with the Router Alert option (RFC 2113), TOS 0xc0.
const IGMP_PACKET = hex('46c0 0028 0000 4000 0102 57e7 ac11 0001 e000 0016 9404 0000 2200 f993 0000 0001 0400 0000 e000 006a');

const ECHO_REPR: Ipv4Repr = {
  tos: 0,
  totalLength: 84,
  id: 0xae4e,
  reservedFlag: false,
  df: true,
  mf: false,
  fragOffset: 0,
  ttl: 64,
  protocol: 1,
  checksum: 0xb612,
  src: 0xac110002,
  dst: 0xc6336401,
  options: new Uint8Array(0),
};

/** A datagram codec for the round trip: header (checksum kept) + zero payload up to totalLength. */
const datagram: Codec<Ipv4Repr> = {
  parse: ipv4.parse,
  emit(r, b, off) {
    const n = ipv4.emit(r, b, off, false);
    b.fill(0, off + n, off + r.totalLength);
    return r.totalLength;
  },
  bufferLen: (r) => r.totalLength,
};

describe('IPv4', () => {
  it('test_parse', () => {
    const b = new Uint8Array(84);
    b.set(ECHO_HDR);
    expect(ipv4.parse(b, 0, 84)).toEqual(ECHO_REPR);
    expect(ipv4.bufferLen(ECHO_REPR)).toBe(20);
    expect(ipv4.payloadLen(ECHO_REPR)).toBe(64);
  });
  it('test_emit: the checksum is computed (0xb612, as the kernel wrote it)', () => {
    const b = new Uint8Array(21).fill(0xa5);
    expect(ipv4.emit({ ...ECHO_REPR, checksum: 0 }, b, 1)).toBe(20);
    expect(toHex(b.subarray(1))).toBe(toHex(ECHO_HDR));
    expect(b[0]).toBe(0xa5);
    expect(toHex(roundTrip(datagram, ECHO_REPR).subarray(0, 20))).toBe(toHex(ECHO_HDR));
  });
  it('options are kept as bytes and parsed for tools (Router Alert in the IGMP report)', () => {
    const r = ipv4.parse(IGMP_PACKET, 0, IGMP_PACKET.length);
    expect(r.tos).toBe(0xc0);
    expect(r.ttl).toBe(1);
    expect(r.protocol).toBe(2);
    expect(toHex(r.options)).toBe('94040000');
    expect(ipv4.bufferLen(r)).toBe(24);
    expect(ipv4.parseOptions(r.options)).toEqual([{ type: 148, data: Uint8Array.of(0, 0) }]);
    expect(toHex(roundTrip(datagram, r).subarray(0, 24))).toBe(toHex(IGMP_PACKET.subarray(0, 24)));
    expect(ipv4.parseOptions(hex('0101 8307 0400 0000 00 00'))).toEqual([
      { type: 1, data: new Uint8Array(0) },
      { type: 1, data: new Uint8Array(0) },
      { type: 131, data: hex('0400000000') },
      { type: 0, data: new Uint8Array(0) },
    ]);
    expect(wireErrorOf(() => ipv4.parseOptions(hex('8301'), 20))).toMatchObject({ code: 'bad-length', offset: 21 });
    expect(wireErrorOf(() => ipv4.parseOptions(hex('0183'), 20))).toMatchObject({ code: 'truncated', offset: 21 });
  });
  it('emit pads options to a multiple of 4 with zeros', () => {
    const r = { ...ECHO_REPR, totalLength: 24, options: Uint8Array.of(1) };
    const b = new Uint8Array(24).fill(0xa5);
    expect(ipv4.emit(r, b, 0)).toBe(24);
    expect(b[0]).toBe(0x46);
    expect(toHex(b.subarray(20))).toBe('01000000');
    expect(verifyIpv4Checksum(b, 0)).toBe(true);
  });
  it('fragments: DF, MF, offset in bytes, reserved flag', () => {
    const b = ECHO_HDR.slice();
    b[6] = 0xa1; // reserved + MF, offset 0x123 units
    b[7] = 0x23;
    b[2] = 0;
    b[3] = 20;
    const r = ipv4.parse(b, 0, 20);
    expect(r).toMatchObject({ reservedFlag: true, df: false, mf: true, fragOffset: 0x123 * 8 });
    expect(toHex(roundTrip(datagram, r))).toBe(toHex(b));
  });
  it('test_overlong: bytes past the total length are the link padding, ignored', () => {
    const b = new Uint8Array(100);
    b.set(ECHO_HDR);
    expect(ipv4.parse(b, 0, 100).totalLength).toBe(84);
  });
  it('test_total_len_overflow: total length past the bytes is truncated, at the field', () => {
    const b = new Uint8Array(84);
    b.set(ECHO_HDR);
    expect(wireErrorOf(() => ipv4.parse(b, 0, 83))).toMatchObject({ code: 'truncated', protocol: 'ipv4', offset: IPV4.TOTAL_LEN });
  });
  it('refuses bad versions and lengths', () => {
    const b = ECHO_HDR.slice();
    expect(wireErrorOf(() => ipv4.parse(b, 0, 19))).toMatchObject({ code: 'truncated', offset: 0 });
    b[0] = 0x65;
    expect(wireErrorOf(() => ipv4.parse(b, 0, 20))).toMatchObject({ code: 'bad-version' });
    b[0] = 0x44;
    expect(wireErrorOf(() => ipv4.parse(b, 0, 20))).toMatchObject({ code: 'bad-length' });
    b[0] = 0x46;
    expect(wireErrorOf(() => ipv4.parse(b, 0, 20))).toMatchObject({ code: 'truncated' });
    b[0] = 0x45;
    b[2] = 0;
    b[3] = 19;
    expect(wireErrorOf(() => ipv4.parse(b, 0, 20))).toMatchObject({ code: 'bad-length', offset: IPV4.TOTAL_LEN });
  });
  it('the quoted-header parse accepts a total length past the quote', () => {
    const r = ipv4.parseQuoted(ECHO_HDR, 0, 20);
    expect(r.totalLength).toBe(84);
  });
  it('round-trips any header, extremes included', () => {
    fc.assert(fc.property(ipv4Repr, (r) => void roundTrip(datagram, r)), { numRuns: 200 });
    roundTrip(datagram, { ...ECHO_REPR, totalLength: 0xffff, fragOffset: 0xfff8, ttl: 255, tos: 255, id: 0xffff, mf: true, reservedFlag: true, src: 0xffffffff, dst: 0xffffffff });
    roundTrip(datagram, { ...ECHO_REPR, totalLength: 60, ttl: 0, options: new Uint8Array(40).fill(1) });
  });
  it('emitted headers always verify', () => {
    fc.assert(
      fc.property(ipv4Repr, (r) => {
        const b = new Uint8Array(60);
        ipv4.emit(r, b, 0);
        return verifyIpv4Checksum(b, 0);
      }),
    );
  });
});

describe('IPv4 fast path', () => {
  it('accessors read what parse reads', () => {
    fc.assert(
      fc.property(ipv4Repr, fc.integer({ min: 0, max: 3 }), (r, off) => {
        const b = new Uint8Array(off + 60);
        ipv4.emit(r, b, off);
        const v = new DataView(b.buffer);
        expect([ipv4Version(v, off), ipv4HeaderLen(v, off), ipv4TotalLen(v, off), ipv4Id(v, off)]).toEqual([4, ipv4.bufferLen(r), r.totalLength, r.id]);
        expect([ipv4Df(v, off), ipv4Mf(v, off), ipv4FragOffset(v, off)]).toEqual([r.df, r.mf, r.fragOffset]);
        expect([ipv4Ttl(v, off), ipv4Protocol(v, off), ipv4Src(v, off), ipv4Dst(v, off)]).toEqual([r.ttl, r.protocol, r.src, r.dst]);
      }),
      { numRuns: 50 },
    );
  });
  it('TTL decrement and NAT keep the header checksum right (RFC 1624)', () => {
    fc.assert(
      fc.property(ipv4Repr, fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (r0, src, dst) => {
        const r = { ...r0, ttl: Math.max(1, r0.ttl) };
        const b = new Uint8Array(60);
        ipv4.emit(r, b, 0);
        const v = new DataView(b.buffer);
        expect(ipv4DecrementTtl(v, 0)).toBe(r.ttl - 1);
        expect(verifyIpv4Checksum(b, 0)).toBe(true);
        ipv4SetSrc(v, 0, src);
        ipv4SetDst(v, 0, dst);
        expect([ipv4Src(v, 0), ipv4Dst(v, 0)]).toEqual([src, dst]);
        expect(verifyIpv4Checksum(b, 0)).toBe(true);
        const again = new Uint8Array(60);
        ipv4.emit({ ...r, ttl: r.ttl - 1, src, dst }, again, 0);
        // Same checksum as a full recomputation (modulo one's-complement zero).
        const a = ipv4Checksum(v, 0);
        const c = (again[10]! << 8) | again[11]!;
        expect(a === c || (a ^ c) === 0xffff).toBe(true);
      }),
    );
  });
  it('writeIpv4Header writes the same bytes as emit', () => {
    fc.assert(
      fc.property(ipv4Repr, (r0) => {
        const r = { ...r0, options: new Uint8Array(0), mf: false, fragOffset: 0, reservedFlag: false, totalLength: Math.max(20, r0.totalLength) };
        const a = new Uint8Array(21).fill(0xa5);
        const b = new Uint8Array(21).fill(0xa5);
        ipv4.emit(r, a, 1);
        writeIpv4Header(new DataView(b.buffer), 1, r.tos, r.totalLength, r.id, r.df, r.ttl, r.protocol, r.src, r.dst);
        return toHex(a) === toHex(b);
      }),
    );
    const b = new Uint8Array(20);
    writeIpv4Header(new DataView(b.buffer), 0, 0, 84, 0xae4e, true, 64, 1, 0xac110002, 0xc6336401);
    expect(toHex(b)).toBe(toHex(ECHO_HDR));
  });
});
