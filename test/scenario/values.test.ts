import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cidrsOverlap,
  interfaceNameProblem,
  ipv4ToNum,
  maskOf,
  normaliseMac,
  numToIpv4,
  parseCidr,
  parseDuration,
  parseHostPort,
  parsePortMapping,
} from '../../src/scenario/values.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

describe('scenario values', () => {
  it('IPv4 text round-trips and refuses leading zeros and out-of-range octets', () => {
    fc.assert(fc.property(u32, (n) => ipv4ToNum(numToIpv4(n)) === n));
    for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1.2.3.-1', ' 1.2.3.4', '1.2.3.4 ', '1..3.4', '']) {
      expect(ipv4ToNum(bad), bad).toBeNull();
    }
  });

  it('CIDR overlap agrees with the definition (some address in both)', () => {
    // On a /28 universe, compare against enumerating the addresses.
    const cidr = fc.record({ addr: fc.integer({ min: 0, max: 15 }), len: fc.integer({ min: 28, max: 32 }) });
    fc.assert(
      fc.property(cidr, cidr, (a, b) => {
        const set = (c: { addr: number; len: number }): Set<number> => {
          const m = maskOf(c.len);
          const s = new Set<number>();
          for (let x = 0; x < 16; x++) if (((x & m) >>> 0) === ((c.addr & m) >>> 0)) s.add(x);
          return s;
        };
        const sa = set(a);
        const both = [...set(b)].some((x) => sa.has(x));
        return cidrsOverlap(a, b) === both && cidrsOverlap(b, a) === both;
      }),
    );
    expect(parseCidr('10.0.0.0/33')).toBeNull();
    expect(parseCidr('10.0.0.0/08')).toBeNull();
    expect(parseCidr('0.0.0.0/0')).toEqual({ addr: 0, len: 0 });
  });

  it('durations in us, ms and s become integer nanoseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(['us', 1e3], ['ms', 1e6], ['s', 1e9]), (n, [u, k]) => {
        return parseDuration(`${n}${u}`) === n * (k as number);
      }),
    );
    expect(parseDuration('1.5s')).toBe(1.5e9);
    expect(parseDuration(0)).toBe(0);
    for (const bad of [5, '5', '5 ms', '-1s', '1m', '1h', '.5s', 'ms']) expect(parseDuration(bad), String(bad)).toBeNull();
  });

  it('port mappings as docker -p writes them', () => {
    const port = fc.integer({ min: 1, max: 65535 });
    fc.assert(
      fc.property(fc.option(u32, { nil: null }), port, port, fc.constantFrom('tcp', 'udp'), (ip, h, c, proto) => {
        const text = `${ip === null ? '' : `${numToIpv4(ip)}:`}${h}:${c}${proto === 'tcp' ? '' : '/udp'}`;
        const p = parsePortMapping(text);
        return p !== null && p.hostIp === (ip === null ? null : numToIpv4(ip)) && p.hostPort === h && p.innerPort === c && p.proto === proto;
      }),
    );
    for (const bad of ['80', '0:80', '80:65536', 'a:80:80', '1.2.3.4:80', '80:80/sctp', '1:2:3:4']) {
      expect(parsePortMapping(bad), bad).toBeNull();
    }
  });

  it('host:port targets take an address or a node name', () => {
    expect(parseHostPort('192.0.2.1:80')).toEqual({ host: '192.0.2.1', port: 80 });
    expect(parseHostPort('web-1:8080')).toEqual({ host: 'web-1', port: 8080 });
    for (const bad of ['192.0.2.1', ':80', 'web:0', 'web:99999', 'a.b:80', '192.0.2.1:80:81']) expect(parseHostPort(bad), bad).toBeNull();
  });

  it('MACs and interface names', () => {
    expect(normaliseMac('02-AA-bb-CC-dd-EE')).toBe('02:aa:bb:cc:dd:ee');
    expect(normaliseMac('02:aa-bb:cc:dd:ee')).toBeNull();
    expect(normaliseMac('2:aa:bb:cc:dd:ee')).toBeNull();
    expect(interfaceNameProblem('eth0.100')).toBeNull();
    expect(interfaceNameProblem('a'.repeat(15))).toBeNull();
    expect(interfaceNameProblem('a'.repeat(16))).toMatch(/16 bytes/);
    for (const bad of ['', '.', '..', 'a/b', 'a:b', 'a b', 'a\u0000b']) expect(interfaceNameProblem(bad), JSON.stringify(bad)).not.toBeNull();
  });
});
