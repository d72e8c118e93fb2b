import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checksumCombine,
  checksumData,
  fillIcmpChecksum,
  fillIpv4Checksum,
  fillTcpChecksum,
  fillUdpChecksum,
  finishChecksum,
  icmpChecksum,
  ipv4HeaderChecksum,
  isPartialChecksum,
  l4ChecksumStatus,
  pseudoHeaderSum,
  tcpChecksum,
  udpChecksum,
  updateChecksum16,
  updateChecksum32,
  updateUdpChecksum16,
  updateUdpChecksum32,
  verifyIcmpChecksum,
  verifyIpv4Checksum,
  verifyTcpChecksum,
  verifyUdpChecksum,
} from '../../src/wire/checksum.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

/** Reference: RFC 1071 straight from the definition, with BigInt-free slow folding. */
function refSum(bytes: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) {
    const hi = bytes[off + i]!;
    const lo = i + 1 < len ? bytes[off + i + 1]! : 0;
    sum += hi * 256 + lo;
  }
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

// IPv4 header of the ICMP echo request 172.17.0.2 → 198.51.100.1 in fixtures/real-captures/nat-basic/
// ct.eth0.pcap, checksum field zeroed (the kernel wrote 0xb612).
const IPV4_HDR = hex('4500 0054 ae4e 4000 4001 0000 ac11 0002 c633 6401');

describe('RFC 1071 sums', () => {
  it('matches the RFC 1071 example', () => {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
    expect(checksumData(hex('0001f203f4f5f6f7'), 0, 8)).toBe(0xddf2);
  });
  it('pads an odd last byte, and works at odd offsets', () => {
    const b = hex('ff0001f203f4f5f6f7ab');
    expect(checksumData(b, 1, 8)).toBe(0xddf2);
    expect(checksumData(b, 1, 9)).toBe(refSum(b, 1, 9));
    expect(checksumData(b, 0, 0)).toBe(0);
    expect(checksumData(b, 0, 0, 0x1234)).toBe(0x1234);
  });
  it('equals the reference on random data, any offset, any length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (b, o, l) => {
        const off = b.length === 0 ? 0 : o % b.length;
        const len = b.length - off === 0 ? 0 : l % (b.length - off + 1);
        return checksumData(b, off, len) === refSum(b, off, len);
      }),
    );
  });
  it('folds correctly on a long run of 0xff (sums past 2^31 if not folded)', () => {
    const b = new Uint8Array(200_000).fill(0xff);
    expect(checksumData(b, 0, b.length)).toBe(0xffff);
    expect(checksumData(b, 1, b.length - 1)).toBe(refSum(b, 1, b.length - 1));
  });
  it('combines pieces of even length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (a0, b) => {
        const a = a0.length % 2 === 0 ? a0 : a0.subarray(1);
        const all = new Uint8Array(a.length + b.length);
        all.set(a);
        all.set(b, a.length);
        const whole = checksumData(all, 0, all.length);
        const split = checksumCombine(checksumData(a, 0, a.length), checksumData(b, 0, b.length));
        const chained = checksumData(b, 0, b.length, checksumData(a, 0, a.length));
        // 0 and 0xffff are the same number in one's complement.
        const norm = (x: number) => (x === 0xffff ? 0 : x);
        return norm(whole) === norm(split) && chained === split;
      }),
    );
  });
  it('builds the pseudo header sum', () => {
    const src = 0xac110002;
    const dst = 0x08080808;
    const b = hex('ac110002 08080808 0006 0028');
    expect(pseudoHeaderSum(src, dst, 6, 40)).toBe(checksumData(b, 0, 12));
    expect(finishChecksum(0)).toBe(0xffff);
    expect(finishChecksum(0xffff)).toBe(0);
  });
});

