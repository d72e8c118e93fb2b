// The typed scenario: what src/scenario/load.ts returns once a file has passed the schema and the
// semantic checks of docs/SCENARIO.md. Everything here is plain data (JSON-serialisable), every field is
// set (defaults applied: no `undefined`, "not given" is `null` or `[]`), and each element the planner may
// need to complain about carries a `where` so that a later error can still say file:line:col (see
// `ScenarioError.at(where, message)` in ./errors.ts).
//
// Conventions:
// - Lists keep the file's order (hosts, interfaces, containers — the order docker starts them in — VMs,
//   traffic). Names are kept as written.
// - Addresses are strings in canonical dotted-quad form (no leading zeros); MACs are lower-case
//   colon-separated. CIDRs are "A.B.C.D/len" as written (validated; host bits allowed where Linux allows
//   them, e.g. an interface address).
// - Durations are nanoseconds (numbers).
// - Nothing random is decided here: a MAC left out is `null`, the planner derives it from `seed`.

export type { CidrString, Ipv4String, MacString } from '../wire/addr.js';
import type { CidrString, Ipv4String, MacString } from '../wire/addr.js';
import type { Payload } from '../wire/payload.js';
export type { Payload } from '../wire/payload.js';

/**
 * Where something was written: 1-based line and column, and its key path. For a named element (host,
 * interface, container, VM, network, wire) that is its name key; for a list item (route, nat rule,
 * service, publish/forward entry, traffic entry) the item itself; `targetWhere` is the target's value.
 */
export interface Where {
  file: string;
  line: number;
  col: number;
  /** Key path as printed in errors, e.g. "hosts.dh.interfaces.eth0" or "traffic[2]". */
  path: string;
}

export interface Scenario {
  /** File name as given to the loader (used in error messages). */
  file: string;
  version: 1;
  /** Scenario name; default: the file name without its extension. Safe as a file name. */
  name: string;
  /** Seed of every random choice. Default 1 (docs/SCENARIO.md's example uses seed: 1). */
  seed: number;
  wires: WireSpec[];
  hosts: HostSpec[];
  traffic: TrafficSpec[];
  /** Top-level `capture:` — which interfaces get a capture file. */
  capture: CaptureSpec;
  where: Where;
}

/** Top-level `capture: { interfaces: [GLOB, …] }`. An object so that more selection keys (`lo`) sit
 *  beside `interfaces`. */
export interface CaptureSpec {
  /** Globs over capture names `<node>.<interface>` (`*` any run of characters, `?` one); null (the key
   *  left out): every interface that gets a capture by default. */
  interfaces: { glob: string; where: Where }[] | null;
  /** `lo: true`: every namespace's loopback is captured too, written as `<node>.lo.pcap` only where it
   *  carried traffic. Default false. */
  lo: boolean;
}

export interface WireSpec {
  name: string;
  /** One-way latency (key `latency`, a duration) when it is the wire's only impairment: the frame
   *  arrives that much later; default 0 = immediate. 0 when `netem` is set (the latency is there). */
  latencyNs: number;
  /** netem on the egress of every NIC on the wire (both directions); null: a perfect wire. */
  netem: NetemSpec | null;
  where: Where;
}

/** An impaired link: netem's parameters (tc qdisc … netem), declared once in src/devices/netem.ts. */
import type { NetemConfig as NetemSpec } from '../devices/netem.js';
export type { NetemSpec };

// ---- hosts ---------------------------------------------------------------------------------------

export interface HostSpec {
  name: string;
  interfaces: InterfaceSpec[];
  routes: RouteSpec[];
  /** net.ipv4.ip_forward; default false, true when `docker` or `vms` is present. */
  forward: boolean;
  nat: NatRuleSpec[];
  services: ServiceSpec[];
  docker: DockerSpec | null;
  vms: VmSpec[];
  where: Where;
}

