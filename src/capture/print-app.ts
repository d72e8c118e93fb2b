// Application-layer text tcpdump -nn (4.99, not verbose) appends to a UDP or TCP line, for the protocols
// wirebox's worlds carry: DNS and mDNS (print-domain.c), BOOTP/DHCP (print-bootp.c), the SSH version
// banner (print-ssh.c) and HTTP's request or status line (print-http.c via txtproto_print). Each function
// is given the transport payload as far as the IPv4 packet goes (tcpdump pushes the IP length as its snap
// end), and returns the text after the transport's own, "" when tcpdump prints nothing more.

import { formatIpv4, formatMac } from '../wire/addr.js';

// ---- DNS (print-domain.c: ns_print, ns_qprint, ns_rprint, fqdn_print) --------------------------------

const DNS_TYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 3: 'MD', 4: 'MF', 5: 'CNAME', 6: 'SOA', 7: 'MB', 8: 'MG', 9: 'MR', 10: 'NULL',
  11: 'WKS', 12: 'PTR', 13: 'HINFO', 14: 'MINFO', 15: 'MX', 16: 'TXT', 17: 'RP', 18: 'AFSDB', 19: 'X25',
  20: 'ISDN', 21: 'RT', 22: 'NSAP', 23: 'NSAP_PTR', 24: 'SIG', 25: 'KEY', 26: 'PX', 27: 'GPOS',
  28: 'AAAA', 29: 'LOC', 30: 'NXT', 31: 'EID', 32: 'NIMLOC', 33: 'SRV', 34: 'ATMA', 35: 'NAPTR',
  36: 'KX', 37: 'CERT', 38: 'A6', 39: 'DNAME', 40: 'SINK', 41: 'OPT', 42: 'APL', 43: 'DS', 44: 'SSHFP',
  45: 'IPSECKEY', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 49: 'DHCID', 50: 'NSEC3', 51: 'NSEC3PARAM',
  52: 'TLSA', 53: 'SMIMEA', 55: 'HIP', 59: 'CDS', 60: 'CDNSKEY', 61: 'OPENPGPKEY', 62: 'CSYNC',
  63: 'ZONEMD', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 100: 'UINFO', 101: 'UID', 102: 'GID', 103: 'UNSPEC',
  104: 'NID', 105: 'L32', 106: 'L64', 107: 'LP', 108: 'EUI48', 109: 'EUI64', 249: 'TKEY', 250: 'TSIG',
  251: 'IXFR', 252: 'AXFR', 253: 'MAILB', 254: 'MAILA', 255: 'ANY', 256: 'URI', 257: 'CAA',
  32768: 'TA', 32769: 'DLV',
};
const DNS_CLASSES: Record<number, string> = { 1: 'IN', 3: 'CHAOS', 4: 'HS', 255: 'ANY' };
const DNS_OPS = ['', ' inv_q', ' stat', ' op3', ' notify', ' update', ' op6', ' op7', ' op8', ' updateA', ' updateD', ' updateDA', ' updateM', ' updateMA', ' zoneInit', ' zoneRef'];
const DNS_RCODES = ['', ' FormErr', ' ServFail', ' NXDomain', ' NotImp', ' Refused', ' YXDomain', ' YXRRSet', ' NXRRSet', ' NotAuth', ' NotZone', ' Resp11', ' Resp12', ' Resp13', ' Resp14', ' NoChange'];
const C_QU = 0x8000; // mDNS "unicast response" bit of a question's class (and cache-flush of a record's)

/** Thrown where tcpdump's bounds checks would longjmp out ("[|domain]"). */
class Truncated extends Error {}