describe('IPv4 header checksum', () => {
  it('fills and verifies a real header', () => {
    const b = IPV4_HDR.slice();
    expect(verifyIpv4Checksum(b, 0)).toBe(false);
    fillIpv4Checksum(b, 0);
    expect(verifyIpv4Checksum(b, 0)).toBe(true);
    expect((b[10]! << 8) | b[11]!).toBe(ipv4HeaderChecksum(b, 0));
    // The value the kernel put in that packet.
    expect(ipv4HeaderChecksum(b, 0)).toBe(0xb612);
  });
  it('verifies a real captured header with its checksum (RFC example from Wikipedia)', () => {
    const b = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
    expect(verifyIpv4Checksum(b, 0)).toBe(true);
    expect(ipv4HeaderChecksum(b, 0)).toBe(0xb861);
  });
});

describe('RFC 1624 incremental update', () => {
  // Properties copy their inputs: fast-check replays the same arrays while shrinking.
  const header = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => {
    const c = b.slice();
    c[0] = 0x45;
    return c;
  });
  it('updateChecksum16 equals full recomputation (TTL decrement, any word)', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 1, max: 9 }), // word 0 holds IHL, which sets the length covered
         fc.integer({ min: 0, max: 0xffff }), (b0, word, newWord) => {
        const b = b0.slice();
        if (word === 5) return true; // the checksum field itself
        fillIpv4Checksum(b, 0);
        const check = (b[10]! << 8) | b[11]!;
        const at = word * 2;
        const old = (b[at]! << 8) | b[at + 1]!;
        b[at] = newWord >>> 8;
        b[at + 1] = newWord & 0xff;
        const inc = updateChecksum16(check, old, newWord);
        b[10] = inc >>> 8;
        b[11] = inc & 0xff;
        // The one documented difference: all-zero data (recomputation 0xffff, RFC 1624 gives 0x0000,
        // both "zero" in one's complement and both verifying).
        if (b.every((x, i) => x === 0 || i === 10 || i === 11)) return inc === 0 && ipv4HeaderChecksum(b, 0) === 0xffff;
        return inc === ipv4HeaderChecksum(b, 0) && verifyIpv4Checksum(b, 0);
      }),
    );
  });
  it('the TTL 64 → 63 decrement of a real header', () => {
    const b = IPV4_HDR.slice();
    fillIpv4Checksum(b, 0);
    const check = (b[10]! << 8) | b[11]!;
    const old = (b[8]! << 8) | b[9]!;
    b[8] = 63;
    const inc = updateChecksum16(check, old, (b[8] << 8) | b[9]!);
    expect(inc).toBe(ipv4HeaderChecksum(b, 0));
    expect(inc).toBe(0xb712);
  });
  it('updateChecksum32 equals full recomputation (NAT of an address, in IPv4 and TCP)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 80 }),
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 0xffffffff }),
        (seg0, src, dst, newSrc) => {
          const seg = seg0.slice();
          fillTcpChecksum(seg, 0, seg.length, src, dst);
          const check = (seg[16]! << 8) | seg[17]!;
          const inc = updateChecksum32(check, src, newSrc);
          return inc === tcpChecksum(seg, 0, seg.length, newSrc, dst) || (inc === 0 && tcpChecksum(seg, 0, seg.length, newSrc, dst) === 0xffff);
        },
      ),
    );
  });
  it('extremes: all-ones and all-zero words', () => {
    for (const [check, o, n] of [
      [0x0000, 0x0000, 0xffff],
      [0xffff, 0xffff, 0x0000],
      [0x1234, 0xffff, 0xffff],
      [0x0000, 0x0000, 0x0000],
    ] as const) {
      const r = updateChecksum16(check, o, n);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(0xffff);
      // The update then its inverse is the identity in one's complement.
      const back = updateChecksum16(r, n, o);
      expect(back === check || (back ^ check) === 0xffff).toBe(true);
    }
    expect(updateChecksum32(0xabcd, 0x01020304, 0x01020304)).toBe(0xabcd);
  });
  it('UDP variants keep a zero field and never produce one', () => {
    expect(updateUdpChecksum16(0, 0x1234, 0x5678)).toBe(0);
    expect(updateUdpChecksum32(0, 1, 2)).toBe(0);
    // A case where the plain update gives 0: ~(~c + ~o + n) = 0 ⇔ ~c + ~o + n = 0xffff.
    expect(updateChecksum16(0xffff, 0x0001, 0x0001)).toBe(0);
    expect(updateUdpChecksum16(0xffff, 0x0001, 0x0001)).toBe(0xffff);
  });
});

