// One line per frame, as `tcpdump -nn` (4.99) prints it, from frames decoded by src/wire/frame.ts.
// Checked line for line against the real tcpdump on fixtures/real-captures (test/cli/inspect.test.ts).
//
// What it follows from tcpdump's print-ether.c, print-arp.c, print-ip.c, print-tcp.c, print-udp.c,
// print-icmp.c, print-igmp.c and print-http.c:
//   - without -e: "IP " / "ARP, " before the network layer; with -e: "SRC > DST, ethertype NAME (0x....),
//     length FRAME: " instead.
//   - TCP: "Flags [S.]", seq/ack relative to the first SYN-ACK (or first ACK-bearing segment) of the
//     conversation, as tcpdump's tcp_seq_hash does (absolute with `absoluteSeq`), "win", the options
//     list, "length" of the payload, and for ports 80/8080 ": HTTP" plus the request/status line.
//   - UDP: "UDP, length N"; ICMP: echo request/reply with id/seq, unreachable (quoting the original
//     destination and port), time exceeded; IGMP: queries, v1/v2/v3 reports, leave.
//   - ARP: "Request who-has T tell S" / "Reply S is-at MAC", with the ARP length (padding included).
//   - DNS/mDNS (ports 53/5353), BOOTP/DHCP (67/68), the SSH banner (22) and HTTP (80/8080): as
//     print-domain.c, print-bootp.c, print-ssh.c and print-http.c print them without -v
//     (src/capture/print-app.ts). Other application protocols end after the transport's "length N".
//   - ICMP and IGMP text: src/capture/print-icmp.ts (print-icmp.c, print-igmp.c).

import { formatIpv4, formatMac } from '../wire/addr.js';
import { decodeFrame, type DecodedFrame, type TcpLayer } from '../wire/frame.js';
import { getU16 as u16, getU32 as u32 } from '../wire/bytes.js';
import { bootpText, dnsText, httpLine, sshText } from './print-app.js';
import { icmpText, igmpText } from './print-icmp.js';

export interface PrintOptions {
  /** tcpdump -e: the link-level header. */
  ether?: boolean;
  /** tcpdump -S: absolute TCP sequence numbers. */
  absoluteSeq?: boolean;
}

interface SeqEntry {
  seq: number;
  ack: number;
}

/** Per-file printer state: TCP initial sequence numbers per conversation (tcpdump's tcp_seq_hash). */
export class FramePrinter {
  private readonly conversations = new Map<string, SeqEntry>();
  readonly ether: boolean;
  readonly absoluteSeq: boolean;

  constructor(opts: PrintOptions = {}) {
    this.ether = opts.ether ?? false;
    this.absoluteSeq = opts.absoluteSeq ?? false;
  }

  /** The line for one captured record: `data` as captured, `origLen` its length on the wire. A frame
   *  cut by the snap length after its headers is printed from its headers, as tcpdump does (the
   *  decoder is given the headers followed by zeros; nothing past the capture is shown). */
  record(data: Uint8Array, origLen: number): string {
    let frame = decodeFrame(data, 0, data.length);
    const net = frame.network;
    if (net !== null && net.kind === 'ipv4' && net.repr.mf && net.repr.fragOffset === 0) {
      // a first fragment holds the transport header, and tcpdump prints it: decode it as a whole
      // datagram of the fragment's length (the MF bit cleared in a copy)
      const copy = data.slice();
      copy[net.offset + 6]! &= ~0x20;
      frame = decodeFrame(copy, 0, copy.length);
      this.firstFragment = true;
    }
    if (frame.error !== null && data.length < origLen && headersCaptured(data)) {
      const padded = new Uint8Array(origLen);
      padded.set(data);
      frame = decodeFrame(padded, 0, origLen);
      this.captured = data.length;
    }
    try {
      return this.line(frame, origLen);
    } finally {
      this.captured = Infinity;
      this.firstFragment = false;
    }
  }

  /** Bytes of the frame that were captured, while printing a padded one. */
  private captured = Infinity;
  /** Whether the frame being printed is the first fragment of a larger datagram. */
  private firstFragment = false;

