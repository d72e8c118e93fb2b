// DHCP (RFC 2131/2132) messages: the BOOTP header and its options, for the DHCP server and client of
// VM networks (dhcp-server.ts, dhcp-client.ts). Plain encode/decode; the UDP/IP/Ethernet layers come
// from src/wire.

import type { NetDevice } from '../devices/device.js';
import { ETH, EtherType, writeEthernet } from '../wire/ethernet.js';
import { IPV4, IpProto, writeIpv4Header } from '../wire/ipv4.js';
import { UDP } from '../wire/udp.js';
import { fillUdpChecksum, verifyIpv4Checksum, verifyUdpChecksum } from '../wire/checksum.js';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
/** RFC 2131 4.1: the BROADCAST bit of `flags`. */
export const BROADCAST_FLAG = 0x8000;
const MAGIC = 0x63825363;
/** Fixed BOOTP header up to the magic cookie (236 bytes) + the cookie. */
const HEADER_LEN = 240;
/** RFC 1542 2.1: a BOOTP message is at least 300 bytes (senders pad the options with zeros). */
export const BOOTP_MIN_LEN = 300;

export const DhcpType = Object.freeze({
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
});

export const Opt = Object.freeze({
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  BROADCAST: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_REQUEST: 55,
  MESSAGE: 56,
  RENEWAL_T1: 58,
  REBINDING_T2: 59,
  CLIENT_ID: 61,
  END: 255,
});

export interface DhcpMessage {
  op: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** Client hardware address (Ethernet MAC as a 48-bit number). */
  chaddr: number;
  /** Options in the order they are written (END and padding are implied). */
  options: { code: number; data: Uint8Array }[];
}

export function u32Opt(code: number, v: number): { code: number; data: Uint8Array } {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, v >>> 0);
  return { code, data };
}

export function u8Opt(code: number, v: number): { code: number; data: Uint8Array } {
  return { code, data: Uint8Array.of(v) };
}

export function option(m: DhcpMessage, code: number): Uint8Array | null {
  for (const o of m.options) if (o.code === code) return o.data;
  return null;
}

export function optionU32(m: DhcpMessage, code: number): number | null {
  const d = option(m, code);
  if (d === null || d.length < 4) return null;
  return new DataView(d.buffer, d.byteOffset, 4).getUint32(0);
}

export function messageType(m: DhcpMessage): number | null {
  const d = option(m, Opt.MESSAGE_TYPE);
  return d !== null && d.length === 1 ? d[0]! : null;
}

/** The message as UDP payload, zero-padded to `minLen` (300: BOOTP's minimum). */
export function encodeDhcp(m: DhcpMessage, minLen = BOOTP_MIN_LEN): Uint8Array {
  let n = HEADER_LEN + 1;
  for (const o of m.options) n += 2 + o.data.length;
  const out = new Uint8Array(Math.max(n, minLen));
  const v = new DataView(out.buffer);
  v.setUint8(0, m.op);
  v.setUint8(1, 1); // htype Ethernet
  v.setUint8(2, 6); // hlen
  v.setUint8(3, 0); // hops
  v.setUint32(4, m.xid >>> 0);
  v.setUint16(8, m.secs);
  v.setUint16(10, m.flags);
  v.setUint32(12, m.ciaddr >>> 0);
  v.setUint32(16, m.yiaddr >>> 0);
  v.setUint32(20, m.siaddr >>> 0);
  v.setUint32(24, m.giaddr >>> 0);
  v.setUint16(28, Math.floor(m.chaddr / 0x100000000));
  v.setUint32(30, m.chaddr >>> 0);
  // 34..43 rest of chaddr, sname (44..107), file (108..235): zero
  v.setUint32(236, MAGIC);
  let at = HEADER_LEN;
  for (const o of m.options) {
    if (o.data.length > 255) throw new Error(`DHCP option ${o.code} longer than 255 bytes`);
    out[at++] = o.code;
    out[at++] = o.data.length;
    out.set(o.data, at);
    at += o.data.length;
  }
  out[at] = Opt.END;
  return out;
}

