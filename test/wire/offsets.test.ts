// The hot path reads headers at the constant offsets of ETH/ARP/IPV4/ICMP/UDP/TCP, derived from the
// buffer-layout declarations at load time. Pin every one to the RFC diagrams.

import { describe, expect, it } from 'vitest';
import { ARP, arpLayout } from '../../src/wire/arp.js';
import { ETH, ethernetLayout, EtherType, VLAN } from '../../src/wire/ethernet.js';
import { ICMP, icmpLayout, IcmpType } from '../../src/wire/icmpv4.js';
import { IPV4, ipv4Layout, IpProto } from '../../src/wire/ipv4.js';
import { TCP, TcpFlag, tcpLayout } from '../../src/wire/tcp.js';
import { UDP, udpLayout } from '../../src/wire/udp.js';
import { hex } from './helpers.js';

describe('offsets pinned to the RFCs', () => {
  it('Ethernet II / 802.1Q', () => {
    expect({ ...ETH }).toEqual({ DST: 0, SRC: 6, ETHERTYPE: 12, HEADER_LEN: 14 });
    expect({ ...VLAN }).toEqual({ TCI: 0, ETHERTYPE: 2, TAG_LEN: 4 });
    expect(ethernetLayout.span).toBe(14);
  });
  it('ARP (RFC 826, Ethernet/IPv4)', () => {
    expect({ ...ARP }).toEqual({ HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OPER: 6, SHA: 8, SPA: 14, THA: 18, TPA: 24, LEN: 28 });
    expect(arpLayout.span).toBe(28);
  });
  it('IPv4 (RFC 791)', () => {
    expect({ ...IPV4 }).toEqual({
      VERSION_IHL: 0,
      TOS: 1,
      TOTAL_LEN: 2,
      ID: 4,
      FLAGS_FRAG: 6,
      TTL: 8,
      PROTOCOL: 9,
      CHECKSUM: 10,
      SRC: 12,
      DST: 16,
      HEADER_LEN: 20,
      MAX_HEADER_LEN: 60,
    });
    expect(ipv4Layout.span).toBe(20);
  });
  it('ICMP (RFC 792)', () => {
    expect({ ...ICMP }).toEqual({ TYPE: 0, CODE: 1, CHECKSUM: 2, REST: 4, IDENT: 4, SEQ: 6, MTU: 6, HEADER_LEN: 8 });
    expect(icmpLayout.span).toBe(8);
  });
  it('UDP (RFC 768)', () => {
    expect({ ...UDP }).toEqual({ SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6, HEADER_LEN: 8 });
    expect(udpLayout.span).toBe(8);
  });
  it('TCP (RFC 9293)', () => {
    expect({ ...TCP }).toEqual({
      SRC_PORT: 0,
      DST_PORT: 2,
      SEQ: 4,
      ACK: 8,
      DATA_OFFSET: 12,
      FLAGS: 13,
      WINDOW: 14,
      CHECKSUM: 16,
      URGENT: 18,
      OPTIONS: 20,
      HEADER_LEN: 20,
      MAX_HEADER_LEN: 60,
    });
    expect(tcpLayout.span).toBe(20);
  });
  it('the offset tables are frozen', () => {
    expect(Object.isFrozen(IPV4)).toBe(true);
    expect(Object.isFrozen(TCP)).toBe(true);
    expect(Object.isFrozen(ETH)).toBe(true);
  });
  it('constants', () => {
    expect(EtherType).toMatchObject({ IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, IPV6: 0x86dd });
    expect(IpProto).toEqual({ ICMP: 1, IGMP: 2, TCP: 6, UDP: 17 });
    expect(TcpFlag).toEqual({ FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80, NS: 0x100 });
    expect(IcmpType).toMatchObject({ ECHO_REPLY: 0, DEST_UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 });
  });
  it('the layouts decode a real header to the same fields as the offsets', () => {
    // nat-basic/ct.eth0.pcap, TCP SYN 172.17.0.2:35952 → 198.51.100.1:8000.
    const ip = hex('4500 003c 8ebe 4000 4006 d5b5 ac11 0002 c633 6401');
    const d = ipv4Layout.decode(ip);
    expect(d).toMatchObject({ versionIhl: 0x45, totalLength: 60, id: 0x8ebe, flagsFragment: 0x4000, ttl: 64, protocol: 6, checksum: 0xd5b5, src: 0xac110002, dst: 0xc6336401 });
    const view = new DataView(ip.buffer);
    expect(view.getUint8(IPV4.TTL)).toBe(d.ttl);
    expect(view.getUint16(IPV4.CHECKSUM)).toBe(d.checksum);
    expect(view.getUint32(IPV4.SRC)).toBe(d.src);
    const t = tcpLayout.decode(hex('8c70 1f40 597e 2366 0000 0000 a002 faf0 d676 0000'));
    expect(t).toMatchObject({ srcPort: 35952, dstPort: 8000, seq: 0x597e2366, dataOffset: 0xa0, flags: 2, window: 64240, checksum: 0xd676 });
  });
});
