// An emulated world: the programmatic API (in the spirit of ns-3's helpers) that tests use to build
// topologies in code, and `World.fromPlan`, which builds what a WorldPlan describes with it — the same
// plan `wirebox real` builds on the real kernel.
//
//   const w = new World({ seed: 1 });
//   const lan = w.wire('lan');
//   const a = w.namespace('a'), b = w.namespace('b');
//   a.nic('eth0', lan, { mac: '02:00:00:00:00:01', addrs: ['192.0.2.1/24'] });
//   b.nic('eth0', lan, { mac: '02:00:00:00:00:02', addrs: ['192.0.2.2/24'] });
//   w.captureAll(memoryCaptures);   // or CaptureSet.files(dir)
//   w.run();

import { Bridge, Loopback, Macvlan, Nic, Veth, Wire, type NetDevice } from '../devices/index.js';
import { Netem } from '../devices/netem.js';
import { Netfilter, type ConnectionNote } from '../netfilter/netfilter.js';
import { natAllowsRedirect } from '../netfilter/redirect.js';
import { trafficEndNs, type InterfacePlan, type NamespacePlan, type RoutePlan, type WorldPlan } from '../plan/plan.js';
import { Engine } from '../sim/engine.js';
import { inetInit } from '../sockets/inet.js';
import type { PingSockets } from '../sockets/ping.js';
import type { Tcp } from '../sockets/tcp.js';
import type { Udp } from '../sockets/udp.js';
import { Host } from '../stack/host.js';
import { parseIpv4, parseMac } from '../wire/addr.js';
import { Apps, type TrafficOutcome } from './apps.js';
import type { CaptureSet } from './captures.js';
import { TraceRecorder, type RecorderOptions } from '../trace/recorder.js';

/** How long a run may go on after its last traffic entry should have ended: a safety net against
 *  timers that re-arm for ever, far beyond anything Linux keeps running after a conversation
 *  (TIME_WAIT 60 s, conntrack's 120 s, ARP's refreshes). */
export const RUN_GRACE_NS = 3600e9;

export interface WorldOptions {
  seed: number;
  /** Initial packet pool slots (the pool grows on demand). */
  poolSlots?: number;
}

export interface InterfaceOptions {
  mac: string | number;
  mtu?: number;
  addrs?: string[];
}

/** One network namespace: its devices, host stack, netfilter, TCP, and the node names living in it. */
export class Namespace {
  readonly host: Host;
  readonly netfilter: Netfilter;
  readonly tcp: Tcp;
  readonly udp: Udp;
  readonly ping: PingSockets;
  readonly devices = new Map<string, NetDevice>();
  /** Devices in creation order (what `ip link` lists). */
  readonly order: NetDevice[] = [];

  constructor(
    readonly world: World,
    readonly name: string,
    opts: { forward?: boolean } = {},
  ) {
    this.host = new Host(world.engine, name, { forward: opts.forward ?? false });
    this.netfilter = new Netfilter(world.engine, this.host.rng.fork('netfilter'), this.host);
    this.host.filter = this.netfilter;
    this.host.redirectAllowed = (slot) => natAllowsRedirect(this.netfilter, slot);
    this.netfilter.onConfirm = (c) => world.connections.push({ ns: name, ...c });
    // The transports, registered with the host as inet_init does (UDP, TCP, ping).
    ({ tcp: this.tcp, udp: this.udp, ping: this.ping } = inetInit(this.host));
    // lo comes up with 127.0.0.1/8, as in every new network namespace once `ip link set lo up` ran.
    this.add(new Loopback(world.engine), ['127.0.0.1/8']);
  }

  get forward(): boolean {
    return this.host.forward;
  }
  set forward(on: boolean) {
    this.host.forward = on;
  }

  device(name: string): NetDevice {
    const d = this.devices.get(name);
    if (!d) throw new Error(`namespace ${this.name} has no interface ${name}`);
    return d;
  }

