// From a tree that passed the schema (./spec.ts) to the typed Scenario: defaults applied, values
// converted (durations to ns, MACs to lower case), and the checks that span the file — names unique
// across hosts, containers and VMs; references to wires, interfaces, networks, containers and nodes;
// overlapping subnets; ports taken twice (EADDRINUSE) — each reported at the place it was written.

import type { ScenarioIssue } from './errors.js';
import { boolOr, durationOr, macOrNull, mapAt, netemOr, numOr, payloadOr, scalar, seqAt, strOr } from './read.js';
import { buildTraffic, checkDatagram } from './traffic.js';
import { get, type MapVal, type Pos, type ScalarVal, type SeqVal, type Val } from './tree.js';
import type {
  ContainerNetworkSpec,
  ContainerSpec,
  DockerNetworkSpec,
  DockerSpec,
  HostSpec,
  InterfaceSpec,
  NatRuleSpec,
  Payload,
  PublishSpec,
  RouteSpec,
  Scenario,
  ServiceSpec,
  VmMode,
  VmSpec,
  Where,
  WireSpec,
} from './types.js';
import {
  cidrContains,
  cidrsOverlap,
  formatCidr,
  ipv4ToNum,
  maskOf,
  networkOf,
  parseCidr,
  parsePublish,
  type Cidr,
} from './values.js';

/** Default seed when the file gives none: 1, the value docs/SCENARIO.md's complete example uses. */
export const DEFAULT_SEED = 1;
export const DEFAULT_MTU = 1500;
export const DEFAULT_ENGINE = 28;
export const DOCKER_DEFAULT_BRIDGE = { name: 'bridge', ifname: 'docker0', subnet: '172.17.0.0/16' } as const;
export { PING_DEFAULTS, TCP_TIMEOUT_NS, UDP_TIMEOUT_NS, MAX_DATAGRAM } from './traffic.js';

// ---- reading validated values: ./read.ts ---------------------------------------------------------

/** How a place is mentioned inside another message: "hosts.dh.services[0] (line 9)". */
function ref(w: Where): string {
  return `${w.path} (line ${w.line})`;
}

class Builder {
  readonly issues: ScenarioIssue[] = [];
  /** Containers with `replicas`: the name written → the replicas' names (NAME-1 … NAME-N). */
  readonly replicas = new Map<string, string[]>();
  constructor(readonly file: string) {}

  where(pos: Pos, path: string): Where {
    return { file: this.file, line: pos.line, col: pos.col, path };
  }
  fail(w: Where, message: string): void {
    this.issues.push({ file: w.file, line: w.line, col: w.col, path: w.path, message });
  }
  failAt(pos: Pos, path: string, message: string): void {
    this.fail(this.where(pos, path), message);
  }
  /** Where of the value at `key` of `m` (or of `m` itself when absent). */
  whereOf(m: MapVal, path: string, key: string): Where {
    const v = get(m, key);
    return this.where(v ? v.pos : m.pos, `${path}.${key}`);
  }

  // ---- the file ----------------------------------------------------------------------------------

  build(root: MapVal): Scenario {
    const wires: WireSpec[] = [];
    const wiresMap = mapAt(root, 'wires');
    for (const e of wiresMap?.entries ?? []) {
      const wm = e.value as MapVal;
      // `latency` alone keeps its first meaning (the frame arrives later); with any other impairment
      // the wire is netem on each of its NICs, the latency included.
      const netem = netemOr(wm, false);
      wires.push({ name: e.key, latencyNs: netem ? 0 : durationOr(wm, 'latency', 0), netem, where: this.where(e.keyPos, `wires.${e.key}`) });
    }
    const hosts: HostSpec[] = [];
    for (const e of mapAt(root, 'hosts')!.entries) {
      hosts.push(this.host(e.key, e.value as MapVal, e.keyPos, wires));
    }
    const defaultName = this.file.replace(/^.*[/\\]/, '').replace(/\.(ya?ml|json)$/i, '');
    const s: Scenario = {
      file: this.file,
      version: 1,
      name: strOr(root, 'name', defaultName),
      seed: numOr(root, 'seed', DEFAULT_SEED),
      wires,
      hosts,
      traffic: [],
      capture: this.capture(root),
      where: this.where(root.pos, ''),
    };
    if (scalar(root, 'name') === undefined && !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(defaultName)) {
      this.failAt(root.pos, 'name', `the file name gives no usable scenario name (${JSON.stringify(defaultName)}): add name: to the file`);
    }
    this.checkNodeNames(s);
    const nodes = this.nodeTable(s);
    const traffic = seqAt(root, 'traffic');
    traffic?.items.forEach((it, i) => {
      s.traffic.push(...buildTraffic(this, it as MapVal, i, nodes, this.replicas));
    });
    return s;
  }

