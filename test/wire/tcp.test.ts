import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checksumData, finishChecksum, foldSum, l4ChecksumStatus, pseudoHeaderSum, tcpChecksum, verifyTcpChecksum } from '../../src/wire/checksum.js';
import * as tcp from '../../src/wire/tcp.js';
import { TCP, writeTcpHeader, tcpAck, tcpChecksumField, tcpDstPort, TcpFlag, tcpFlags, tcpHeaderLen, tcpSeq, tcpSrcPort, tcpWindow, type TcpRepr } from '../../src/wire/tcp.js';
import { tcpRepr } from './arbitraries.js';
import { hex, roundTrip, toHex, wireErrorOf } from './helpers.js';

const CT = 0xac110002;
const SRV = 0xc6336401;
// nat-basic/ct.eth0.pcap: Linux 6.18 SYN <mss 1460,sackOK,TS val 643826225 ecr 0,nop,wscale 10>.
const SYN = hex('8c70 1f40 597e 2366 0000 0000 a002 faf0 d676 0000 0204 05b4 0402 080a 2660 0231 0000 0000 0103 030a');
// Same capture: the request's header <nop,nop,TS val 643826225 ecr 2307830220> and its first 16 data bytes.
const PSH = hex('8c70 1f40 597e 2367 d657 f46c 8018 003f d699 0000 0101 080a 2660 0231 898e b1cc 4745 5420 2f69 6e64 6578 2e68 746d 6c20');
// vm-nat/vg.tap0.pcap: libslirp's SYN-ACK with only MSS, window 65535, full checksum.
const SLIRP_SYNACK = hex('1f40 8e66 0000 fa01 e9cb b09f 6012 ffff 1f6a 0000 0204 05b4');