  /** Moves a device into this namespace and adds its addresses. */
  add<D extends NetDevice>(dev: D, addrs: string[]): D {
    if (this.devices.has(dev.name)) throw new Error(`namespace ${this.name} already has an interface ${dev.name}`);
    this.devices.set(dev.name, dev);
    this.order.push(dev);
    this.host.addDevice(dev);
    for (const a of addrs) this.host.addAddress(dev.name, a);
    return dev;
  }

  /** A NIC plugged into `wire`. */
  nic(name: string, wire: Wire, o: InterfaceOptions): Nic {
    const nic = new Nic(this.world.engine, name, macOf(o.mac), o.mtu ?? 1500);
    wire.attach(nic);
    return this.add(nic, o.addrs ?? []);
  }

  /** A Linux bridge device (docker0, br-…, virbr0). */
  bridge(name: string, o: InterfaceOptions & { ageingNs?: number }): Bridge {
    return this.add(new Bridge(this.world.engine, name, macOf(o.mac), o.mtu ?? 1500, o.ageingNs), o.addrs ?? []);
  }

  /** `ip link set IF master BR`. */
  enslave(ifname: string, bridgeName: string): void {
    const br = this.device(bridgeName);
    if (!(br instanceof Bridge)) throw new Error(`${this.name}: ${bridgeName} is not a bridge`);
    br.addPort(this.device(ifname));
  }

  /** A macvlan in bridge mode named `name` in this namespace, on `parent` (possibly in another namespace). */
  macvlan(name: string, parent: NetDevice, o: InterfaceOptions): Macvlan {
    return this.add(new Macvlan(this.world.engine, name, macOf(o.mac), parent, o.mtu ?? parent.mtu), o.addrs ?? []);
  }

  route(r: RoutePlan): void {
    this.host.addRoute({ to: r.to, via: r.via ?? undefined, dev: r.dev ?? undefined, src: r.src ?? undefined });
  }
}

export class World {
  readonly engine: Engine;
  readonly namespaces = new Map<string, Namespace>();
  readonly wires = new Map<string, Wire>();
  readonly apps: Apps;
  /** Every connection conntrack confirmed, in order, with its NAT (for the run summary). */
  readonly connections: ({ ns: string } & ConnectionNote)[] = [];
  /** The plan this world was built from, if any. */
  plan: WorldPlan | null = null;
  private captures: CaptureSet | null = null;

  constructor(opts: WorldOptions) {
    this.engine = new Engine({ seed: opts.seed, poolSlots: opts.poolSlots });
    this.apps = new Apps(this);
  }

  wire(name: string, latencyNs = 0): Wire {
    if (this.wires.has(name)) throw new Error(`wire ${name} exists already`);
    const w = new Wire(this.engine, name, latencyNs);
    this.wires.set(name, w);
    return w;
  }

  namespace(name: string, opts: { forward?: boolean } = {}): Namespace {
    if (this.namespaces.has(name)) throw new Error(`namespace ${name} exists already`);
    const ns = new Namespace(this, name, opts);
    this.namespaces.set(name, ns);
    return ns;
  }

  ns(name: string): Namespace {
    const ns = this.namespaces.get(name);
    if (!ns) throw new Error(`no namespace ${name}`);
    return ns;
  }

  /** `ip link add A netns X type veth peer name B netns Y`. */
  vethPair(a: Namespace, aName: string, aOpts: InterfaceOptions, b: Namespace, bName: string, bOpts: InterfaceOptions): [Veth, Veth] {
    const [x, y] = Veth.pair(this.engine, { name: aName, mac: macOf(aOpts.mac), mtu: aOpts.mtu }, { name: bName, mac: macOf(bOpts.mac), mtu: bOpts.mtu });
    a.add(x, aOpts.addrs ?? []);
    b.add(y, bOpts.addrs ?? []);
    return [x, y];
  }

