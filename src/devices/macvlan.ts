// macvlan in bridge mode (drivers/net/macvlan.c): sub-interfaces with their own MACs on a parent
// ("lower") device. The parent's rx handler dispatches what arrives by destination MAC.
//
// A child transmitting (macvlan_queue_xmit, bridge mode):
//   - broadcast/multicast: a copy to every other bridge-mode sibling (received later in this instant,
//     netif_rx), and the frame leaves through the parent (its taps see it 'out');
//   - unicast to a sibling's MAC: dev_forward_skb to the parent — received on the parent (its taps see it
//     'in'), whose rx handler hands it to the sibling;
//   - anything else leaves through the parent.
// A frame arriving on the parent (macvlan_handle_frame):
//   - unicast to a child's MAC goes to that child (RX_HANDLER_ANOTHER: the child receives it at once);
//     to any other MAC it stays with the parent's stack;
//   - broadcast/multicast goes to every child (queued: later in this instant) and to the parent's stack —
//     except that when its source is a bridge-mode child, the children are skipped (they already saw it
//     on the way out). Every child receives all multicast, as when each is captured (promiscuous).
// The parent cannot reach its children nor they the parent: the parent's frames go straight out, and
// the outside network does not send a frame back out of the port it came in on.
//
// Each child's taps see its own frames; the parent's taps see everything it sends and receives.

import type { Engine } from '../sim/engine.js';
import { NetDevice, type RxHandler } from './device.js';
import { isGroupAt, macEqualsAt } from './mac.js';

/** struct macvlan_port: the children of one parent. A handful per parent, so a linear scan over their
 *  MACs (numbers) is the lookup; nothing allocates per frame. */
class MacvlanPort {
  readonly children: Macvlan[] = [];

  constructor(readonly parent: NetDevice) {}

  /** The child whose MAC is `mac`, or null (setup time). */
  lookup(mac: number): Macvlan | null {
    const c = this.children;
    for (let i = 0; i < c.length; i++) if (c[i]!.mac === mac) return c[i]!;
    return null;
  }

  /** The child whose MAC is at byte `off` of `view`, or null (per frame). */
  lookupAt(view: DataView, off: number): Macvlan | null {
    const c = this.children;
    for (let i = 0; i < c.length; i++) if (macEqualsAt(view, off, c[i]!.mac)) return c[i]!;
    return null;
  }

  /** macvlan_broadcast: a reference to every child but `except`, each received later in this
   *  instant. The caller keeps its own reference. */
  broadcast(slot: number, except: Macvlan | null): void {
    const engine = this.parent.engine;
    const c = this.children;
    for (let i = 0; i < c.length; i++) {
      const child = c[i]!;
      if (child === except || !child.up) continue;
      engine.pool.ref(slot);
      engine.after(0, child.receiveEvent, slot);
    }
  }

  readonly handleFrame: RxHandler = (_dev: NetDevice, slot: number): boolean => {
    const pool = this.parent.engine.pool;
    const view = pool.view;
    const b = pool.base(slot);
    if (isGroupAt(view, b)) {
      if (this.lookupAt(view, b + 6) === null) this.broadcast(slot, null);
      return false; // and the parent's own stack gets it
    }
    const child = this.lookupAt(view, b);
    if (child === null) return false;
    child.receive(slot); // drops it (and counts) when the child is down
    return true;
  };
}

const ports = new WeakMap<NetDevice, MacvlanPort>();

export class Macvlan extends NetDevice {
  readonly mode = 'bridge' as const;
  private readonly port: MacvlanPort;

  /** `ip link add link PARENT name NAME address MAC type macvlan mode bridge`. */
  constructor(engine: Engine, name: string, mac: number, readonly parent: NetDevice, mtu = parent.mtu) {
    super(engine, name, mac, mtu);
    let port = ports.get(parent);
    if (port === undefined) {
      if (parent.rxHandler !== null || parent.master !== null) {
        throw new Error(`${parent.name} is busy (a bridge port cannot be a macvlan parent)`);
      }
      if (parent instanceof Macvlan) throw new Error(`${parent.name} is a macvlan: use its parent ${parent.parent.name}`);
      port = new MacvlanPort(parent);
      ports.set(parent, port);
      parent.rxHandler = port.handleFrame;
    }
    if (port.lookup(mac) !== null || mac === parent.mac) {
      throw new Error(`macvlan ${name}: address already in use on ${parent.name}`);
    }
    this.port = port;
    port.children.push(this);
  }

  /** `ip link del`: the child leaves its parent (which stops being a macvlan parent with its last child). */
  remove(): void {
    const c = this.port.children;
    const i = c.indexOf(this);
    if (i < 0) return;
    c.splice(i, 1);
    if (c.length === 0) {
      ports.delete(this.parent);
      this.parent.rxHandler = null;
    }
  }

  protected xmit(slot: number): void {
    const pool = this.engine.pool;
    const view = pool.view;
    const b = pool.base(slot);
    if (isGroupAt(view, b)) {
      this.port.broadcast(slot, this);
      this.parent.transmit(slot);
      return;
    }
    if (this.port.lookupAt(view, b) !== null) {
      // dev_forward_skb(lowerdev): received on the parent, whose rx handler passes it to the sibling.
      this.engine.after(0, this.parent.receiveEvent, slot);
      return;
    }
    this.parent.transmit(slot);
  }
}