class DnsReader {
  constructor(readonly b: Uint8Array) {}
  u8(at: number): number {
    if (at >= this.b.length) throw new Truncated();
    return this.b[at]!;
  }
  u16(at: number): number {
    return (this.u8(at) << 8) | this.u8(at + 1);
  }
  /** labellen: the length of the label at `at` (a pointer counts 0), or an error. */
  labelLen(at: number): number {
    const i = this.u8(at);
    if ((i & 0xc0) === 0xc0) return 0;
    if ((i & 0xc0) === 0x40) throw new Truncated(); // EDNS0 extended labels: not in our worlds
    if ((i & 0xc0) === 0x80) throw new Truncated();
    return i;
  }
  /** ns_nskip: the offset after the name at `at`, without printing it. */
  skipName(at: number): number {
    let i = this.u8(at++);
    while (i !== 0) {
      if ((i & 0xc0) === 0xc0) return at + 1;
      if ((i & 0xc0) !== 0) throw new Truncated();
      at += i;
      i = this.u8(at++);
    }
    return at;
  }
  /** fqdn_print: the name at `at` in dotted form, following compression pointers backwards only. */
  name(at: number): { text: string; next: number } {
    let text = '';
    let maxOffset = at;
    let l = this.labelLen(at);
    let i = this.u8(at++);
    let compress = false;
    let rp = at + l;
    if ((i & 0xc0) === 0xc0) compress = true;
    if (i === 0) return { text: '.', next: rp };
    while (i !== 0 && at < this.b.length) {
      if ((i & 0xc0) === 0xc0) {
        if (!compress) {
          rp = at + 1;
          compress = true;
        }
        const offset = ((i << 8) | this.u8(at)) & 0x3fff;
        if (offset >= maxOffset) throw new BadPointer(text);
        maxOffset = offset;
        at = offset;
        l = this.labelLen(at);
        i = this.u8(at++);
        continue;
      }
      if (at + l > this.b.length) throw new Truncated(); // nd_printjnp past the end
      for (let k = 0; k < l; k++) text += printableChar(this.b[at + k]!);
      at += l;
      text += '.';
      l = this.labelLen(at);
      i = this.u8(at++);
      if (!compress) rp += l + 1;
    }
    return { text, next: rp };
  }
}

class BadPointer extends Error {
  constructor(readonly printed: string) {
    super('bad pointer');
  }
}

/** fn_print_char: what tcpdump prints for one byte of a name or text. */
function printableChar(c: number): string {
  let s = '';
  if (c > 0x7f) {
    s += 'M-';
    c &= 0x7f;
  }
  if (c < 0x20 || c === 0x7f) return s + '^' + String.fromCharCode(c ^ 0x40);
  return s + String.fromCharCode(c);
}

/** The DNS message `p` (a UDP payload) as tcpdump prints it after "src.port > dst.port: ". */
export function dnsText(p: Uint8Array, mdns: boolean): string {
  if (p.length < 12) return `domain [length ${p.length} < 12] (invalid)`;
  const r = new DnsReader(p);
  let out = '';
  try {
    dnsMessage(r, mdns, (s) => (out += s));
    return out;
  } catch (e) {
    if (e instanceof BadPointer) return out + e.printed + '<BAD PTR> [|domain]';
    if (e instanceof Truncated) return out + ' [|domain]';
    throw e;
  }
}

function dnsMessage(r: DnsReader, mdns: boolean, put: (s: string) => void): void {
  const p = r.b;
  const id = r.u16(0);
  const b2 = r.u16(2);
  const qr = (b2 & 0x8000) !== 0;
  const opcode = (b2 >> 11) & 0xf;
  const qd = r.u16(4);
  const an = r.u16(6);
  const ns = r.u16(8);
  const ar = r.u16(10);
  let at = 12;
  if (qr) {
    const aa = (b2 & 0x0400) !== 0;
    const tc = (b2 & 0x0200) !== 0;
    const ra = (b2 & 0x0080) !== 0;
    const ad = (b2 & 0x0020) !== 0;
    put(`${id}${DNS_OPS[opcode]}${DNS_RCODES[b2 & 0xf]}${aa ? '*' : ''}${ra ? '' : '-'}${tc ? '|' : ''}${ad ? '$' : ''}`);
    if (qd !== 1) put(` [${qd}q]`);
    for (let i = 0; i < qd; i++) {
      if (i !== 0) put(',');
      at = r.skipName(at) + 4;
    }
    put(` ${an}/${ns}/${ar}`);
    if (an > 0) {
      // ns_print: the first answer, then more while the packet lasts; answers left over are a cut
      let left = an - 1;
      at = dnsRecord(r, at, mdns, put);
      while (at < p.length && left > 0) {
        left--;
        put(',');
        at = dnsRecord(r, at, mdns, put);
      }
      if (left > 0) throw new Truncated();
    }
  } else {
    const rd = (b2 & 0x0100) !== 0;
    const cd = (b2 & 0x0010) !== 0;
    put(`${id}${DNS_OPS[opcode]}${rd ? '+' : ''}${cd ? '%' : ''}`);
    if (b2 & 0x6cf) put(` [b2&3=0x${b2.toString(16)}]`);
    if (opcode === 1) {
      if (qd > 0) put(` [${qd}q]`);
      if (an !== 1) put(` [${an}a]`);
    } else {
      if (an > 0) put(` [${an}a]`);
      if (qd !== 1) put(` [${qd}q]`);
    }
    if (ns > 0) put(` [${ns}n]`);
    if (ar > 0) put(` [${ar}au]`);
    if (qd > 0) {
      let left = qd - 1;
      at = dnsQuestion(r, at, mdns, put);
      while (at < p.length && left > 0) {
        left--;
        at = dnsQuestion(r, at, mdns, put);
      }
      if (left > 0) throw new Truncated();
    }
  }
  put(` (${p.length})`);
}