  /** Capture every listed interface (`<ns>/<ifname>` → capture name) into `set`. */
  /** Record the per-packet trace of this run (src/trace): every device, every netfilter hook. Call
   *  after the world is built, before it runs. Off unless called; costs nothing then. */
  trace(opts: RecorderOptions = {}): TraceRecorder {
    const rec = new TraceRecorder(this.engine, opts);
    for (const ns of this.namespaces.values()) {
      const t = rec.forNamespace(ns.name);
      ns.netfilter.tracer = t;
      for (const dev of ns.order) dev.trace = t;
    }
    return rec;
  }

  capture(set: CaptureSet, which: { ns: string; ifname: string; captureName: string; ifUsed?: boolean }[]): void {
    this.captures = set;
    for (const c of which) set.attach(c.captureName, this.ns(c.ns).device(c.ifname), c.ifUsed === true);
  }

  /** Runs until nothing is left to happen, then closes the captures. The run stops early — and says so
   *  in the summary — only at `untilNs` (default: an hour after the plan's traffic should be over). */
  run(untilNs = this.trafficEndNs() + RUN_GRACE_NS, onProgress?: (nowNs: number) => void): RunSummary {
    this.advance(untilNs, onProgress, Infinity);
    return this.finish();
  }

  /** run(), but giving the event loop a turn every `sliceMs` of wall time, so that a signal (Ctrl-C)
   *  is handled during a long run: `interrupted()` is asked after each turn and, when it returns a
   *  reason, the run stops there and throws it (the captures are left to the caller to abort). The
   *  events run are exactly those of run(). */
  async runAsync(
    untilNs = this.trafficEndNs() + RUN_GRACE_NS,
    onProgress?: (nowNs: number) => void,
    interrupted?: () => Error | null,
    sliceMs = 50,
  ): Promise<RunSummary> {
    while (!this.advance(untilNs, onProgress, sliceMs)) {
      await new Promise<void>((r) => setImmediate(r));
      const stop = interrupted?.() ?? null;
      if (stop !== null) throw stop;
    }
    return this.finish();
  }

  /** Runs events up to `untilNs` for at most `sliceMs` of wall time; true when nothing is left to run. */
  private advance(untilNs: number, onProgress: ((nowNs: number) => void) | undefined, sliceMs: number): boolean {
    // One timestamp at a time, so that `now` ends at the last event rather than at the limit.
    const engine = this.engine;
    const deadline = sliceMs === Infinity ? Infinity : Date.now() + sliceMs;
    let n = 0;
    while (engine.pending !== 0 && engine.nextTime <= untilNs) {
      engine.run(engine.nextTime);
      if ((++n & 1023) === 0) {
        if (onProgress !== undefined) onProgress(engine.now);
        if (deadline !== Infinity && Date.now() >= deadline) return false;
      }
    }
    return true;
  }

  private finish(): RunSummary {
    this.stoppedEarly = this.engine.pending !== 0;
    this.captures?.close();
    return this.summary();
  }

  /** Whether the last run stopped at its limit with events still pending. */
  private stoppedEarly = false;

  /** When the plan's traffic should be over at the latest (0 without a plan). */
  trafficEndNs(): number {
    return this.plan ? trafficEndNs(this.plan) : 0;
  }