  capture(root: MapVal): Scenario['capture'] {
    const m = mapAt(root, 'capture');
    const list = m ? seqAt(m, 'interfaces') : undefined;
    const interfaces = list?.items.map((v, i) => ({ glob: String((v as ScalarVal).value), where: this.where(v.pos, `capture.interfaces[${i}]`) }));
    return { interfaces: interfaces ?? null, lo: m ? boolOr(m, 'lo', false) : false };
  }

  // ---- hosts -------------------------------------------------------------------------------------

  host(name: string, m: MapVal, keyPos: Pos, wires: WireSpec[]): HostSpec {
    const path = `hosts.${name}`;
    const interfaces: InterfaceSpec[] = [];
    const ipWheres = new Map<InterfaceSpec, Where[]>();
    for (const e of mapAt(m, 'interfaces')?.entries ?? []) {
      const im = e.value as MapVal;
      const ipath = `${path}.interfaces.${e.key}`;
      const ipv = get(im, 'ip');
      const ipVals: Val[] = ipv === undefined ? [] : ipv.kind === 'seq' ? ipv.items : [ipv];
      const ifc: InterfaceSpec = {
        name: e.key,
        wire: strOr(im, 'wire', ''),
        ip: ipVals.map((x) => String((x as { value: unknown }).value)),
        mac: macOrNull(im, 'mac'),
        mtu: numOr(im, 'mtu', DEFAULT_MTU),
        netem: netemOr(im, true),
        offload: boolOr(im, 'offload', true),
        where: this.where(e.keyPos, ipath),
      };
      if (ifc.netem && wires.find((w) => w.name === ifc.wire)?.netem) {
        this.fail(this.where(e.keyPos, ipath), `wire ${ifc.wire} is impaired already (netem on every NIC on it): one root qdisc per interface, so impair the wire or its interfaces, not both`);
      }
      interfaces.push(ifc);
      ipWheres.set(
        ifc,
        ipVals.map((x, i) => this.where(x.pos, ipv?.kind === 'seq' ? `${ipath}.ip[${i}]` : `${ipath}.ip`)),
      );
      if (e.key === 'lo') {
        this.failAt(e.keyPos, `${path}.interfaces.lo`, 'lo is the loopback interface every host already has: give the interface another name');
      }
      const wire = strOr(im, 'wire', '');
      if (!wires.some((w) => w.name === wire)) {
        const known = wires.map((w) => w.name);
        this.fail(
          this.whereOf(im, `${path}.interfaces.${e.key}`, 'wire'),
          `unknown wire "${wire}" (${known.length ? `wires: ${known.join(', ')}` : 'the file has no wires: add it under wires:'})`,
        );
      }
    }
    const dockerM = mapAt(m, 'docker');
    const vmsM = mapAt(m, 'vms');
    const host: HostSpec = {
      name,
      interfaces,
      routes: [],
      forward: boolOr(m, 'forward', dockerM !== undefined || vmsM !== undefined),
      nat: [],
      services: this.services(seqAt(m, 'services'), `${path}.services`),
      docker: null,
      vms: [],
      where: this.where(keyPos, path),
    };
    this.checkInterfaceSubnets(host, ipWheres);
    if (dockerM) host.docker = this.docker(host, dockerM, `${path}.docker`);
    for (const e of vmsM?.entries ?? []) host.vms.push(this.vm(host, e.key, e.value as MapVal, e.keyPos, `${path}.vms.${e.key}`));
    seqAt(m, 'routes')?.items.forEach((it, i) => {
      const r = this.route(host, it as MapVal, `${path}.routes[${i}]`);
      if (r) host.routes.push(r);
    });
    seqAt(m, 'nat')?.items.forEach((it, i) => host.nat.push(this.nat(it as MapVal, `${path}.nat[${i}]`)));
    this.checkPorts(host);
    return host;
  }