  /** The line for one frame (without time), `origLen` being its length on the wire. */
  line(frame: DecodedFrame, origLen: number): string {
    const eth = frame.ethernet;
    if (eth.kind === 'error') return `[|ether] length ${origLen}`;
    const e = eth.repr;
    let out = '';
    if (this.ether) {
      const firstType = e.vlans.length > 0 ? e.vlans[0]!.tpid : e.ethertype;
      out += `${formatMac(e.src)} > ${formatMac(e.dst)}, `;
      out += firstType < 0x600 ? `802.3, length ${origLen}: ` : `ethertype ${etherName(firstType)} (0x${hex4(firstType)}), length ${origLen}: `;
      // VLAN tags are shown with the link-level header only; either way the line goes on with the
      // innermost protocol
      for (let i = 0; i < e.vlans.length; i++) {
        const v = e.vlans[i]!;
        const next = i + 1 < e.vlans.length ? e.vlans[i + 1]!.tpid : e.ethertype;
        out += `vlan ${v.vid}, p ${v.pcp}${v.dei ? ', DEI' : ''}, ethertype ${etherName(next)} (0x${hex4(next)}), `;
      }
    }
    // tcpdump names the protocol itself only when it has not printed the ethertype
    const named = this.ether;
    const net = frame.network;
    if (net === null) return out + '[|ether]';
    const l3len = origLen - eth.headerLen;
    switch (net.kind) {
      case 'arp':
        return out + (named ? '' : 'ARP, ') + this.arp(frame, l3len);
      case 'ipv4':
        return out + (named ? '' : 'IP ') + this.ipv4(frame);
      case 'raw':
        // not decoded (IPv6, LLDP, 802.3/LLC…): the link-level description only
        if (named) return out.trimEnd();
        if (net.ethertype < 0x600) return out + `802.3, length ${origLen}`;
        return out + `ethertype ${etherName(net.ethertype)} (0x${hex4(net.ethertype)}), length ${origLen}`;
      case 'error':
        if (net.protocol === 'arp') return out + (named ? '' : 'ARP, ') + `[|arp]`;
        return out + (named ? '' : 'IP ') + cutIpv4(net.bytes);
    }
  }

  private arp(frame: DecodedFrame, l3len: number): string {
    const net = frame.network;
    if (net === null || net.kind !== 'arp') return '[|arp]';
    const a = net.repr;
    const spa = formatIpv4(a.senderIp);
    const tpa = formatIpv4(a.targetIp);
    switch (a.operation) {
      case 1:
        return `Request who-has ${tpa}${a.targetMac !== 0 ? ` (${formatMac(a.targetMac)})` : ''} tell ${spa}, length ${l3len}`;
      case 2:
        return `Reply ${spa} is-at ${formatMac(a.senderMac)}, length ${l3len}`;
      case 3:
        return `Reverse Request who-is ${formatMac(a.targetMac)} tell ${formatMac(a.senderMac)}, length ${l3len}`;
      case 4:
        return `Reverse Reply ${formatMac(a.targetMac)} at ${tpa}, length ${l3len}`;
      case 8:
        return `Inverse Request who-is ${formatMac(a.targetMac)} tell ${formatMac(a.senderMac)}, length ${l3len}`;
      case 9:
        return `Inverse Reply ${formatMac(a.senderMac)} at ${spa}, length ${l3len}`;
      case 10:
        return 'NACK Reply'; // tcpdump goes on with a hex dump on further lines
      default:
        return `Unknown (${a.operation})`; // likewise
    }
  }

