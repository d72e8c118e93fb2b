// An L2 segment outside any host: a cable between two NICs, or a LAN switch joining more.
//
// With two NICs it is a cable: everything one sends reaches the other. With more it is a learning
// switch (IEEE 802.1D, as a Linux bridge without a local device): it learns source MACs per port, sends
// a frame for a known MAC out of that port only (and drops it when that is the port it came from),
// and floods broadcast, multicast and unknown unicast to every port but the one it came in on.
// Entries age out after `ageingNs` (300 s, like a bridge).
//
// Delivery goes through the engine, `latencyNs` after the send (one-way latency; 0 = later in the same
// instant), in the order frames were sent. Flooding shares the slot by reference count.

import type { Engine } from '../sim/engine.js';
import { FDB_MISS, MacTable } from './fdb.js';
import { isGroupAt, isValidSourceAt } from './mac.js';
import type { Nic } from './nic.js';

export class Wire {
  readonly nics: Nic[] = [];
  readonly fdb: MacTable;
  /** Frames the switch filtered (destination on the ingress port) or could not deliver. */
  drops = 0;

  constructor(
    readonly engine: Engine,
    readonly name: string,
    /** One-way latency in nanoseconds. */
    readonly latencyNs = 0,
    ageingNs = 300e9,
  ) {
    if (!(latencyNs >= 0)) throw new RangeError(`wire ${name}: latency must be ≥ 0 ns, got ${latencyNs}`);
    this.fdb = new MacTable(ageingNs, engine);
  }

  /** Plugs a NIC in. */
  attach(nic: Nic): void {
    if (nic.wire !== null) throw new Error(`${nic.name} is already plugged into wire ${nic.wire.name}`);
    nic.wire = this;
    nic.wirePort = this.nics.length;
    this.nics.push(nic);
  }

  /** Called by `Nic.xmit`: the frame leaves `from` onto the wire. Takes the slot's reference. */
  send(from: Nic, slot: number): void {
    const engine = this.engine;
    const pool = engine.pool;
    const nics = this.nics;
    const n = nics.length;
    if (n === 2) {
      engine.after(this.latencyNs, nics[1 - from.wirePort]!.receiveEvent, slot);
      return;
    }
    const view = pool.view;
    const b = pool.base(slot);
    if (isValidSourceAt(view, b + 6)) this.fdb.learnAt(view, b + 6, from.wirePort);
    if (!isGroupAt(view, b)) {
      const port = this.fdb.lookupAt(view, b);
      if (port !== FDB_MISS) {
        if (port === from.wirePort) {
          this.drops++;
          pool.release(slot);
        } else {
          engine.after(this.latencyNs, nics[port]!.receiveEvent, slot);
        }
        return;
      }
    }
    // Flood: one reference per other port.
    if (n <= 1) {
      this.drops++;
      pool.release(slot);
      return;
    }
    for (let i = 2; i < n; i++) pool.ref(slot);
    for (let i = 0; i < n; i++) {
      if (i !== from.wirePort) engine.after(this.latencyNs, nics[i]!.receiveEvent, slot);
    }
  }
}
