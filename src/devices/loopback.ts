// lo (drivers/net/loopback.c): what the stack transmits on it, it receives again (netif_rx: later in
// the same instant, through the engine).
//
// tcpdump -i lo shows each frame once, as received: the kernel's packet socket sees the outgoing copy
// too, but libpcap drops outgoing frames on the loopback device ("we'll see it when it comes in"), so
// the taps here see only the 'in' side.

import type { Engine } from '../sim/engine.js';
import { NetDevice } from './device.js';

export class Loopback extends NetDevice {
  constructor(engine: Engine, name = 'lo', mtu = 65536) {
    super(engine, name, 0, mtu);
  }

  override transmit(slot: number): void {
    if (!this.up) {
      this.drops++;
      this.engine.pool.release(slot);
      return;
    }
    this.xmit(slot);
  }

  protected xmit(slot: number): void {
    this.engine.after(0, this.receiveEvent, slot);
  }
}