  /** Interfaces of one host on different wires must not have overlapping subnets; no address twice. */
  checkInterfaceSubnets(h: HostSpec, ipWheres: Map<InterfaceSpec, Where[]>): void {
    const seen: { c: Cidr; text: string; iface: InterfaceSpec }[] = [];
    for (const ifc of h.interfaces) {
      ifc.ip.forEach((text, i) => {
        const c = parseCidr(text)!;
        const w = ipWheres.get(ifc)![i]!;
        for (const o of seen) {
          if (o.iface === ifc && o.c.addr === c.addr) {
            this.fail(w, `${text}: the address is already on ${ifc.name} (Linux: "RTNETLINK answers: File exists")`);
          } else if (o.iface !== ifc && o.iface.wire !== ifc.wire && cidrsOverlap(o.c, c)) {
            this.fail(
              w,
              `${text} overlaps ${o.text} of ${o.iface.name}, which is on wire ${o.iface.wire} while ${ifc.name} is on wire ${ifc.wire}: ` +
                'the host could not tell which wire reaches these addresses',
            );
          }
        }
        seen.push({ c, text, iface: ifc });
      });
    }
  }

  route(h: HostSpec, m: MapVal, path: string): RouteSpec | null {
    const r: RouteSpec = {
      to: strOr(m, 'to', 'default'),
      via: strOr(m, 'via', null),
      dev: strOr(m, 'dev', null),
      where: this.where(m.pos, path),
    };
    const devs = this.hostDevices(h);
    if (r.dev !== null && !devs.includes(r.dev)) {
      this.fail(this.whereOf(m, path, 'dev'), `unknown interface "${r.dev}" on host ${h.name} (interfaces: ${devs.join(', ') || 'none'})`);
      return null;
    }
    if (r.via !== null) {
      const via = ipv4ToNum(r.via)!;
      const candidates = h.interfaces.filter((i) => r.dev === null || i.name === r.dev);
      const onLink =
        candidates.some((i) => i.ip.some((t) => cidrContains(parseCidr(t)!, via))) ||
        (r.dev !== null && !h.interfaces.some((i) => i.name === r.dev)); // a docker bridge: its subnet may be planned
      if (!onLink) {
        this.fail(
          this.whereOf(m, path, 'via'),
          `gateway ${r.via} is not on a network connected to ${r.dev ?? `host ${h.name}`} (Linux: "Nexthop has invalid gateway")`,
        );
      }
    }
    const dup = h.routes.find((o) => o.to === r.to);
    if (dup) {
      this.fail(this.whereOf(m, path, 'to'), `a route to ${r.to} is already at ${ref(dup.where)} (Linux: "RTNETLINK answers: File exists")`);
      return null;
    }
    return r;
  }

  /** Interface names a host's routes may use: its own, docker0 and named docker bridges. */
  hostDevices(h: HostSpec): string[] {
    const devs = h.interfaces.map((i) => i.name);
    if (h.docker) {
      devs.push(DOCKER_DEFAULT_BRIDGE.ifname);
      for (const n of h.docker.networks) if (n.driver === 'bridge' && n.bridge) devs.push(n.bridge);
    }
    return devs;
  }

  nat(m: MapVal, path: string): NatRuleSpec {
    const where = this.where(m.pos, path);
    const norm = (s: string | null): string | null => {
      if (s === null) return null;
      const c = parseCidr(s);
      return c ? formatCidr(networkOf(c), c.len) : `${s}/32`;
    };
    const masq = mapAt(m, 'masquerade');
    if (masq) return { kind: 'masquerade', out: strOr(masq, 'out', null), source: norm(strOr(masq, 'source', null)), where };
    const snat = mapAt(m, 'snat');
    if (snat) {
      return { kind: 'snat', out: strOr(snat, 'out', null), source: norm(strOr(snat, 'source', null)), to: strOr(snat, 'to', ''), where };
    }
    const d = mapAt(m, 'dnat')!;
    const to = strOr(d, 'to', '');
    const c = to.lastIndexOf(':');
    return {
      kind: 'dnat',
      in: strOr(d, 'in', null),
      proto: strOr(d, 'proto', 'tcp') as 'tcp' | 'udp',
      port: numOr(d, 'port', 0),
      to: c < 0 ? { ip: to, port: null } : { ip: to.slice(0, c), port: Number(to.slice(c + 1)) },
      where,
    };
  }

