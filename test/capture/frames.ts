// Valid Ethernet frames for capture tests, assembled field by field with correct RFC 1071 checksums
// (from src/wire/checksum.ts): ARP, ICMP echo / unreachable / time exceeded, UDP, a TCP handshake with
// Linux's SYN options, data, FIN and RST. Shaped like the real captures in fixtures/real-captures.
import { fillIcmpChecksum, fillIpv4Checksum, fillTcpChecksum, fillUdpChecksum } from '../../src/wire/checksum.js';
import { parseIpv4, parseMac } from '../../src/wire/addr.js';

export interface TestFrame {
  timeNs: number;
  bytes: Uint8Array;
}

class Builder {
  readonly b: Uint8Array;
  readonly v: DataView;
  constructor(len: number) {
    this.b = new Uint8Array(len);
    this.v = new DataView(this.b.buffer);
  }
  mac(at: number, m: string): void {
    const n = parseMac(m);
    for (let i = 0; i < 6; i++) this.b[at + i] = Math.floor(n / 2 ** (8 * (5 - i))) & 0xff;
  }
  ip(at: number, a: string): void {
    this.v.setUint32(at, parseIpv4(a));
  }
}

function ethernet(b: Builder, dst: string, src: string, type: number): void {
  b.mac(0, dst);
  b.mac(6, src);
  b.v.setUint16(12, type);
}

interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  ttl?: number;
  tos?: number;
  id?: number;
  df?: boolean;
}

/** IPv4 header at 14 for a payload of `l4len` bytes. */
function ipv4(b: Builder, o: Ipv4Opts, l4len: number): void {
  const v = b.v;
  v.setUint8(14, 0x45);
  v.setUint8(15, o.tos ?? 0);
  v.setUint16(16, 20 + l4len);
  v.setUint16(18, o.id ?? 0x1234);
  v.setUint16(20, o.df === false ? 0 : 0x4000);
  v.setUint8(22, o.ttl ?? 64);
  v.setUint8(23, o.proto);
  b.ip(26, o.src);
  b.ip(30, o.dst);
  fillIpv4Checksum(b.b, 14);
}

export function arp(op: 1 | 2, sha: string, spa: string, tha: string, tpa: string, ethDst: string, pad = 0): Uint8Array {
  const b = new Builder(42 + pad);
  ethernet(b, ethDst, sha, 0x0806);
  b.v.setUint16(14, 1);
  b.v.setUint16(16, 0x0800);
  b.v.setUint8(18, 6);
  b.v.setUint8(19, 4);
  b.v.setUint16(20, op);
  b.mac(22, sha);
  b.ip(28, spa);
  b.mac(32, tha);
  b.ip(38, tpa);
  return b.b;
}

export function icmpEcho(type: 0 | 8, ethSrc: string, ethDst: string, ip: Omit<Ipv4Opts, 'proto'>, id: number, seq: number, dataLen = 56): Uint8Array {
  const len = 8 + dataLen;
  const b = new Builder(34 + len);
  ethernet(b, ethDst, ethSrc, 0x0800);
  ipv4(b, { ...ip, proto: 1 }, len);
  b.v.setUint8(34, type);
  b.v.setUint16(38, id);
  b.v.setUint16(40, seq);
  for (let i = 0; i < dataLen; i++) b.b[42 + i] = (0x10 + i) & 0xff;
  fillIcmpChecksum(b.b, 34, len);
  return b.b;
}

/** An ICMP error (type 3 unreachable / 5 redirect / 11 time exceeded) quoting the IPv4 packet of `original` (a frame)
 *  up to its header and 8 bytes, as Linux does for small packets (it quotes up to 576 bytes). */