  private ipv4(frame: DecodedFrame): string {
    const net = frame.network;
    if (net === null || net.kind !== 'ipv4') return '[|ip]';
    const ip = net.repr;
    const src = formatIpv4(ip.src);
    const dst = formatIpv4(ip.dst);
    const payloadLen = ip.totalLength - net.headerLen;
    const t = frame.transport;
    if (ip.fragOffset !== 0) return `${src} > ${dst}: ip-proto-${ip.protocol}`; // a later fragment
    if (t === null) return `${src} > ${dst}: [|ip]`;
    switch (t.kind) {
      case 'tcp':
        return this.tcp(frame, t, src, dst);
      case 'udp': {
        const u = t.repr;
        const head = `${src}.${u.srcPort} > ${dst}.${u.dstPort}: `;
        // udp_print: the application printers by port, in tcpdump's order; others are "UDP, length N"
        const p = u.payload.subarray(0, Math.max(0, Math.min(u.payload.length, this.captured - t.offset - 8)));
        const isPort = (n: number) => u.srcPort === n || u.dstPort === n;
        if (isPort(53)) return head + dnsText(p, false);
        if (isPort(5353)) return head + dnsText(p, true);
        if (isPort(67) || isPort(68)) return head + bootpText(p);
        return head + `UDP, length ${u.length - 8}`;
      }
      case 'icmpv4':
        return `${src} > ${dst}: ICMP ${icmpText(frame)}, length ${payloadLen}`;
      case 'raw':
        if (ip.protocol === 2) return `${src} > ${dst}: ${igmpText(t.bytes, payloadLen)}`;
        return `${src} > ${dst}:  ip-proto-${ip.protocol} ${payloadLen}`; // sic: two spaces
      case 'error': {
        const b = t.bytes;
        // a first fragment's UDP header gives the whole datagram's length
        if (t.protocol === 'udp' && this.firstFragment && b.length >= 8) {
          return `${src}.${u16(b, 0)} > ${dst}.${u16(b, 2)}: UDP, length ${u16(b, 4) - 8}`;
        }
        if (t.protocol === 'tcp' || t.protocol === 'udp') {
          if (b.length >= 4) return `${src}.${u16(b, 0)} > ${dst}.${u16(b, 2)}: [|${t.protocol}]`;
          return `${src} > ${dst}: [|${t.protocol}]`;
        }
        return `${src} > ${dst}: [|icmp]`;
      }
    }
  }

  private tcp(frame: DecodedFrame, t: TcpLayer, src: string, dst: string): string {
    const r = t.repr;
    const flags = r.flags & 0xff;
    let out = `${src}.${r.srcPort} > ${dst}.${r.dstPort}: Flags [${tcpFlags(flags)}]`;
    let seq = r.seq >>> 0;
    let ack = r.ack >>> 0;
    let thSeq = 0;
    let thAck = 0;
    let rev = false;
    if (!this.absoluteSeq && (flags & ACK) !== 0) {
      // tcpdump keys a conversation by (src, dst, sport, dport) in one canonical direction
      const net = frame.network;
      const ipSrc = net !== null && net.kind === 'ipv4' ? net.repr.src >>> 0 : 0;
      const ipDst = net !== null && net.kind === 'ipv4' ? net.repr.dst >>> 0 : 0;
      rev = r.srcPort > r.dstPort || (r.srcPort === r.dstPort && ipSrc > ipDst);
      const key = rev ? `${ipDst}-${ipSrc}-${r.dstPort}-${r.srcPort}` : `${ipSrc}-${ipDst}-${r.srcPort}-${r.dstPort}`;
      let th = this.conversations.get(key);
      if (th === undefined || (flags & SYN) !== 0) {
        th = rev ? { ack: seq, seq: (ack - 1) >>> 0 } : { seq, ack: (ack - 1) >>> 0 };
        this.conversations.set(key, th);
      } else if (rev) {
        seq = (seq - th.ack) >>> 0;
        ack = (ack - th.seq) >>> 0;
      } else {
        seq = (seq - th.seq) >>> 0;
        ack = (ack - th.ack) >>> 0;
      }
      thSeq = th.seq;
      thAck = th.ack;
    }
    const length = t.length - t.headerLen;
    if (length > 0 || (flags & (SYN | FIN | RST)) !== 0) {
      out += `, seq ${seq}`;
      if (length > 0) out += `:${(seq + length) >>> 0}`;
    }
    if ((flags & ACK) !== 0) out += `, ack ${ack}`;
    out += `, win ${r.window}`;
    if ((flags & URG) !== 0) out += `, urg ${r.urgent}`;
    if (t.headerLen > 20) {
      const opts = frame.bytes.subarray(t.offset + 20, t.offset + t.headerLen);
      out += `, options [${tcpOptions(opts, rev ? thSeq : thAck)}]`;
    }
    out += `, length ${length}`;
    if (length > 0 && (r.srcPort === 80 || r.dstPort === 80 || r.srcPort === 8080 || r.dstPort === 8080)) {
      const start = t.offset + t.headerLen;
      out += ': HTTP' + httpLine(r.payload.subarray(0, Math.max(0, Math.min(r.payload.length, this.captured - start))));
    } else if (length > 0 && (r.srcPort === 22 || r.dstPort === 22)) {
      const start = t.offset + t.headerLen;
      out += sshText(r.payload.subarray(0, Math.max(0, Math.min(r.payload.length, this.captured - start))));
    }
    return out;
  }
}