function dnsQuestion(r: DnsReader, at: number, mdns: boolean, put: (s: string) => void): number {
  const after = r.skipName(at);
  if (after + 4 > r.b.length) throw new Truncated();
  const type = r.u16(after);
  const cls = r.u16(after + 2);
  put(` ${DNS_TYPES[type] ?? `Type${type}`}`);
  const c = mdns ? cls & ~C_QU : cls;
  if (c !== 1) put(` ${DNS_CLASSES[c] ?? `(Class ${c})`}`);
  if (mdns) put(cls & C_QU ? ' (QU)' : ' (QM)');
  put('? ');
  put(r.name(at).text);
  return after + 4;
}

function dnsRecord(r: DnsReader, at: number, mdns: boolean, put: (s: string) => void): number {
  // ns_rprint: a record whose name or fixed part is cut ends the section quietly (returns the snap end)
  try {
    at = r.skipName(at);
  } catch (e) {
    if (e instanceof Truncated) return r.b.length;
    throw e;
  }
  if (at + 10 > r.b.length) return r.b.length;
  const type = r.u16(at);
  const cls = r.u16(at + 2);
  const c = mdns ? cls & ~C_QU : cls;
  if (c !== 1 && type !== 41) put(` ${DNS_CLASSES[c] ?? `(Class ${c})`}`);
  if (mdns && cls & C_QU) put(' (Cache flush)');
  at += 8; // type, class, ttl (printed with -v only)
  const len = r.u16(at);
  at += 2;
  const end = at + len;
  put(` ${DNS_TYPES[type] ?? `Type${type}`}`);
  if (end > r.b.length) throw new Truncated();
  const b = r.b;
  switch (type) {
    case 1:
      put(` ${formatIpv4(((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0)}`);
      break;
    case 2:
    case 5:
    case 12:
    case 39:
      put(' ');
      put(r.name(at).text);
      break;
    case 15:
      put(' ');
      put(r.name(at + 2).text);
      put(` ${r.u16(at)}`);
      break;
    case 16:
      while (at < end) {
        const n = r.u8(at++);
        let s = '';
        for (let k = 0; k < n; k++) s += printableChar(r.u8(at + k));
        at += n;
        put(` "${s}"`);
      }
      break;
    case 33:
      put(' ');
      put(r.name(at + 6).text);
      put(`:${r.u16(at + 4)} ${r.u16(at)} ${r.u16(at + 2)}`);
      break;
    case 28: {
      const groups: string[] = [];
      for (let k = 0; k < 16; k += 2) groups.push(r.u16(at + k).toString(16));
      put(` ${ipv6Text(groups)}`);
      break;
    }
  }
  return end;
}

/** inet_ntop's IPv6 form: the longest run (two or more) of zero groups as "::". */
function ipv6Text(g: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(':');
  return g.slice(0, best).join(':') + '::' + g.slice(best + bestLen).join(':');
}

