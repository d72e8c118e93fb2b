// The schema of a scenario file (format version 1), written in ./schema.ts's DSL. This is
// docs/SCENARIO.md as data: every key it lists, and no other (an unknown key is an error).
// Defaults are applied later, in ./build.ts, together with the checks that span the file.

import {
  bool,
  byKey,
  byValue,
  custom,
  explained,
  int,
  listOf,
  mapOf,
  obj,
  oneOf,
  oneOrList,
  opt,
  req,
  scalarOrMap,
  str,
  type ObjectSchema,
  type Schema,
} from './schema.js';
import type { MapVal } from './tree.js';
import { isCaptureGlob } from './glob.js';
import { entry, get } from './tree.js';
import {
  formatCidr,
  interfaceNameProblem,
  ipv4ToNum,
  isNodeName,
  isScenarioName,
  macIsAssignable,
  networkOf,
  normaliseMac,
  parseCidr,
  parseDuration,
  durationProblem,
  pastVirtualBound,
  prefixProblem,
  parseHex,
  parseHostPort,
  parseLinkRate,
  parsePercent,
  parsePortMapping,
  parsePublish,
  parseRate,
  parseSize,
} from './values.js';

// ---- names -------------------------------------------------------------------------------------------

/** Characters or sequences that would let `<node>.<if>.pcap` leave the output folder. */
function escapesFolder(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[/\\\u0000]/.test(s) || s.includes('..');
}

export function nodeNameProblem(k: string): string | null {
  if (escapesFolder(k)) {
    return `node name ${JSON.stringify(k)} would escape the output folder (captures are <node>.<interface>.pcap): use letters, digits, "-" and "_"`;
  }
  if (!isNodeName(k)) return `expected a node name of letters, digits, "-" and "_" (at most 64), got ${JSON.stringify(k)}`;
  return null;
}

export function interfaceKeyProblem(k: string): string | null {
  if (escapesFolder(k) || k === '.') {
    return `interface name ${JSON.stringify(k)} would escape the output folder (captures are <node>.<interface>.pcap)`;
  }
  const p = interfaceNameProblem(k);
  return p === null ? null : `${JSON.stringify(k)} is not a valid Linux interface name: it ${p}`;
}

function wireNameProblem(k: string): string | null {
  return isNodeName(k) ? null : `expected a wire name of letters, digits, "-" and "_", got ${JSON.stringify(k)}`;
}

const RESERVED_DOCKER_NETWORKS = ['bridge', 'host', 'none'];

function dockerNetworkNameProblem(k: string): string | null {
  if (RESERVED_DOCKER_NETWORKS.includes(k)) {
    return `"${k}" is a pre-defined docker network and cannot be defined again`;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(k)) {
    return `expected a docker network name ([A-Za-z0-9][A-Za-z0-9_.-]*), got ${JSON.stringify(k)}`;
  }
  return null;
}

// ---- scalars -----------------------------------------------------------------------------------------

const ifnameValue = str('a Linux interface name like eth0', (s) => interfaceNameProblem(s) === null);
/** iptables -i/-o: an interface name, possibly ending in "+" (any interface with that prefix). */
const iptIfname = str('an interface name like eth0 (or a prefix ending in "+", as iptables)', (s) => {
  const base = s.endsWith('+') ? s.slice(0, -1) : s;
  return (s === '+' || interfaceNameProblem(base) === null);
});
const ipv4 = str('an IPv4 address like 192.0.2.1', (s) => ipv4ToNum(s) !== null);
const ifaceCidr = explained(str('an IPv4 address with prefix length like 192.0.2.1/24', (s) => parseCidr(s) !== null), (v) => prefixProblem(v as string));

function hostBitsProblem(s: string): string | null {
  const c = parseCidr(s)!;
  const net = networkOf(c);
  return net === c.addr ? null : `${s} has host bits set: the network is ${formatCidr(net, c.len)}`;
}

