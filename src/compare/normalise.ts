// Normalisation of one side of a comparison: decode every frame, leave out what is not part of a
// scenario, and turn each frame into
//   - a flow id (which conversation it belongs to, in words that do not depend on run accidents),
//   - a signature (its shape inside that flow: direction, flags, lengths) used to align the two sides,
//   - its fields, each literal or a token.
//
// What differs between two honest runs (fixtures/real-captures/README.md) and what is done about it:
//   - times: never read; only the order of frames inside a flow matters.
//   - MAC addresses: unicast, non-zero MACs are tokens (`M1`, `M2`… in first-seen order per side, for
//     display); the comparison checks that the two sides' tokens correspond one to one across every
//     file (`--fixed-macs`: literal). Broadcast, multicast and the zero MAC are literal.
//   - ephemeral ports: a port is ephemeral when it is the client's port of some flow — the source port of
//     a SYN without ACK, or the source port of the first datagram of a UDP flow (for a TCP flow seen
//     without its SYN: the port ≥ 1024 that is not a known service port, the larger one when both are) —
//     and it is not the server port of any flow of that side. Ephemeral ports are tokens (`P1`…),
//     one-to-one across all files of a side, so a NAT that keeps a port (P1 inside, P1 outside) differs
//     from one that remaps it (P1 inside, P2 outside). Other ports are literal.
//   - ICMP echo ids: tokens (`I1`…), one-to-one like the others.
//   - TCP sequence and acknowledgement numbers: relative to the first sequence number of each direction
//     of each flow (the ISN when the SYN is seen); SACK blocks likewise.
//   - TCP timestamps: by default their structure: TSval never goes back within a flow direction, TSecr
//     echoes the peer's latest TSval (or an earlier one, or none). The exact values, relative to the
//     first TSval of that direction of that flow (Linux draws a random offset per connection, so "per
//     sender" is per flow direction), TSecr through the peer's base, only with `--strict`: the clock's
//     millisecond ticks fall between two segments by accident of timing (the real publish capture has
//     its handshake ACK one tick after the SYN, a deterministic emulator the same tick).
//   - IP ids: not compared; `--strict` compares their pattern per flow direction: 0, set, or +N from the
//     previous packet of the same direction ('set' again after an id-0 packet: Linux's accepted socket
//     starts at a random id after its request sock's SYN-ACK with id 0), and on how many of the side's interfaces a packet with that
//     id (same protocol and length) is seen — the same packet keeps its id through forwarding and NAT.
//   - ICMP echo data: the leading 16-byte struct timeval of ping (a time) is not compared.
//   - IPv4 fragments: the first one's transport header is read as in a whole datagram (UDP ports and
//     ICMP echo ids as tokens, ping's timeval left out); later fragments are compared as bytes.
//   - checksums: not compared (`--checksums` reports bad ones, and partial offload ones as such).
//   - left out unless asked for: IGMP, IPv6 (0x86dd), trailing ARP refreshes (unicast ARP requests after
//     the last non-ARP frame of the file, and the replies that answer them).

import { FramePrinter } from '../capture/print.js';
import { formatIpv4, formatMac } from '../wire/addr.js';
import { ArpOp } from '../wire/arp.js';
import { EtherType } from '../wire/ethernet.js';
import { decodeFrame, type DecodedFrame } from '../wire/frame.js';
import { IpProto } from '../wire/ipv4.js';
import { TcpFlag, type TcpOption } from '../wire/tcp.js';
import type { CaptureStream, CompareOptions } from './types.js';
import { endpoint, ephemeralPorts, tupleKey } from './ephemeral.js';

/** How a field's value is compared: literally, as a token of a one-to-one map, or as bytes. */
export type FieldKind = 'lit' | 'mac' | 'port' | 'icmp-id' | 'bytes';

export interface Field {
  name: string;
  kind: FieldKind;
  /** Literal value, or the raw value behind a token. */
  value: number | string;
  /** For display: the token (`P1`), or the literal formatted. */
  shown: string;
  bytes?: Uint8Array;
}

export interface ChecksumNote {
  field: string;
  status: 'bad' | 'partial';
  found: number;
  expected: number;
}

export interface NormFrame {
  number: number;
  /** tcpdump -nn-like one-liner. */
  summary: string;
  /** Conversation: class (endpoints without ephemeral ports) and its ordinal among flows of that class. */
  flow: string;
  /** A looser class to pair flows left over (protocol and service ports, without addresses). */
  loose: string;
  /** Shape within the flow, for alignment. */
  sig: string;
  fields: Field[];
  checksums: ChecksumNote[];
}