  services(seq: SeqVal | undefined, path: string): ServiceSpec[] {
    return (seq?.items ?? []).map((it, i) => {
      const m = it as MapVal;
      const proto: 'tcp' | 'udp' = get(m, 'tcp') ? 'tcp' : 'udp';
      const port = numOr(m, proto, 0);
      const echo = boolOr(m, 'echo', false);
      const fwd = strOr(m, 'forward', null);
      const c = fwd === null ? -1 : fwd.lastIndexOf(':');
      return {
        name: strOr(m, 'name', `${proto}/${port}`),
        proto,
        port,
        bind: strOr(m, 'bind', '0.0.0.0'), // the schema only accepts canonical dotted quads
        reply: echo ? null : this.servicePayload(m, `${path}[${i}]`, proto),
        echo,
        reuseport: boolOr(m, 'reuseport', false),
        forward: fwd === null ? null : { ip: fwd.slice(0, c), port: Number(fwd.slice(c + 1)) },
        where: this.where(m.pos, `${path}[${i}]`),
      };
    });
  }

  servicePayload(m: MapVal, path: string, proto: 'tcp' | 'udp'): Payload | null {
    const p = payloadOr(m, 'reply', null);
    if (proto === 'udp') checkDatagram(this, m, path, 'reply', p);
    return p;
  }

  // ---- docker ------------------------------------------------------------------------------------

  docker(h: HostSpec, m: MapVal, path: string): DockerSpec {
    const d: DockerSpec = {
      engine: numOr(m, 'engine', DEFAULT_ENGINE) as 27 | 28 | 29,
      userlandProxy: boolOr(m, 'userland-proxy', true),
      networks: [],
      containers: [],
      where: this.where(m.pos, path),
    };
    const defaultBridge: Cidr = parseCidr(DOCKER_DEFAULT_BRIDGE.subnet)!;
    for (const e of mapAt(m, 'networks')?.entries ?? []) {
      const nm = e.value as MapVal;
      const npath = `${path}.networks.${e.key}`;
      const where = this.where(e.keyPos, npath);
      let n: DockerNetworkSpec;
      if (strOr(nm, 'driver', 'bridge') === 'macvlan') {
        const parent = strOr(nm, 'parent', '');
        n = { driver: 'macvlan', name: e.key, parent, subnet: strOr(nm, 'subnet', ''), gateway: strOr(nm, 'gateway', null), where };
        if (!h.interfaces.some((i) => i.name === parent)) {
          this.fail(
            this.whereOf(nm, npath, 'parent'),
            `macvlan parent "${parent}" is not an interface of host ${h.name} (interfaces: ${h.interfaces.map((i) => i.name).join(', ') || 'none'})`,
          );
        }
        const other = d.networks.find((o) => o.driver === 'macvlan' && o.parent === parent);
        if (other) {
          this.fail(this.whereOf(nm, npath, 'parent'), `network ${other.name} already uses parent interface ${parent} (dockerd refuses a second one)`);
        }
      } else {
        n = { driver: 'bridge', name: e.key, subnet: strOr(nm, 'subnet', null), gateway: strOr(nm, 'gateway', null), bridge: strOr(nm, 'bridge', null), internal: boolOr(nm, 'internal', false), where };
        const br = n.bridge;
        if (br !== null) {
          const clash =
            br === DOCKER_DEFAULT_BRIDGE.ifname || h.interfaces.some((i) => i.name === br)
              ? br
              : d.networks.find((o) => o.driver === 'bridge' && o.bridge === br)?.name;
          if (clash !== undefined) {
            this.fail(this.whereOf(nm, npath, 'bridge'), `bridge name "${br}" is already used on host ${h.name}`);
          }
        }
        if (n.gateway !== null && n.subnet === null) {
          this.fail(this.whereOf(nm, npath, 'gateway'), 'a gateway needs a subnet on the same network (as dockerd requires)');
        }
      }
      if (n.subnet !== null && n.subnet !== '') {
        const c = parseCidr(n.subnet)!;
        const sw = this.whereOf(nm, npath, 'subnet');
        if (n.gateway !== null) this.checkHostAddr(c, n.gateway, this.whereOf(nm, npath, 'gateway'), `subnet ${n.subnet}`);
        if (cidrsOverlap(c, defaultBridge)) {
          this.fail(sw, `subnet ${n.subnet} overlaps the default bridge network (docker0, ${DOCKER_DEFAULT_BRIDGE.subnet})`);
        }
        for (const o of d.networks) {
          if (o.subnet && cidrsOverlap(c, parseCidr(o.subnet)!)) {
            this.fail(sw, `subnet ${n.subnet} overlaps ${o.subnet} of network ${o.name} (dockerd: "Pool overlaps with other one on this address space")`);
          }
        }
        if (n.driver === 'bridge') this.checkAgainstInterfaces(h, c, n.subnet, sw, `network ${n.name}`);
      }
      d.networks.push(n);
    }
    // docker0's 172.17.0.0/16 overlapping a host interface is not an error: dockerd then takes the next
    // free pool, and so does the planner.

    for (const e of mapAt(m, 'containers')?.entries ?? []) {
      const cm = e.value as MapVal;
      const cpath = `${path}.containers.${e.key}`;
      const n = numOr(cm, 'replicas', null);
      if (n === null) {
        d.containers.push(this.container(h, d, e.key, cm, e.keyPos, cpath));
        continue;
      }
      // compose's scale: NAME-1 … NAME-N, started in order, each its own address and MAC.
      for (const k of ['ip', 'mac', 'publish'] as const) {
        if (get(cm, k) && n > 1) this.fail(this.whereOf(cm, cpath, k), `${k} with replicas: ${n}: every replica would need the same ${k === 'publish' ? 'host port (port is already allocated)' : k}; leave ${k} out`);
      }
      const names: string[] = [];
      for (let i = 1; i <= n; i++) {
        names.push(`${e.key}-${i}`);
        d.containers.push(this.container(h, d, `${e.key}-${i}`, cm, e.keyPos, cpath));
      }
      this.replicas.set(e.key, names);
    }
    return d;
  }

