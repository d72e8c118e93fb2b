// Internet checksums (RFC 1071), in one place, the way smoltcp's `ip::checksum` does it: sums are kept
// *uncomplemented* and folded to 16 bits so that pieces (pseudo header, header, payload) combine with
// `checksumCombine`; `finishChecksum` complements the total into the value that goes into the field.
//
//   field value = finishChecksum(checksumCombine(pseudoHeaderSum(src, dst, proto, len),
//                                                checksumData(bytes, l4off, len)))     (field taken as 0)
//   a received header verifies when checksumData over it (pseudo header included) folds to 0xffff.
//
// RFC 1624 incremental updates (`updateChecksum16/32`) are what NAT and the TTL decrement use: they
// rewrite a field without re-reading the packet, as Linux's csum_replace2/csum_replace4 do.
//
// What Linux puts on the wire when it leaves the checksum to the NIC (CHECKSUM_PARTIAL, e.g. on veth):
// the field holds the folded, uncomplemented pseudo-header sum (`~tcp_v4_check(len, saddr, daddr, 0)` in
// __tcp_v4_send_check; udp4_hwcsum does the same). `isPartialChecksum` recognises that value; tcpdump
// shows it as "incorrect" and real captures of locally sent packets are full of it.
//
// All functions read `Uint8Array`s at any offset (odd ones included) and never allocate.