const networkCidr = explained(str('an IPv4 network like 172.18.0.0/16', (s) => parseCidr(s) !== null, hostBitsProblem), (v) => prefixProblem(v as string));
const sourceCidr = explained(
  str('an IPv4 network like 172.17.0.0/16 (or one address)', (s) => parseCidr(s) !== null || ipv4ToNum(s) !== null),
  (v) => prefixProblem(v as string),
);
const mac = str(
  'a MAC address like "02:00:00:00:00:01"',
  (s) => normaliseMac(s) !== null,
  (s) => (macIsAssignable(normaliseMac(s)!) ? null : `${s} is a multicast or all-zero MAC address: an interface needs a unicast one (first byte even, not all zero)`),
);
const port = int(1, 65535, 'a port number 1-65535');
const duration = explained(custom(['string', 'number'], 'a duration like 200ms, 1s or 500us', (v) => parseDuration(v) !== null), durationProblem);
const positiveDuration = explained(
  custom(['string', 'number'], 'a duration above zero like 200ms, 1s or 500us', (v) => (parseDuration(v) ?? 0) > 0),
  durationProblem,
);
const size = custom(['number', 'string'], 'a size like 1500, 64KiB or 1.5MB (B, KB, KiB, MB, MiB, GB, GiB)', (v) => parseSize(v) !== null);
/** `send` / `reply`: a string, `{ size: SIZE }` (SIZE bytes of 0123456789abcdef repeated) or `{ hex: "…" }`. */
const payload = scalarOrMap(
  str('a string, { size: SIZE } or { hex: "…" }'),
  byKey('a payload', {
    size: obj('a sized payload', { size: req(size) }),
    hex: obj('a hex payload', { hex: req(str('hex digits in pairs like "deadbeef"', (s) => parseHex(s) !== null)) }),
  }),
);
const nodeRef = str('a node name (letters, digits, "-", "_")', isNodeName);
const target = str('an IPv4 address like 192.0.2.1 or a node name', (s) => ipv4ToNum(s) !== null || isNodeName(s));
const hostPort = str(
  'an address and port like "192.0.2.1:80" (IPv4 address or node name, then a port 1-65535)',
  (s) => parseHostPort(s) !== null,
);
const portMapping = str(
  'a port mapping like "8080:80", "5353:53/udp" or "127.0.0.1:8080:80"',
  (s) => parsePortMapping(s) !== null,
);
const dnatTo = str('an address like "172.17.0.2:80" or "172.17.0.2"', (s) => {
  const c = s.lastIndexOf(':');
  if (c < 0) return ipv4ToNum(s) !== null;
  return ipv4ToNum(s.slice(0, c)) !== null && parseHostPort(s) !== null;
});

/** A relay's backend: an IPv4 address and a port (no node names: a relay dials an address). */
const relayTarget = str('an address and port like "172.17.0.2:80"', (s) => {
  const c = s.lastIndexOf(':');
  return c > 0 && ipv4ToNum(s.slice(0, c)) !== null && parseHostPort(s) !== null;
});

// ---- services ------------------------------------------------------------------------------------------

function replyXorEcho(m: MapVal, path: string, report: (p: { line: number; col: number }, path: string, msg: string) => void): void {
  const reply = entry(m, 'reply');
  const echo = get(m, 'echo');
  const echoOn = echo?.kind === 'scalar' && echo.value === true;
  const forward = entry(m, 'forward');
  if (forward) {
    // A relay (socat, docker-proxy) answers nothing itself: what comes back is the backend's answer.
    if (reply) report(reply.keyPos, `${path}.reply`, 'a relay service (forward:) takes no reply: the backend answers');
    else if (echo) report(entry(m, 'echo')!.keyPos, `${path}.echo`, 'a relay service (forward:) takes no echo: the backend answers');
    return;
  }
  if (reply && echoOn) {
    report(reply.keyPos, `${path}.reply`, 'a service takes reply or echo: true, not both');
  } else if (!reply && !echoOn) {
    report(m.pos, path, 'a service needs reply: STRING or echo: true');
  }
}