/** Whether a cut frame holds its headers whole (Ethernet, ARP or IPv4, and the transport header, with
 *  the quoted header of an ICMP error): then only payload is missing and the headers can be printed. */
function headersCaptured(b: Uint8Array): boolean {
  let l3 = 14;
  if (b.length < l3) return false;
  let type = u16(b, 12);
  while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && b.length >= l3 + 4) {
    type = u16(b, l3 + 2);
    l3 += 4;
  }
  if (type === 0x0806) return b.length >= l3 + 28;
  if (type !== 0x0800) return false;
  if (b.length < l3 + 20) return false;
  const ihl = (b[l3]! & 0x0f) * 4;
  const l4 = l3 + ihl;
  if (ihl < 20 || b.length < l4) return false;
  switch (b[l3 + 9]) {
    case 6:
      return b.length >= l4 + 13 && b.length >= l4 + (b[l4 + 12]! >> 4) * 4;
    case 17:
      return b.length >= l4 + 8;
    case 1: {
      if (b.length < l4 + 8) return false;
      const t = b[l4]!;
      if (t !== 3 && t !== 5) return true; // only these print from the quoted header
      const q = l4 + 8;
      return b.length >= q + 20 && b.length >= q + (b[q]! & 0x0f) * 4 + 8;
    }
    case 2:
      return b.length >= l4 + 8;
    default:
      return true;
  }
}

/** An IPv4 packet the decoder refused (mostly: cut by the snap length): the addresses and ports that
 *  were captured, then tcpdump's "[|proto]" mark. */
