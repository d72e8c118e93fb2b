// A network device, as Linux's struct net_device sees it from the outside: a name, a MAC, an MTU, a
// transmit path (dev_queue_xmit) and a receive path (netif_receive_skb → rx_handler → protocol stack).
//
// Frames are pool slots (src/sim/pool.ts): a number naming a fixed-size slot of the engine's packet pool,
// holding the whole Ethernet frame from its first byte at `pool.base(slot)`, `pool.len[slot]` bytes long.
// Whoever calls `transmit` or `receive` hands over one reference; the callee releases it or passes it on.
//
// Capture taps sit on the device the way tcpdump's packet socket does (dev_queue_xmit_nit on the way
// out, __netif_receive_skb on the way in), so a tap on every interface sees what `tcpdump -i IF` sees.
// tcpdump puts the interface in promiscuous mode, so taps see every frame that reaches the device, not
// only those addressed to it; the sink (the stack) drops PACKET_OTHERHOST frames as ip_rcv does —
// `packetType` below tells it which those are. What each device kind shows:
//   Nic, Veth: both directions.              Loopback: each frame once, 'in' (libpcap skips lo's outgoing copy).
//   Bridge device (docker0): 'out' for what its stack sends; 'in' for what is passed up to it and, while
//     it has taps (promiscuous), for every frame the bridge receives on a port (br_handle_frame_finish).
//   Macvlan child: its own frames.           Macvlan parent: everything it sends (its own and children's
//     frames leaving through it) and receives (also frames then dispatched to children, and
//     sibling-to-sibling unicast, which Linux passes through the parent with dev_forward_skb).
//
// Slots handed to the sink are never shared (`receive` unshares them), so the stack may write into them.

import type { Engine } from '../sim/engine.js';
import { gsoSegment } from './gso.js';

/** Where a device's received frames go when no rx handler (bridge port, macvlan parent) took them:
 *  the namespace's L2 input (ARP / IPv4 demultiplexing). */
export interface FrameSink {
  deliver(dev: NetDevice, slot: number): void;
}

/** A packet-socket-like observer of one device. Called synchronously; must copy what it keeps. */
export interface CaptureTap {
  frame(timeNs: number, bytes: Uint8Array, offset: number, length: number, direction: 'in' | 'out'): void;
}

/** The per-packet trace's view of a device (src/trace): told of each frame crossing it, before the
 *  frame moves on (the slot is still the caller's). Null on every device unless a trace is recorded. */
export interface DeviceTracer {
  device(dev: NetDevice, slot: number, direction: 'in' | 'out'): void;
}

/** rx_handler: returns true when it consumed the frame (and its reference). */
export type RxHandler = (dev: NetDevice, slot: number) => boolean;

export abstract class NetDevice {
  /** Set by the namespace that owns the device. */
  ifindex = 0;
  up = true;
  /** The namespace's L2 input. Null for devices not (yet) in a namespace: frames are dropped. */
  sink: FrameSink | null = null;
  /** Bridge port or macvlan parent hook (Linux's rx_handler). */
  rxHandler: RxHandler | null = null;
  readonly taps: CaptureTap[] = [];
  /** The per-packet trace (src/trace), null when off: one null check per frame. */
  trace: DeviceTracer | null = null;
  /** Frames dropped at this device (down, no sink, no carrier), for the run summary. */
  drops = 0;
  /** The bridge this device is a port of (Linux's `master`), or null. */
  master: NetDevice | null = null;
  /** Port number in `master` (the bridge's port_no), -1 when not a port. */
  portNo = -1;
  /** net.ipv4.conf.<dev>.route_localnet: 127/8 addresses are not martian on this device (dockerd sets
   *  it on a bridge with --userland-proxy=false, so the host's 127.0.0.1 can be DNATed to a container). */
  routeLocalnet = false;
  /** Bridge port flag BR_HAIRPIN_MODE (`bridge_slave hairpin on`): the bridge may send a frame back out
   *  of the port it came in by — floods included (br_flood's should_deliver). */
  bridgeHairpin = false;
  /** TSO/GSO on (NETIF_F_TSO | NETIF_F_GSO, as Linux sets up a veth): GSO super-frames leave whole.
   *  Off (`offload: false`): they are cut into wire-sized segments before the tap (src/devices/gso.ts). */
  offload = true;
  /** Emits one segment cut from a super-frame (bound once: no closure per frame). */
  private readonly segmentOut = (seg: number): void => {
    if (this.taps.length !== 0) this.tap(seg, 'out');
    this.xmit(seg);
  };
  /** `receive` bound once, for scheduling a delivery on the engine without a closure per frame:
   *  `engine.after(0, dev.receiveEvent, slot)` is netif_rx (the frame arrives later in this instant). */
  readonly receiveEvent: (slot: number) => void = (slot: number): void => this.receive(slot);