describe('TCP', () => {
  it('test_parse: a Linux SYN, options in order', () => {
    const r = tcp.parse(SYN, 0, SYN.length);
    expect(r).toEqual({
      srcPort: 35952,
      dstPort: 8000,
      seq: 1501438822,
      ack: 0,
      flags: TcpFlag.SYN,
      reserved: 0,
      window: 64240,
      checksum: 0xd676,
      urgent: 0,
      options: [
        { kind: 'mss', value: 1460 },
        { kind: 'sack-permitted' },
        { kind: 'timestamps', tsVal: 643826225, tsEcr: 0 },
        { kind: 'nop' },
        { kind: 'wscale', shift: 10 },
      ],
      payload: new Uint8Array(0),
    });
    expect(tcp.headerLen(r)).toBe(40);
    // Sent by the container itself on a veth: the offload placeholder.
    expect(l4ChecksumStatus(SYN, 0, SYN.length, CT, SRV, 6)).toBe('partial');
  });
  it('test_emit: byte-identical, and a full checksum when given the pseudo header', () => {
    const r = tcp.parse(SYN, 0, SYN.length);
    expect(toHex(roundTrip(tcp, r))).toBe(toHex(SYN));
    const b = new Uint8Array(41).fill(0xa5);
    expect(tcp.emit(r, b, 1, { src: CT, dst: SRV })).toBe(40);
    expect(verifyTcpChecksum(b, 1, 40, CT, SRV)).toBe(true);
    expect(tcpChecksumField(new DataView(b.buffer), 1)).toBe(tcpChecksum(SYN, 0, 40, CT, SRV));
  });
  it('data segment with NOP,NOP,TS', () => {
    const r = tcp.parse(PSH, 0, PSH.length);
    expect(r.flags).toBe(TcpFlag.PSH | TcpFlag.ACK);
    expect(r.options).toEqual([{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 643826225, tsEcr: 2307830220 }]);
    expect(r.payload.length).toBe(PSH.length - 32);
    expect(toHex(roundTrip(tcp, r))).toBe(toHex(PSH));
  });
  it('libslirp SYN-ACK verifies (a full checksum, not offloaded)', () => {
    const r = tcp.parse(SLIRP_SYNACK, 0, SLIRP_SYNACK.length);
    expect(r.options).toEqual([{ kind: 'mss', value: 1460 }]);
    expect(verifyTcpChecksum(SLIRP_SYNACK, 0, 24, SRV, 0x0a000264)).toBe(true);
  });
  it('every flag, NS and the reserved bits included', () => {
    const b = SYN.slice(0, 20);
    b[12] = 0x5f; // data offset 5, reserved 7, NS
    b[13] = 0xff;
    const r = tcp.parse(b, 0, 20);
    expect(r.flags).toBe(0x1ff);
    expect(r.reserved).toBe(7);
    expect(r.flags & TcpFlag.ECE).toBeTruthy();
    expect(r.flags & TcpFlag.CWR).toBeTruthy();
    expect(r.flags & TcpFlag.NS).toBeTruthy();
    expect(toHex(roundTrip(tcp, r))).toBe(toHex(b));
    expect(tcpFlags(new DataView(b.buffer), 0)).toBe(0x1ff);
  });
  it('SACK blocks, EOL with its padding, unknown kinds and odd lengths kept as bytes', () => {
    const h = hex(
      '0050 c000 0000 0001 0000 0002 b010 0100 0000 0000' + // data offset 11 → 24 option bytes
        '0101 050a 0000 0064 0000 00c8' + // nop nop sack [100,200]
        '1e04 abcd' + // unknown kind 30, 2 data bytes
        '0203 07' + // MSS with length 3: kept raw
        '00 0000 0000', // EOL and 4 bytes after it
    );
    const r = tcp.parse(h, 0, h.length);
    expect(r.options).toEqual([
      { kind: 'nop' },
      { kind: 'nop' },
      { kind: 'sack', blocks: [{ left: 100, right: 200 }] },
      { kind: 'unknown', type: 30, data: hex('abcd') },
      { kind: 'unknown', type: 2, data: hex('07') },
      { kind: 'eol', rest: hex('00000000') },
    ]);
    expect(toHex(roundTrip(tcp, r))).toBe(toHex(h));
    const nonZeroPad = h.slice();
    nonZeroPad[43] = 0x99;
    expect(toHex(roundTrip(tcp, tcp.parse(nonZeroPad, 0, 44)))).toBe(toHex(nonZeroPad));
  });
  it('emit pads options to 4 bytes with zeros', () => {
    const r: TcpRepr = { ...tcp.parse(SYN, 0, 40), options: [{ kind: 'wscale', shift: 7 }] };
    const b = new Uint8Array(24).fill(0xa5);
    expect(tcp.emit(r, b, 0)).toBe(24);
    expect(b[12]! >>> 4).toBe(6);
    expect(toHex(b.subarray(20))).toBe('03030700');
  });
  it('malformed: truncated header, data offset < 5 or past the bytes, option lengths that lie', () => {
    expect(wireErrorOf(() => tcp.parse(SYN, 0, 19))).toMatchObject({ code: 'truncated', protocol: 'tcp', offset: 0 });
    expect(wireErrorOf(() => tcp.parse(SYN, 0, 39))).toMatchObject({ code: 'truncated', offset: 0 });
    const b = SYN.slice();
    b[12] = 0x40;
    expect(wireErrorOf(() => tcp.parse(b, 0, 40))).toMatchObject({ code: 'bad-length', offset: TCP.DATA_OFFSET });
    const lie = SYN.slice();
    lie[21] = 40; // MSS length 40
    expect(wireErrorOf(() => tcp.parse(lie, 0, 40))).toMatchObject({ code: 'bad-length', offset: 21 });
    lie[21] = 1;
    expect(wireErrorOf(() => tcp.parse(lie, 0, 40))).toMatchObject({ code: 'bad-length', offset: 21 });
    const tail = SYN.slice();
    tail[37] = 1; // nop, nop, then a kind with no room for its length in the last byte
    tail[38] = 1;
    tail[39] = 0x1e;
    expect(wireErrorOf(() => tcp.parse(tail, 0, 40))).toMatchObject({ code: 'truncated', offset: 39 });
  });
  it('fast accessors', () => {
    const v = new DataView(SYN.buffer, SYN.byteOffset);
    expect([tcpSrcPort(v, 0), tcpDstPort(v, 0), tcpSeq(v, 0), tcpAck(v, 0), tcpHeaderLen(v, 0), tcpFlags(v, 0), tcpWindow(v, 0)]).toEqual([
      35952, 8000, 1501438822, 0, 40, 2, 64240,
    ]);
  });
  it('round-trips any segment; filled checksums verify', () => {
    fc.assert(
      fc.property(tcpRepr, fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (r, src, dst) => {
        roundTrip(tcp, r);
        const b = new Uint8Array(tcp.bufferLen(r) + 1);
        const n = tcp.emit(r, b, 1, { src, dst });
        expect(verifyTcpChecksum(b, 1, n, src, dst)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
  it('writeTcpHeader writes what emit writes and returns the sum of its words', () => {
    fc.assert(
      fc.property(tcpRepr, fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: 3 }), (r0, src, dst, off) => {
        const r = { ...r0, options: [], payload: new Uint8Array(0) };
        const a = new Uint8Array(off + 20);
        const b = new Uint8Array(off + 20);
        tcp.emit({ ...r, reserved: 0 }, a, off, { src, dst });
        const sum = writeTcpHeader(new DataView(b.buffer), off, r.srcPort, r.dstPort, r.seq, r.ack, 20, r.flags, r.window, r.urgent);
        expect(sum).toBeLessThan(2 ** 31);
        expect(foldSum(sum)).toBe(checksumData(b, off, 20));
        const check = finishChecksum(foldSum(sum + pseudoHeaderSum(src, dst, 6, 20)));
        b[off + 16] = check >>> 8;
        b[off + 17] = check & 0xff;
        expect(toHex(b)).toBe(toHex(a));
      }),
    );
  });
});
