// A small checker language for frames, after gVisor's pkg/tcpip/checker:
//
//   ipv4(frame, srcAddr('10.0.0.1'), ttl(64), df(false), tos(0xc0),
//        icmp(icmpType(3), icmpCode(3), quoted(protocol(17), udp(dstPort(9998)))))
//
// Each check reads the bytes at the offset its layer gives it and throws an Error naming the field,
// the expected and the actual value. `ipv4` also verifies the header checksum, `icmp` and `udp` theirs.

import type { CaptureTap, NetDevice } from '../../src/devices/device.js';
import { formatIpv4, formatMac, parseIpv4, parseMac } from '../../src/wire/addr.js';
import { verifyIcmpChecksum, verifyIpv4Checksum, verifyUdpChecksum } from '../../src/wire/checksum.js';

/** One captured frame (copied). */
export interface Frame {
  t: number;
  dir: 'in' | 'out';
  bytes: Uint8Array;
}

/** A tap that keeps copies of every frame a device sends or receives. */
export class Recorder implements CaptureTap {
  readonly frames: Frame[] = [];
  frame(timeNs: number, bytes: Uint8Array, offset: number, length: number, direction: 'in' | 'out'): void {
    this.frames.push({ t: timeNs, dir: direction, bytes: bytes.slice(offset, offset + length) });
  }
  static on(dev: NetDevice): Recorder {
    const r = new Recorder();
    dev.taps.push(r);
    return r;
  }
  /** Frames of one EtherType (0x0800 IPv4, 0x0806 ARP). */
  ofType(type: number): Frame[] {
    return this.frames.filter((f) => u16(f.bytes, 12) === type);
  }
  get ip(): Frame[] {
    return this.ofType(0x0800);
  }
  get arp(): Frame[] {
    return this.ofType(0x0806);
  }
}

/** What a check sees: the whole frame, and where its layer starts and how long it is. */
export interface Layer {
  b: Uint8Array;
  off: number;
  len: number;
}
export type Check = (l: Layer) => void;

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}
function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
function mac(b: Uint8Array, at: number): number {
  return u16(b, at) * 0x100000000 + u32(b, at + 2);
}
function addr(a: number | string): number {
  return typeof a === 'string' ? parseIpv4(a) : a >>> 0;
}
function macOf(m: number | string): number {
  return typeof m === 'string' ? parseMac(m) : m;
}
function expectEq(what: string, want: unknown, got: unknown): void {
  if (want !== got) throw new Error(`${what}: want ${String(want)}, got ${String(got)}`);
}
function bytesOf(f: Frame | Uint8Array): Uint8Array {
  return f instanceof Uint8Array ? f : f.bytes;
}

// ---- Ethernet --------------------------------------------------------------------------------------

export function ethernet(frame: Frame | Uint8Array, ...checks: Check[]): void {
  const b = bytesOf(frame);
  for (const c of checks) c({ b, off: 0, len: b.length });
}
export const ethDst = (m: number | string): Check => (l) => expectEq('eth dst', formatMac(macOf(m)), formatMac(mac(l.b, l.off)));
export const ethSrc = (m: number | string): Check => (l) => expectEq('eth src', formatMac(macOf(m)), formatMac(mac(l.b, l.off + 6)));
export const frameLength = (n: number): Check => (l) => expectEq('frame length', n, l.len);

// ---- ARP -------------------------------------------------------------------------------------------

export function arp(frame: Frame | Uint8Array, ...checks: Check[]): void {
  const b = bytesOf(frame);
  expectEq('ethertype', 0x0806, u16(b, 12));
  expectEq('arp htype/ptype/hlen/plen', '1/2048/6/4', `${u16(b, 14)}/${u16(b, 16)}/${b[18]}/${b[19]}`);
  for (const c of checks) c({ b, off: 14, len: b.length - 14 });
}
export const arpOp = (op: 'request' | 'reply'): Check => (l) => expectEq('arp op', op === 'request' ? 1 : 2, u16(l.b, l.off + 6));
export const senderMac = (m: number | string): Check => (l) => expectEq('arp sha', formatMac(macOf(m)), formatMac(mac(l.b, l.off + 8)));
export const senderIp = (a: number | string): Check => (l) => expectEq('arp spa', formatIpv4(addr(a)), formatIpv4(u32(l.b, l.off + 14)));
export const targetMac = (m: number | string): Check => (l) => expectEq('arp tha', formatMac(macOf(m)), formatMac(mac(l.b, l.off + 18)));
export const targetIp = (a: number | string): Check => (l) => expectEq('arp tpa', formatIpv4(addr(a)), formatIpv4(u32(l.b, l.off + 24)));

// ---- IPv4 ------------------------------------------------------------------------------------------

/** Checks on the IPv4 datagram of an Ethernet frame (header checksum verified). */
export function ipv4(frame: Frame | Uint8Array, ...checks: Check[]): void {
  const b = bytesOf(frame);
  expectEq('ethertype', 0x0800, u16(b, 12));
  ipv4At({ b, off: 14, len: b.length - 14 }, checks);
}

function ipv4At(l: Layer, checks: Check[]): void {
  expectEq('ip version', 4, l.b[l.off]! >>> 4);
  if (!verifyIpv4Checksum(l.b, l.off)) throw new Error('ip header checksum is wrong');
  for (const c of checks) c(l);
}

