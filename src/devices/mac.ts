// Ethernet addresses read straight from a frame in the packet pool, as 48-bit numbers (the project's
// MAC representation, see src/wire/addr.ts), for the L2 devices' hot paths.
//
//   0                   6                   12        14
//   +-------------------+-------------------+---------+
//   | destination MAC   | source MAC        | type    |
//   +-------------------+-------------------+---------+
// Bit 0 of the first byte is the I/G bit: 1 = group (multicast, broadcast) address.

export const BROADCAST_MAC = 0xffffffffffff;
const TWO32 = 0x100000000;

// The hot paths test addresses where they lie in the frame (`…At(view, off)`), returning booleans and
// small integers: a 48-bit MAC is not a small integer, and V8 boxes such a number each time it crosses
// a call that is not inlined — one heap allocation per frame per call.

/** Whether the address at `off` is a group (multicast/broadcast) address. */
export function isGroupAt(view: DataView, off: number): boolean {
  return (view.getUint8(off) & 1) !== 0;
}

/** is_valid_ether_addr for the address at `off`: not a group address, not all zeros. */
export function isValidSourceAt(view: DataView, off: number): boolean {
  return (view.getUint8(off) & 1) === 0 && (view.getUint16(off) !== 0 || view.getUint32(off + 2) !== 0);
}

/** For 01:80:c2:00:00:0X at `off`, X (0..15); otherwise -1. */
export function linkLocalAt(view: DataView, off: number): number {
  if (view.getUint16(off) !== 0x0180 || view.getUint16(off + 2) !== 0xc200 || view.getUint8(off + 4) !== 0) return -1;
  const x = view.getUint8(off + 5);
  return x < 16 ? x : -1;
}

/** Whether the address at `off` equals `mac`. */
export function macEqualsAt(view: DataView, off: number, mac: number): boolean {
  return view.getUint16(off) * TWO32 + view.getUint32(off + 2) === mac;
}

/** The 48-bit MAC at byte `off` of `view` (cold paths: it is a boxed number once it leaves). */
export function readMac(view: DataView, off: number): number {
  return view.getUint16(off) * TWO32 + view.getUint32(off + 2);
}

/** Group address (multicast or broadcast): the I/G bit of the first byte. */
export function isMulticastMac(mac: number): boolean {
  return (Math.floor(mac / 0x10000000000) & 1) !== 0;
}

/** is_valid_ether_addr: not a group address and not 00:00:00:00:00:00 (a usable source address). */
export function isValidUnicastMac(mac: number): boolean {
  return mac !== 0 && !isMulticastMac(mac);
}

/** 01:80:c2:00:00:0X, the IEEE 802.1D reserved link-local group (STP, pause, LACP, LLDP, ...). */
export function isLinkLocalMac(mac: number): boolean {
  return mac - (mac % 16) === 0x0180c2000000;
}
