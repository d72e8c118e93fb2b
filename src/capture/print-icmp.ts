// The text after "IP SRC > DST: " for ICMP and IGMP, as tcpdump -nn (4.99, not verbose) prints it:
// print-icmp.c's icmp_print (echo with id/seq, unreachable quoting the original destination and port,
// need-to-frag with the MTU, redirects, time exceeded, parameter problem) and print-igmp.c's igmp_print
// (v1/v2/v3 queries, reports, leave). Split from print.ts, which calls these per frame.

import { formatIpv4 } from '../wire/addr.js';
import { getU16 as u16, getU32 as u32 } from '../wire/bytes.js';
import type { DecodedFrame } from '../wire/frame.js';

const ICMP_NAMES: Record<number, string> = {
  0: 'echo reply',
  3: 'destination unreachable',
  4: 'source quench',
  5: 'redirect',
  8: 'echo request',
  9: 'router advertisement',
  10: 'router solicitation',
  11: 'time exceeded',
  12: 'parameter problem',
  13: 'time stamp request',
  14: 'time stamp reply',
  15: 'information request',
  16: 'information reply',
  17: 'address mask request',
  18: 'address mask reply',
};

const UNREACH_FORMATS: Record<number, string> = {
  0: 'net %s unreachable',
  1: 'host %s unreachable',
  5: '%s unreachable - source route failed',
  6: 'net %s unreachable - unknown',
  7: 'host %s unreachable - unknown',
  8: '%s unreachable - source host isolated',
  9: 'net %s unreachable - admin prohibited',
  10: 'host %s unreachable - admin prohibited',
  11: 'net %s unreachable - tos prohibited',
  12: 'host %s unreachable - tos prohibited',
  13: 'host %s unreachable - admin prohibited filter',
  14: 'host %s unreachable - host precedence violation',
  15: 'host %s unreachable - precedence cutoff',
};

export function icmpText(frame: DecodedFrame): string {
  const t = frame.transport;
  if (t === null || t.kind !== 'icmpv4') return '[|icmp]';
  const m = t.repr;
  switch (m.type) {
    case 0:
    case 8:
      return `echo ${m.type === 8 ? 'request' : 'reply'}, id ${m.ident}, seq ${m.seqNo}`;
    case 3: {
      const q = m.quote;
      if (q === null) return 'destination unreachable';
      const odst = formatIpv4(q.ipv4.dst);
      switch (m.code) {
        case 2:
          return `${odst} protocol ${q.ipv4.protocol} unreachable`;
        case 3:
          if (q.ipv4.protocol === 6) return `${odst} tcp port ${q.dstPort} unreachable`;
          if (q.ipv4.protocol === 17) return `${odst} udp port ${q.dstPort} unreachable`;
          // tcpdump reads the "port" where a UDP header would hold it, whatever the protocol
          if (q.payload.length < 4) return `${odst} protocol ${q.ipv4.protocol} port [|icmp]`;
          return `${odst} protocol ${q.ipv4.protocol} port ${u16(q.payload, 2)} unreachable`;
        case 4: {
          const mtu = m.rest & 0xffff;
          return mtu !== 0 ? `${odst} unreachable - need to frag (mtu ${mtu})` : `${odst} unreachable - need to frag`;
        }
        default: {
          const fmt = UNREACH_FORMATS[m.code] ?? `#${m.code} %s unreachable`;
          return fmt.replace('%s', odst);
        }
      }
    }
    case 5: {
      // print-icmp.c reads the quoted header's destination where it lies, parsed or not
      const gw = formatIpv4(m.rest >>> 0);
      if (m.data.length < 20) return `redirect [|icmp]`;
      const odst = formatIpv4(u32(m.data, 16));
      const kinds = ['redirect %s to net %s', 'redirect %s to host %s', 'redirect-tos %s to net %s', 'redirect-tos %s to host %s'];
      const fmt = kinds[m.code] ?? `redirect-#${m.code} %s to %s`;
      return fmt.replace('%s', odst).replace('%s', gw);
    }
    case 11:
      if (m.code === 0) return 'time exceeded in-transit';
      if (m.code === 1) return 'ip reassembly time exceeded';
      return `time exceeded-#${m.code}`;
    case 12:
      return m.code !== 0 ? `parameter problem - code ${m.code}` : `parameter problem - octet ${m.rest >>> 24}`;
    case 13:
      return `time stamp query id ${m.rest >>> 16} seq ${m.rest & 0xffff}`;
    case 18:
      return m.data.length >= 4 ? `address mask is 0x${u32(m.data, 0).toString(16).padStart(8, '0')}` : 'address mask reply';
    default:
      return ICMP_NAMES[m.type] ?? `type-#${m.type}`;
  }
}

export function igmpText(b: Uint8Array, len: number): string {
  if (b.length < 1) return 'igmp [|igmp]';
  const ip = (at: number) => (b.length >= at + 4 ? formatIpv4(u32(b, at)) : '[|igmp]');
  switch (b[0]) {
    case 0x11: {
      if (len >= 12) {
        let s = 'igmp query v3';
        if (len & 3) return s + ` [invalid len ${len}]`;
        const mrc = b[1] ?? 0;
        const mrt = mrc < 128 ? mrc : ((mrc & 0x0f) | 0x10) << (((mrc & 0x70) >> 4) + 3);
        if (mrc !== 100) s += ` [max resp time ${mrt < 600 ? (mrt * 0.1).toFixed(1) + 's' : relTime(Math.floor(mrt / 10))}]`;
        if (b.length < 8 || u32(b, 4) === 0) return s;
        s += ` [gaddr ${ip(4)}`;
        const nsrcs = b.length >= 12 ? u16(b, 10) : 0;
        if (nsrcs > 0) s += len < 12 + nsrcs * 4 ? ' [invalid number of sources]' : `, ${nsrcs} source(s)`;
        return s + ']';
      }
      let s = 'igmp query';
      const mrt = b[1] ?? 0;
      if (mrt !== 0) {
        s += ' v2';
        if (mrt !== 100) s += ` [max resp time ${mrt}]`;
      } else s += ' v1';
      if (b.length >= 8 && u32(b, 4) !== 0) s += ` [gaddr ${ip(4)}]`;
      if (len !== 8) s += ` [len ${len}]`;
      return s;
    }
    case 0x12:
      return `igmp v1 report ${ip(4)}${len !== 8 ? ` [len ${len}]` : ''}`;
    case 0x16:
      return `igmp v2 report ${ip(4)}`;
    case 0x17:
      return `igmp leave ${ip(4)}`;
    case 0x22:
      if (len < 16 || len & 3) return `igmp v3 report [invalid len ${len}]`;
      return `igmp v3 report, ${b.length >= 8 ? u16(b, 6) : 0} group record(s)`;
    default:
      return `igmp-${b[0]}`;
  }
}

/** tcpdump's unsigned_relts_print: 1h2m3s style. */
function relTime(secs: number): string {
  const units: [number, string][] = [
    [31536000, 'y'],
    [604800, 'w'],
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  if (secs === 0) return '0s';
  let s = '';
  for (const [n, u] of units) {
    if (secs >= n) {
      s += `${Math.floor(secs / n)}${u}`;
      secs %= n;
    }
  }
  return s;
}
