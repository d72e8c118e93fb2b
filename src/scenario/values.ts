// Parsers for the scalar values a scenario file holds: addresses, CIDRs, MACs, ports, durations, port
// mappings, names. Addresses go through src/wire/addr.ts; each function here returns the parsed value or null; the schema (./spec.ts) turns null into an
// "expected …, got …" error. Kept here (not src/wire/addr.ts) because the accepted spellings are the
// scenario format's, e.g. leading zeros are refused since Linux's inet_aton would read them as octal.

import { formatCidr, formatIpv4, parseCidr as parseCidrStrict, parseIpv4, prefixMask } from '../wire/addr.js';

/** "192.0.2.1" -> 32-bit unsigned number; null if not a canonical dotted quad (src/wire/addr.ts's
 *  parser, which refuses leading zeros too, turned into the null-returning form the schema wants). */
export function ipv4ToNum(s: string): number | null {
  try {
    return parseIpv4(s);
  } catch {
    return null;
  }
}

export const numToIpv4 = formatIpv4;
export const maskOf = prefixMask;
export { formatCidr };

export interface Cidr {
  addr: number;
  len: number;
}

/** "A.B.C.D/len" with len 0-32 (a slash is required here); null otherwise. */
export function parseCidr(s: string): Cidr | null {
  if (!s.includes('/')) return null;
  try {
    return parseCidrStrict(s);
  } catch {
    return null;
  }
}

export function networkOf(c: Cidr): number {
  return (c.addr & maskOf(c.len)) >>> 0;
}

/** Whether two CIDRs share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const len = Math.min(a.len, b.len);
  const m = maskOf(len);
  return ((a.addr & m) >>> 0) === ((b.addr & m) >>> 0);
}

export function cidrContains(c: Cidr, addr: number): boolean {
  const m = maskOf(c.len);
  return ((c.addr & m) >>> 0) === ((addr & m) >>> 0);
}

/** "02:00:00:00:00:01" (either case, ':' or '-' separated) -> lower-case colon form; null otherwise. */
export function normaliseMac(s: string): string | null {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) return null;
  const sep = s[2];
  if (s.split(sep!).length !== 6) return null;
  return s.toLowerCase().replace(/-/g, ':');
}

/** Multicast (group bit set) or all-zero MACs cannot be an interface's address (Linux: EADDRNOTAVAIL). */
export function macIsAssignable(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 1) === 0 && mac !== '00:00:00:00:00:00';
}

