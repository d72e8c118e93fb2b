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

/** The 48-bit MAC at byte `off` of `view`. */
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