export interface NormStream {
  key: string;
  label: string;
  frames: NormFrame[];
  ignored: number;
}

/** Per-side names for tokens (first seen, first numbered), for display only. */
class TokenNames {
  private readonly maps = new Map<string, Map<number, string>>();
  name(prefix: string, v: number): string {
    let m = this.maps.get(prefix);
    if (m === undefined) this.maps.set(prefix, (m = new Map()));
    let t = m.get(v);
    if (t === undefined) m.set(v, (t = `${prefix}${m.size + 1}`));
    return t;
  }
}

interface Decoded {
  number: number;
  origLen: number;
  frame: DecodedFrame;
  summary: string;
}

const BROADCAST = 0xffffffffffff;

function isIgmp(f: DecodedFrame): boolean {
  return f.network !== null && f.network.kind === 'ipv4' && f.network.repr.protocol === IpProto.IGMP;
}
function isIpv6(f: DecodedFrame): boolean {
  return f.ethernet.kind === 'ethernet' && f.ethernet.repr.ethertype === 0x86dd;
}
function isArp(f: DecodedFrame): boolean {
  return f.ethernet.kind === 'ethernet' && f.ethernet.repr.ethertype === EtherType.ARP;
}

/** Decode a stream's frames and take out what the options leave out. */
function decodeStream(s: CaptureStream, opts: CompareOptions): { kept: Decoded[]; ignored: number } {
  const printer = new FramePrinter({ ether: false });
  const all: Decoded[] = s.frames.map((f) => {
    const frame = decodeFrame(f.data, 0, f.data.length);
    return { number: f.number, origLen: f.origLen, frame, summary: printer.line(frame, f.origLen) };
  });
  let kept = all.filter((d) => (opts.keepIgmp || !isIgmp(d.frame)) && (opts.keepIpv6 || !isIpv6(d.frame)));
  if (!opts.keepArpRefresh) {
    let lastNonArp = -1;
    kept.forEach((d, i) => {
      if (!isArp(d.frame)) lastNonArp = i;
    });
    const requests: { sender: number; target: number }[] = [];
    const drop = new Set<number>();
    for (let i = lastNonArp + 1; i < kept.length; i++) {
      const f = kept[i]!.frame;
      if (f.network === null || f.network.kind !== 'arp' || f.ethernet.kind !== 'ethernet') continue;
      const a = f.network.repr;
      if (a.operation === ArpOp.REQUEST && f.ethernet.repr.dst !== BROADCAST) {
        requests.push({ sender: a.senderIp, target: a.targetIp });
        drop.add(i);
      } else if (a.operation === ArpOp.REPLY && requests.some((r) => r.target === a.senderIp && r.sender === a.targetIp)) {
        drop.add(i);
      }
    }
    kept = kept.filter((_, i) => !drop.has(i));
  }
  return { kept, ignored: all.length - kept.length };
}


interface Instance {
  flow: string;
  loose: string;
  /** Endpoint (ip:port, or ip) of the first sender. */
  initiator: string;
  synSeq: number | null;
}

interface DirState {
  seqBase: number | undefined;
  tsBase: number | undefined;
  /** The last TSval sent in this direction, and every one sent (to tell what a TSecr echoes). */
  tsLast: number | undefined;
  tsSent: Set<number>;
}

/** The fields and flows of one stream; `tokens` and `eph` are the side's. */
class StreamNormaliser {
  private readonly instances = new Map<string, Instance>();
  private readonly classCount = new Map<string, number>();
  private readonly dirs = new Map<string, DirState>();
  private readonly ipIds = new Map<string, number>();

  constructor(
    private readonly eph: Set<number>,
    private readonly tokens: TokenNames,
    private readonly opts: CompareOptions,
    /** --strict: on how many of the side's interfaces a packet with this IP id is seen. */
    private readonly idSpread: (id: number, proto: number, totalLength: number) => number,
  ) {}

  private portShown(p: number): string {
    return this.eph.has(p) ? '*' : String(p);
  }