  checkAgainstInterfaces(h: HostSpec, c: Cidr, text: string, w: Where, what: string): void {
    for (const ifc of h.interfaces) {
      for (const ip of ifc.ip) {
        if (cidrsOverlap(c, parseCidr(ip)!)) {
          this.fail(w, `${what} (${text}) overlaps ${ip} of ${h.name}'s interface ${ifc.name}: give it another subnet`);
          return;
        }
      }
    }
  }

  /** `addr` must be a usable host address of `c` (not its network or broadcast address). */
  checkHostAddr(c: Cidr, addr: string, w: Where, what: string): boolean {
    const a = ipv4ToNum(addr)!;
    if (!cidrContains(c, a)) {
      this.fail(w, `${addr} is not in ${what}`);
      return false;
    }
    const net = networkOf(c);
    const bcast = (net | ~maskOf(c.len)) >>> 0;
    if (c.len < 31 && (a === net || a === bcast)) {
      this.fail(w, `${addr} is the ${a === net ? 'network' : 'broadcast'} address of ${what}`);
      return false;
    }
    return true;
  }

  container(h: HostSpec, d: DockerSpec, name: string, m: MapVal, keyPos: Pos, path: string): ContainerSpec {
    const netText = strOr(m, 'network', 'bridge');
    const nw = this.whereOf(m, path, 'network');
    let network: ContainerNetworkSpec;
    if (netText === 'host') network = { mode: 'host' };
    else if (netText === 'none') network = { mode: 'none' };
    else if (netText.startsWith('container:')) {
      const other = netText.slice('container:'.length);
      network = { mode: 'container', container: other };
      if (other === name) this.fail(nw, `container ${name} cannot share its own network namespace`);
      else if (!d.containers.some((c) => c.name === other)) {
        this.fail(
          nw,
          `"${netText}" names no earlier container of host ${h.name} (containers start in file order; earlier: ${d.containers.map((c) => c.name).join(', ') || 'none'})`,
        );
      }
    } else {
      network = { mode: 'network', network: netText };
      if (netText !== DOCKER_DEFAULT_BRIDGE.name && !d.networks.some((n) => n.name === netText)) {
        this.fail(nw, `unknown docker network "${netText}" (networks: bridge${d.networks.map((n) => `, ${n.name}`).join('')}, and host, none, container:NAME)`);
      }
    }
    const c: ContainerSpec = {
      name,
      network,
      ip: strOr(m, 'ip', null),
      mac: macOrNull(m, 'mac'),
      publish: this.portMappings(seqAt(m, 'publish'), `${path}.publish`),
      services: this.services(seqAt(m, 'services'), `${path}.services`),
      where: this.where(keyPos, path),
    };
    if (network.mode !== 'network') {
      for (const k of ['ip', 'mac', 'publish'] as const) {
        if (get(m, k)) {
          const msg =
            k === 'publish' && network.mode === 'host'
              ? 'publish has no effect with network: host (docker discards published ports): its services are already on the host\'s addresses'
              : `conflicting options: ${k} and network: ${netText} (the container has no network of its own)`;
          this.fail(this.whereOf(m, path, k), msg);
        }
      }
    }
    if (c.ip !== null && network.mode === 'network') {
      const iw = this.whereOf(m, path, 'ip');
      const net = d.networks.find((n) => n.name === network.network);
      if (network.network === DOCKER_DEFAULT_BRIDGE.name) {
        this.fail(iw, 'user specified IP address is supported on user defined networks only (as dockerd says)');
      } else if (net && !net.subnet) {
        this.fail(iw, `user specified IP address is supported only when connecting to networks with user configured subnets: give network ${net.name} a subnet`);
      } else if (net && net.subnet) {
        const sub = parseCidr(net.subnet)!;
        if (this.checkHostAddr(sub, c.ip, iw, `network ${net.name}'s subnet ${net.subnet}`)) {
          const gw = net.gateway ?? formatCidr((networkOf(sub) + 1) >>> 0, 32).split('/')[0]!;
          if (c.ip === gw) this.fail(iw, `${c.ip} is the gateway of network ${net.name}`);
          const same = d.containers.find((o) => o.ip === c.ip && o.network.mode === 'network' && o.network.network === net.name);
          if (same) this.fail(iw, `${c.ip} is already container ${same.name}'s address (dockerd: "Address already in use")`);
        }
      }
    }
    return c;
  }