  summary(): RunSummary {
    const interfaces = this.captures?.counts() ?? [];
    const connections = this.connections.map((c) => {
      const nat = [c.snat ? `source NAT to ${c.snat}` : '', c.dnat ? `destination NAT to ${c.dnat}` : ''].filter(Boolean).join(', ');
      return `${c.ns}: ${c.proto} ${c.from} → ${c.to}${nat ? `, ${nat}` : ''}`;
    });
    const drops: { where: string; count: number; why: string }[] = [];
    for (const ns of this.namespaces.values()) {
      for (const line of ns.netfilter.dropSummary()) {
        const m = /^(.*): (\d+)$/.exec(line);
        drops.push({ where: ns.name, count: m ? Number(m[2]) : 1, why: m ? m[1]! : line });
      }
      const s = ns.host.stats;
      if (s.outNoRoutes) drops.push({ where: ns.name, count: s.outNoRoutes, why: 'no route to host' });
      if (s.inAddrErrors) drops.push({ where: ns.name, count: s.inAddrErrors, why: 'not for this host and forwarding off' });
      for (const dev of ns.order) if (dev.drops) drops.push({ where: `${ns.name}.${dev.name}`, count: dev.drops, why: 'device down or no carrier' });
      for (const dev of ns.order) {
        if (!(dev.qdisc instanceof Netem)) continue;
        if (dev.qdisc.lost) drops.push({ where: `${ns.name}.${dev.name}`, count: dev.qdisc.lost, why: 'netem loss' });
        if (dev.qdisc.overLimit) drops.push({ where: `${ns.name}.${dev.name}`, count: dev.qdisc.overLimit, why: `netem queue full (limit ${dev.qdisc.config.limit})` });
      }
    }
    const unfinished = (this.plan?.traffic.length ?? 0) - this.apps.outcomes.length;
    const notes: string[] = [];
    if (this.stoppedEarly) notes.push(`stopped at ${(this.engine.now / 1e9).toFixed(3)} s of virtual time with ${this.engine.pending} events still pending`);
    if (unfinished > 0) notes.push(`${unfinished} traffic entr${unfinished === 1 ? 'y' : 'ies'} had not finished`);
    return { endNs: this.engine.now, interfaces, connections, traffic: this.apps.outcomes, drops, notes };
  }

  // ---- from a plan ----------------------------------------------------------------------------

  /** Builds everything `plan` describes. Services open at time 0; traffic is scheduled at its times. */
  static fromPlan(plan: WorldPlan, opts: { poolSlots?: number } = {}): World {
    const w = new World({ seed: plan.seed, poolSlots: opts.poolSlots });
    w.plan = plan;
    for (const wire of plan.wires) w.wire(wire.name, wire.latencyNs);
    for (const nsp of plan.namespaces) {
      // Linux's TCP hands down GSO super-frames (src/sockets/tcp/tso.ts); devices without offloads cut them
      w.namespace(nsp.name, { forward: nsp.forward }).tcp.gso = true;
    }

    // Devices, in an order that has every bridge, veth peer and macvlan parent ready when needed.
    const made = new Set<string>();
    const key = (ns: string, ifname: string) => `${ns}/${ifname}`;
    const pending: { nsp: NamespacePlan; iface: InterfacePlan }[] = [];
    for (const nsp of plan.namespaces) for (const iface of nsp.interfaces) pending.push({ nsp, iface });
    let progress = true;
    while (pending.length > 0 && progress) {
      progress = false;
      for (let i = 0; i < pending.length; i++) {
        const { nsp, iface } = pending[i]!;
        if (w.makeInterface(nsp, iface, plan, made, key)) {
          made.add(key(nsp.name, iface.name));
          // `ethtool -K IF tso off gso off gro off`: the device cuts GSO super-frames before sending
          if (iface.offload === false) {
            const dev = w.ns(nsp.name).devices.get(iface.name);
            if (dev) dev.offload = false;
          }
          pending.splice(i--, 1);
          progress = true;
        }
      }
    }
    if (pending.length > 0) {
      const p = pending[0]!;
      throw new Error(`plan: cannot build ${p.nsp.name}.${p.iface.name} (its peer or parent is missing)`);
    }
    // Bridge ports and routes once every device exists.
    for (const nsp of plan.namespaces) {
      const ns = w.ns(nsp.name);
      for (const iface of nsp.interfaces) {
        if (iface.master) ns.enslave(iface.name, iface.master);
        if (iface.routeLocalnet) ns.device(iface.name).routeLocalnet = true;
        if (iface.hairpin) ns.device(iface.name).bridgeHairpin = true;
      }
      for (const r of nsp.routes) ns.route(r);
      ns.netfilter.load(nsp.iptables);
    }
    for (const nsp of plan.namespaces) {
      const ns = w.ns(nsp.name);
      for (const svc of nsp.services) w.apps.service(ns, svc);
      for (const a of nsp.announce) w.apps.announce(ns, a);
      for (const d of nsp.dhcpServers) w.apps.dhcpServer(ns, d);
      for (const ifname of nsp.dhcpClient) w.apps.dhcpClient(ns, ifname);
    }
    for (const t of plan.traffic) w.apps.traffic(w.ns(t.ns), t);
    return w;
  }