export function icmpError(type: 3 | 5 | 11, code: number, ethSrc: string, ethDst: string, ip: Omit<Ipv4Opts, 'proto'>, original: Uint8Array, rest = 0): Uint8Array {
  const quoted = original.subarray(14);
  const len = 8 + quoted.length;
  const b = new Builder(34 + len);
  ethernet(b, ethDst, ethSrc, 0x0800);
  ipv4(b, { tos: 0xc0, df: false, ...ip, proto: 1 }, len);
  b.v.setUint8(34, type);
  b.v.setUint8(35, code);
  b.v.setUint32(38, rest >>> 0); // the gateway of a redirect, the next-hop MTU of "need to frag"
  b.b.set(quoted, 42);
  fillIcmpChecksum(b.b, 34, len);
  return b.b;
}

export function udp(ethSrc: string, ethDst: string, ip: Omit<Ipv4Opts, 'proto'>, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const len = 8 + payload.length;
  const b = new Builder(34 + len);
  ethernet(b, ethDst, ethSrc, 0x0800);
  ipv4(b, { ...ip, proto: 17 }, len);
  b.v.setUint16(34, sport);
  b.v.setUint16(36, dport);
  b.v.setUint16(38, len);
  b.b.set(payload, 42);
  fillUdpChecksum(b.b, 34, len, parseIpv4(ip.src), parseIpv4(ip.dst));
  return b.b;
}

export const TcpFlag = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

export interface TcpOpts {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urgent?: number;
  /** Raw option bytes (padded to 4 by the caller). */
  options?: number[];
  payload?: Uint8Array;
}