function serviceVariant(proto: 'tcp' | 'udp'): ObjectSchema {
  return obj(
    `a ${proto} service`,
    {
      [proto]: req(port),
      bind: opt(ipv4),
      reply: opt(payload),
      echo: opt(bool()),
      reuseport: opt(bool()),
      name: opt(str('a non-empty service name', (s) => s.length > 0)),
      forward: opt(relayTarget),
    },
    replyXorEcho,
  );
}

export const serviceSchema = byKey('a service', { tcp: serviceVariant('tcp'), udp: serviceVariant('udp') });
const services = listOf('a list of services like [ { tcp: 80, reply: "hi" } ]', serviceSchema);

// ---- hosts ---------------------------------------------------------------------------------------------

const percent = custom(['number', 'string'], 'a percentage like 5% or 0.5', (v) => parsePercent(v) !== null);
/** netem's keys (tc qdisc … netem): on a wire for both directions, on an interface for its egress. */
const impairments = {
  latency: opt(duration),
  jitter: opt(duration),
  loss: opt(percent),
  duplicate: opt(percent),
  reorder: opt(percent),
  corrupt: opt(percent),
  rate: opt(str('a rate like 100mbit, 10mbit or 512kbit (tc\'s units: bit, kbit, mbit, gbit; bps, kbps, mbps for bytes)', (s) => parseLinkRate(s) !== null)),
  limit: opt(int(1, 1_000_000, 'a queue length in packets 1-1000000')),
};

function impairmentCheck(m: MapVal, path: string, report: Parameters<NonNullable<ObjectSchema['check']>>[2]): void {
  const r = entry(m, 'reorder');
  const lat = get(m, 'latency');
  if (r && (!lat || parseDuration(lat.kind === 'scalar' ? lat.value : null) === 0)) {
    report(r.keyPos, `${path}.reorder`, 'reorder needs a latency: netem reorders by sending some packets at once while the others wait (tc: "reordering not possible without specifying some delay")');
  }
  const j = entry(m, 'jitter');
  if (j && !lat) report(j.keyPos, `${path}.jitter`, 'jitter needs a latency to vary around');
}

const interfaceSchema = obj(
  'an interface',
  {
    wire: req(str('a wire name', isNodeName)),
    ip: opt(oneOrList(ifaceCidr)),
    mac: opt(mac),
    mtu: opt(int(68, 65535, 'an MTU 68-65535')),
    offload: opt(bool()),
    ...impairments,
  },
  impairmentCheck,
);

const routeSchema = obj(
  'a route',
  {
    to: req(
      explained(
        str('default or a network like 10.0.0.0/8', (s) => s === 'default' || parseCidr(s) !== null, (s) => (s === 'default' ? null : hostBitsProblem(s))),
        (v) => prefixProblem(v as string),
      ),
    ),
    via: opt(ipv4),
    dev: opt(ifnameValue),
  },
  (m, path, report) => {
    if (!get(m, 'via') && !get(m, 'dev')) report(m.pos, path, 'a route needs via: IP or dev: ifname (or both)');
  },
);

const natSchema = byKey('a nat rule', {
  masquerade: obj('a masquerade rule', {
    masquerade: req(obj('masquerade', { out: opt(iptIfname), source: opt(sourceCidr) })),
  }),
  snat: obj('an snat rule', {
    snat: req(obj('snat', { out: opt(iptIfname), source: opt(sourceCidr), to: req(ipv4) })),
  }),
  dnat: obj('a dnat rule', {
    dnat: req(obj('dnat', { in: opt(iptIfname), proto: req(oneOf(['tcp', 'udp'])), port: req(port), to: req(dnatTo) })),
  }),
});

const containerNetwork = str(
  'bridge, host, none, "container:NAME" or the name of a docker network',
  (s) => ['bridge', 'host', 'none'].includes(s) || (s.startsWith('container:') && isNodeName(s.slice(10))) || dockerNetworkNameProblem(s) === null,
);