  /** The captured interfaces of a plan, as `capture()` takes them. */
  static planCaptures(plan: WorldPlan): { ns: string; ifname: string; captureName: string; ifUsed: boolean }[] {
    const out: { ns: string; ifname: string; captureName: string; ifUsed: boolean }[] = [];
    // A loopback (`capture: { lo: true }`) is written only if it carried traffic.
    for (const nsp of plan.namespaces) for (const i of nsp.interfaces) if (i.capture) out.push({ ns: nsp.name, ifname: i.name, captureName: i.captureName, ifUsed: i.kind === 'loopback' });
    return out;
  }

  private makeInterface(nsp: NamespacePlan, iface: InterfacePlan, plan: WorldPlan, made: Set<string>, key: (ns: string, i: string) => string): boolean {
    const ns = this.ns(nsp.name);
    const o: InterfaceOptions = { mac: iface.mac, mtu: iface.mtu, addrs: iface.addrs };
    switch (iface.kind) {
      case 'loopback':
        for (const a of iface.addrs) if (a !== '127.0.0.1/8') ns.host.addAddress('lo', a);
        return true;
      case 'nic': {
        const wire = this.wires.get(iface.wire);
        if (!wire) throw new Error(`plan: ${nsp.name}.${iface.name} is on unknown wire ${iface.wire}`);
        const nic = ns.nic(iface.name, wire, o);
        // tc qdisc add dev IF root netem …: its own random stream, from the seed and its name
        if (iface.netem) nic.qdisc = new Netem(nic, iface.netem, this.engine.rng.fork(`netem:${nsp.name}.${iface.name}`), nic.xmitNow);
        return true;
      }
      case 'bridge':
        ns.bridge(iface.name, { ...o, ageingNs: iface.ageingNs });
        return true;
      case 'veth': {
        if (made.has(key(iface.peer.ns, iface.peer.name))) return true; // made with its peer
        const peerNs = plan.namespaces.find((n) => n.name === iface.peer.ns);
        const peer = peerNs?.interfaces.find((i) => i.name === iface.peer.name);
        if (!peerNs || !peer) throw new Error(`plan: veth ${nsp.name}.${iface.name} has no peer ${iface.peer.ns}.${iface.peer.name}`);
        this.vethPair(ns, iface.name, o, this.ns(peerNs.name), peer.name, { mac: peer.mac, mtu: peer.mtu, addrs: peer.addrs });
        made.add(key(peerNs.name, peer.name));
        return true;
      }
      case 'macvlan': {
        if (!made.has(key(iface.parent.ns, iface.parent.name))) return false;
        ns.macvlan(iface.name, this.ns(iface.parent.ns).device(iface.parent.name), o);
        return true;
      }
      case 'slirp-tap': {
        const slirp = plan.slirps.find((s) => s.name === iface.slirp);
        if (!slirp) throw new Error(`plan: ${nsp.name}.${iface.name} names unknown slirp ${iface.slirp}`);
        const dev = this.apps.slirpTap(ns, iface, slirp);
        ns.add(dev, iface.addrs);
        return true;
      }
    }
  }
}

export interface RunSummary {
  endNs: number;
  interfaces: { captureName: string; frames: number }[];
  connections: string[];
  traffic: TrafficOutcome[];
  drops: { where: string; count: number; why: string }[];
  /** Anything the user must know about the run itself (stopped at its limit, unfinished traffic). */
  notes: string[];
}

function macOf(m: string | number): number {
  return typeof m === 'number' ? m : parseMac(m);
}

export { parseIpv4 };
