// Big-endian reads and writes on a Uint8Array at any offset, with no allocation. Emitters use these
// (a DataView per call would allocate); the hot path, which already holds the pool's DataView, uses it
// directly. 48-bit MACs are read as hi16 * 2^32 + lo32, exact in a double.

export function getU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function setU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v;
}

export function getU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function setU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

export function getMac(b: Uint8Array, at: number): number {
  return ((b[at]! << 8) | b[at + 1]!) * 0x100000000 + getU32(b, at + 2);
}

export function setMac(b: Uint8Array, at: number, mac: number): void {
  const hi = Math.floor(mac / 0x100000000);
  b[at] = hi >>> 8;
  b[at + 1] = hi;
  setU32(b, at + 2, mac >>> 0);
}

/** A MAC from a DataView (the pool's), no allocation. */
export function viewGetMac(view: DataView, at: number): number {
  return view.getUint16(at) * 0x100000000 + view.getUint32(at + 2);
}

export function viewSetMac(view: DataView, at: number, mac: number): void {
  view.setUint16(at, Math.floor(mac / 0x100000000) & 0xffff);
  view.setUint32(at + 2, mac >>> 0);
}

/** The shared empty view parsers return for absent options or payload (saves a subarray per parse). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