export interface InterfaceSpec {
  name: string;
  wire: string;
  /** Addresses with prefix length, in the order given (`ip` may be one string or a list); may be empty. */
  ip: CidrString[];
  /** null: the planner derives one from the seed. */
  mac: MacString | null;
  /** Default 1500. */
  mtu: number;
  /** netem on this interface's egress; null: none. */
  netem: NetemSpec | null;
  /** TSO/GSO (and GRO) on, as Linux sets up a veth; false: `ethtool -K IF tso off gso off gro off`. */
  offload: boolean;
  where: Where;
}

export interface RouteSpec {
  /** "default" or a network CIDR (host bits zero, as `ip route` requires). */
  to: 'default' | CidrString;
  via: Ipv4String | null;
  /** Interface name on this host; at least one of `via` and `dev` is set. */
  dev: string | null;
  where: Where;
}

export type NatRuleSpec = MasqueradeSpec | SnatSpec | DnatSpec;

export interface MasqueradeSpec {
  kind: 'masquerade';
  /** -o ifname; null = any. */
  out: string | null;
  /** -s CIDR (network address, as iptables stores it); null = any. */
  source: CidrString | null;
  where: Where;
}

export interface SnatSpec {
  kind: 'snat';
  out: string | null;
  source: CidrString | null;
  to: Ipv4String;
  where: Where;
}

export interface DnatSpec {
  kind: 'dnat';
  /** -i ifname; null = any. */
  in: string | null;
  proto: 'tcp' | 'udp';
  port: number;
  /** `to: "IP:PORT"` (or just "IP": the port is kept). */
  to: { ip: Ipv4String; port: number | null };
  where: Where;
}

// ---- services ------------------------------------------------------------------------------------

export interface ServiceSpec {
  /** Default "<proto>/<port>", e.g. "tcp/80". */
  name: string;
  proto: 'tcp' | 'udp';
  port: number;
  /** Default "0.0.0.0" (the wildcard). */
  bind: Ipv4String;
  /** Exactly one of `reply` and `echo` is given: reply is null when echo is true. */
  reply: Payload | null;
  echo: boolean;
  reuseport: boolean;
  /** `forward: "IP:PORT"`: a userland relay (socat, docker-proxy) to this backend instead of an answer;
   *  reply is null and echo false then. */
  forward: { ip: Ipv4String; port: number } | null;
  where: Where;
}

// ---- docker --------------------------------------------------------------------------------------

export interface DockerSpec {
  /** Default 28. */
  engine: 27 | 28 | 29;
  /** `userland-proxy` (dockerd --userland-proxy): docker-proxy per published port (default true), or
   *  dockerd's hairpin NAT set-up (false). */
  userlandProxy: boolean;
  /** User-defined networks in file order (the default `bridge` network is implicit, not listed). */
  networks: DockerNetworkSpec[];
  /** In start order (addresses are handed out in this order). */
  containers: ContainerSpec[];
  where: Where;
}

export type DockerNetworkSpec = DockerBridgeNetworkSpec | DockerMacvlanNetworkSpec;

export interface DockerBridgeNetworkSpec {
  driver: 'bridge';
  name: string;
  /** null: the next free pool subnet, as dockerd picks it. */
  subnet: CidrString | null;
  /** null: the first host address of the subnet. */
  gateway: Ipv4String | null;
  /** Linux bridge name; null: "br-" + 12 hex digits of the network id (chosen by the planner). */
  bridge: string | null;
  /** `internal: true`: no way out of the subnet and none in (no MASQUERADE, no default route). */
  internal: boolean;
  where: Where;
}

export interface DockerMacvlanNetworkSpec {
  driver: 'macvlan';
  name: string;
  /** Host interface the macvlan sub-interfaces hang off. */
  parent: string;
  subnet: CidrString;
  /** null: the first host address of the subnet (dockerd's default). */
  gateway: Ipv4String | null;
  where: Where;
}

export type ContainerNetworkSpec =
  /** The default bridge network (`network: bridge`, docker0) or a user-defined network by name. */
  | { mode: 'network'; network: string }
  /** `network: host`: the host's own namespace. */
  | { mode: 'host' }
  /** `network: none`: loopback only. */
  | { mode: 'none' }
  /** `network: "container:NAME"`: NAME's namespace (NAME is an earlier container of the same host). */
  | { mode: 'container'; container: string };

