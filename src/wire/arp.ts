// ARP (RFC 826) for IPv4 over Ethernet, the only kind a Linux host on a veth sends or answers.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |      Hardware type (1)        |     Protocol type (0x0800)    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  HW len (6)   | Proto len (4) |  Operation (1 req, 2 reply)   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                 Sender hardware address (6)                   |
//   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                               |  Sender protocol address (4)  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//   |                               |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//   |                 Target hardware address (6)                   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                  Target protocol address (4)                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Real capture (nat-basic/ct.eth0.pcap): who-has 172.17.0.1 tell 172.17.0.2 —
//   0001 0800 0604 0001 0242 ac11 0002 ac11 0002 0000 0000 0000 ac11 0001
// Linux sends it in a 42-byte frame; the veth does not pad (libslirp pads its replies to 64 bytes).

import { blob, struct, u16be, u32be, u8 } from '@solana/buffer-layout';
import { getMac, getU16, getU32, setMac, setU16, setU32, viewGetMac } from './bytes.js';
import { checkRange, truncated, WireError } from './errors.js';
import { fieldOffset, fields, type HeaderLayout } from './layout.js';

export const arpLayout: HeaderLayout = struct(
  fields([
    u16be('htype'),
    u16be('ptype'),
    u8('hlen'),
    u8('plen'),
    u16be('oper'),
    blob(6, 'sha'),
    u32be('spa'),
    blob(6, 'tha'),
    u32be('tpa'),
  ]),
);

/** Offsets in an Ethernet/IPv4 ARP packet (derived from `arpLayout`). */
export const ARP = Object.freeze({
  HTYPE: fieldOffset(arpLayout, 'htype'),
  PTYPE: fieldOffset(arpLayout, 'ptype'),
  HLEN: fieldOffset(arpLayout, 'hlen'),
  PLEN: fieldOffset(arpLayout, 'plen'),
  OPER: fieldOffset(arpLayout, 'oper'),
  SHA: fieldOffset(arpLayout, 'sha'),
  SPA: fieldOffset(arpLayout, 'spa'),
  THA: fieldOffset(arpLayout, 'tha'),
  TPA: fieldOffset(arpLayout, 'tpa'),
  LEN: arpLayout.span,
});

export const ArpOp = Object.freeze({ REQUEST: 1, REPLY: 2 });
/** ARPHRD_ETHER. */
export const ARP_HTYPE_ETHERNET = 1;

export interface ArpRepr {
  /** ArpOp.REQUEST, ArpOp.REPLY, or any other 16-bit value as read. */
  operation: number;
  senderMac: number;
  senderIp: number;
  targetMac: number;
  targetIp: number;
}

// ---- fast accessors ----
export function arpOperation(view: DataView, off: number): number {
  return view.getUint16(off + ARP.OPER);
}
export function arpSenderMac(view: DataView, off: number): number {
  return viewGetMac(view, off + ARP.SHA);
}
export function arpSenderIp(view: DataView, off: number): number {
  return view.getUint32(off + ARP.SPA);
}
export function arpTargetMac(view: DataView, off: number): number {
  return viewGetMac(view, off + ARP.THA);
}
export function arpTargetIp(view: DataView, off: number): number {
  return view.getUint32(off + ARP.TPA);
}
/** Whether the packet at `off` is Ethernet/IPv4 ARP (the only kind the stack handles). */
export function arpIsEthernetIpv4(view: DataView, off: number): boolean {
  return (
    view.getUint16(off + ARP.HTYPE) === ARP_HTYPE_ETHERNET &&
    view.getUint16(off + ARP.PTYPE) === 0x0800 &&
    view.getUint8(off + ARP.HLEN) === 6 &&
    view.getUint8(off + ARP.PLEN) === 4
  );
}

// ---- Repr ----

export function parse(bytes: Uint8Array, off: number, len: number): ArpRepr {
  checkRange('arp', bytes, off, len);
  if (len < 8) throw truncated('arp', off, 8, len);
  const htype = getU16(bytes, off + ARP.HTYPE);
  const ptype = getU16(bytes, off + ARP.PTYPE);
  const hlen = bytes[off + ARP.HLEN]!;
  const plen = bytes[off + ARP.PLEN]!;
  if (htype !== ARP_HTYPE_ETHERNET) throw new WireError('bad-value', 'arp', off + ARP.HTYPE, `hardware type ${htype}, not Ethernet`);
  if (ptype !== 0x0800) throw new WireError('bad-value', 'arp', off + ARP.PTYPE, `protocol type 0x${ptype.toString(16)}, not IPv4`);
  if (hlen !== 6 || plen !== 4) throw new WireError('bad-length', 'arp', off + ARP.HLEN, `address lengths ${hlen}/${plen}, not 6/4`);
  if (len < ARP.LEN) throw truncated('arp', off, ARP.LEN, len);
  return {
    operation: getU16(bytes, off + ARP.OPER),
    senderMac: getMac(bytes, off + ARP.SHA),
    senderIp: getU32(bytes, off + ARP.SPA),
    targetMac: getMac(bytes, off + ARP.THA),
    targetIp: getU32(bytes, off + ARP.TPA),
  };
}

export function bufferLen(_repr: ArpRepr): number {
  return ARP.LEN;
}

/** Write the 28-byte packet; returns its length. */
export function emit(repr: ArpRepr, bytes: Uint8Array, off: number): number {
  setU16(bytes, off + ARP.HTYPE, ARP_HTYPE_ETHERNET);
  setU16(bytes, off + ARP.PTYPE, 0x0800);
  bytes[off + ARP.HLEN] = 6;
  bytes[off + ARP.PLEN] = 4;
  setU16(bytes, off + ARP.OPER, repr.operation);
  setMac(bytes, off + ARP.SHA, repr.senderMac);
  setU32(bytes, off + ARP.SPA, repr.senderIp);
  setMac(bytes, off + ARP.THA, repr.targetMac);
  setU32(bytes, off + ARP.TPA, repr.targetIp);
  return ARP.LEN;
}
