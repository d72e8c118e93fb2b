// A whole captured frame, layered for tools (`wirebox inspect`, `wirebox compare`, tests): Ethernet, then
// ARP or IPv4, then ICMP, UDP or TCP. Never throws: a layer that does not parse is recorded as a
// `LayerFailure` holding the WireError and the layer's bytes, raw; the layers before it stay decoded.
//
// All offsets in a DecodedFrame are relative to the frame's first byte (`frame.bytes[0]`); all byte
// arrays are views on the caller's buffer (copy what you keep if the buffer is reused, e.g. a pool slot).
//
// Checksums are judged per layer: 'ok', 'bad', 'partial' (a TCP/UDP field holding the folded
// pseudo-header sum that Linux leaves for a checksum-offloading NIC — what veth captures of locally sent
// packets show), or 'none' (UDP's zero: no checksum). `expectedChecksum` is the correct full value,
// so a tool can print tcpdump -vv's "incorrect -> 0x…".
//
// `emitFrame` re-emits a DecodedFrame from its Reprs (checksums kept as read), giving back the same
// bytes; test/wire/captures.test.ts checks that on every frame of fixtures/real-captures.

import type { ArpRepr } from './arp.js';
import * as arp from './arp.js';
import { icmpChecksum, ipv4HeaderChecksum, l4ChecksumStatus, tcpChecksum, udpChecksum, verifyIcmpChecksum, verifyIpv4Checksum, type ChecksumStatus } from './checksum.js';
import { EMPTY_BYTES } from './bytes.js';
import { WireError } from './errors.js';
import type { EthernetRepr } from './ethernet.js';
import * as ethernet from './ethernet.js';
import { EtherType } from './ethernet.js';
import type { Icmpv4Repr } from './icmpv4.js';
import * as icmpv4 from './icmpv4.js';
import type { Ipv4Repr } from './ipv4.js';
import * as ipv4 from './ipv4.js';
import { IpProto } from './ipv4.js';
import type { TcpRepr } from './tcp.js';
import * as tcp from './tcp.js';
import type { UdpRepr } from './udp.js';
import * as udp from './udp.js';

/** A layer that failed to parse: its bytes (to the end of what the layer below gave it) are kept raw. */
export interface LayerFailure {
  kind: 'error';
  /** 'ethernet' | 'arp' | 'ipv4' | 'icmpv4' | 'udp' | 'tcp'. */
  protocol: string;
  offset: number;
  error: WireError;
  bytes: Uint8Array;
}

export interface EthernetLayer {
  kind: 'ethernet';
  offset: number;
  /** 14 + 4 per VLAN tag. */
  headerLen: number;
  repr: EthernetRepr;
}

export interface ArpLayer {
  kind: 'arp';
  offset: number;
  /** Always 28. */
  length: number;
  repr: ArpRepr;
}

export interface Ipv4Layer {
  kind: 'ipv4';
  offset: number;
  headerLen: number;
  repr: Ipv4Repr;
  checksum: ChecksumStatus;
  expectedChecksum: number;
}

/** A network payload we do not decode (IPv6, 802.3 length frames, other EtherTypes). */
export interface RawNetworkLayer {
  kind: 'raw';
  offset: number;
  ethertype: number;
  bytes: Uint8Array;
}

export type NetworkLayer = ArpLayer | Ipv4Layer | RawNetworkLayer | LayerFailure;

export interface IcmpLayer {
  kind: 'icmpv4';
  offset: number;
  length: number;
  repr: Icmpv4Repr;
  checksum: ChecksumStatus;
  expectedChecksum: number;
}

export interface UdpLayer {
  kind: 'udp';
  offset: number;
  /** Bytes the IPv4 header gives the transport (≥ repr.length; more only if the sender padded). */
  length: number;
  repr: UdpRepr;
  checksum: ChecksumStatus;
  expectedChecksum: number;
}