  /** `-p` values (every docker form, ranges expanded; VM forwards take the plain ones only). */
  portMappings(seq: SeqVal | undefined, path: string): PublishSpec[] {
    return (seq?.items ?? []).flatMap((it, i) =>
      parsePublish(String((it as { value: unknown }).value))!.map(({ hostRange, ...p }) => ({ ...p, ...(hostRange ? { hostRange } : {}), where: this.where(it.pos, `${path}[${i}]`) })),
    );
  }

  // ---- vms ---------------------------------------------------------------------------------------

  vm(h: HostSpec, name: string, m: MapVal, keyPos: Pos, path: string): VmSpec {
    const mode = strOr(m, 'mode', 'user') as VmMode;
    const ipText = strOr(m, 'ip', null);
    const c = ipText === null ? null : parseCidr(ipText);
    const vm: VmSpec = {
      name,
      mode,
      interface: strOr(m, 'interface', null),
      network: strOr(m, 'network', null),
      ip: ipText === null ? null : c ? formatCidr(c.addr, 32).split('/')[0]! : ipText,
      prefixLen: c ? c.len : null,
      mac: macOrNull(m, 'mac'),
      services: this.services(seqAt(m, 'services'), `${path}.services`),
      forward: this.portMappings(seqAt(m, 'forward'), `${path}.forward`),
      where: this.where(keyPos, path),
    };
    if (mode === 'bridged' && !h.interfaces.some((i) => i.name === vm.interface)) {
      this.fail(
        this.whereOf(m, path, 'interface'),
        `a bridged vm needs an interface of host ${h.name}; "${vm.interface}" is not one (interfaces: ${h.interfaces.map((i) => i.name).join(', ') || 'none'})`,
      );
    }
    return vm;
  }

  // ---- ports (EADDRINUSE) ------------------------------------------------------------------------

