import { describe, expect, it } from 'vitest';
import * as wire from '../../src/wire/index.js';
import { hex } from './helpers.js';

describe('src/wire/index.ts', () => {
  it('re-exports every protocol module and the flat names the hot path uses', () => {
    for (const m of [wire.ethernet, wire.arp, wire.ipv4, wire.icmpv4, wire.udp, wire.tcp]) {
      expect(typeof m.parse).toBe('function');
      expect(typeof m.emit).toBe('function');
      expect(typeof m.bufferLen).toBe('function');
    }
    expect(wire.IPV4.TTL).toBe(8);
    expect(wire.IPV4.CHECKSUM).toBe(10);
    expect(wire.IPV4.SRC).toBe(12);
    expect(wire.TCP.FLAGS).toBe(13);
    expect(wire.ETH.ETHERTYPE).toBe(12);
    expect(wire.UDP.CHECKSUM).toBe(6);
    expect(wire.ICMP.CHECKSUM).toBe(2);
    expect(wire.ARP.TPA).toBe(24);
    for (const name of ['parseIpv4', 'formatMac', 'checksumData', 'updateChecksum32', 'decodeFrame', 'emitFrame', 'ipv4DecrementTtl', 'writeTcpHeader', 'WireError'] as const) {
      expect(typeof wire[name]).toBe('function');
    }
  });
  it('works end to end through the index', () => {
    const f = hex('ffff ffff ffff 0242 ac11 0002 0806 0001 0800 0604 0001 0242 ac11 0002 ac11 0002 0000 0000 0000 ac11 0001');
    const d = wire.decodeFrame(f, 0, f.length);
    expect(d.network?.kind).toBe('arp');
    if (d.network?.kind === 'arp') expect(wire.formatIpv4(d.network.repr.targetIp)).toBe('172.17.0.1');
  });
});