export function tcp(ethSrc: string, ethDst: string, ip: Omit<Ipv4Opts, 'proto'>, t: TcpOpts): Uint8Array {
  const opts = t.options ?? [];
  const payload = t.payload ?? new Uint8Array(0);
  const hlen = 20 + opts.length;
  const len = hlen + payload.length;
  const b = new Builder(34 + len);
  ethernet(b, ethDst, ethSrc, 0x0800);
  ipv4(b, { ...ip, proto: 6 }, len);
  const v = b.v;
  v.setUint16(34, t.sport);
  v.setUint16(36, t.dport);
  v.setUint32(38, t.seq >>> 0);
  v.setUint32(42, t.ack >>> 0);
  v.setUint8(46, (hlen / 4) << 4);
  v.setUint8(47, t.flags);
  v.setUint16(48, t.win);
  v.setUint16(52, t.urgent ?? 0);
  b.b.set(opts, 54);
  b.b.set(payload, 34 + hlen);
  fillTcpChecksum(b.b, 34, len, parseIpv4(ip.src), parseIpv4(ip.dst));
  return b.b;
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Linux's SYN options: mss 1460, sackOK, TS val/ecr, nop, wscale 10. */
export function synOptions(tsval: number, tsecr: number): number[] {
  return [2, 4, 0x05, 0xb4, 4, 2, 8, 10, ...u32(tsval), ...u32(tsecr), 1, 3, 3, 10];
}

/** nop, nop, TS val/ecr. */
export function tsOptions(tsval: number, tsecr: number): number[] {
  return [1, 1, 8, 10, ...u32(tsval), ...u32(tsecr)];
}

/** A conversation like nat-basic's container side: ARP, ping, a TCP exchange, UDP echo, a port
 *  unreachable and a time exceeded; times in virtual nanoseconds from 0. */
export function conversation(): TestFrame[] {
  const ct = '02:42:ac:11:00:02';
  const gw = '02:42:c0:00:00:01';
  const a = { src: '172.17.0.2', dst: '198.51.100.1' };
  const r = { src: '198.51.100.1', dst: '172.17.0.2', ttl: 63 };
  const cs = 1501438822;
  const ss = 3596088427;
  const req = new TextEncoder().encode('GET /status HTTP/1.1\r\nHost: example\r\n\r\n!!!!!');
  const rep = new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok!!!');
  const probe = udp(ct, gw, { ...a, id: 0x4321 }, 57817, 9998, new Uint8Array([1, 2, 3, 4]));
  const frames: Uint8Array[] = [
    arp(1, ct, '172.17.0.2', '00:00:00:00:00:00', '172.17.0.1', 'ff:ff:ff:ff:ff:ff'),
    arp(2, gw, '172.17.0.1', ct, '172.17.0.2', ct),
    icmpEcho(8, ct, gw, a, 18782, 1),
    icmpEcho(0, gw, ct, r, 18782, 1),
    tcp(ct, gw, a, { sport: 35952, dport: 8080, seq: cs, ack: 0, flags: TcpFlag.SYN, win: 64240, options: synOptions(643826225, 0) }),
    tcp(gw, ct, r, { sport: 8080, dport: 35952, seq: ss, ack: cs + 1, flags: TcpFlag.SYN | TcpFlag.ACK, win: 65160, options: synOptions(2307830220, 643826225) }),
    tcp(ct, gw, a, { sport: 35952, dport: 8080, seq: cs + 1, ack: ss + 1, flags: TcpFlag.ACK, win: 63, options: tsOptions(643826225, 2307830220) }),
    tcp(ct, gw, a, { sport: 35952, dport: 8080, seq: cs + 1, ack: ss + 1, flags: TcpFlag.ACK | TcpFlag.PSH, win: 63, options: tsOptions(643826225, 2307830220), payload: req }),
    tcp(gw, ct, r, { sport: 8080, dport: 35952, seq: ss + 1, ack: cs + 1 + req.length, flags: TcpFlag.ACK, win: 64, options: tsOptions(2307830220, 643826225) }),
    tcp(gw, ct, r, { sport: 8080, dport: 35952, seq: ss + 1, ack: cs + 1 + req.length, flags: TcpFlag.ACK | TcpFlag.PSH, win: 64, options: tsOptions(2307830220, 643826225), payload: rep }),
    tcp(ct, gw, a, { sport: 35952, dport: 8080, seq: cs + 1 + req.length, ack: ss + 1 + rep.length, flags: TcpFlag.ACK | TcpFlag.FIN, win: 63, options: tsOptions(643826226, 2307830220) }),
    tcp(gw, ct, r, { sport: 8080, dport: 35952, seq: ss + 1 + rep.length, ack: cs + 2 + req.length, flags: TcpFlag.ACK | TcpFlag.FIN, win: 64, options: tsOptions(2307830221, 643826226) }),
    tcp(ct, gw, a, { sport: 35952, dport: 8080, seq: cs + 2 + req.length, ack: ss + 2 + rep.length, flags: TcpFlag.ACK, win: 63, options: tsOptions(643826226, 2307830221) }),
    tcp(ct, gw, a, { sport: 39172, dport: 9999, seq: 2576023017, ack: 0, flags: TcpFlag.SYN, win: 64240, options: synOptions(1766180567, 0) }),
    tcp(gw, ct, r, { sport: 9999, dport: 39172, seq: 0, ack: 2576023018, flags: TcpFlag.RST | TcpFlag.ACK, win: 0 }),
    udp(ct, gw, a, 57817, 7, new Uint8Array([0x70, 0x69, 0x6e, 0x67])),
    udp(gw, ct, r, 7, 57817, new Uint8Array([0x70, 0x69, 0x6e, 0x67])),
    probe,
    icmpError(3, 3, gw, ct, { src: '198.51.100.1', dst: '172.17.0.2' }, probe),
    icmpError(11, 0, gw, ct, { src: '172.17.0.1', dst: '172.17.0.2' }, icmpEcho(8, ct, gw, { ...a, ttl: 1 }, 18783, 1)),
    arp(2, '52:55:0a:00:02:02', '10.0.2.2', ct, '172.17.0.2', ct, 22), // padded like libslirp's reply
  ];
  return frames.map((bytes, i) => ({ timeNs: 1_000_000_000 + i * 123_457 + (i % 3), bytes }));
}
