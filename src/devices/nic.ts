// A NIC: a host's (or VM's) Ethernet interface plugged into a `Wire` — the cable or LAN switch outside
// any host. Transmit puts the frame on the wire; the wire delivers it to other NICs' `receive`.
// tcpdump on it shows both directions (the base class's taps).

import type { Engine } from '../sim/engine.js';
import { NetDevice } from './device.js';
import type { Wire } from './wire.js';

export class Nic extends NetDevice {
  /** The wire it is plugged into (null: unplugged, frames are dropped). Set by `Wire.attach`. */
  wire: Wire | null = null;
  /** Its port number on the wire. */
  wirePort = -1;

  constructor(engine: Engine, name: string, mac: number, mtu = 1500) {
    super(engine, name, mac, mtu);
  }

  protected xmit(slot: number): void {
    if (this.wire === null) {
      this.drops++;
      this.engine.pool.release(slot);
      return;
    }
    this.wire.send(this, slot);
  }
}