  private instance(tuple: string, classKey: string, loose: string, initiator: string, fresh: boolean): Instance {
    let inst = this.instances.get(tuple);
    if (inst === undefined || fresh) {
      const n = this.classCount.get(classKey) ?? 0;
      this.classCount.set(classKey, n + 1);
      inst = { flow: `${classKey}#${n}`, loose, initiator, synSeq: null };
      this.instances.set(tuple, inst);
    }
    return inst;
  }

  private dir(key: string): DirState {
    let d = this.dirs.get(key);
    if (d === undefined) this.dirs.set(key, (d = { seqBase: undefined, tsBase: undefined, tsLast: undefined, tsSent: new Set() }));
    return d;
  }

  private lit(out: Field[], name: string, value: number | string, shown?: string): void {
    out.push({ name, kind: 'lit', value, shown: shown ?? String(value) });
  }
  private bytes(out: Field[], name: string, b: Uint8Array): void {
    out.push({ name, kind: 'bytes', value: b.length, shown: `${b.length} bytes`, bytes: b });
  }
  private mac(out: Field[], name: string, m: number): void {
    const multicast = Math.floor(m / 0x10000000000) & 1;
    if (this.opts.fixedMacs || m === 0 || multicast === 1) this.lit(out, name, m, formatMac(m));
    else out.push({ name, kind: 'mac', value: m, shown: `${this.tokens.name('M', m)} (${formatMac(m)})` });
  }
  private port(out: Field[], name: string, p: number): void {
    if (this.eph.has(p)) out.push({ name, kind: 'port', value: p, shown: `${this.tokens.name('P', p)} (${p})` });
    else this.lit(out, name, p);
  }