export interface ContainerSpec {
  name: string;
  /** Default `{ mode: 'network', network: 'bridge' }`, as `docker run`. */
  network: ContainerNetworkSpec;
  /** Fixed address (user-defined networks only, as dockerd); null: the next free one. */
  ip: Ipv4String | null;
  mac: MacString | null;
  publish: PublishSpec[];
  services: ServiceSpec[];
  where: Where;
}

/** `publish: "[IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]"` (docker run -p). */
export interface PublishSpec {
  /** null: all host addresses (0.0.0.0). */
  hostIp: Ipv4String | null;
  /** 0: dockerd picks the port (the first free one from 32768, ip_local_port_range's start). */
  hostPort: number;
  /** `-p A-B:PORT`: dockerd takes the first free port of the range (hostPort is A); null otherwise. */
  hostRange?: { first: number; last: number } | null;
  containerPort: number;
  proto: 'tcp' | 'udp';
  where: Where;
}

// ---- vms -----------------------------------------------------------------------------------------

export type VmMode = 'user' | 'nat' | 'bridged' | 'host-only' | 'internal';

export interface VmSpec {
  name: string;
  mode: VmMode;
  /** `bridged` only: the host interface the VM is bridged onto; null otherwise. */
  interface: string | null;
  /** `internal` only: the internal network's name; null otherwise. */
  network: string | null;
  /** Fixed address of the guest's eth0 (null: the mode's default / DHCP). */
  ip: Ipv4String | null;
  /** Prefix length when `ip` was written as A.B.C.D/len; null: the mode's network decides. */
  prefixLen: number | null;
  mac: MacString | null;
  services: ServiceSpec[];
  /** `user` (QEMU hostfwd) and `nat` (libvirt DNAT) modes; `[]` otherwise. `"[IP:]HOSTPORT:GUESTPORT[/tcp|/udp]"`. */
  forward: PublishSpec[];
  where: Where;
}

// ---- traffic -------------------------------------------------------------------------------------

/** A destination as written: an IPv4 address, or a node name the planner resolves on the path. */
export type TargetSpec = { kind: 'ip'; ip: Ipv4String } | { kind: 'node'; node: string };

export type TrafficSpec = PingSpec | TcpSpec | UdpSpec;

interface TrafficCommon {
  /** Index in the file's traffic list. */
  index: number;
  /** Start time in ns; default 0. */
  atNs: number;
  /** Node (host, container or VM) that runs it. */
  from: string;
  target: TargetSpec;
  /** Where the entry is, and where its target (the value of ping/tcp/udp) is. */
  where: Where;
  targetWhere: Where;
  /** Load: how many (pings, connections, datagrams), and the time between starts (from `interval`,
   *  `rate` or, for `duration`, count = duration / interval). Default 1 and 1 s. */
  count: number;
  intervalNs: number;
  /** `ttl`: IP TTL of what the entry sends (IP_TTL / ping -t); null: the default 64. */
  ttl: number | null;
}

export interface PingSpec extends TrafficCommon {
  kind: 'ping';
  /** ICMP payload bytes; default 56. */
  size: number;
}

export interface TcpSpec extends TrafficCommon {
  kind: 'tcp';
  port: number;
  /** null: connect and close. */
  send: Payload | null;
  /** `requests`: send/read this many times on one connection (keep-alive); default 1. */
  requests: number;
  /** `expect`: reply bytes per request; null: the described service's reply, else until the peer closes. */
  expect: number | null;
  sport: number | null;
  bind: Ipv4String | null;
  /** Default 10s. */
  timeoutNs: number;
}

export interface UdpSpec extends TrafficCommon {
  kind: 'udp';
  port: number;
  /** Default "" (an empty datagram). */
  send: Payload;
  /** `flows`: the datagrams go round-robin over this many sockets (each its own port); default 1. */
  flows: number;
  sport: number | null;
  bind: Ipv4String | null;
  /** Default 2s. */
  timeoutNs: number;
}