describe('TCP, UDP and ICMP checksums', () => {
  const src = 0xac110002;
  const dst = 0xac110001;
  it('TCP: fill then verify, any payload, any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 200 }), fc.integer({ min: 0, max: 3 }), (seg, pad) => {
        const b = new Uint8Array(seg.length + pad).fill(0xa5);
        b.set(seg, pad);
        fillTcpChecksum(b, pad, seg.length, src, dst);
        if (!verifyTcpChecksum(b, pad, seg.length, src, dst)) return false;
        b[pad + 19]! ^= 1;
        return !verifyTcpChecksum(b, pad, seg.length, src, dst);
      }),
    );
  });
  it('UDP: a computed zero goes out as 0xffff, a received zero is "no checksum"', () => {
    // Find a datagram whose checksum computes to 0 by choosing the last word.
    const b = hex('1f90 d431 000a 0000 0000');
    const want = udpChecksum(b, 0, 10, src, dst);
    // Make the sum of everything 0xffff: set the payload word so the complement is 0.
    const partial = checksumData(b, 0, 8, pseudoHeaderSum(src, dst, 17, 10));
    const word = finishChecksum(partial); // partial + word = 0xffff
    b[8] = word >>> 8;
    b[9] = word & 0xff;
    expect(want).not.toBe(0);
    expect(udpChecksum(b, 0, 10, src, dst)).toBe(0xffff);
    fillUdpChecksum(b, 0, 10, src, dst);
    expect((b[6]! << 8) | b[7]!).toBe(0xffff);
    expect(verifyUdpChecksum(b, 0, 10, src, dst)).toBe(true);
    b[6] = 0;
    b[7] = 0;
    expect(verifyUdpChecksum(b, 0, 10, src, dst)).toBe(true);
    expect(l4ChecksumStatus(b, 0, 10, src, dst, 17)).toBe('none');
    b[6] = 0x12;
    expect(verifyUdpChecksum(b, 0, 10, src, dst)).toBe(false);
    expect(l4ChecksumStatus(b, 0, 10, src, dst, 17)).toBe('bad');
  });
  it('ICMP: fill then verify', () => {
    const b = hex('0800 0000 0001 0001 6162 6364 65');
    fillIcmpChecksum(b, 0, b.length);
    expect(verifyIcmpChecksum(b, 0, b.length)).toBe(true);
    expect((b[2]! << 8) | b[3]!).toBe(icmpChecksum(b, 0, b.length));
    b[12]! ^= 0x40;
    expect(verifyIcmpChecksum(b, 0, b.length)).toBe(false);
  });
  it('recognises the offload placeholder (pseudo-header sum) as partial', () => {
    const seg = hex('d431 1f90 0000 0001 0000 0000 5002 faf0 0000 0000');
    const ph = pseudoHeaderSum(src, dst, 6, seg.length);
    seg[16] = ph >>> 8;
    seg[17] = ph & 0xff;
    expect(isPartialChecksum(ph, src, dst, 6, seg.length)).toBe(true);
    expect(l4ChecksumStatus(seg, 0, seg.length, src, dst, 6)).toBe('partial');
    fillTcpChecksum(seg, 0, seg.length, src, dst);
    expect(l4ChecksumStatus(seg, 0, seg.length, src, dst, 6)).toBe('ok');
  });
});
