// Ethernet II (DIX) framing, as Linux puts it on a veth or tap (no preamble, no FCS), with 802.1Q/802.1ad
// VLAN tags between the source address and the EtherType.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination MAC address                    |
//   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                               |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//   |                      Source MAC address                       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           EtherType           |    payload (46..1500 bytes;   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+     shorter frames are padded  |
//
// With an 802.1Q tag (IEEE 802.1Q-2018 §9.6) the "EtherType" at 12 is the TPID 0x8100 and is followed by
//   | PCP(3) |DEI| VID (12 bits) |  inner EtherType  |
// Real capture (fixtures/real-captures/nat-basic/ct.eth0.pcap, ARP request):
//   ffff ffff ffff 0242 ac11 0002 0806 | 0001 0800 0604 0001 …

import { blob, struct, u16be } from '@solana/buffer-layout';
import { getMac, getU16, setMac, setU16, viewGetMac, viewSetMac } from './bytes.js';
import { checkRange, truncated } from './errors.js';
import { fieldOffset, fields, type HeaderLayout } from './layout.js';

/** The Ethernet II header, declared once. */
export const ethernetLayout: HeaderLayout = struct(fields([blob(6, 'dst'), blob(6, 'src'), u16be('ethertype')]));

/** One 802.1Q tag as it follows the TPID: TCI then the next EtherType. */
export const vlanTagLayout: HeaderLayout = struct(fields([u16be('tci'), u16be('ethertype')]));

/** Offsets in the Ethernet header (derived from `ethernetLayout`). */
export const ETH = Object.freeze({
  DST: fieldOffset(ethernetLayout, 'dst'),
  SRC: fieldOffset(ethernetLayout, 'src'),
  ETHERTYPE: fieldOffset(ethernetLayout, 'ethertype'),
  HEADER_LEN: ethernetLayout.span,
});

/** Offsets inside one VLAN tag, relative to the byte after the TPID (TPID sits at ETH.ETHERTYPE). */
export const VLAN = Object.freeze({
  TCI: fieldOffset(vlanTagLayout, 'tci'),
  ETHERTYPE: fieldOffset(vlanTagLayout, 'ethertype'),
  TAG_LEN: vlanTagLayout.span,
});

export const EtherType = Object.freeze({
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  /** 802.1ad service tag (QinQ outer). */
  QINQ: 0x88a8,
  IPV6: 0x86dd,
});

/** Shortest frame on the wire without FCS: shorter ones are padded with zeros to this length. */
export const ETH_MIN_FRAME = 60;

function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8 || t === 0x9100;
}

export interface VlanTag {
  /** 0x8100 (802.1Q), 0x88a8 (802.1ad) or 0x9100 (old QinQ). */
  tpid: number;
  /** Priority code point, 0..7. */
  pcp: number;
  /** Drop eligible indicator. */
  dei: boolean;
  /** VLAN id, 0..4095. */
  vid: number;
}

export interface EthernetRepr {
  /** 48-bit MAC. */
  dst: number;
  src: number;
  /** Tags in wire order (outermost first); empty for an untagged frame. */
  vlans: VlanTag[];
  /** The innermost EtherType (values < 0x0600 are 802.3 lengths; kept as they are). */
  ethertype: number;
}

// ---- fast accessors on the pool's DataView ----

export function ethDst(view: DataView, off: number): number {
  return viewGetMac(view, off + ETH.DST);
}
export function ethSrc(view: DataView, off: number): number {
  return viewGetMac(view, off + ETH.SRC);
}
export function ethType(view: DataView, off: number): number {
  return view.getUint16(off + ETH.ETHERTYPE);
}
export function setEthDst(view: DataView, off: number, mac: number): void {
  viewSetMac(view, off + ETH.DST, mac);
}
export function setEthSrc(view: DataView, off: number, mac: number): void {
  viewSetMac(view, off + ETH.SRC, mac);
}
export function setEthType(view: DataView, off: number, ethertype: number): void {
  view.setUint16(off + ETH.ETHERTYPE, ethertype);
}
/** Write a whole untagged header (the stack's output path). */
export function writeEthernet(view: DataView, off: number, dst: number, src: number, ethertype: number): void {
  viewSetMac(view, off + ETH.DST, dst);
  viewSetMac(view, off + ETH.SRC, src);
  view.setUint16(off + ETH.ETHERTYPE, ethertype);
}

// ---- Repr ----

/** Parse the Ethernet header (and its VLAN tags) of the `len` bytes at `off`. */
export function parse(bytes: Uint8Array, off: number, len: number): EthernetRepr {
  checkRange('ethernet', bytes, off, len);
  if (len < ETH.HEADER_LEN) throw truncated('ethernet', off, ETH.HEADER_LEN, len);
  const vlans: VlanTag[] = [];
  let at = off + ETH.ETHERTYPE;
  let type = getU16(bytes, at);
  while (isVlanTpid(type)) {
    const need = at - off + 2 + VLAN.TAG_LEN;
    if (len < need) throw truncated('ethernet', at, need, len);
    const tci = getU16(bytes, at + 2 + VLAN.TCI);
    vlans.push({ tpid: type, pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    at += VLAN.TAG_LEN;
    type = getU16(bytes, at);
  }
  return { dst: getMac(bytes, off + ETH.DST), src: getMac(bytes, off + ETH.SRC), vlans, ethertype: type };
}

/** Header length: 14 plus 4 per VLAN tag. */
export function bufferLen(repr: EthernetRepr): number {
  return ETH.HEADER_LEN + repr.vlans.length * VLAN.TAG_LEN;
}

/** Write the header at `off`; returns its length. */
export function emit(repr: EthernetRepr, bytes: Uint8Array, off: number): number {
  setMac(bytes, off + ETH.DST, repr.dst);
  setMac(bytes, off + ETH.SRC, repr.src);
  let at = off + ETH.ETHERTYPE;
  const vlans = repr.vlans;
  for (let i = 0; i < vlans.length; i++) {
    const t = vlans[i]!;
    setU16(bytes, at, t.tpid);
    setU16(bytes, at + 2 + VLAN.TCI, ((t.pcp & 7) << 13) | (t.dei ? 0x1000 : 0) | (t.vid & 0x0fff));
    at += VLAN.TAG_LEN;
  }
  setU16(bytes, at, repr.ethertype);
  return at + 2 - off;
}
