// Addresses as numbers: IPv4 as an unsigned 32-bit integer (always `>>> 0`), MAC as a 48-bit integer
// (exact in a double). Text forms are the ones `ip addr` and tcpdump -nn print: dotted quad, and six
// lower-case hex pairs joined by colons.

import { WireError } from './errors.js';

function badAddr(s: string, what: string, at: number): WireError {
  return new WireError('bad-value', 'addr', at, `not ${what}: ${JSON.stringify(s)}`);
}

/** Dotted-quad IPv4 address, e.g. "172.17.0.2". */
export type Ipv4String = string;
/** Address with prefix length, e.g. "172.17.0.1/16" (as scenarios and plans write them). */
export type CidrString = string;
/** Lower-case colon-separated MAC, e.g. "02:42:ac:11:00:02". */
export type MacString = string;

/** "10.0.2.15" → 0x0a00020f. Strict: four decimal parts 0..255, no leading zeros beyond "0", no spaces. */
export function parseIpv4(s: string): number {
  if (typeof s !== 'string') throw badAddr(String(s), 'an IPv4 address', 0);
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e; // a virtual final '.'
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && part === 0) throw badAddr(s, 'an IPv4 address (leading zero)', i);
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) throw badAddr(s, 'an IPv4 address (part > 255)', i);
    } else if (c === 0x2e) {
      if (digits === 0) throw badAddr(s, 'an IPv4 address (empty part)', i);
      value = value * 256 + part;
      parts++;
      if (parts > 4) throw badAddr(s, 'an IPv4 address (more than 4 parts)', i);
      part = 0;
      digits = 0;
    } else {
      throw badAddr(s, 'an IPv4 address', i);
    }
  }
  if (parts !== 4) throw badAddr(s, 'an IPv4 address (fewer than 4 parts)', s.length);
  return value >>> 0;
}

/** 0x0a00020f → "10.0.2.15". */
export function formatIpv4(n: number): string {
  n = n >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** "02:42:ac:11:00:02" (or with '-', either case) → 0x0242ac110002. Exactly six two-digit hex pairs. */
export function parseMac(s: string): number {
  if (typeof s !== 'string' || s.length !== 17) throw badAddr(String(s), 'a MAC address (aa:bb:cc:dd:ee:ff)', 0);
  const sep = s.charCodeAt(2);
  if (sep !== 0x3a && sep !== 0x2d) throw badAddr(s, 'a MAC address', 2);
  let value = 0;
  for (let i = 0; i < 6; i++) {
    const at = i * 3;
    const hi = hexVal(s.charCodeAt(at));
    const lo = hexVal(s.charCodeAt(at + 1));
    if (hi < 0) throw badAddr(s, 'a MAC address', at);
    if (lo < 0) throw badAddr(s, 'a MAC address', at + 1);
    if (i < 5 && s.charCodeAt(at + 2) !== sep) throw badAddr(s, 'a MAC address', at + 2);
    value = value * 256 + hi * 16 + lo;
  }
  return value;
}

const HEX = '0123456789abcdef';

/** 0x0242ac110002 → "02:42:ac:11:00:02". */
export function formatMac(n: number): string {
  let out = '';
  const hi = Math.floor(n / 0x100000000) & 0xffff;
  const lo = n >>> 0;
  const bytes = [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
  for (let i = 0; i < 6; i++) {
    const b = bytes[i]!;
    if (i > 0) out += ':';
    out += HEX[b >>> 4]! + HEX[b & 15]!;
  }
  return out;
}

/** The broadcast MAC ff:ff:ff:ff:ff:ff as a number. */
export const MAC_BROADCAST = 0xffffffffffff;

/** Whether the MAC's group bit (first octet's low bit) is set: broadcast or multicast. */
export function isMulticastMac(mac: number): boolean {
  return (Math.floor(mac / 0x10000000000) & 1) === 1;
}

/** "172.17.0.0/16" → { addr: 0xac110000, len: 16 }. A bare address means /32. Host bits are kept
 *  (as `ip addr add 172.17.0.1/16` keeps them); use `addr & prefixMask(len)` for the network. */
export function parseCidr(s: string): { addr: number; len: number } {
  if (typeof s !== 'string') throw badAddr(String(s), 'a CIDR prefix', 0);
  const slash = s.indexOf('/');
  if (slash < 0) return { addr: parseIpv4(s), len: 32 };
  const addr = parseIpv4(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]?)$/.test(lenText)) throw badAddr(s, 'a CIDR prefix (bad length)', slash + 1);
  const len = Number(lenText);
  if (len > 32) throw badAddr(s, 'a CIDR prefix (length > 32)', slash + 1);
  return { addr, len };
}

/** Netmask of a prefix length: 24 → 0xffffff00, 0 → 0, 32 → 0xffffffff. */
export function prefixMask(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

/** Whether `addr` lies in `net/len` (host bits of `net` ignored). */
export function inSubnet(addr: number, net: number, len: number): boolean {
  const m = prefixMask(len);
  return ((addr & m) >>> 0) === ((net & m) >>> 0);
}

/** "172.17.0.0/16" form of an address and prefix length. */
export function formatCidr(addr: number, len: number): string {
  return `${formatIpv4(addr)}/${len}`;
}