  frame(d: Decoded): NormFrame {
    const f = d.frame;
    const fields: Field[] = [];
    const checksums: ChecksumNote[] = [];
    let flow = 'undecodable';
    let loose = 'undecodable';
    let sig = 'error';
    this.lit(fields, 'frame.length', d.origLen);
    if (f.ethernet.kind === 'error') {
      this.lit(fields, 'decode.error', `${f.ethernet.protocol}: ${f.ethernet.error.message}`);
      this.bytes(fields, 'decode.bytes', f.ethernet.bytes);
      return { number: d.number, summary: d.summary, flow, loose, sig, fields, checksums };
    }
    const eth = f.ethernet.repr;
    this.mac(fields, 'eth.dst', eth.dst);
    this.mac(fields, 'eth.src', eth.src);
    if (eth.vlans.length > 0) this.lit(fields, 'eth.vlans', eth.vlans.map((v) => `${v.tpid.toString(16)}:${v.vid}/${v.pcp}${v.dei ? 'D' : ''}`).join(','));
    this.lit(fields, 'eth.type', eth.ethertype, `0x${eth.ethertype.toString(16).padStart(4, '0')}`);
    if (this.opts.strict && f.trailer.length > 0) this.bytes(fields, 'eth.trailer', f.trailer);
    const net = f.network;
    if (net === null) return { number: d.number, summary: d.summary, flow, loose, sig, fields, checksums };
    if (net.kind === 'error') {
      this.lit(fields, 'decode.error', `${net.protocol}: ${net.error.message}`);
      this.bytes(fields, 'decode.bytes', net.bytes);
      return { number: d.number, summary: d.summary, flow, loose, sig, fields, checksums };
    }
    if (net.kind === 'raw') {
      flow = loose = `eth 0x${net.ethertype.toString(16)}`;
      sig = `len ${d.origLen}`;
      this.bytes(fields, 'eth.payload', net.bytes);
      return { number: d.number, summary: d.summary, flow, loose, sig, fields, checksums };
    }
    if (net.kind === 'arp') {
      const a = net.repr;
      const lo = Math.min(a.senderIp, a.targetIp);
      const hi = Math.max(a.senderIp, a.targetIp);
      const classKey = `arp ${formatIpv4(lo)} ${formatIpv4(hi)}`;
      const inst = this.instance(`arp|${lo}|${hi}`, classKey, 'arp', formatIpv4(a.senderIp), false);
      flow = inst.flow;
      loose = inst.loose;
      sig = `${inst.initiator === formatIpv4(a.senderIp) ? 'fwd' : 'rev'} op${a.operation} ${eth.dst === BROADCAST ? 'bcast' : 'ucast'}`;
      this.lit(fields, 'arp.op', a.operation);
      this.mac(fields, 'arp.senderMac', a.senderMac);
      this.lit(fields, 'arp.senderIp', a.senderIp, formatIpv4(a.senderIp));
      this.mac(fields, 'arp.targetMac', a.targetMac);
      this.lit(fields, 'arp.targetIp', a.targetIp, formatIpv4(a.targetIp));
      return { number: d.number, summary: d.summary, flow, loose, sig, fields, checksums };
    }

    // IPv4
    const ip = net.repr;
    this.lit(fields, 'ipv4.ihl', net.headerLen);
    this.lit(fields, 'ipv4.tos', ip.tos, `0x${ip.tos.toString(16).padStart(2, '0')}`);
    this.lit(fields, 'ipv4.length', ip.totalLength);
    this.lit(fields, 'ipv4.reserved', ip.reservedFlag ? 1 : 0);
    this.lit(fields, 'ipv4.df', ip.df ? 1 : 0);
    this.lit(fields, 'ipv4.mf', ip.mf ? 1 : 0);
    this.lit(fields, 'ipv4.fragOffset', ip.fragOffset);
    this.lit(fields, 'ipv4.ttl', ip.ttl);
    this.lit(fields, 'ipv4.proto', ip.protocol);
    this.lit(fields, 'ipv4.src', ip.src, formatIpv4(ip.src));
    this.lit(fields, 'ipv4.dst', ip.dst, formatIpv4(ip.dst));
    if (ip.options.length > 0) this.bytes(fields, 'ipv4.options', ip.options);
    if (this.opts.checksums && net.checksum === 'bad') checksums.push({ field: 'ipv4.checksum', status: 'bad', found: ip.checksum, expected: net.expectedChecksum });

    const t = f.transport;
    const srcIp = formatIpv4(ip.src);
    const dstIp = formatIpv4(ip.dst);
    const [loIp, hiIp] = srcIp < dstIp ? [srcIp, dstIp] : [dstIp, srcIp];
    // the IP id key: per flow direction when there are ports, else per address pair and protocol
    let idKey = `${ip.protocol}|${srcIp}>${dstIp}`;

    if (t === null || t.kind === 'error') {
      flow = loose = `ip${ip.protocol} ${loIp} ${hiIp}`;
      sig = `${srcIp} err`;
      if (t !== null) {
        this.lit(fields, 'decode.error', `${t.protocol}: ${t.error.message}`);
        this.bytes(fields, 'decode.bytes', t.bytes);
      }
    } else if (t.kind === 'raw') {
      flow = loose = `ip${ip.protocol} ${loIp} ${hiIp}`;
      sig = `${srcIp} ${t.reason} ${t.bytes.length}`;
      if (t.reason === 'fragment' && ip.fragOffset === 0) this.firstFragment(fields, ip.protocol, t.bytes);
      else this.bytes(fields, 'ipv4.payload', t.bytes);
    } else if (t.kind === 'tcp' || t.kind === 'udp') {
      const r = t.repr;
      const proto = t.kind === 'tcp' ? 6 : 17;
      const tuple = tupleKey(proto, ip.src, r.srcPort, ip.dst, r.dstPort);
      const a = `${srcIp}:${this.portShown(r.srcPort)}`;
      const b = `${dstIp}:${this.portShown(r.dstPort)}`;
      const classKey = `${t.kind} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
      const svc = [r.srcPort, r.dstPort].filter((p) => !this.eph.has(p)).sort((x, y) => x - y);
      const synSeq = t.kind === 'tcp' && (t.repr.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN ? t.repr.seq : null;
      const isSyn = synSeq !== null;
      const prev = this.instances.get(tuple);
      const fresh = isSyn && prev !== undefined && prev.synSeq !== null && prev.synSeq !== synSeq;
      const inst = this.instance(tuple, classKey, `${t.kind} ${svc.join(' ')}`, endpoint(ip.src, r.srcPort), fresh);
      if (isSyn) {
        inst.initiator = endpoint(ip.src, r.srcPort);
        inst.synSeq = synSeq;
      }
      flow = inst.flow;
      loose = inst.loose;
      const dirName = inst.initiator === endpoint(ip.src, r.srcPort) ? 'fwd' : 'rev';
      idKey = `${tuple}|${dirName}`;
      this.port(fields, `${t.kind}.srcPort`, r.srcPort);
      this.port(fields, `${t.kind}.dstPort`, r.dstPort);
      if (t.kind === 'udp') {
        const u = t.repr;
        sig = `${dirName} udp ${u.payload.length}`;
        this.lit(fields, 'udp.length', u.length);
        this.bytes(fields, 'udp.payload', u.payload);
        if (this.opts.checksums && (t.checksum === 'bad' || t.checksum === 'partial')) checksums.push({ field: 'udp.checksum', status: t.checksum, found: u.checksum, expected: t.expectedChecksum });
      } else {
        const tr = t.repr;
        sig = `${dirName} ${flagNames(tr.flags)} ${tr.payload.length}`;
        this.tcpFields(fields, tr, `${endpoint(ip.src, tr.srcPort)}>${endpoint(ip.dst, tr.dstPort)}`, `${endpoint(ip.dst, tr.dstPort)}>${endpoint(ip.src, tr.srcPort)}`, isSyn, t.headerLen);
        if (this.opts.checksums && (t.checksum === 'bad' || t.checksum === 'partial')) checksums.push({ field: 'tcp.checksum', status: t.checksum, found: tr.checksum, expected: t.expectedChecksum });
      }
    } else {
      // ICMP
      const r = t.repr;
      this.lit(fields, 'icmp.type', r.type);
      this.lit(fields, 'icmp.code', r.code);
      if (this.opts.checksums && t.checksum === 'bad') checksums.push({ field: 'icmp.checksum', status: 'bad', found: r.checksum, expected: t.expectedChecksum });
      if (r.kind === 'echo-request' || r.kind === 'echo-reply') {
        const inst = this.instance(`icmp|${loIp}|${hiIp}|${r.ident}`, `icmp-echo ${loIp} ${hiIp}`, 'icmp-echo', srcIp, false);
        flow = inst.flow;
        loose = inst.loose;
        sig = `${inst.initiator === srcIp ? 'fwd' : 'rev'} icmp ${r.type} ${r.data.length}`;
        idKey = `icmp|${r.ident}|${srcIp}>${dstIp}`;
        {
          fields.push({ name: 'icmp.id', kind: 'icmp-id', value: r.ident, shown: `${this.tokens.name('I', r.ident)} (${r.ident})` });
          this.lit(fields, 'icmp.seq', r.seqNo);
          this.lit(fields, 'icmp.dataLength', r.data.length);
          // ping's leading struct timeval is a time: not compared
          this.bytes(fields, 'icmp.data[16:]', r.data.subarray(Math.min(16, r.data.length)));
        }
      } else if (r.quote !== null) {
        const q = r.quote;
        const qip = q.ipv4;
        let joined: Instance | undefined;
        if ((qip.protocol === 6 || qip.protocol === 17) && q.srcPort >= 0) joined = this.instances.get(tupleKey(qip.protocol, qip.src, q.srcPort, qip.dst, q.dstPort));
        if (joined !== undefined) {
          flow = joined.flow;
          loose = joined.loose;
        } else {
          flow = loose = `icmp ${r.type} ${loIp} ${hiIp}`;
        }
        sig = `icmp-err ${r.type} ${r.code}`;
        this.lit(fields, 'icmp.rest', r.rest);
        this.lit(fields, 'icmp.quote.ipv4.tos', qip.tos);
        this.lit(fields, 'icmp.quote.ipv4.length', qip.totalLength);
        this.lit(fields, 'icmp.quote.ipv4.df', qip.df ? 1 : 0);
        this.lit(fields, 'icmp.quote.ipv4.ttl', qip.ttl);
        this.lit(fields, 'icmp.quote.ipv4.proto', qip.protocol);
        this.lit(fields, 'icmp.quote.ipv4.src', qip.src, formatIpv4(qip.src));
        this.lit(fields, 'icmp.quote.ipv4.dst', qip.dst, formatIpv4(qip.dst));
        if (q.srcPort >= 0) {
          this.port(fields, 'icmp.quote.srcPort', q.srcPort);
          this.port(fields, 'icmp.quote.dstPort', q.dstPort);
        }
        this.lit(fields, 'icmp.quote.bytes', q.payload.length);
      } else {
        flow = loose = `icmp ${r.type} ${loIp} ${hiIp}`;
        sig = `${srcIp} icmp ${r.type} ${r.code}`;
        this.lit(fields, 'icmp.rest', r.rest);
        this.bytes(fields, 'icmp.data', r.data);
      }
    }
    if (this.opts.strict) {
      const prev = this.ipIds.get(idKey);
      this.ipIds.set(idKey, ip.id);
      // After an id-0 packet (a SYN-ACK of a request sock, a timewait ACK: no counter) the next id starts afresh
      // (Linux draws the accepted socket's inet_id at random): 'set', not a meaningless +N from 0.
      const pattern = ip.id === 0 ? '0' : prev === undefined || prev === 0 ? 'set' : `+${(ip.id - prev) & 0xffff}`;
      this.lit(fields, 'ipv4.id', pattern, `${pattern} (${ip.id})`);
      // the same packet keeps its id across the interfaces it crosses (forwarding and NAT do not touch it)
      if (ip.id !== 0) this.lit(fields, 'ipv4.id.interfaces', this.idSpread(ip.id, ip.protocol, ip.totalLength));
    }
    return { number: d.number, summary: d.summary, flow, loose, sig, fields, checksums };
  }

  /**
   * The first fragment of a fragmented datagram carries its transport header, with what differs between
   * honest runs: UDP's ephemeral ports (tokens, as in whole datagrams), ICMP echo's id (a token) and
   * ping's timeval; its checksum covers the whole datagram and is not compared (nor checked here).
   * The rest of the fragment is compared as bytes.
   */
  private firstFragment(out: Field[], proto: number, b: Uint8Array): void {
    const u16 = (at: number): number => (b[at]! << 8) | b[at + 1]!;
    if (proto === IpProto.UDP && b.length >= 8) {
      this.port(out, 'udp.srcPort', u16(0));
      this.port(out, 'udp.dstPort', u16(2));
      this.lit(out, 'udp.length', u16(4));
      this.bytes(out, 'udp.payload[fragment]', b.subarray(8));
      return;
    }
    if (proto === IpProto.ICMP && b.length >= 8 && (b[0] === 0 || b[0] === 8)) {
      this.lit(out, 'icmp.type', b[0]!);
      this.lit(out, 'icmp.code', b[1]!);
      out.push({ name: 'icmp.id', kind: 'icmp-id', value: u16(4), shown: `${this.tokens.name('I', u16(4))} (${u16(4)})` });
      this.lit(out, 'icmp.seq', u16(6));
      // ping's leading struct timeval is a time: not compared
      this.bytes(out, 'icmp.data[16:][fragment]', b.subarray(Math.min(8 + 16, b.length)));
      return;
    }
    this.bytes(out, 'ipv4.payload', b);
  }

  private tcpFields(out: Field[], r: import('../wire/tcp.js').TcpRepr, dirKey: string, peerKey: string, isSyn: boolean, headerLen: number): void {
    const me = this.dir(dirKey);
    const peer = this.dir(peerKey);
    if (isSyn) {
      // a new connection: both directions start over
      for (const x of [me, peer]) {
        x.seqBase = undefined;
        x.tsBase = undefined;
        x.tsLast = undefined;
        x.tsSent = new Set();
      }
    }
    if ((r.flags & TcpFlag.SYN) !== 0 || me.seqBase === undefined) me.seqBase = r.seq;
    const ackSet = (r.flags & TcpFlag.ACK) !== 0;
    if (ackSet && peer.seqBase === undefined) peer.seqBase = r.ack;
    const rel = (v: number, base: number): number => (v - base) >>> 0;
    this.lit(out, 'tcp.seq', rel(r.seq, me.seqBase));
    this.lit(out, 'tcp.ack', ackSet ? rel(r.ack, peer.seqBase!) : r.ack, ackSet ? undefined : `${r.ack} (no ACK flag)`);
    this.lit(out, 'tcp.flags', flagNames(r.flags));
    this.lit(out, 'tcp.reserved', r.reserved);
    this.lit(out, 'tcp.dataOffset', headerLen);
    if ((r.flags & TcpFlag.SYN) !== 0 || this.opts.strict) this.lit(out, 'tcp.window', r.window);
    this.lit(out, 'tcp.urgent', r.urgent);
    this.lit(out, 'tcp.options', r.options.map(optName).join(','));
    const seen = new Map<string, number>();
    const name = (n: string): string => {
      const c = (seen.get(n) ?? 0) + 1;
      seen.set(n, c);
      return c === 1 ? n : `${n}#${c}`;
    };
    for (const o of r.options) {
      switch (o.kind) {
        case 'mss':
          this.lit(out, name('tcp.opt.mss'), o.value);
          break;
        case 'wscale':
          this.lit(out, name('tcp.opt.wscale'), o.shift);
          break;
        case 'sack': {
          const base = peer.seqBase ?? 0;
          this.lit(out, name('tcp.opt.sack'), o.blocks.map((b) => `${rel(b.left, base)}-${rel(b.right, base)}`).join(','));
          break;
        }
        case 'timestamps': {
          if (me.tsBase === undefined) me.tsBase = o.tsVal;
          const relVal = (o.tsVal - me.tsBase) | 0;
          const prevVal = me.tsLast;
          me.tsLast = o.tsVal;
          me.tsSent.add(o.tsVal);
          const noEcho = o.tsEcr === 0 && peer.tsBase === undefined;
          if (!noEcho && peer.tsBase === undefined) peer.tsBase = o.tsEcr;
          const relEcr = noEcho ? 0 : (o.tsEcr - peer.tsBase!) | 0;
          if (this.opts.strict) {
            this.lit(out, name('tcp.opt.ts.val'), relVal);
            if (noEcho) this.lit(out, name('tcp.opt.ts.ecr'), 'none', '0 (none)');
            else this.lit(out, name('tcp.opt.ts.ecr'), relEcr);
          } else {
            // the clock's millisecond ticks fall between segments by accident of timing: by default the
            // structure only — the clock never goes back, and TSecr echoes the peer's latest TSval
            const step = prevVal === undefined ? 'first' : ((o.tsVal - prevVal) | 0) >= 0 ? 'not decreasing' : 'decreasing';
            this.lit(out, name('tcp.opt.ts.val'), step, `${step} (${signed(relVal)})`);
            const echo = noEcho ? 'none' : o.tsEcr === peer.tsLast ? 'latest' : peer.tsSent.has(o.tsEcr) ? 'earlier' : peer.tsLast === undefined ? 'not seen' : 'other';
            this.lit(out, name('tcp.opt.ts.ecr'), echo, noEcho ? '0 (none)' : `echoes ${echo} (${signed(relEcr)})`);
          }
          break;
        }
        case 'eol':
          if (o.rest.length > 0) this.bytes(out, name('tcp.opt.eol.rest'), o.rest);
          break;
        case 'unknown':
          this.bytes(out, name(`tcp.opt.${o.type}`), o.data);
          break;
        default:
          break;
      }
    }
    this.bytes(out, 'tcp.payload', r.payload);
  }
}