/** Null for anything that is not an Ethernet DHCP message. */
export function decodeDhcp(b: Uint8Array): DhcpMessage | null {
  if (b.length < HEADER_LEN) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint8(1) !== 1 || v.getUint8(2) !== 6 || v.getUint32(236) !== MAGIC) return null;
  const options: { code: number; data: Uint8Array }[] = [];
  let at = HEADER_LEN;
  while (at < b.length) {
    const code = b[at]!;
    if (code === Opt.PAD) {
      at++;
      continue;
    }
    if (code === Opt.END) break;
    if (at + 1 >= b.length) return null;
    const len = b[at + 1]!;
    if (at + 2 + len > b.length) return null;
    options.push({ code, data: b.slice(at + 2, at + 2 + len) });
    at += 2 + len;
  }
  return {
    op: v.getUint8(0),
    xid: v.getUint32(4),
    secs: v.getUint16(8),
    flags: v.getUint16(10),
    ciaddr: v.getUint32(12),
    yiaddr: v.getUint32(16),
    siaddr: v.getUint32(20),
    giaddr: v.getUint32(24),
    chaddr: v.getUint16(28) * 0x100000000 + v.getUint32(30),
    options,
  };
}

// ---- raw frames (a packet socket's view: clients without an address, servers without a host address) ----


export interface RawUdp {
  dstMac: number;
  srcMac: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  tos: number;
  ttl: number;
  id: number;
  df: boolean;
  payload: Uint8Array;
}

/** Writes Ethernet + IPv4 + UDP (checksums filled) into a fresh slot and transmits it on `dev`. */
export function transmitUdpFrame(dev: NetDevice, f: RawUdp): void {
  const pool = dev.engine.pool;
  const slot = pool.alloc();
  const base = pool.base(slot);
  const ulen = UDP.HEADER_LEN + f.payload.length;
  writeEthernet(pool.view, base, f.dstMac, f.srcMac, EtherType.IPV4);
  writeIpv4Header(pool.view, base + ETH.HEADER_LEN, f.tos, IPV4.HEADER_LEN + ulen, f.id, f.df, f.ttl, IpProto.UDP, f.src >>> 0, f.dst >>> 0);
  const u = base + ETH.HEADER_LEN + IPV4.HEADER_LEN;
  const v = pool.view;
  v.setUint16(u + UDP.SRC_PORT, f.sport);
  v.setUint16(u + UDP.DST_PORT, f.dport);
  v.setUint16(u + UDP.LENGTH, ulen);
  v.setUint16(u + UDP.CHECKSUM, 0);
  pool.bytes.set(f.payload, u + UDP.HEADER_LEN);
  fillUdpChecksum(pool.bytes, u, ulen, f.src >>> 0, f.dst >>> 0);
  pool.len[slot] = ETH.HEADER_LEN + IPV4.HEADER_LEN + ulen;
  dev.transmit(slot);
}

/** The UDP payload of an untagged Ethernet/IPv4/UDP frame to `dport` with correct checksums, else null. */
export function udpPayloadOf(bytes: Uint8Array, off: number, len: number, dport: number): { src: number; dst: number; dstMac: number; payload: Uint8Array } | null {
  if (len < ETH.HEADER_LEN + IPV4.HEADER_LEN + UDP.HEADER_LEN) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset + off, len);
  if (v.getUint16(ETH.ETHERTYPE) !== EtherType.IPV4) return null;
  const ip = ETH.HEADER_LEN;
  const vihl = v.getUint8(ip);
  if (vihl >>> 4 !== 4) return null;
  const hl = (vihl & 15) << 2;
  if (v.getUint8(ip + IPV4.PROTOCOL) !== IpProto.UDP || !verifyIpv4Checksum(bytes, off + ip)) return null;
  if ((v.getUint16(ip + IPV4.FLAGS_FRAG) & 0x3fff) !== 0) return null;
  const tot = v.getUint16(ip + IPV4.TOTAL_LEN);
  if (tot > len - ip || tot < hl + UDP.HEADER_LEN) return null;
  const u = ip + hl;
  if (v.getUint16(u + UDP.DST_PORT) !== dport) return null;
  const ulen = v.getUint16(u + UDP.LENGTH);
  if (ulen < UDP.HEADER_LEN || ulen > tot - hl) return null;
  const src = v.getUint32(ip + IPV4.SRC);
  const dst = v.getUint32(ip + IPV4.DST);
  if (!verifyUdpChecksum(bytes, off + u, ulen, src, dst)) return null;
  const dstMac = v.getUint16(0) * 0x100000000 + v.getUint32(2);
  return { src, dst, dstMac, payload: bytes.slice(off + u + UDP.HEADER_LEN, off + u + ulen) };
}