// ---- BOOTP/DHCP (print-bootp.c, not verbose) ---------------------------------------------------------

/** "BOOTP/DHCP, Request from MAC, length N" — the op, the client's MAC for an Ethernet request, the
 *  UDP payload's length. */
export function bootpText(p: Uint8Array): string {
  if (p.length < 1) return 'BOOTP/DHCP [|bootp]';
  const op = p[0]!;
  let out = `BOOTP/DHCP, ${op === 1 ? 'Request' : op === 2 ? 'Reply' : `unknown (0x${op.toString(16).padStart(2, '0')})`}`;
  if (p.length < 3) return out + ' [|bootp]';
  if (p[1] === 1 && p[2] === 6 && op === 1) {
    if (p.length < 34) return out + ' [|bootp]';
    let mac = 0;
    for (let i = 0; i < 6; i++) mac = mac * 256 + p[28 + i]!;
    out += ` from ${formatMac(mac)}`;
  }
  return out + `, length ${p.length}`;
}

// ---- SSH (print-ssh.c: the version banner only) -------------------------------------------------------

/** ": SSH: SSH-2.0-…" for a segment starting with a whole banner line, "" otherwise. */
export function sshText(p: Uint8Array): string {
  const prefix = [0x53, 0x53, 0x48, 0x2d]; // "SSH-"
  for (let i = 0; i < 4; i++) {
    if (i >= p.length) return ' [|ssh]';
    if (p[i] !== prefix[i]) return '';
  }
  for (let i = 4; i < p.length; i++) {
    const c = p[i]!;
    if (c === 0x0a || (c === 0x0d && p[i + 1] === 0x0a)) return ': SSH: ' + String.fromCharCode(...p.subarray(0, i));
    if (c === 0x0d) return ''; // CR at the end, or followed by something else: not printed
    if (c < 0x20 || c > 0x7e) return '';
  }
  return '';
}

// ---- HTTP (print-http.c → txtproto_print, not verbose) ------------------------------------------------

const HTTP_METHODS = new Set([
  'GET', 'PUT', 'COPY', 'DELETE', 'HEAD', 'LINK', 'LOCK', 'MKCOL', 'MOVE', 'OPTIONS', 'POST',
  'PROPFIND', 'PROPPATCH', 'UNLINK', 'UNLOCK', 'TRACE', 'CONNECT', 'PATCH',
]);

/** tcpdump's txtproto_print for HTTP, not verbose: the first line if it is a request or a status line. */
export function httpLine(p: Uint8Array): string {
  const t1 = fetchToken(p, 0);
  if (t1 === null) return '';
  let isReqResp = HTTP_METHODS.has(t1.token.toUpperCase());
  const t2 = fetchToken(p, t1.next);
  if (t2 !== null && /^[0-9]{3}$/.test(t2.token)) isReqResp = true;
  if (!isReqResp) return '';
  // print_txt_line: printable ASCII (and tabs) up to CRLF or LF
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === 0x0a) break;
    if (c === 0x0d) {
      if (i + 1 >= p.length || p[i + 1] !== 0x0a) return '';
      break;
    }
    if ((c < 0x20 || c > 0x7e) && c !== 0x09) return '';
    i++;
  }
  const text = ': ' + String.fromCharCode(...p.subarray(0, i));
  // all printable but no line end in this segment: tcpdump marks the line as cut
  return i === p.length ? text + ' [|http]' : text;
}

function fetchToken(p: Uint8Array, from: number): { token: string; next: number } | null {
  let i = from;
  let token = '';
  for (; i < p.length; i++) {
    const c = p[i]!;
    if (c > 0x7f) return null;
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
    if (c < 0x20 || c === 0x7f) return null;
    if (token.length + 2 > 129) return null;
    token += String.fromCharCode(c);
  }
  if (token.length === 0) return null;
  for (; i < p.length; i++) {
    const c = p[i]!;
    if (c === 0x0d || c === 0x0a) break;
    if (c < 0x20 || c > 0x7e) break;
    if (c !== 0x20 && c !== 0x09) break;
  }
  return { token, next: i };
}