const publishMapping = str(
  'a port mapping like "8080:80", "5353:53/udp", "127.0.0.1:8080:80", "80", "127.0.0.1::80" or "8000-8001:80-81"',
  (s) => parsePublish(s) !== null,
);

const dockerSchema = obj('docker', {
  engine: opt(oneOf([27, 28, 29])),
  'userland-proxy': opt(bool()),
  networks: opt(
    mapOf(
      'a mapping of network names to networks',
      dockerNetworkNameProblem,
      byValue('a docker network', 'driver', 'bridge', {
        bridge: obj('a bridge network', {
          subnet: opt(networkCidr),
          gateway: opt(ipv4),
          bridge: opt(ifnameValue),
          internal: opt(bool()),
        }),
        macvlan: obj('a macvlan network', {
          parent: req(ifnameValue),
          subnet: req(networkCidr),
          gateway: opt(ipv4),
        }),
      }),
    ),
  ),
  containers: opt(
    mapOf(
      'a mapping of container names to containers',
      nodeNameProblem,
      obj('a container', {
        network: opt(containerNetwork),
        ip: opt(ipv4),
        mac: opt(mac),
        publish: opt(listOf('a list of port mappings like ["8080:80"]', publishMapping)),
        services: opt(services),
        replicas: opt(int(1, 10000, 'a number of replicas 1-10000')),
      }),
    ),
  ),
});

const vmIp = explained(
  str('an IPv4 address like 10.0.2.15 (optionally with a prefix length like 10.0.2.15/24)', (s) => ipv4ToNum(s) !== null || parseCidr(s) !== null),
  (v) => prefixProblem(v as string),
);

const vmForwards = listOf('a list of port forwards like ["2222:22"]', portMapping);

function vmVariant(what: string, extra: Record<string, ReturnType<typeof req>>): ObjectSchema {
  return obj(what, { ip: opt(vmIp), mac: opt(mac), services: opt(services), ...extra });
}

const vmSchema = byValue('a vm', 'mode', null, {
  user: vmVariant('a user-mode vm', { forward: opt(vmForwards) }),
  // libvirt-style NAT forwards inbound ports with DNAT rules (its documented port-forwarding hook).
  nat: vmVariant('a nat-mode vm', { forward: opt(vmForwards) }),
  bridged: vmVariant('a bridged vm', { interface: req(ifnameValue) }),
  'host-only': vmVariant('a host-only vm', {}),
  internal: vmVariant('an internal-network vm', { network: req(str('a network name', isNodeName)) }),
});

const hostSchema = obj('a host', {
  interfaces: opt(mapOf('a mapping of interface names to interfaces', interfaceKeyProblem, interfaceSchema)),
  routes: opt(listOf('a list of routes like [ { to: default, via: 192.0.2.1 } ]', routeSchema)),
  forward: opt(bool()),
  nat: opt(listOf('a list of nat rules', natSchema)),
  services: opt(services),
  docker: opt(dockerSchema),
  vms: opt(mapOf('a mapping of VM names to VMs', nodeNameProblem, vmSchema)),
});

// ---- traffic -------------------------------------------------------------------------------------------

/** `rate: N/s`: N starts a second. */
const rate = str('a rate like 100/s', (s) => parseRate(s) !== null);
const ttl = int(1, 255, 'a TTL 1-255');
/** Load keys every verb takes (docs/SCENARIO.md "Load"). */
const load = {
  interval: opt(duration),
  rate: opt(rate),
  duration: opt(positiveDuration),
};