export interface TcpLayer {
  kind: 'tcp';
  offset: number;
  length: number;
  headerLen: number;
  repr: TcpRepr;
  checksum: ChecksumStatus;
  expectedChecksum: number;
}

/** An IPv4 payload not decoded: another protocol (IGMP…), or a fragment (whose transport checksum
 *  cannot be judged alone). */
export interface RawTransportLayer {
  kind: 'raw';
  offset: number;
  protocol: number;
  reason: 'protocol' | 'fragment';
  bytes: Uint8Array;
}

export type TransportLayer = IcmpLayer | UdpLayer | TcpLayer | RawTransportLayer | LayerFailure;

export interface DecodedFrame {
  /** The frame's bytes (a view on the caller's buffer). */
  bytes: Uint8Array;
  length: number;
  ethernet: EthernetLayer | LayerFailure;
  /** Null when Ethernet failed. */
  network: NetworkLayer | null;
  /** Null unless the network layer is IPv4 and parsed. */
  transport: TransportLayer | null;
  /** What follows the last decoded layer: Ethernet padding up to 60 bytes, or a trailer. Empty when a
   *  layer failed (its bytes hold the rest). */
  trailer: Uint8Array;
  /** The first failure met, or null when every layer parsed. */
  error: WireError | null;
}

function failure(protocol: string, offset: number, e: unknown, bytes: Uint8Array): LayerFailure {
  const error = e instanceof WireError ? e : new WireError('bad-value', protocol, offset, String(e));
  return { kind: 'error', protocol, offset, error, bytes };
}

/** Decode the frame in the `len` bytes at `off` of `bytes`. Never throws. */
export function decodeFrame(bytes: Uint8Array, off: number, len: number): DecodedFrame {
  // A range that lies about the buffer is clamped to it (a negative offset gives an empty frame).
  const start = off >= 0 ? Math.min(off, bytes.length) : bytes.length;
  const avail = len > 0 ? Math.min(len, bytes.length - start) : 0;
  const f = bytes.subarray(start, start + avail);
  const out: DecodedFrame = { bytes: f, length: avail, ethernet: null!, network: null, transport: null, trailer: EMPTY_BYTES, error: null };

  let eth: EthernetRepr;
  try {
    eth = ethernet.parse(f, 0, avail);
  } catch (e) {
    out.ethernet = failure('ethernet', 0, e, f);
    out.error = out.ethernet.error;
    return out;
  }
  const l3 = ethernet.bufferLen(eth);
  out.ethernet = { kind: 'ethernet', offset: 0, headerLen: l3, repr: eth };
  const l3len = avail - l3;

  if (eth.ethertype === EtherType.ARP) {
    try {
      const repr = arp.parse(f, l3, l3len);
      out.network = { kind: 'arp', offset: l3, length: arp.ARP.LEN, repr };
      out.trailer = f.subarray(l3 + arp.ARP.LEN);
    } catch (e) {
      out.network = failure('arp', l3, e, f.subarray(l3));
      out.error = out.network.error;
    }
    return out;
  }
  if (eth.ethertype !== EtherType.IPV4) {
    out.network = { kind: 'raw', offset: l3, ethertype: eth.ethertype, bytes: f.subarray(l3) };
    return out;
  }

  let ip: Ipv4Repr;
  try {
    ip = ipv4.parse(f, l3, l3len);
  } catch (e) {
    out.network = failure('ipv4', l3, e, f.subarray(l3));
    out.error = out.network.error;
    return out;
  }
  const ihl = ipv4.bufferLen(ip);
  out.network = {
    kind: 'ipv4',
    offset: l3,
    headerLen: ihl,
    repr: ip,
    checksum: verifyIpv4Checksum(f, l3) ? 'ok' : 'bad',
    expectedChecksum: ipv4HeaderChecksum(f, l3),
  };
  const l4 = l3 + ihl;
  const l4len = ip.totalLength - ihl;
  out.trailer = f.subarray(l3 + ip.totalLength);

  if (ip.mf || ip.fragOffset !== 0) {
    out.transport = { kind: 'raw', offset: l4, protocol: ip.protocol, reason: 'fragment', bytes: f.subarray(l4, l4 + l4len) };
    return out;
  }
  const proto = ip.protocol;
  const protoName = proto === IpProto.TCP ? 'tcp' : proto === IpProto.UDP ? 'udp' : 'icmpv4';
  try {
    if (proto === IpProto.TCP) {
      const repr = tcp.parse(f, l4, l4len);
      out.transport = {
        kind: 'tcp',
        offset: l4,
        length: l4len,
        headerLen: tcp.headerLen(repr),
        repr,
        checksum: l4ChecksumStatus(f, l4, l4len, ip.src, ip.dst, IpProto.TCP),
        expectedChecksum: tcpChecksum(f, l4, l4len, ip.src, ip.dst),
      };
    } else if (proto === IpProto.UDP) {
      const repr = udp.parse(f, l4, l4len);
      out.transport = {
        kind: 'udp',
        offset: l4,
        length: l4len,
        repr,
        checksum: l4ChecksumStatus(f, l4, repr.length, ip.src, ip.dst, IpProto.UDP),
        expectedChecksum: udpChecksum(f, l4, repr.length, ip.src, ip.dst),
      };
    } else if (proto === IpProto.ICMP) {
      const repr = icmpv4.parse(f, l4, l4len);
      out.transport = {
        kind: 'icmpv4',
        offset: l4,
        length: l4len,
        repr,
        checksum: verifyIcmpChecksum(f, l4, l4len) ? 'ok' : 'bad',
        expectedChecksum: icmpChecksum(f, l4, l4len),
      };
    } else {
      out.transport = { kind: 'raw', offset: l4, protocol: proto, reason: 'protocol', bytes: f.subarray(l4, l4 + l4len) };
    }
  } catch (e) {
    out.transport = failure(protoName, l4, e, f.subarray(l4, l4 + l4len));
    out.error = out.transport.error;
  }
  return out;
}

