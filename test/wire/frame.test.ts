import { describe, expect, it } from 'vitest';
import { WireError } from '../../src/wire/errors.js';
import { decodeFrame, emitFrame, type DecodedFrame } from '../../src/wire/frame.js';
import { hex, toHex } from './helpers.js';

// nat-basic/ct.eth0.pcap
const SYN_FRAME = hex(
  '0242 c000 0001 0242 ac11 0002 0800 4500 003c 8ebe 4000 4006 d5b5 ac11 0002 c633 6401 8c70 1f40 597e 2366 0000 0000 a002 faf0 d676 0000 0204 05b4 0402 080a 2660 0231 0000 0000 0103 030a',
);
const UDP_FRAME = hex('0242 c000 0001 0242 ac11 0002 0800 4500 0020 d3a0 4000 4011 90e4 ac11 0002 c633 6401 e1d9 0007 000c d665 7069 6e67');
const IGMP_FRAME = hex('0100 5e00 0016 0242 c000 0001 0800 46c0 0028 0000 4000 0102 57e7 ac11 0001 e000 0016 9404 0000 2200 f993 0000 0001 0400 0000 e000 006a');
// vm-nat/vg.tap0.pcap: ARP reply padded to 64 bytes by libslirp.
const PADDED_ARP = hex('9647 f479 116d 5255 0a00 0202 0806 0001 0800 0604 0002 5255 0a00 0202 0a00 0202 9647 f479 116d 0a00 0264' + '00'.repeat(22));

function reemit(f: DecodedFrame): string {
  const out = new Uint8Array(f.length);
  expect(emitFrame(f, out, 0)).toBe(f.length);
  return toHex(out);
}

