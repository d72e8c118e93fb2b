// The Linux bridge (net/bridge): the bridge's own device (docker0, br-…, virbr0), which the host stack
// sends through like any interface, plus its ports (usually the host ends of veth pairs), each of which
// hands what it receives to the bridge through its rx handler.
//
// Ingress on a port (br_handle_frame → br_handle_frame_finish):
//   - a frame with an invalid source (multicast or zero) is dropped;
//   - the source MAC is learned on the port (br_fdb_update), unless it is one of the bridge's own;
//   - link-local 01:80:c2:00:00:0X: 0x01 (pause) is dropped; 0x00 (STP BPDU) is flooded because STP is
//     off (Docker's and libvirt's bridges: "if STP is turned off, then must forward to keep loop
//     detection"); the others are not forwarded (group_fwd_mask 0) and go up the port's own stack;
//   - broadcast and multicast are flooded to every other port and passed up to the bridge device
//     (multicast snooping without a querier floods, as Docker's bridges do);
//   - unicast to a local address (the bridge's or a port's MAC) is passed up, not forwarded;
//   - unicast to a learned MAC goes out of that port — and nowhere when that is the ingress port
//     (hairpin off); unicast to an unknown MAC is flooded.
// Egress from the bridge device (br_dev_xmit): broadcast/multicast and unknown unicast flood to every
// port, known unicast goes to its port; the bridge does not learn from its own transmissions.
//
// What `tcpdump -i docker0` shows (checked against fixtures/real-captures/bridge-learning, whose
// dh.docker0.pcap holds the whole container-to-container exchange while ct3.eth0.pcap holds only the
// broadcast ARP): tcpdump makes docker0 promiscuous, and with IFF_PROMISC br_handle_frame_finish sets
// local_rcv, so br_pass_frame_up runs for *every* frame received on a port; the taps on docker0 see it
// 'in', and the IP stack then drops it as PACKET_OTHERHOST. So here: while the bridge device has taps,
// every frame accepted on a port is tapped 'in' on it; only frames for it (its addresses, broadcast,
// multicast) go on to its stack. Forwarding happens before the pass-up, as in Linux.
//
// The FDB is a typed-array hash table (fdb.ts) with Linux's 300 s default ageing; flooding shares the
// slot by reference count. Nothing here allocates per frame.

import type { Engine } from '../sim/engine.js';
import { NetDevice, type RxHandler } from './device.js';
import { FDB_MISS, MacTable } from './fdb.js';
import { isGroupAt, isValidSourceAt, linkLocalAt } from './mac.js';

/** BR_DEFAULT_AGEING_TIME: 300 s. */
export const DEFAULT_AGEING_NS = 300e9;

/** FDB port value of the bridge device's own address. */
const BRIDGE_SELF = -1;

export class Bridge extends NetDevice {
  readonly fdb: MacTable;
  /** Ports by port number (null where a port was removed). */
  readonly ports: (NetDevice | null)[] = [];
  /** Frames dropped by the forwarding logic (bad source, pause, filtered, disabled). */
  fwdDrops = 0;

  constructor(engine: Engine, name: string, mac: number, mtu = 1500, ageingNs = DEFAULT_AGEING_NS) {
    super(engine, name, mac, mtu);
    this.fdb = new MacTable(ageingNs, engine);
    this.fdb.addLocal(mac, BRIDGE_SELF);
  }

  /** `ip link set DEV master BRIDGE`: enslaves `dev` as a port and adds its MAC as a local entry. */
  addPort(dev: NetDevice): void {
    if (dev === this) throw new Error(`cannot add bridge ${this.name} to itself`);
    if (dev.master !== null || dev.rxHandler !== null) {
      throw new Error(`${dev.name} is busy (already a bridge port or macvlan parent)`);
    }
    let no = this.ports.indexOf(null);
    if (no < 0) no = this.ports.push(null) - 1;
    this.ports[no] = dev;
    dev.master = this;
    dev.portNo = no;
    dev.rxHandler = this.handleFrame;
    this.fdb.addLocal(dev.mac, no);
  }

  /** `ip link set DEV nomaster`: the port leaves; its FDB entries (learned and local) go with it. */
  removePort(dev: NetDevice): void {
    if (dev.master !== this) throw new Error(`${dev.name} is not a port of ${this.name}`);
    this.ports[dev.portNo] = null;
    this.fdb.removePort(dev.portNo);
    dev.master = null;
    dev.portNo = -1;
    dev.rxHandler = null;
  }