  /** Listening sockets per network namespace of this host must not collide (bind(2) → EADDRINUSE). */
  checkPorts(h: HostSpec): void {
    interface Listener {
      proto: 'tcp' | 'udp';
      port: number;
      bind: string;
      reuseport: boolean;
      where: Where;
      what: string;
    }
    const spaces = new Map<string, Listener[]>();
    const add = (ns: string, l: Listener): void => {
      const list = spaces.get(ns) ?? [];
      for (const o of list) {
        if (o.proto !== l.proto || o.port !== l.port) continue;
        if (o.bind !== l.bind && o.bind !== '0.0.0.0' && l.bind !== '0.0.0.0') continue;
        if (o.reuseport && l.reuseport) continue;
        this.fail(
          l.where,
          `${l.proto} port ${l.port} on ${l.bind} is already taken by ${o.what} ${ref(o.where)}${o.bind !== l.bind ? ` on ${o.bind}` : ''}: ` +
            'two sockets may share a port only with reuseport: true on both (bind would fail with EADDRINUSE)',
        );
        return;
      }
      list.push(l);
      spaces.set(ns, list);
    };
    const svc = (ns: string, s: ServiceSpec): void =>
      add(ns, { proto: s.proto, port: s.port, bind: s.bind, reuseport: s.reuseport, where: s.where, what: 'the service at' });
    const hostNs = `host:${h.name}`;
    h.services.forEach((s) => svc(hostNs, s));
    const nsOf = new Map<string, string>();
    for (const c of h.docker?.containers ?? []) {
      let ns: string;
      if (c.network.mode === 'host') ns = hostNs;
      else if (c.network.mode === 'container') ns = nsOf.get(c.network.container) ?? `ct:${c.name}`;
      else ns = `ct:${c.name}`;
      nsOf.set(c.name, ns);
      c.services.forEach((s) => svc(ns, s));
    }
    // docker-proxy binds each published port on the host; QEMU's hostfwd binds each forward on the host.
    for (const c of h.docker?.containers ?? []) {
      for (const p of c.publish) {
        if (p.hostPort === 0 || p.hostRange) continue; // dockerd picks a free one
        add(hostNs, { proto: p.proto, port: p.hostPort, bind: p.hostIp ?? '0.0.0.0', reuseport: false, where: p.where, what: 'the published port at' });
      }
    }
    for (const vm of h.vms) {
      vm.services.forEach((s) => svc(`vm:${vm.name}`, s));
      // Only QEMU's hostfwd (user mode) binds host sockets; libvirt's nat-mode forwards are DNAT rules.
      for (const p of vm.mode === 'user' ? vm.forward : []) {
        add(hostNs, { proto: p.proto, port: p.hostPort, bind: p.hostIp ?? '0.0.0.0', reuseport: false, where: p.where, what: 'the port forward at' });
      }
    }
  }

  // ---- names ---------------------------------------------------------------------------------------

  checkNodeNames(s: Scenario): void {
    const seen = new Map<string, { kind: string; where: Where }>();
    const visit = (name: string, kind: string, where: Where): void => {
      const o = seen.get(name);
      if (o) {
        this.fail(where, `node name "${name}" is already used by the ${o.kind} at ${ref(o.where)}: every host, container and VM needs its own name`);
      } else {
        seen.set(name, { kind, where });
      }
    };
    for (const h of s.hosts) visit(h.name, 'host', h.where);
    for (const h of s.hosts) {
      for (const c of h.docker?.containers ?? []) visit(c.name, 'container', c.where);
      for (const v of h.vms) visit(v.name, 'VM', v.where);
    }
  }

  nodeTable(s: Scenario): Set<string> {
    const names = new Set<string>();
    for (const h of s.hosts) {
      names.add(h.name);
      for (const c of h.docker?.containers ?? []) names.add(c.name);
      for (const v of h.vms) names.add(v.name);
    }
    return names;
  }

}

/** Build the typed scenario from a schema-valid tree; semantic problems are returned, not thrown. */
export function buildScenario(root: Val, file: string): { scenario: Scenario; issues: ScenarioIssue[] } {
  const b = new Builder(file);
  const scenario = b.build(root as MapVal);
  return { scenario, issues: b.issues };
}