describe('decodeFrame', () => {
  it('layers a TCP SYN, offsets relative to the frame', () => {
    const buf = new Uint8Array(SYN_FRAME.length + 5).fill(0xee);
    buf.set(SYN_FRAME, 3);
    const f = decodeFrame(buf, 3, SYN_FRAME.length);
    expect(f.error).toBeNull();
    expect(f.ethernet).toMatchObject({ kind: 'ethernet', offset: 0, headerLen: 14 });
    expect(f.network).toMatchObject({ kind: 'ipv4', offset: 14, headerLen: 20, checksum: 'ok', expectedChecksum: 0xd5b5 });
    expect(f.transport).toMatchObject({ kind: 'tcp', offset: 34, length: 40, headerLen: 40, checksum: 'partial' });
    expect(f.trailer.length).toBe(0);
    expect(reemit(f)).toBe(toHex(SYN_FRAME));
  });
  it('UDP with the offload placeholder; its expected checksum', () => {
    const f = decodeFrame(UDP_FRAME, 0, UDP_FRAME.length);
    expect(f.transport).toMatchObject({ kind: 'udp', checksum: 'partial' });
    const t = f.transport as { expectedChecksum: number };
    const b = UDP_FRAME.slice();
    b[40] = t.expectedChecksum >>> 8;
    b[41] = t.expectedChecksum & 0xff;
    expect(decodeFrame(b, 0, b.length).transport).toMatchObject({ checksum: 'ok' });
    b[41] ^= 1;
    expect(decodeFrame(b, 0, b.length).transport).toMatchObject({ checksum: 'bad' });
    b[40] = 0;
    b[41] = 0;
    expect(decodeFrame(b, 0, b.length).transport).toMatchObject({ checksum: 'none' });
  });
  it('IGMP stays raw; IPv4 options decoded', () => {
    const f = decodeFrame(IGMP_FRAME, 0, IGMP_FRAME.length);
    expect(f.network).toMatchObject({ kind: 'ipv4', headerLen: 24 });
    expect(f.transport).toMatchObject({ kind: 'raw', protocol: 2, reason: 'protocol', offset: 38 });
    expect(reemit(f)).toBe(toHex(IGMP_FRAME));
  });
  it('padding after ARP and after a short IPv4 datagram is the trailer', () => {
    const f = decodeFrame(PADDED_ARP, 0, PADDED_ARP.length);
    expect(f.network).toMatchObject({ kind: 'arp', offset: 14, length: 28 });
    expect(f.trailer.length).toBe(22);
    expect(reemit(f)).toBe(toHex(PADDED_ARP));
    const padded = new Uint8Array(60);
    padded.set(UDP_FRAME);
    const u = decodeFrame(padded, 0, 60);
    expect(u.trailer.length).toBe(60 - UDP_FRAME.length);
    expect(reemit(u)).toBe(toHex(padded));
  });
  it('a bad IPv4 header checksum is reported, with the right value', () => {
    const b = SYN_FRAME.slice();
    b[24] ^= 0xff;
    const f = decodeFrame(b, 0, b.length);
    expect(f.network).toMatchObject({ kind: 'ipv4', checksum: 'bad', expectedChecksum: 0xd5b5 });
    expect(reemit(f)).toBe(toHex(b));
  });
  it('a layer that fails is kept raw with its WireError; the layers below stay decoded', () => {
    const cut = SYN_FRAME.slice(0, 50); // IPv4 total length 60 > 36 bytes left
    const f = decodeFrame(cut, 0, cut.length);
    expect(f.ethernet.kind).toBe('ethernet');
    expect(f.network).toMatchObject({ kind: 'error', protocol: 'ipv4', offset: 14 });
    expect(f.error).toBeInstanceOf(WireError);
    expect(f.error).toMatchObject({ code: 'truncated', offset: 16 });
    expect(f.transport).toBeNull();
    expect(reemit(f)).toBe(toHex(cut));

    const badOpt = SYN_FRAME.slice();
    badOpt[55] = 40; // MSS option length 40
    const g = decodeFrame(badOpt, 0, badOpt.length);
    expect(g.network?.kind).toBe('ipv4');
    expect(g.transport).toMatchObject({ kind: 'error', protocol: 'tcp', offset: 34 });
    expect(g.error).toMatchObject({ code: 'bad-length', protocol: 'tcp', offset: 55 });
    expect(reemit(g)).toBe(toHex(badOpt));

    const tiny = decodeFrame(SYN_FRAME, 0, 10);
    expect(tiny.ethernet).toMatchObject({ kind: 'error', protocol: 'ethernet' });
    expect(tiny.network).toBeNull();
    expect(reemit(tiny)).toBe(toHex(SYN_FRAME.subarray(0, 10)));
  });
  it('fragments are raw transport payloads', () => {
    const b = UDP_FRAME.slice();
    b[20] = 0x20; // MF
    const f = decodeFrame(b, 0, b.length);
    expect(f.transport).toMatchObject({ kind: 'raw', protocol: 17, reason: 'fragment' });
    expect(reemit(f)).toBe(toHex(b));
  });
  it('VLAN-tagged and non-IPv4 frames', () => {
    const tagged = new Uint8Array(UDP_FRAME.length + 4);
    tagged.set(UDP_FRAME.subarray(0, 12));
    tagged.set(hex('8100 0064'), 12);
    tagged.set(UDP_FRAME.subarray(12), 16);
    const f = decodeFrame(tagged, 0, tagged.length);
    expect(f.ethernet).toMatchObject({ headerLen: 18, repr: { vlans: [{ vid: 100 }] } });
    expect(f.network).toMatchObject({ kind: 'ipv4', offset: 18 });
    expect(f.transport).toMatchObject({ kind: 'udp', offset: 38, checksum: 'partial' });
    expect(reemit(f)).toBe(toHex(tagged));
    const v6 = UDP_FRAME.slice();
    v6[12] = 0x86;
    v6[13] = 0xdd;
    const g = decodeFrame(v6, 0, v6.length);
    expect(g.network).toMatchObject({ kind: 'raw', ethertype: 0x86dd, offset: 14 });
    expect(g.transport).toBeNull();
    expect(reemit(g)).toBe(toHex(v6));
  });
  it('a length past the buffer is clamped, never read', () => {
    const f = decodeFrame(UDP_FRAME, 0, 10_000);
    expect(f.length).toBe(UDP_FRAME.length);
    expect(f.error).toBeNull();
    expect(decodeFrame(UDP_FRAME, 100, 10).length).toBe(0);
    expect(decodeFrame(UDP_FRAME, 0, -5).ethernet.kind).toBe('error');
    expect(decodeFrame(UDP_FRAME, -4, 20).length).toBe(0);
    expect(decodeFrame(UDP_FRAME, Number.NaN, 20).length).toBe(0);
    expect(decodeFrame(UDP_FRAME, 0, Number.NaN).length).toBe(0);
  });
});
