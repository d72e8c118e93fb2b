// The programs of an emulated world: the services a scenario lists (ordinary sockets, as the real
// captures were recorded with) and its traffic — `ping` (iputils), a TCP client (connect, send, read
// one reply, close), a UDP client (one datagram, wait for one reply) — plus Docker 28's unsolicited
// ARPs. Their outcomes feed the run summary.
//
// Service semantics (docs/SCENARIO.md): a TCP service answers each segment of data with `reply` (or the
// same bytes with `echo`) and closes its side once the peer has closed; a UDP service answers each
// datagram.

import type { NetDevice } from '../devices/device.js';
import type { AnnouncePlan, DhcpServerPlan, InterfacePlan, ServicePlan, SlirpPlan, TrafficPlan } from '../plan/plan.js';
import { Ping } from '../sockets/ping.js';
import { SocketError } from '../sockets/ports.js';
import { TcpError } from '../sockets/tcp.js';
import { payloadBytes } from '../wire/payload.js';
import { formatIpv4, parseIpv4, parseMac } from '../wire/addr.js';
import { Slirp, SlirpTap } from '../vm/slirp/slirp.js';
import { DhcpServer } from '../vm/dhcp-server.js';
import { DhcpClient } from '../vm/dhcp-client.js';
import { CAPTURE_EPOCH_SEC } from './captures.js';
import { runTcp, runUdp } from './clients.js';
import { startRelay } from './relay.js';
import { tcpService } from './tcp-apps.js';
import type { Namespace, World } from './world.js';

export interface TrafficOutcome {
  atNs: number;
  node: string;
  what: string;
  /** 'ok' or what went wrong (refused, timeout, reset, unreachable, no reply). */
  result: string;
  detail: string;
}

/** strerror(3) for the errors a traffic entry's socket calls can meet, as the program would print them. */
const STRERROR: Record<string, string> = {
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EMSGSIZE: 'Message too long',
  ENETUNREACH: 'Network is unreachable',
  EHOSTUNREACH: 'No route to host',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  EINVAL: 'Invalid argument',
  EAGAIN: 'Resource temporarily unavailable',
};

export class Apps {
  readonly outcomes: TrafficOutcome[] = [];

  constructor(readonly world: World) {}

  service(ns: Namespace, svc: ServicePlan): void {
    if (svc.forward) {
      startRelay(ns, svc);
      return;
    }
    if (svc.proto === 'udp') {
      // A datagram is at most 65507 bytes (the loader refuses more), so the reply is held whole.
      const reply = payloadBytes(svc.reply ?? '');
      ns.host.udp.bind({ addr: svc.bind, port: svc.port, reuseport: svc.reuseport }, (data, _from, _port, answer) => answer(svc.echo ? data : reply));
      return;
    }
    tcpService(this.world.engine, ns.tcp, { addr: parseIpv4(svc.bind), port: svc.port, reuseport: svc.reuseport, reply: svc.reply, echo: svc.echo });
  }

  announce(ns: Namespace, a: AnnouncePlan): void {
    const addr = parseIpv4(a.addr);
    for (let i = 0; i < a.count; i++) {
      this.world.engine.at(a.atNs + i * a.intervalNs, () => ns.host.announce(a.ifname, addr, 'request'));
    }
  }

  traffic(ns: Namespace, t: TrafficPlan): void {
    this.world.engine.at(t.atNs, () => this.whenConfigured(ns, () => this.start(ns, t)));
  }

  // ---- DHCP (src/vm/dhcp-*.ts) -----------------------------------------------------------------

  readonly dhcpServers: DhcpServer[] = [];
  readonly dhcpClients: DhcpClient[] = [];
  /** Per namespace: DHCP clients not yet bound, and the traffic waiting for them. */
  private readonly unconfigured = new Map<string, { clients: number; waiting: (() => void)[] }>();

  /** A DHCP server (dnsmasq, VirtualBox's, a LAN's) on one of the namespace's interfaces. */
  dhcpServer(ns: Namespace, plan: DhcpServerPlan): DhcpServer {
    const s = new DhcpServer(ns.host, plan);
    this.dhcpServers.push(s);
    return s;
  }