function signed(n: number): string {
  return n < 0 ? String(n) : `+${n}`;
}

function optName(o: TcpOption): string {
  return o.kind === 'unknown' ? `opt${o.type}` : o.kind;
}

const FLAG_NAMES: [number, string][] = [
  [TcpFlag.SYN, 'S'],
  [TcpFlag.FIN, 'F'],
  [TcpFlag.RST, 'R'],
  [TcpFlag.PSH, 'P'],
  [TcpFlag.URG, 'U'],
  [TcpFlag.ECE, 'E'],
  [TcpFlag.CWR, 'W'],
  [TcpFlag.NS, 'N'],
  [TcpFlag.ACK, '.'],
];

/** tcpdump's flag letters ("S.", "P.", "F."). */
export function flagNames(flags: number): string {
  let s = '';
  for (const [bit, n] of FLAG_NAMES) if ((flags & bit) !== 0) s += n;
  return s === '' ? 'none' : s;
}

/** Normalise the streams of one side, in the given order (tokens are numbered in that order). */
export function normaliseSide(streams: CaptureStream[], opts: CompareOptions): NormStream[] {
  const decoded = streams.map((s) => decodeStream(s, opts));
  const eph = ephemeralPorts(decoded.map((d) => d.kept));
  const tokens = new TokenNames();
  const spread = new Map<string, Set<number>>();
  if (opts.strict) {
    decoded.forEach((d, i) => {
      for (const { frame } of d.kept) {
        if (frame.network === null || frame.network.kind !== 'ipv4') continue;
        const ip = frame.network.repr;
        const key = `${ip.id}|${ip.protocol}|${ip.totalLength}`;
        let set = spread.get(key);
        if (set === undefined) spread.set(key, (set = new Set()));
        set.add(i);
      }
    });
  }
  const idSpread = (id: number, proto: number, len: number): number => spread.get(`${id}|${proto}|${len}`)?.size ?? 0;
  return streams.map((s, i) => {
    const n = new StreamNormaliser(eph, tokens, opts, idSpread);
    const { kept, ignored } = decoded[i]!;
    return { key: s.key, label: s.label, ignored, frames: kept.map((d) => n.frame(d)) };
  });
}