/** Re-emit a decoded frame into `out` at `off` from its Reprs, checksums as they were read, raw parts
 *  copied. Returns the bytes written (`frame.length` for any frame `decodeFrame` produced). */
export function emitFrame(frame: DecodedFrame, out: Uint8Array, off: number): number {
  const eth = frame.ethernet;
  if (eth.kind === 'error') {
    out.set(eth.bytes, off);
    return eth.bytes.length;
  }
  let at = off + ethernet.emit(eth.repr, out, off);
  const net = frame.network;
  if (net !== null) {
    if (net.kind === 'arp') at += arp.emit(net.repr, out, at);
    else if (net.kind === 'raw' || net.kind === 'error') {
      out.set(net.bytes, at);
      at += net.bytes.length;
    } else {
      // IPv4: the header, then the payload from the transport layer (its Repr's bytes end where the
      // UDP length / IP total length say; UDP padding inside the IP payload is copied through).
      const start = at;
      at += ipv4.emit(net.repr, out, at, false);
      const t = frame.transport;
      if (t !== null) {
        if (t.kind === 'raw' || t.kind === 'error') {
          out.set(t.bytes, at);
          at += t.bytes.length;
        } else if (t.kind === 'tcp') at += tcp.emit(t.repr, out, at);
        else if (t.kind === 'icmpv4') at += icmpv4.emit(t.repr, out, at, false);
        else {
          const n = udp.emit(t.repr, out, at);
          // Bytes between the UDP length and the IP payload end (rare): copy them through.
          out.set(frame.bytes.subarray(t.offset + n, t.offset + t.length), at + n);
          at += t.length;
        }
      }
      at = Math.max(at, start + net.repr.totalLength);
    }
  }
  out.set(frame.trailer, at);
  return at + frame.trailer.length - off;
}