  /** dhclient on `ifname`, started at time 0. Until it is bound (address and default route set), the
   *  namespace's traffic entries wait: a guest's programs run once its network is up. */
  dhcpClient(ns: Namespace, ifname: string): DhcpClient {
    const c = new DhcpClient(ns.host, ifname, ns.name);
    this.dhcpClients.push(c);
    let u = this.unconfigured.get(ns.name);
    if (u === undefined) {
      u = { clients: 0, waiting: [] };
      this.unconfigured.set(ns.name, u);
    }
    u.clients++;
    const gate = u;
    // Bound, or dhclient gave up (its programs then run without a network, as after a real boot).
    c.onBound = c.onGiveUp = () => {
      if (--gate.clients > 0) return;
      this.unconfigured.delete(ns.name);
      for (const run of gate.waiting) run();
    };
    this.world.engine.at(0, () => c.start());
    return c;
  }

  private whenConfigured(ns: Namespace, run: () => void): void {
    const u = this.unconfigured.get(ns.name);
    if (u === undefined) run();
    else u.waiting.push(run);
  }

  private record(t: TrafficPlan, what: string, result: string, detail: string): void {
    this.outcomes.push({ atNs: t.atNs, node: t.node, what, result, detail });
  }

  /** A traffic entry, as its program runs it. A socket call refused the way Linux refuses it (a `sport`
   *  still in TIME_WAIT: EADDRINUSE; a datagram over 65,507 bytes or over the MTU with DF forced:
   *  EMSGSIZE) ends the entry as the program would end, with the error it prints — an outcome in the
   *  summary, not a crash of the run. */
  private start(ns: Namespace, t: TrafficPlan): void {
    try {
      this.startEntry(ns, t);
    } catch (e) {
      if (!(e instanceof TcpError || e instanceof SocketError)) throw e;
      const what = t.kind === 'ping' ? `ping ${t.dst}` : `${t.kind} ${t.dst}:${t.dport}`;
      const call = t.kind === 'tcp' ? (e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL' ? 'bind' : 'connect') : t.kind === 'udp' ? 'sendto' : 'sendmsg';
      this.record(t, what, 'error', `${call}: ${STRERROR[e.code] ?? e.code} (${e.message.replace(/^[A-Z]+: /, '')})`);
    }
  }

  private startEntry(ns: Namespace, t: TrafficPlan): void {
    switch (t.kind) {
      case 'ping': {
        const what = `ping ${t.dst}`;
        const p = new Ping(ns.host, { dst: t.dst, count: t.count, intervalNs: t.intervalNs, size: t.size, epochSec: CAPTURE_EPOCH_SEC, ttl: t.ttl ?? undefined });
        p.onDone = () => {
          const loss = p.transmitted === 0 ? 100 : Math.round((100 * (p.transmitted - p.received)) / p.transmitted);
          if (p.sendFailures > 0 && p.sendFailures === p.transmitted) this.record(t, what, 'unreachable', 'connect: Network is unreachable');
          else this.record(t, what, p.received > 0 ? 'ok' : p.errors.length > 0 ? 'unreachable' : 'no reply', `${p.transmitted} transmitted, ${p.received} received, ${loss}% loss`);
        };
        p.start();
        return;
      }
      case 'udp':
        runUdp(this.world, ns, t, (o) => this.record(t, `udp ${t.dst}:${t.dport}`, o.result, o.detail));
        return;
      case 'tcp':
        runTcp(this.world, ns, t, (o) => this.record(t, `tcp ${t.dst}:${t.dport}`, o.result, o.detail));
        return;
    }
  }

  /** The user-mode stacks built so far (one per slirp-tap), for tests and the summary. */
  readonly slirps: Slirp[] = [];

  /** The guest-facing device of a user-mode (slirp) network: a SlirpTap whose other side is a Slirp
   *  (src/vm/slirp) carrying the guest's traffic with the sockets of the host namespace. */
  slirpTap(_ns: Namespace, iface: InterfacePlan, slirp: SlirpPlan): NetDevice {
    const tap = new SlirpTap(this.world.engine, iface.name, parseMac(iface.mac), iface.mtu);
    const hostNs = this.world.ns(slirp.hostNs);
    this.slirps.push(new Slirp(tap, slirp, { host: hostNs.host, tcp: hostNs.tcp }));
    return tap;
  }
}

export { formatIpv4 };