function cutIpv4(b: Uint8Array): string {
  if (b.length < 20 || b[0]! >> 4 !== 4) return '[|ip]';
  const src = formatIpv4(u32(b, 12));
  const dst = formatIpv4(u32(b, 16));
  const ihl = (b[0]! & 0x0f) * 4;
  const proto = b[9]!;
  const name = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 1 ? 'icmp' : proto === 2 ? 'igmp' : null;
  if (name === null) return `${src} > ${dst}:  ip-proto-${proto}`;
  if ((proto === 6 || proto === 17) && b.length >= ihl + 4) return `${src}.${u16(b, ihl)} > ${dst}.${u16(b, ihl + 2)}: [|${name}]`;
  return name === 'icmp' ? `${src} > ${dst}:  [|icmp]` : `${src} > ${dst}: [|${name}]`;
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const URG = 0x20;

const FLAG_CHARS: [number, string][] = [
  [0x01, 'F'],
  [0x02, 'S'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x10, '.'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'W'],
];

function tcpFlags(flags: number): string {
  let s = '';
  for (const [bit, c] of FLAG_CHARS) if ((flags & bit) !== 0) s += c;
  return s === '' ? 'none' : s;
}

const TCP_OPTION_NAMES: Record<number, string> = {
  0: 'eol',
  1: 'nop',
  2: 'mss',
  3: 'wscale',
  4: 'sackOK',
  5: 'sack',
  6: 'echo',
  7: 'echoreply',
  8: 'TS',
  11: 'cc',
  12: 'ccnew',
  13: 'ccecho',
  19: 'md5',
  20: 'scps',
  27: 'qs',
  28: 'uto',
  29: 'tcp-ao',
  30: 'mptcp',
  34: 'tfo',
  253: 'exp',
  254: 'exp',
};

/** The inside of tcpdump's "options [...]". `sackBase` is what SACK edges are shown relative to. */
function tcpOptions(b: Uint8Array, sackBase: number): string {
  let out = '';
  let i = 0;
  let first = true;
  while (i < b.length) {
    if (!first) out += ',';
    first = false;
    const kind = b[i]!;
    let len: number;
    if (kind === 0 || kind === 1) len = 1;
    else {
      if (i + 1 >= b.length) return out + '[bad opt]';
      len = b[i + 1]!;
      if (len < 2 || i + len > b.length) return out + '[bad opt]';
    }
    const d = i + (len === 1 ? 1 : 2);
    const dlen = len - (d - i);
    out += TCP_OPTION_NAMES[kind] ?? `unknown-${kind}`;
    let expect = dlen; // bytes tcpdump's printer consumes for this kind
    switch (kind) {
      case 0:
      case 1:
      case 4:
        expect = 0;
        break;
      case 2:
        expect = 2;
        if (dlen < 2) return out + '[bad opt]';
        out += ` ${u16(b, d)}`;
        break;
      case 3:
        expect = 1;
        if (dlen < 1) return out + '[bad opt]';
        out += ` ${b[d]!}`;
        break;
      case 8:
        expect = 8;
        if (dlen < 8) return out + '[bad opt]';
        out += ` val ${u32(b, d)} ecr ${u32(b, d + 4)}`;
        break;
      case 5:
        if (dlen % 8 !== 0) out += ' invalid sack';
        else {
          out += ` ${dlen / 8} `;
          for (let k = 0; k < dlen; k += 8) {
            out += `{${(u32(b, d + k) - sackBase) >>> 0}:${(u32(b, d + k + 4) - sackBase) >>> 0}}`;
          }
        }
        break;
      case 19:
        // TCP-MD5 signature: tcpdump (built with libcrypto, as Debian's is) cannot check it without -M
        expect = 16;
        if (dlen < 16) return out + '[bad opt]';
        out += " shared secret not supplied with -M, can't check - ";
        for (let k = 0; k < 16; k++) out += hex2(b[d + k]!);
        break;
      case 6:
      case 7:
      case 11:
      case 12:
      case 13:
        expect = 4;
        if (dlen < 4) return out + '[bad opt]';
        out += ` ${u32(b, d)}`;
        break;
      default:
        if (dlen > 0) {
          out += ' 0x';
          for (let k = 0; k < dlen; k++) out += hex2(b[d + k]!);
        }
        break;
    }
    if ((kind === 0 || kind === 1 ? 1 : 2) + expect !== len) out += `[len ${len}]`;
    i += len;
    if (kind === 0) break;
  }
  return out;
}

const ETHER_NAMES: Record<number, string> = {
  0x0800: 'IPv4',
  0x0806: 'ARP',
  0x86dd: 'IPv6',
  0x8100: '802.1Q',
  0x88a8: '802.1Q-QinQ',
  0x9100: '802.1Q-9100',
  0x8035: 'Reverse ARP',
  0x88cc: 'LLDP',
  0x8847: 'MPLS unicast',
  0x8848: 'MPLS multicast',
  0x8863: 'PPPoE D',
  0x8864: 'PPPoE S',
  0x888e: 'EAPOL',
  0x0842: 'Wake-on-LAN',
};

function etherName(t: number): string {
  return ETHER_NAMES[t] ?? 'Unknown';
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** "HH:MM:SS.ffffff" (or 9 digits for nanosecond files) of a time since the epoch, in UTC. */
export function formatTime(timeNs: bigint, precision: 'us' | 'ns'): string {
  const sec = timeNs / 1_000_000_000n;
  const frac = timeNs % 1_000_000_000n;
  const day = Number(sec % 86400n);
  const hh = String(Math.floor(day / 3600)).padStart(2, '0');
  const mm = String(Math.floor((day % 3600) / 60)).padStart(2, '0');
  const ss = String(day % 60).padStart(2, '0');
  const f = precision === 'ns' ? String(frac).padStart(9, '0') : String(frac / 1000n).padStart(6, '0');
  return `${hh}:${mm}:${ss}.${f}`;
}