/** Fold a non-negative sum below 2^31 to 16 bits with end-around carry. */
function fold(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Bytes summed before folding, so the running sum of 16-bit words stays a small integer (< 2^30). */
import { IpProto } from './proto.js';
const CHUNK = 0x4000;

/**
 * RFC 1071 sum of `len` bytes at `off`, big-endian 16-bit words, an odd last byte padded with zero,
 * added to `initial` (an earlier uncomplemented sum), folded to 16 bits, *not* complemented.
 * To continue a sum over a second piece, the first piece must have an even length.
 */
export function checksumData(bytes: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial & 0xffff;
  if (!(len > 0)) return sum;
  let i = off;
  const pairEnd = off + (len & ~1);
  while (i < pairEnd) {
    const stop = pairEnd - i > CHUNK ? i + CHUNK : pairEnd;
    // Eight bytes per turn (four words), then the remaining words one by one.
    const stop8 = stop - ((stop - i) & 7);
    for (; i < stop8; i += 8) {
      sum +=
        ((bytes[i]! << 8) | bytes[i + 1]!) +
        ((bytes[i + 2]! << 8) | bytes[i + 3]!) +
        ((bytes[i + 4]! << 8) | bytes[i + 5]!) +
        ((bytes[i + 6]! << 8) | bytes[i + 7]!);
    }
    for (; i < stop; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
    sum = fold(sum);
  }
  if ((len & 1) !== 0) sum = fold(sum + (bytes[pairEnd]! << 8));
  return sum;
}

/** Fold a running sum of 16-bit words (any non-negative integer below 2^31) to 16 bits, for callers
 *  that add header words arithmetically instead of reading them back (see `writeTcpHeader`). */
export function foldSum(sum: number): number {
  return fold(sum);
}

/** The two 16-bit halves of a u32, summed (a 32-bit field's contribution to a checksum). */
export function sumU32(v: number): number {
  return (v >>> 16) + (v & 0xffff);
}

/** One's complement sum of two uncomplemented 16-bit sums. */
export function checksumCombine(a: number, b: number): number {
  return fold((a & 0xffff) + (b & 0xffff));
}

/** The uncomplemented sum of the IPv4 pseudo header (src, dst, zero + protocol, transport length). */
export function pseudoHeaderSum(src: number, dst: number, proto: number, l4len: number): number {
  return fold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (proto & 0xff) + (l4len & 0xffff));
}

/** The value for the checksum field: the one's complement of an uncomplemented sum. */
export function finishChecksum(sum: number): number {
  return ~sum & 0xffff;
}

/**
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the checksum field after one 16-bit word of the covered data
 * changed from `oldWord` to `newWord`. Equal to a full recomputation whenever the new data is not all
 * zeros (then recomputation gives 0xffff where this gives 0x0000… never the case for a real header).
 */
export function updateChecksum16(check: number, oldWord: number, newWord: number): number {
  return ~fold((~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** RFC 1624 for a 32-bit field (an IPv4 address under NAT): both halves at once. */
export function updateChecksum32(check: number, oldU32: number, newU32: number): number {
  const sum =
    (~check & 0xffff) +
    (~(oldU32 >>> 16) & 0xffff) +
    (~oldU32 & 0xffff) +
    ((newU32 >>> 16) & 0xffff) +
    (newU32 & 0xffff);
  return ~fold(sum) & 0xffff;
}

/** UDP's variant (Linux nf_nat udp_manip_pkt): a zero field means "no checksum" and stays zero; a
 *  computed zero is sent as 0xffff (CSUM_MANGLED_0). */
export function updateUdpChecksum16(check: number, oldWord: number, newWord: number): number {
  if (check === 0) return 0;
  return updateChecksum16(check, oldWord, newWord) || 0xffff;
}

/** UDP's variant of `updateChecksum32` (see `updateUdpChecksum16`). */
export function updateUdpChecksum32(check: number, oldU32: number, newU32: number): number {
  if (check === 0) return 0;
  return updateChecksum32(check, oldU32, newU32) || 0xffff;
}

// ---- per protocol -------------------------------------------------------------------------------------

/** Offsets of the checksum field inside each header (pinned by test/wire against the layouts). */
const IPV4_CHECK = 10;
const TCP_CHECK = 16;
const UDP_CHECK = 6;
const ICMP_CHECK = 2;

const PROTO_TCP = IpProto.TCP;
const PROTO_UDP = IpProto.UDP;

function readU16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function writeU16(bytes: Uint8Array, at: number, v: number): void {
  bytes[at] = v >>> 8;
  bytes[at + 1] = v & 0xff;
}

/** Complemented checksum of `len` bytes at `off` with the 2 bytes at `off + checkRel` taken as zero,
 *  starting from the uncomplemented sum `initial`. `checkRel` must be even. */
function computeSkipping(bytes: Uint8Array, off: number, len: number, checkRel: number, initial: number): number {
  let sum = checksumData(bytes, off, checkRel, initial);
  sum = checksumData(bytes, off + checkRel + 2, len - checkRel - 2, sum);
  return finishChecksum(sum);
}

/** The correct IPv4 header checksum for the header at `off` (length from its IHL), field taken as zero. */
export function ipv4HeaderChecksum(bytes: Uint8Array, off: number): number {
  return computeSkipping(bytes, off, (bytes[off]! & 0x0f) << 2, IPV4_CHECK, 0);
}

/** Write the IPv4 header checksum (header length from IHL). */
export function fillIpv4Checksum(bytes: Uint8Array, off: number): void {
  writeU16(bytes, off + IPV4_CHECK, ipv4HeaderChecksum(bytes, off));
}

/** Whether the IPv4 header at `off` (length from IHL) carries a correct checksum. */
export function verifyIpv4Checksum(bytes: Uint8Array, off: number): boolean {
  return checksumData(bytes, off, (bytes[off]! & 0x0f) << 2) === 0xffff;
}

/** The correct TCP checksum of the segment (`len` bytes at `off`, header and payload). */
export function tcpChecksum(bytes: Uint8Array, off: number, len: number, src: number, dst: number): number {
  return computeSkipping(bytes, off, len, TCP_CHECK, pseudoHeaderSum(src, dst, PROTO_TCP, len));
}

export function fillTcpChecksum(bytes: Uint8Array, off: number, len: number, src: number, dst: number): void {
  writeU16(bytes, off + TCP_CHECK, tcpChecksum(bytes, off, len, src, dst));
}

export function verifyTcpChecksum(bytes: Uint8Array, off: number, len: number, src: number, dst: number): boolean {
  return checksumData(bytes, off, len, pseudoHeaderSum(src, dst, PROTO_TCP, len)) === 0xffff;
}

/** The correct UDP checksum of the datagram (`len` bytes at `off`), a computed zero given as 0xffff
 *  (RFC 768: zero on the wire means "no checksum"). */
export function udpChecksum(bytes: Uint8Array, off: number, len: number, src: number, dst: number): number {
  return computeSkipping(bytes, off, len, UDP_CHECK, pseudoHeaderSum(src, dst, PROTO_UDP, len)) || 0xffff;
}

export function fillUdpChecksum(bytes: Uint8Array, off: number, len: number, src: number, dst: number): void {
  writeU16(bytes, off + UDP_CHECK, udpChecksum(bytes, off, len, src, dst));
}

/** True when the field is correct or zero (no checksum sent). */
export function verifyUdpChecksum(bytes: Uint8Array, off: number, len: number, src: number, dst: number): boolean {
  if (readU16(bytes, off + UDP_CHECK) === 0) return true;
  return checksumData(bytes, off, len, pseudoHeaderSum(src, dst, PROTO_UDP, len)) === 0xffff;
}

/** The correct ICMP checksum of the message (`len` bytes at `off`; no pseudo header in ICMPv4). */
export function icmpChecksum(bytes: Uint8Array, off: number, len: number): number {
  return computeSkipping(bytes, off, len, ICMP_CHECK, 0);
}

export function fillIcmpChecksum(bytes: Uint8Array, off: number, len: number): void {
  writeU16(bytes, off + ICMP_CHECK, icmpChecksum(bytes, off, len));
}

export function verifyIcmpChecksum(bytes: Uint8Array, off: number, len: number): boolean {
  return checksumData(bytes, off, len) === 0xffff;
}

/** The value Linux leaves in a TCP/UDP checksum field for the NIC to finish (CHECKSUM_PARTIAL):
 *  the folded pseudo-header sum, uncomplemented. */
export function partialChecksum(src: number, dst: number, proto: number, l4len: number): number {
  return pseudoHeaderSum(src, dst, proto, l4len);
}

/** Whether a TCP/UDP checksum field holds the offload placeholder rather than a full checksum. */
export function isPartialChecksum(field: number, src: number, dst: number, proto: number, l4len: number): boolean {
  return field === pseudoHeaderSum(src, dst, proto, l4len);
}

/** How a header's checksum looked on the wire:
 *  'ok' correct; 'bad' wrong; 'partial' the offload placeholder (see `isPartialChecksum`);
 *  'none' UDP's zero ("no checksum"). */
export type ChecksumStatus = 'ok' | 'bad' | 'partial' | 'none';

/** Status of a TCP (proto 6) or UDP (17) checksum, from the field and the bytes. */
export function l4ChecksumStatus(bytes: Uint8Array, off: number, len: number, src: number, dst: number, proto: number): ChecksumStatus {
  const checkRel = proto === PROTO_UDP ? UDP_CHECK : TCP_CHECK;
  const field = readU16(bytes, off + checkRel);
  if (proto === PROTO_UDP && field === 0) return 'none';
  if (checksumData(bytes, off, len, pseudoHeaderSum(src, dst, proto, len)) === 0xffff) return 'ok';
  if (isPartialChecksum(field, src, dst, proto, len)) return 'partial';
  return 'bad';
}
