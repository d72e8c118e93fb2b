import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WireError } from '../../src/wire/errors.js';
import {
  formatCidr,
  formatIpv4,
  formatMac,
  inSubnet,
  isMulticastMac,
  MAC_BROADCAST,
  parseCidr,
  parseIpv4,
  parseMac,
  prefixMask,
} from '../../src/wire/addr.js';

function wireErrorOf(fn: () => unknown): WireError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error('did not throw');
}

describe('IPv4 addresses', () => {
  it('parses and formats', () => {
    expect(parseIpv4('172.17.0.2')).toBe(0xac110002);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(formatIpv4(0xac110002)).toBe('172.17.0.2');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(-1)).toBe('255.255.255.255');
  });
  it('refuses bad text with a WireError that says where', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '01.2.3.4', ' 1.2.3.4', '1.2.3.4/8', 'a.b.c.d', '1.2.3.']) {
      const e = wireErrorOf(() => parseIpv4(bad));
      expect(e.code).toBe('bad-value');
      expect(e.protocol).toBe('addr');
    }
    expect(wireErrorOf(() => parseIpv4('1.2.x.4')).offset).toBe(4);
  });
  it('round-trips every u32', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), (n) => parseIpv4(formatIpv4(n)) === n));
  });
});

describe('MAC addresses', () => {
  it('parses and formats lower-case with colons', () => {
    expect(parseMac('02:42:AC:11:00:02')).toBe(0x0242ac110002);
    expect(parseMac('02-42-ac-11-00-02')).toBe(0x0242ac110002);
    expect(formatMac(0x0242ac110002)).toBe('02:42:ac:11:00:02');
    expect(formatMac(MAC_BROADCAST)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(0)).toBe('00:00:00:00:00:00');
    expect(isMulticastMac(MAC_BROADCAST)).toBe(true);
    expect(isMulticastMac(0x01005e000016)).toBe(true);
    expect(isMulticastMac(0x0242ac110002)).toBe(false);
  });
  it('refuses bad text', () => {
    for (const bad of ['', '02:42:ac:11:00', '02:42:ac:11:00:0g', '02:42-ac:11:00:02', '02:42:ac:11:00:022', '2:42:ac:11:00:02:']) {
      expect(wireErrorOf(() => parseMac(bad)).code).toBe('bad-value');
    }
  });
  it('round-trips every 48-bit value', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (n) => parseMac(formatMac(n)) === n));
  });
});

describe('CIDR prefixes', () => {
  it('parses with host bits kept', () => {
    expect(parseCidr('172.17.0.1/16')).toEqual({ addr: 0xac110001, len: 16 });
    expect(parseCidr('10.0.2.15')).toEqual({ addr: 0x0a00020f, len: 32 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ addr: 0, len: 0 });
    expect(formatCidr(0xac110000, 16)).toBe('172.17.0.0/16');
  });
  it('refuses bad prefixes', () => {
    for (const bad of ['1.2.3.4/33', '1.2.3.4/', '1.2.3.4/08', '1.2.3.4/-1', '1.2.3/8', '1.2.3.4/8/8']) {
      expect(wireErrorOf(() => parseCidr(bad)).code).toBe('bad-value');
    }
  });
  it('masks and tests membership', () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(8)).toBe(0xff000000);
    expect(prefixMask(16)).toBe(0xffff0000);
    expect(prefixMask(31)).toBe(0xfffffffe);
    expect(prefixMask(32)).toBe(0xffffffff);
    expect(inSubnet(parseIpv4('172.17.0.2'), parseIpv4('172.17.0.1'), 16)).toBe(true);
    expect(inSubnet(parseIpv4('172.18.0.2'), parseIpv4('172.17.0.0'), 16)).toBe(false);
    expect(inSubnet(parseIpv4('8.8.8.8'), 0, 0)).toBe(true);
    expect(inSubnet(0xffffffff, 0xffffffff, 32)).toBe(true);
  });
  it('mask has exactly len leading ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32 }), (len) => {
        const m = prefixMask(len);
        return m >>> 0 === m && m.toString(2).replace(/^0+$/, '').replace(/0+$/, '').length === len;
      }),
    );
  });
});