/** Whether a JS value is a port number 1-65535. */
export function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function portText(s: string): number | null {
  if (!/^[1-9][0-9]{0,4}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** The virtual-time bound: no duration, and no traffic entry's end (`at` plus what it takes), may go
 *  past 1,000,000 s (11.6 days). Virtual time is kept in nanoseconds in a double, exact up to 2^53 ns
 *  (104 days); the bound leaves room for the run's grace period and timers beyond the last entry. */
export const MAX_VIRTUAL_NS = 1e15;
const MAX_VIRTUAL_TEXT = '1000000s (11.6 days)';

function durationText(v: string): RegExpExecArray | null {
  return /^([0-9]+(?:\.[0-9]+)?)(ms|s|us)$/.exec(v);
}

/** "200ms", "1s", "1.5s", "500us", or the number 0 -> nanoseconds (integer), at most MAX_VIRTUAL_NS;
 *  null otherwise (durationProblem says why). */
export function parseDuration(v: unknown): number | null {
  if (v === 0) return 0;
  if (typeof v !== 'string') return null;
  const m = durationText(v);
  if (!m) return null;
  const scale = m[2] === 's' ? 1e9 : m[2] === 'ms' ? 1e6 : 1e3;
  const ns = Math.round(Number(m[1]) * scale);
  return Number.isSafeInteger(ns) && ns <= MAX_VIRTUAL_NS ? ns : null;
}

/** Why a value that looks like a duration is still refused (too long, or a bare number that needs a
 *  unit), as a whole message; null when there is nothing more specific than "expected a duration". */
export function durationProblem(v: unknown): string | null {
  if (typeof v === 'number' && v !== 0 && Number.isFinite(v) && v > 0) {
    return `expected a duration like 200ms, got the bare number ${v}: give a unit (${v}s, ${v}ms or ${v}us)`;
  }
  if (typeof v === 'string' && durationText(v) && parseDuration(v) === null) {
    return `${v} is too long: a duration may be at most ${MAX_VIRTUAL_TEXT} of virtual time`;
  }
  return null;
}

/** Why a traffic entry starting at `atNs` and lasting `spanNs` (a ping's count × interval, a tcp or udp
 *  entry's timeout) ends past the virtual-time bound, or null: the bound holds for the entry's end too. */
export function pastVirtualBound(kind: 'ping' | 'tcp' | 'udp', atNs: number, spanNs: number): string | null {
  if (atNs + spanNs <= MAX_VIRTUAL_NS) return null;
  const how = kind === 'ping' ? 'at + count × interval' : 'at + timeout';
  return `this ${kind === 'ping' ? 'ping' : 'entry'} would run until ${((atNs + spanNs) / 1e9).toFixed(0)}s (${how}): past the virtual-time bound of ${MAX_VIRTUAL_TEXT}`;
}

/** Why a number is not a whole number in [min, max], naming the bound it crosses; null if it is one. */
export function rangeProblem(v: number, min: number, max: number): string | null {
  if (!Number.isFinite(v)) return 'not a finite number';
  if (!Number.isInteger(v)) return 'not a whole number';
  if (v > max) return `too large: at most ${max}`;
  if (v < min) return `too small: at least ${min}`;
  return null;
}

/** Why "A.B.C.D/len" (or any text) is not an address with a prefix length, when something more
 *  specific than "expected …" can be said: the prefix length out of range. */
export function prefixProblem(s: string): string | null {
  const m = /^([0-9.]+)\/([0-9]+)$/.exec(s);
  if (!m || ipv4ToNum(m[1]!) === null) return null;
  const len = Number(m[2]);
  return len > 32 ? `${s}: prefix length ${m[2]} is too large (an IPv4 prefix is 0-32 bits)` : null;
}

/** "HOST:PORT" where HOST is an IPv4 address or a node name. */
export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(s: string): HostPort | null {
  const colon = s.lastIndexOf(':');
  if (colon <= 0) return null;
  const host = s.slice(0, colon);
  const port = portText(s.slice(colon + 1));
  if (port === null) return null;
  if (ipv4ToNum(host) === null && !isNodeName(host)) return null;
  return { host, port };
}

/** "[IP:]HOSTPORT:INNERPORT[/tcp|/udp]", as `docker run -p` and QEMU's hostfwd take them. */
export interface PortMapping {
  hostIp: string | null;
  hostPort: number;
  innerPort: number;
  proto: 'tcp' | 'udp';
}

/** `BODY[/tcp|/udp]` as docker reads the protocol suffix of a `-p` value (tcp when absent); null for another. */
function splitProto(s: string): { proto: 'tcp' | 'udp'; body: string } | null {
  const slash = s.indexOf('/');
  if (slash < 0) return { proto: 'tcp', body: s };
  const p = s.slice(slash + 1);
  return p === 'tcp' || p === 'udp' ? { proto: p, body: s.slice(0, slash) } : null;
}

export function parsePortMapping(s: string): PortMapping | null {
  const split = splitProto(s);
  if (split === null) return null;
  const { proto, body } = split;
  const parts = body.split(':');
  let hostIp: string | null = null;
  if (parts.length === 3) {
    if (ipv4ToNum(parts[0]!) === null) return null;
    hostIp = parts[0]!;
  } else if (parts.length !== 2) {
    return null;
  }
  const hostPort = portText(parts[parts.length - 2]!);
  const innerPort = portText(parts[parts.length - 1]!);
  if (hostPort === null || innerPort === null) return null;
  return { hostIp, hostPort, innerPort, proto };
}

/** Node (host, container, VM) and wire names: letters, digits, '-', '_'. */
export function isNodeName(s: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(s) && s.length <= 64;
}

/**
 * Why `s` is not a valid Linux interface name (dev_valid_name: 1-15 bytes, not "." or "..", no '/',
 * ':' or whitespace), or null if it is one. NUL and other control characters are refused as well.
 */
export function interfaceNameProblem(s: string): string | null {
  if (s.length === 0) return 'is empty';
  if (Buffer.byteLength(s, 'utf8') > 15) return `is ${Buffer.byteLength(s, 'utf8')} bytes long (Linux allows 15)`;
  if (s === '.' || s === '..') return `"${s}" is not allowed`;
  if (s.includes('/')) return 'contains "/"';
  if (s.includes(':')) return 'contains ":"';
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(s)) return 'contains whitespace or a control character';
  return null;
}

/** Scenario names become `<name>.pcapng`: letters, digits, '.', '-', '_', not starting with '.'. */
export function isScenarioName(s: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(s) && s.length <= 128;
}

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };

/** A byte count: a number, or a number with B, KB, KiB, MB, MiB, GB or GiB ("1.5MB", "64 KiB");
 *  decimal units are powers of 1000, binary ones of 1024 (as iperf and coreutils spell them). The
 *  result must be a whole number of bytes; null otherwise. */