/** count or duration, interval or rate: one of each at most. */
function loadCheck(m: MapVal, path: string, report: Parameters<NonNullable<ObjectSchema['check']>>[2]): void {
  for (const [a, b] of [
    ['count', 'duration'],
    ['interval', 'rate'],
  ] as const) {
    const e = entry(m, b);
    if (e && get(m, a)) report(e.keyPos, `${path}.${b}`, `an entry takes ${a} or ${b}, not both`);
  }
  // The virtual-time bound holds for the entry's end too (values.ts), not only for each duration in it.
  const d = (key: string, dflt: number): number => {
    const v = get(m, key);
    return v?.kind === 'scalar' && v.value !== null ? (parseDuration(v.value) ?? 0) : dflt;
  };
  const n = get(m, 'count');
  const count = n?.kind === 'scalar' && typeof n.value === 'number' ? n.value : 1;
  const kind = get(m, 'ping') ? 'ping' : get(m, 'tcp') ? 'tcp' : 'udp';
  const span = Math.max(d('duration', 0), count * d('interval', kind === 'ping' ? 1e9 : 0), d('timeout', 0));
  const past = pastVirtualBound(kind, d('at', 0), span);
  if (past !== null) report(m.pos, path, past);
}

const from = oneOrList(nodeRef);

const trafficSchema = byKey('a traffic entry', {
  ping: obj(
    'a ping entry',
    {
      at: opt(duration),
      from: req(from),
      ping: req(target),
      count: opt(int(1, 1_000_000_000, 'a count 1-1000000000')),
      ...load,
      size: opt(int(0, 65507, 'a payload size 0-65507')),
      ttl: opt(ttl),
    },
    loadCheck,
  ),
  tcp: obj(
    'a tcp entry',
    {
      at: opt(duration),
      from: req(from),
      tcp: req(hostPort),
      send: opt(payload),
      expect: opt(size),
      requests: opt(int(1, 1_000_000_000, 'a number of requests 1-1000000000')),
      sport: opt(port),
      bind: opt(ipv4),
      timeout: opt(positiveDuration),
      count: opt(int(1, 1_000_000_000, 'a count 1-1000000000')),
      ...load,
      ttl: opt(ttl),
    },
    (m, path, report) => {
      loadCheck(m, path, report);
      const n = get(m, 'count');
      const sp = entry(m, 'sport');
      if (sp && (get(m, 'duration') || (n?.kind === 'scalar' && n.value !== 1))) {
        report(sp.keyPos, `${path}.sport`, 'sport with more than one connection: each connection needs its own port (EADDRINUSE); leave sport out');
      }
    },
  ),
  udp: obj(
    'a udp entry',
    {
      at: opt(duration),
      from: req(from),
      udp: req(hostPort),
      send: opt(payload),
      sport: opt(port),
      bind: opt(ipv4),
      timeout: opt(positiveDuration),
      count: opt(int(1, 1_000_000_000, 'a count 1-1000000000')),
      ...load,
      flows: opt(int(1, 28232, 'a number of flows 1-28232 (sockets, each its own ephemeral port)')),
      ttl: opt(ttl),
    },
    (m, path, report) => {
      loadCheck(m, path, report);
      const sp = entry(m, 'sport');
      const f = get(m, 'flows');
      if (sp && f?.kind === 'scalar' && f.value !== 1) report(sp.keyPos, `${path}.sport`, 'sport with flows: each flow is its own socket and port; leave sport out');
    },
  ),
});

// ---- the file ------------------------------------------------------------------------------------------

export const scenarioSchema: Schema = obj('a scenario', {
  version: req(custom(['number', 'string'], 'version 1 (the only format version)', (v) => v === 1)),
  name: opt(str('a scenario name (letters, digits, ".", "-", "_"; not starting with ".")', isScenarioName)),
  seed: opt(int(0, 0xffffffff, 'a seed 0-4294967295')),
  wires: opt(mapOf('a mapping of wire names to wires', wireNameProblem, obj('a wire', impairments, impairmentCheck))),
  hosts: req(mapOf('a mapping of host names to hosts', nodeNameProblem, hostSchema)),
  traffic: opt(listOf('a list of traffic entries', trafficSchema)),
  capture: opt(
    obj('a capture selection', {
      lo: opt(bool()),
      interfaces: opt(listOf('a list of interface globs like dh.eth0 or "*.eth0"', str('an interface glob like dh.eth0 or "*.eth0" (letters, digits, ".", "-", "_", "*", "?")', isCaptureGlob))),
    }),
  ),
});