export const srcAddr = (a: number | string): Check => (l) => expectEq('ip src', formatIpv4(addr(a)), formatIpv4(u32(l.b, l.off + 12)));
export const dstAddr = (a: number | string): Check => (l) => expectEq('ip dst', formatIpv4(addr(a)), formatIpv4(u32(l.b, l.off + 16)));
export const ttl = (n: number): Check => (l) => expectEq('ip ttl', n, l.b[l.off + 8]);
export const tos = (n: number): Check => (l) => expectEq('ip tos', n, l.b[l.off + 1]);
export const df = (set: boolean): Check => (l) => expectEq('ip DF', set, (u16(l.b, l.off + 6) & 0x4000) !== 0);
export const ipId = (n: number): Check => (l) => expectEq('ip id', n, u16(l.b, l.off + 4));
export const protocol = (p: number): Check => (l) => expectEq('ip protocol', p, l.b[l.off + 9]);
export const totalLength = (n: number): Check => (l) => expectEq('ip total length', n, u16(l.b, l.off + 2));
/** More fragments (MF) set or clear. */
export const mf = (set: boolean): Check => (l) => expectEq('ip MF', set, (u16(l.b, l.off + 6) & 0x2000) !== 0);
/** Fragment offset, in bytes. */
export const fragOffset = (bytes: number): Check => (l) => expectEq('ip fragment offset', bytes, (u16(l.b, l.off + 6) & 0x1fff) * 8);

function l4(l: Layer): Layer {
  const hl = (l.b[l.off]! & 0x0f) << 2;
  const tot = u16(l.b, l.off + 2);
  return { b: l.b, off: l.off + hl, len: Math.min(tot, l.len) - hl };
}

// ---- ICMP ------------------------------------------------------------------------------------------

/** The IPv4 payload is ICMP with a correct checksum; then the checks on it. */
export const icmp = (...checks: Check[]): Check => (l) => {
  expectEq('ip protocol', 1, l.b[l.off + 9]);
  const m = l4(l);
  if (!verifyIcmpChecksum(l.b, m.off, m.len)) throw new Error('icmp checksum is wrong');
  for (const c of checks) c(m);
};
export const icmpType = (t: number): Check => (l) => expectEq('icmp type', t, l.b[l.off]);
export const icmpCode = (c: number): Check => (l) => expectEq('icmp code', c, l.b[l.off + 1]);
export const echoIdent = (n: number): Check => (l) => expectEq('icmp ident', n, u16(l.b, l.off + 4));
export const echoSeq = (n: number): Check => (l) => expectEq('icmp seq', n, u16(l.b, l.off + 6));
export const icmpRest = (n: number): Check => (l) => expectEq('icmp rest of header', n, u32(l.b, l.off + 4));
export const icmpLength = (n: number): Check => (l) => expectEq('icmp length', n, l.len);
/** The ICMP data (after the 8-byte header). */
export const icmpPayload = (p: Uint8Array): Check => (l) => expectBytes('icmp payload', p, l.b.subarray(l.off + 8, l.off + l.len));
/** Checks on the datagram quoted by an ICMP error (no checksum checks inside: quotes may be cut). */
export const quoted = (...checks: Check[]): Check => (l) => {
  const q: Layer = { b: l.b, off: l.off + 8, len: l.len - 8 };
  expectEq('quoted ip version', 4, l.b[q.off]! >>> 4);
  for (const c of checks) c(q);
};
/** The quoted bytes equal `bytes` (e.g. the datagram as it was sent). */
export const quotedBytes = (bytes: Uint8Array): Check => (l) => expectBytes('quoted datagram', bytes, l.b.subarray(l.off + 8, l.off + l.len));

// ---- UDP -------------------------------------------------------------------------------------------

export const udp = (...checks: Check[]): Check => (l) => {
  expectEq('ip protocol', 17, l.b[l.off + 9]);
  const m = l4(l);
  const ulen = u16(l.b, m.off + 4);
  for (const c of checks) c({ b: l.b, off: m.off, len: Math.min(ulen, m.len) });
};
/** The UDP checksum is present and correct (needs the IPv4 layer: use inside `udp` of a full frame). */
export const udpChecksumOk = (src: number | string, dst: number | string): Check => (l) => {
  const field = u16(l.b, l.off + 6);
  if (field === 0) throw new Error('udp checksum is absent (0)');
  if (!verifyUdpChecksum(l.b, l.off, l.len, addr(src), addr(dst))) throw new Error('udp checksum is wrong');
};
export const srcPort = (p: number): Check => (l) => expectEq('src port', p, u16(l.b, l.off));
export const dstPort = (p: number): Check => (l) => expectEq('dst port', p, u16(l.b, l.off + 2));
export const udpPayload = (p: Uint8Array | string): Check => (l) =>
  expectBytes('udp payload', typeof p === 'string' ? new TextEncoder().encode(p) : p, l.b.subarray(l.off + 8, l.off + l.len));

function expectBytes(what: string, want: Uint8Array, got: Uint8Array): void {
  const hex = (x: Uint8Array): string => Buffer.from(x).toString('hex');
  if (want.length !== got.length || hex(want) !== hex(got)) throw new Error(`${what}: want ${hex(want)}, got ${hex(got)}`);
}

/** Whether `f` passes the checks (for filtering frame lists). */
export function matches(f: Frame, layer: (f: Frame, ...c: Check[]) => void, ...checks: Check[]): boolean {
  try {
    layer(f, ...checks);
    return true;
  } catch {
    return false;
  }
}