export function parseSize(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^([0-9]+(?:\.[0-9]+)?) ?(B|KB|KiB|MB|MiB|GB|GiB)?$/.exec(v);
  if (!m) return null;
  const n = Number(m[1]) * SIZE_UNITS[m[2] ?? '']!;
  return Number.isSafeInteger(n) ? n : null;
}

/** Hex digits in pairs, optionally separated by spaces or colons ("deadbeef", "de ad be ef"); the
 *  bytes as a lower-case hex string without separators, or null. */
export function parseHex(s: string): string | null {
  const h = s.replace(/[\s:]/g, '');
  return /^(?:[0-9a-fA-F]{2})*$/.test(h) ? h.toLowerCase() : null;
}

/** "100/s", "0.5/s": starts a second, as a positive number; null otherwise. */
export function parseRate(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^([0-9]+(?:\.[0-9]+)?)\/s$/.exec(v);
  if (!m) return null;
  const n = Number(m[1]);
  return n > 0 && n <= 1e9 ? n : null;
}

/** A percentage 0-100: a number, or a string like "5%" or "0.5%"; null otherwise. */
export function parsePercent(v: unknown): number | null {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^[0-9]+(?:\.[0-9]+)?%$/.test(v)) n = Number(v.slice(0, -1));
  else return null;
  return n >= 0 && n <= 100 ? n : null;
}

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9 };

/** A link rate as tc spells it: "100mbit", "1gbit", "500kbit", "8000bit" (bits per second, SI
 *  prefixes) or "…bps" (bytes per second); bits per second, or null. */
export function parseLinkRate(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^([0-9]+(?:\.[0-9]+)?)(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps)$/.exec(v);
  if (!m) return null;
  const n = Math.round(Number(m[1]) * RATE_UNITS[m[2]!]!);
  return n >= 8 && n <= 1e13 ? n : null;
}

// `docker run -p` in every form docker's CLI takes (go-connections nat.ParsePortSpec):
//   CONTAINER_PORT[/PROTO]                      host port chosen by dockerd (0 here)
//   HOST_PORT:CONTAINER_PORT[/PROTO]
//   HOST_IP:HOST_PORT:CONTAINER_PORT[/PROTO]
//   HOST_IP::CONTAINER_PORT[/PROTO]             host port chosen by dockerd
// where each port may be a range A-B. Ranges of equal length map pairwise; a host range with one
// container port means "one free port of that range" (dockerd tries them in order: the first free);
// a container range needs a host range of the same length or none (docker: "Invalid ranges specified
// for container and host Ports").

export interface PublishMapping {
  hostIp: string | null;
  /** 0: dockerd picks one (the first free port of ip_local_port_range, 32768 on a default host). */
  hostPort: number;
  /** A host port range of which dockerd takes the first free port; null unless written as one. */
  hostRange: { first: number; last: number } | null;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

function portOrRange(s: string): { first: number; last: number } | null {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) return null;
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (first < 1 || last > 65535 || last < first) return null;
  return { first, last };
}

/** The mappings one `-p` value stands for, in port order; null when docker would refuse it. */
export function parsePublish(s: string): PublishMapping[] | null {
  const split = splitProto(s);
  if (split === null) return null;
  const { proto, body } = split;
  const parts = body.split(':');
  let hostIp: string | null = null;
  let hostText = '';
  if (parts.length === 3) {
    if (ipv4ToNum(parts[0]!) === null) return null;
    hostIp = parts[0]!;
    hostText = parts[1]!;
  } else if (parts.length === 2) {
    hostText = parts[0]!;
    if (hostText === '') return null;
  } else if (parts.length !== 1) {
    return null;
  }
  const inner = portOrRange(parts[parts.length - 1]!);
  if (inner === null) return null;
  const host = hostText === '' ? null : portOrRange(hostText);
  if (hostText !== '' && host === null) return null;
  const n = inner.last - inner.first + 1;
  const out: PublishMapping[] = [];
  if (host === null) {
    for (let i = 0; i < n; i++) out.push({ hostIp, hostPort: 0, hostRange: null, containerPort: inner.first + i, proto });
    return out;
  }
  const hn = host.last - host.first + 1;
  if (n === 1 && hn > 1) return [{ hostIp, hostPort: host.first, hostRange: host, containerPort: inner.first, proto }];
  if (hn !== n) return null;
  for (let i = 0; i < n; i++) out.push({ hostIp, hostPort: host.first + i, hostRange: null, containerPort: inner.first + i, proto });
  return out;
}