  constructor(
    readonly engine: Engine,
    readonly name: string,
    /** 48-bit MAC as a number (fits a double exactly). */
    public mac: number,
    public mtu: number,
  ) {}

  /** dev_queue_xmit: the stack (or a bridge/macvlan above) sends a frame out of this device. */
  transmit(slot: number): void {
    const pool = this.engine.pool;
    if (!this.up) {
      this.drops++;
      pool.release(slot);
      return;
    }
    if (this.qdisc !== null) {
      this.qdisc.enqueue(slot);
      return;
    }
    // validate_xmit_skb: netif_needs_gso → skb_gso_segment, before dev_queue_xmit_nit taps each segment
    if (!this.offload && pool.gsoSize[slot] !== 0) {
      gsoSegment(pool, slot, this.segmentOut);
      return;
    }
    if (this.taps.length !== 0) this.tap(slot, 'out');
    if (this.trace !== null) this.trace.device(this, slot, 'out');
    this.xmit(slot);
  }

  /** The root qdisc when one holds frames back (netem, ./netem.ts); null: frames go straight to the
   *  link, as through the default qdisc of an idle device. */
  qdisc: { enqueue(slot: number): void } | null = null;

  /** sch_direct_xmit → dev_hard_start_xmit: a frame leaving the qdisc (a GSO super-frame cut into
   *  segments there when the device does not offload) — taps see it now, then the link takes it. */
  readonly xmitNow = (slot: number): void => {
    if (!this.offload && this.engine.pool.gsoSize[slot] !== 0) {
      gsoSegment(this.engine.pool, slot, this.segmentOut);
      return;
    }
    if (this.taps.length !== 0) this.tap(slot, 'out');
    this.xmit(slot);
  };

  /** netif_receive_skb: a frame arrives on this device from its link. */
  receive(slot: number): void {
    const pool = this.engine.pool;
    if (!this.up) {
      this.drops++;
      pool.release(slot);
      return;
    }
    if (this.taps.length !== 0) this.tap(slot, 'in');
    if (this.trace !== null) this.trace.device(this, slot, 'in');
    if (this.rxHandler !== null && this.rxHandler(this, slot)) return;
    // The stack may rewrite what it is given (TTL, NAT): hand it a slot nobody else holds.
    if (this.sink !== null) this.sink.deliver(this, pool.unshare(slot));
    else {
      this.drops++;
      pool.release(slot);
    }
  }

  /** The link-specific part of transmit: hand the frame to the peer / wire / bridge / parent. */
  protected abstract xmit(slot: number): void;

  /** Shows the frame to every capture tap of this device (the caller keeps its reference). */
  protected tap(slot: number, direction: 'in' | 'out'): void {
    const pool = this.engine.pool;
    // The time as a value already boxed (see tapTime): past 2^31 ns it is not a small integer, and
    // handed as a double to each tap (a call V8 does not inline) it would be boxed per tap per frame.
    const now = this.engine.now;
    let t = tapTime.ns;
    if (t !== now) {
      tapTime.ns = now;
      t = tapTime.ns;
    }
    const bytes = pool.bytes;
    const base = pool.base(slot);
    const len = pool.len[slot]!;
    for (let i = 0; i < this.taps.length; i++) this.taps[i]!.frame(t as number, bytes, base, len, direction);
  }
}

/** The last capture time handed to taps, kept in a field that holds a tagged (boxed) number: it
 *  started as null, so V8 does not store it unboxed. Stored once per distinct instant (one HeapNumber
 *  then, beyond 2^31 ns), it is passed to every tap of every device as the same boxed value. */
const tapTime: { ns: number | null } = { ns: null };

// ---- eth_type_trans: how the stack classifies a received frame --------------------------------

export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export type PacketType = typeof PACKET_HOST | typeof PACKET_BROADCAST | typeof PACKET_MULTICAST | typeof PACKET_OTHERHOST;

/** skb->pkt_type as eth_type_trans sets it for a frame received on `dev`: the stack (ip_rcv, arp_rcv)
 *  drops PACKET_OTHERHOST frames, which reach it only because capture made the device promiscuous. */
export function packetType(dev: NetDevice, slot: number): PacketType {
  const pool = dev.engine.pool;
  const view = pool.view;
  const b = pool.base(slot);
  const hi = view.getUint16(b);
  const lo = view.getUint32(b + 2);
  if ((hi & 0x0100) !== 0) return hi === 0xffff && lo === 0xffffffff ? PACKET_BROADCAST : PACKET_MULTICAST;
  return hi * 0x100000000 + lo === dev.mac ? PACKET_HOST : PACKET_OTHERHOST;
}
