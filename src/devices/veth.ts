// A veth pair (drivers/net/veth.c): two devices joined back to back; what one transmits, the other
// receives. veth_xmit hands the frame to the peer with netif_rx, to be received later in the same
// softirq; here that is `engine.after(0, …)`, so a chain of veths and bridges never recurses and
// frames sent in one instant arrive in the order they were sent.
//
// tcpdump on either end shows both directions (the base class's taps).

import type { Engine } from '../sim/engine.js';
import { NetDevice } from './device.js';

export interface VethEnd {
  name: string;
  mac: number;
  mtu?: number;
}

export class Veth extends NetDevice {
  /** The other end; set by `Veth.pair`. */
  peer: Veth = this;

  /** `ip link add A type veth peer name B`: both ends, each other's peer. */
  static pair(engine: Engine, a: VethEnd, b: VethEnd): [Veth, Veth] {
    const x = new Veth(engine, a.name, a.mac, a.mtu ?? 1500);
    const y = new Veth(engine, b.name, b.mac, b.mtu ?? 1500);
    x.peer = y;
    y.peer = x;
    return [x, y];
  }

  protected xmit(slot: number): void {
    const peer = this.peer;
    // veth_xmit drops when the peer is not up (no carrier): counted as this end's drop.
    if (!peer.up || peer === this) {
      this.drops++;
      this.engine.pool.release(slot);
      return;
    }
    this.engine.after(0, peer.receiveEvent, slot);
  }
}