  /** Changes the bridge's address (its local FDB entry follows). */
  setMac(mac: number): void {
    this.fdb.remove(this.mac);
    this.mac = mac;
    this.fdb.addLocal(mac, BRIDGE_SELF);
  }

  /** br_dev_xmit: the bridge device's stack sends a frame (already tapped 'out' by `transmit`). */
  protected xmit(slot: number): void {
    const pool = this.engine.pool;
    const view = pool.view;
    const b = pool.base(slot);
    if (!isGroupAt(view, b)) {
      const port = this.fdb.lookupAt(view, b);
      if (port !== FDB_MISS) {
        const to = port === BRIDGE_SELF ? null : this.ports[port]!;
        if (to !== null && to.up) to.transmit(slot);
        else {
          this.fwdDrops++;
          pool.release(slot);
        }
        return;
      }
    }
    this.flood(slot, null, false);
  }

  /** br_handle_frame: the rx handler of every port. Returns false only for link-local frames that
   *  go up the port's own stack (RX_HANDLER_PASS). */
  private readonly handleFrame: RxHandler = (dev: NetDevice, slot: number): boolean => {
    const pool = this.engine.pool;
    const view = pool.view;
    const b = pool.base(slot);
    // A port of a bridge that is down is disabled; invalid sources are dropped.
    if (!this.up || !isValidSourceAt(view, b + 6)) {
      this.fwdDrops++;
      pool.release(slot);
      return true;
    }
    const linkLocal = linkLocalAt(view, b);
    if (linkLocal === 0x01) {
      this.fwdDrops++;
      pool.release(slot);
      return true;
    }
    this.fdb.learnAt(view, b + 6, dev.portNo);
    if (linkLocal > 0) return false;

    // br_handle_frame_finish. `promisc`: someone captures on the bridge device.
    const promisc = this.taps.length !== 0;
    if (isGroupAt(view, b)) {
      this.flood(slot, dev, true);
      return true;
    }
    const port = this.fdb.lookupAt(view, b);
    if (port !== FDB_MISS && this.fdb.isLocalAt(view, b)) {
      // For this machine: br_pass_frame_up, no forwarding.
      this.receive(slot);
      return true;
    }
    if (port === FDB_MISS) {
      this.flood(slot, dev, promisc);
      return true;
    }
    // Known unicast: out of its port unless that is where it came from (hairpin off) or it is down.
    const to = this.ports[port]!;
    const deliver = (to !== dev || to.bridgeHairpin) && to.up;
    if (!deliver) this.fwdDrops++;
    if (deliver && promisc) pool.ref(slot);
    if (deliver) to.transmit(slot);
    if (promisc) this.tapOnly(slot);
    else if (!deliver) pool.release(slot);
    return true;
  };

  /**
   * br_flood: to every port that is up except `ingress` (null when the bridge device itself sends) unless
   * that port is in hairpin mode;
   * then, with `local`, up to the bridge device — delivered to its stack for broadcast/multicast,
   * only tapped for unicast (promiscuous capture). Takes the slot's reference.
   */
  private flood(slot: number, ingress: NetDevice | null, local: boolean): void {
    const pool = this.engine.pool;
    const ports = this.ports;
    let n = local ? 1 : 0;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i];
      if (p != null && (p !== ingress || p.bridgeHairpin) && p.up) n++;
    }
    if (n === 0) {
      this.fwdDrops++;
      pool.release(slot);
      return;
    }
    for (let i = 1; i < n; i++) pool.ref(slot);
    // Whether the frame is for the bridge's stack must be read before the last reference is given away.
    const group = local && isGroupAt(pool.view, pool.base(slot));
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i];
      if (p != null && (p !== ingress || p.bridgeHairpin) && p.up) p.transmit(slot);
    }
    if (!local) return;
    if (group) this.receive(slot);
    else this.tapOnly(slot);
  }

  /** br_pass_frame_up of a frame the stack will drop (PACKET_OTHERHOST): seen by the taps only. */
  private tapOnly(slot: number): void {
    if (this.taps.length !== 0) this.tap(slot, 'in');
    this.engine.pool.release(slot);
  }
}
