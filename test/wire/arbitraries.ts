// fast-check generators of every Repr, over the whole range of each field (extremes included).

import fc from 'fast-check';
import type { ArpRepr } from '../../src/wire/arp.js';
import type { EthernetRepr, VlanTag } from '../../src/wire/ethernet.js';
import type { Icmpv4Repr } from '../../src/wire/icmpv4.js';
import type { Ipv4Repr } from '../../src/wire/ipv4.js';
import type { TcpOption, TcpRepr } from '../../src/wire/tcp.js';
import type { UdpRepr } from '../../src/wire/udp.js';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.nat({ max: 0xffffffff });
export const mac = fc.integer({ min: 0, max: 2 ** 48 - 1 });

const vlanTag: fc.Arbitrary<VlanTag> = fc.record({
  tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100),
  pcp: fc.integer({ min: 0, max: 7 }),
  dei: fc.boolean(),
  vid: fc.integer({ min: 0, max: 4095 }),
});

export const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc.record({
  dst: mac,
  src: mac,
  vlans: fc.array(vlanTag, { maxLength: 3 }),
  // Never a TPID: that would be read as one more tag.
  ethertype: u16.filter((t) => t !== 0x8100 && t !== 0x88a8 && t !== 0x9100),
});

export const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({ operation: u16, senderMac: mac, senderIp: u32, targetMac: mac, targetIp: u32 });

export const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc
  .record({
    tos: u8,
    payload: fc.integer({ min: 0, max: 0xffff - 60 }),
    id: u16,
    reservedFlag: fc.boolean(),
    df: fc.boolean(),
    mf: fc.boolean(),
    fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8),
    ttl: u8,
    protocol: u8,
    checksum: u16,
    src: u32,
    dst: u32,
    options: fc.integer({ min: 0, max: 10 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 })),
  })
  .map(({ payload, ...r }) => ({ ...r, totalLength: 20 + r.options.length + Math.min(payload, 0xffff - 20 - r.options.length) }));

export const udpRepr: fc.Arbitrary<UdpRepr> = fc
  .record({ srcPort: u16, dstPort: u16, checksum: u16, payload: fc.uint8Array({ maxLength: 300 }) })
  .map((r) => ({ ...r, length: 8 + r.payload.length }));

const tcpOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: 'nop' }),
  u16.map<TcpOption>((value) => ({ kind: 'mss', value })),
  u8.map<TcpOption>((shift) => ({ kind: 'wscale', shift })),
  fc.constant<TcpOption>({ kind: 'sack-permitted' }),
  fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: 3 }).map<TcpOption>((blocks) => ({ kind: 'sack', blocks })),
  fc.record({ tsVal: u32, tsEcr: u32 }).map<TcpOption>((t) => ({ kind: 'timestamps', ...t })),
  fc
    .record({ type: fc.integer({ min: 6, max: 255 }).filter((t) => t !== 8), data: fc.uint8Array({ maxLength: 6 }) })
    .map<TcpOption>((u) => ({ kind: 'unknown', ...u })),
  // A known kind with an odd length stays 'unknown', bytes kept.
  fc.constant<TcpOption>({ kind: 'unknown', type: 2, data: Uint8Array.of(5) }),
);

/** Options whose total fits in 40 bytes; when not a multiple of 4, an EOL with zero padding closes
 *  them (what parse gives back for a padded area). */
const tcpOptions: fc.Arbitrary<TcpOption[]> = fc.array(tcpOption, { maxLength: 8 }).map((opts) => {
  const out: TcpOption[] = [];
  let n = 0;
  for (const o of opts) {
    const l = o.kind === 'nop' ? 1 : o.kind === 'mss' ? 4 : o.kind === 'wscale' ? 3 : o.kind === 'sack-permitted' ? 2 : o.kind === 'sack' ? 2 + 8 * o.blocks.length : o.kind === 'timestamps' ? 10 : o.kind === 'unknown' ? 2 + o.data.length : 1;
    if (n + l > 39) break;
    out.push(o);
    n += l;
  }
  const pad = (4 - (n % 4)) % 4;
  if (pad !== 0) out.push({ kind: 'eol', rest: new Uint8Array(pad - 1) });
  return out;
});

export const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0x1ff }),
  reserved: fc.integer({ min: 0, max: 7 }),
  window: u16,
  checksum: u16,
  urgent: u16,
  options: tcpOptions,
  payload: fc.uint8Array({ maxLength: 200 }),
});

export const icmpv4Repr: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
  fc.record({ type: fc.constantFrom(0, 8), code: u8, checksum: u16, ident: u16, seqNo: u16, data: fc.uint8Array({ maxLength: 100 }) }).map(
    (r): Icmpv4Repr => ({ ...r, kind: r.type === 8 ? 'echo-request' : 'echo-reply', rest: ((r.ident << 16) | r.seqNo) >>> 0, quote: null }),
  ),
  fc.record({ type: u8.filter((t) => t !== 0 && t !== 8 && t !== 3 && t !== 11), code: u8, checksum: u16, rest: u32, data: fc.uint8Array({ maxLength: 100 }) }).map(
    (r): Icmpv4Repr => ({ ...r, kind: 'other', ident: 0, seqNo: 0, quote: null }),
  ),
);
