// The wire layer: formats of the protocols wirebox emulates, their checksums and addresses.
//
//   import { IPV4, ipv4Ttl, ipv4, decodeFrame } from '../wire/index.js';
//   ipv4.parse(bytes, off, len) / ipv4.emit(repr, bytes, off) / ipv4.bufferLen(repr)
//
// Each protocol module is re-exported whole under its name (ethernet, arp, ipv4, icmpv4, udp, tcp) for
// its Repr functions, and flat for its constants, types and DataView accessors.

export * from './errors.js';
export * from './addr.js';
export * from './checksum.js';
export * from './bytes.js';
export * from './frame.js';

export * as ethernet from './ethernet.js';
export * as arp from './arp.js';
export * as ipv4 from './ipv4.js';
export * as icmpv4 from './icmpv4.js';
export * as udp from './udp.js';
export * as tcp from './tcp.js';

export {
  ETH,
  VLAN,
  EtherType,
  ETH_MIN_FRAME,
  ethernetLayout,
  vlanTagLayout,
  ethDst,
  ethSrc,
  ethType,
  setEthDst,
  setEthSrc,
  setEthType,
  writeEthernet,
  type EthernetRepr,
  type VlanTag,
} from './ethernet.js';
export {
  ARP,
  ArpOp,
  ARP_HTYPE_ETHERNET,
  arpLayout,
  arpOperation,
  arpSenderMac,
  arpSenderIp,
  arpTargetMac,
  arpTargetIp,
  arpIsEthernetIpv4,
  type ArpRepr,
} from './arp.js';
export {
  IPV4,
  IpProto,
  Ipv4Flag,
  Ipv4OptionType,
  ipv4Layout,
  ipv4Version,
  ipv4HeaderLen,
  ipv4TotalLen,
  ipv4Id,
  ipv4Df,
  ipv4Mf,
  ipv4FragOffset,
  ipv4Ttl,
  ipv4Protocol,
  ipv4Checksum,
  ipv4Src,
  ipv4Dst,
  ipv4DecrementTtl,
  ipv4SetSrc,
  ipv4SetDst,
  writeIpv4Header,
  type Ipv4Repr,
  type Ipv4Option,
} from './ipv4.js';
export {
  ICMP,
  IcmpType,
  IcmpUnreachCode,
  IcmpTimeExceededCode,
  icmpLayout,
  icmpEchoLayout,
  icmpType,
  icmpCode,
  icmpIdent,
  icmpSeq,
  isIcmpError,
  type Icmpv4Repr,
  type Icmpv4Kind,
  type Icmpv4Quote,
} from './icmpv4.js';
export { UDP, udpLayout, udpSrcPort, udpDstPort, udpLength, udpChecksumField, type UdpRepr, type PseudoHeader } from './udp.js';
export {
  TCP,
  TcpFlag,
  TcpOptionKind,
  tcpLayout,
  tcpSrcPort,
  tcpDstPort,
  tcpSeq,
  tcpAck,
  tcpHeaderLen,
  tcpFlags,
  tcpWindow,
  tcpChecksumField,
  writeTcpHeader,
  optionLen as tcpOptionLen,
  optionsLen as tcpOptionsLen,
  type TcpRepr,
  type TcpOption,
  type SackBlock,
} from './tcp.js';
