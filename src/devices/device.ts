// A network device, as Linux's struct net_device sees it from the outside: a name, a MAC, an MTU, a
// transmit path (dev_queue_xmit) and a receive path (netif_receive_skb → rx_handler → protocol stack).
//
// Frames are pool slots (src/sim/pool.ts): a number naming a fixed-size slot of the engine's packet pool,
// holding the whole Ethernet frame from its first byte at `pool.base(slot)`, `pool.len[slot]` bytes long.
// Whoever calls `transmit` or `receive` hands over one reference; the callee releases it or passes it on.
//
// Capture taps sit on the device the way tcpdump's packet socket does (dev_queue_xmit_nit on the way
// out, __netif_receive_skb on the way in), so a tap on every interface sees what `tcpdump -i IF` sees.

import type { Engine } from '../sim/engine.js';

/** Where a device's received frames go when no rx handler (bridge port, macvlan parent) took them:
 *  the namespace's L2 input (ARP / IPv4 demultiplexing). */
export interface FrameSink {
  deliver(dev: NetDevice, slot: number): void;
}

/** A packet-socket-like observer of one device. Called synchronously; must copy what it keeps. */
export interface CaptureTap {
  frame(timeNs: number, bytes: Uint8Array, offset: number, length: number, direction: 'in' | 'out'): void;
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
  /** Frames dropped at this device (down, no sink), for the run summary. */
  drops = 0;

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
    if (this.taps.length !== 0) this.tap(slot, 'out');
    this.xmit(slot);
  }

  /** netif_receive_skb: a frame arrives on this device from its link. */
  receive(slot: number): void {
    const pool = this.engine.pool;
    if (!this.up) {
      this.drops++;
      pool.release(slot);
      return;
    }
    if (this.taps.length !== 0) this.tap(slot, 'in');
    if (this.rxHandler !== null && this.rxHandler(this, slot)) return;
    if (this.sink !== null) this.sink.deliver(this, slot);
    else {
      this.drops++;
      pool.release(slot);
    }
  }

  /** The link-specific part of transmit: hand the frame to the peer / wire / bridge / parent. */
  protected abstract xmit(slot: number): void;

  private tap(slot: number, direction: 'in' | 'out'): void {
    const pool = this.engine.pool;
    const now = this.engine.now;
    const bytes = pool.bytes;
    const base = pool.base(slot);
    const len = pool.len[slot]!;
    for (let i = 0; i < this.taps.length; i++) this.taps[i]!.frame(now, bytes, base, len, direction);
  }
}
