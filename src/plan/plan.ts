// The world plan: a scenario compiled down to what a Linux host would be configured with — network
// namespaces, interfaces with their MACs and addresses, bridges, veth pairs, macvlans, routes, sysctls,
// iptables rules, listening services and the traffic to run.
//
// It is plain data (JSON-serialisable) and it is the single source of truth for both back ends:
//   scenario file --(src/scenario: load + validate)--> Scenario
//   Scenario --(src/plan/compile.ts with src/docker, src/vm models)--> WorldPlan
//   WorldPlan --(src/world: the emulator)--> pcaps          (`wirebox run`)
//   WorldPlan --(src/real: namespaces, iptables-restore, tcpdump)--> pcaps   (`wirebox real`)
// Every random choice (unset MACs, Docker 28 MACs, bridge names) is made while planning, from the seed,
// so both back ends see the same values. Per-packet randomness (ISNs, ports, IP ids) is the emulator's.

export type { CidrString, Ipv4String, MacString } from '../wire/addr.js';
import type { CidrString, Ipv4String, MacString } from '../wire/addr.js';
import type { Payload } from '../wire/payload.js';
export type { Payload } from '../wire/payload.js';

export interface WorldPlan {
  /** Scenario name (the pcapng file name with --pcapng). */
  name: string;
  seed: number;
  /** L2 segments outside any host (a LAN switch, or a cable between two hosts). */
  wires: WirePlan[];
  /** One per network namespace, in creation order. */
  namespaces: NamespacePlan[];
  /** User-mode network stacks (libslirp-like) attached to one guest interface each. */
  slirps: SlirpPlan[];
  traffic: TrafficPlan[];
  /** Engine-side facts the summary prints (e.g. which Docker engine), keyed by node. */
  notes: string[];
}

export interface WirePlan {
  name: string;
  /** One-way latency in nanoseconds (0 = immediate). */
  latencyNs: number;
  /** netem on the egress of every NIC on the wire (absent: none). */
  netem?: NetemPlan;
}

/** An impaired link: netem's parameters (tc qdisc … netem), declared once in src/devices/netem.ts. */
import type { NetemConfig as NetemPlan } from '../devices/netem.js';
export type { NetemPlan };

export type NamespaceRole = 'host' | 'container' | 'vm';

export interface NamespacePlan {
  /** Namespace name; equals the node that owns it (host, container or VM name). */
  name: string;
  role: NamespaceRole;
  /**
   * Scenario nodes whose traffic and services run in this namespace: the owner, plus containers with
   * `network: host` (in their host's namespace) or `network: container:X` (in X's namespace).
   */
  nodes: string[];
  /** net.ipv4.ip_forward */
  forward: boolean;
  /** Interfaces in creation order. `lo` is always first and always present. */
  interfaces: InterfacePlan[];
  /** Non-connected routes (connected routes follow from the interface addresses, as in Linux). */
  routes: RoutePlan[];
  /** iptables tables (nat, filter) as dockerd / libvirt / the scenario's `nat` key leave them. */
  iptables: IptablesPlan;
  services: ServicePlan[];
  /** Unsolicited (gratuitous) ARP announcements to send at start: Docker 28 sends 3, a second apart. */
  announce: AnnouncePlan[];
  /** For a VM in `nat`/`bridged` mode without a fixed address: ask DHCP on this interface. */
  dhcpClient: string[];
  /** DHCP servers in this namespace (libvirt's dnsmasq on virbr0, a LAN's DHCP server). */
  dhcpServers: DhcpServerPlan[];
}

interface InterfaceCommon {
  /** Interface name inside its namespace (eth0, docker0, veth1a2b3c4, br-xxxx, virbr0, lo). */
  name: string;
  mac: MacString;
  mtu: number;
  /** false: TSO, GSO and GRO off (`ethtool -K IF tso off gso off gro off`), so GSO super-frames are
   *  cut into wire-sized segments before this device sends them. Absent: on, as Linux sets up a veth. */
  offload?: false;
  /** Addresses in the order `ip addr add` would be run; the first is the primary. */
  addrs: CidrString[];
  /** Bridge this interface is enslaved to (a bridge interface in the same namespace), if any. */
  master: string | null;
  /** Whether a capture is written for it: `<captureName>.pcap`. */
  capture: boolean;
  /** `<node>.<interface>` (the node is the namespace's owner unless said otherwise). */
  captureName: string;
  /** net.ipv4.conf.<if>.route_localnet=1 (dockerd with --userland-proxy=false, on its bridges). */
  routeLocalnet?: boolean;
  /** Bridge port hairpin mode (`ip link set IF type bridge_slave hairpin on`; dockerd with
   *  --userland-proxy=false on the host end of each container veth). */
  hairpin?: boolean;
}

export type InterfacePlan =
  | ({ kind: 'loopback' } & InterfaceCommon)
  /** A NIC plugged into a scenario wire; `netem` on its egress (its own, or its wire's). */
  | ({ kind: 'nic'; wire: string; netem?: NetemPlan } & InterfaceCommon)
  /** One end of a veth pair; the other end is named by namespace and interface name. */
  | ({ kind: 'veth'; peer: { ns: string; name: string } } & InterfaceCommon)
  /** A Linux bridge (docker0, br-…, virbr0); its ports are the interfaces whose `master` names it. */
  | ({ kind: 'bridge'; ageingNs: number } & InterfaceCommon)
  /** A macvlan sub-interface in bridge mode on a parent in another (or the same) namespace. */
  | ({ kind: 'macvlan'; parent: { ns: string; name: string }; mode: 'bridge' } & InterfaceCommon)
  /** The guest end of a user-mode (slirp) network: frames go to/come from the slirp stack. */
  | ({ kind: 'slirp-tap'; slirp: string } & InterfaceCommon);

export interface RoutePlan {
  /** "default" or a CIDR. */
  to: 'default' | CidrString;
  via: Ipv4String | null;
  dev: string | null;
  /** Preferred source address (ip route ... src). */
  src: Ipv4String | null;
}

// ---- iptables ----------------------------------------------------------------------------------

export interface IptablesPlan {
  nat: TablePlan;
  filter: TablePlan;
  /** raw table (PREROUTING, OUTPUT): Docker 28 drops direct access to published container ports here.
   *  Optional for compatibility; the compiler always sets it. Evaluated before conntrack/nat PREROUTING. */
  raw?: TablePlan;
}

export interface TablePlan {
  /** Built-in chains (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING as the table has them) first, with
   *  policies; then user chains (DOCKER, DOCKER-USER, …, policy null) in the order they were created. */
  chains: ChainPlan[];
}

export interface ChainPlan {
  name: string;
  /** ACCEPT or DROP for built-in chains; null for user chains. */
  policy: 'ACCEPT' | 'DROP' | null;
  rules: RulePlan[];
}

/** One iptables rule; every matcher is optional, `neg` flags are iptables' `!`. */
export interface RulePlan {
  in?: { name: string; neg: boolean };
  out?: { name: string; neg: boolean };
  src?: { cidr: CidrString; neg: boolean };
  dst?: { cidr: CidrString; neg: boolean };
  proto?: { name: 'tcp' | 'udp' | 'icmp'; neg: boolean };
  sport?: { port: number; neg: boolean };
  dport?: { port: number; neg: boolean };
  /** -m addrtype --src-type / --dst-type */
  addrtype?: { src?: { type: 'LOCAL'; neg: boolean }; dst?: { type: 'LOCAL'; neg: boolean } };
  /** -m conntrack --ctstate a,b */
  ctstate?: { states: CtState[]; neg: boolean };
  comment?: string;
  target: TargetPlan;
}

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'DNAT' | 'SNAT';

export type TargetPlan =
  | { kind: 'ACCEPT' }
  | { kind: 'DROP' }
  | { kind: 'RETURN' }
  | { kind: 'REJECT'; with: 'icmp-port-unreachable' | 'icmp-host-unreachable' | 'icmp-net-unreachable' | 'icmp-admin-prohibited' | 'tcp-reset' }
  | { kind: 'JUMP'; chain: string }
  | { kind: 'MASQUERADE'; toPorts: { min: number; max: number } | null }
  | { kind: 'SNAT'; to: Ipv4String; toPorts: { min: number; max: number } | null }
  | { kind: 'DNAT'; to: Ipv4String; toPort: number | null }
  | { kind: 'REDIRECT'; toPort: number | null };

// ---- services and traffic ----------------------------------------------------------------------

export interface ServicePlan {
  /** The scenario node that runs it (for the summary). */
  node: string;
  name: string;
  proto: 'tcp' | 'udp';
  port: number;
  /** "0.0.0.0" for the wildcard. */
  bind: Ipv4String;
  /** Sent in answer to each read (a string is UTF-8 encoded on the wire; see src/wire/payload.ts);
   *  null with echo. */
  reply: Payload | null;
  echo: boolean;
  reuseport: boolean;
  /** A userland relay (socat, moby's docker-proxy) to this backend: each TCP connection accepted opens
   *  one to `ip:port` and the bytes are copied both ways, half-closes passed on; each UDP client
   *  (address and port) gets a socket of its own to the backend. Absent: an ordinary service. */
  forward?: { ip: Ipv4String; port: number };
}

export type TrafficPlan = PingPlan | TcpClientPlan | UdpClientPlan;

interface TrafficCommon {
  /** Virtual start time in nanoseconds from the beginning of the run. */
  atNs: number;
  /** Scenario node that runs it, and the namespace it runs in. */
  node: string;
  ns: string;
  /** Destination address, resolved from a node name where the scenario gave one. */
  dst: Ipv4String;
  /** Load: pings / connections / datagrams, started `intervalNs` apart (generated as the run goes). */
  count: number;
  intervalNs: number;
  /** IP TTL of what it sends; null: the default (64). */
  ttl: number | null;
}

export interface PingPlan extends TrafficCommon {
  kind: 'ping';
  /** ICMP payload size in bytes (ping -s), default 56. */
  size: number;
}

export interface TcpClientPlan extends TrafficCommon {
  kind: 'tcp';
  dport: number;
  /** null: connect and close without sending. */
  send: Payload | null;
  /** Keep-alive: send and read the whole reply this many times on one connection. */
  requests: number;
  /** Reply bytes per request: the scenario's `expect`, else what the described service the connection
   *  reaches answers (src/plan/expect.ts); null: read until the peer closes or the timeout. */
  expectBytes: number | null;
  sport: number | null;
  bind: Ipv4String | null;
  timeoutNs: number;
}

export interface UdpClientPlan extends TrafficCommon {
  kind: 'udp';
  dport: number;
  send: Payload;
  /** Datagrams go round-robin over this many sockets, each its own ephemeral port. */
  flows: number;
  sport: number | null;
  bind: Ipv4String | null;
  timeoutNs: number;
}

// ---- VMs ---------------------------------------------------------------------------------------

/** A user-mode NAT (libslirp / QEMU -netdev user / slirp4netns) serving one guest interface. */
export interface SlirpPlan {
  name: string;
  /** Namespace (host) whose sockets carry the guest's connections to the outside. */
  hostNs: string;
  /** Guest namespace and its interface attached to this slirp. */
  guest: { ns: string; ifname: string };
  network: CidrString; // 10.0.2.0/24
  gateway: Ipv4String; // 10.0.2.2
  dns: Ipv4String; // 10.0.2.3
  guestAddr: Ipv4String; // 10.0.2.15 unless the scenario sets ip
  /** MAC libslirp answers with for the gateway (52:55:0a:00:02:02 for 10.0.2.2). */
  gatewayMac: MacString;
  /** hostfwd: host port -> guest port. `hostAddr`: the host address the forward listens on (hostfwd's
   *  hostaddr); absent or "0.0.0.0" means all of the host's addresses. */
  forwards: { proto: 'tcp' | 'udp'; hostPort: number; guestPort: number; hostAddr?: Ipv4String }[];
}

export interface AnnouncePlan {
  ifname: string;
  addr: Ipv4String;
  count: number;
  intervalNs: number;
  atNs: number;
}

export interface DhcpServerPlan {
  ifname: string;
  /** Pool of addresses handed out in order. */
  rangeStart: Ipv4String;
  rangeEnd: Ipv4String;
  router: Ipv4String | null;
  dns: Ipv4String | null;
  leaseSeconds: number;
  /** Prefix length of the offered addresses (option 1, subnet mask); absent: the interface's. */
  prefixLen?: number;
  /** Address the server answers from (VirtualBox's host-only DHCP server is 192.168.56.100, not the host's
   *  192.168.56.1); absent: the interface's primary address. */
  serverAddr?: Ipv4String;
  /** Fixed leases (libvirt `<host mac ip>`, dnsmasq dhcp-host): a client with this MAC gets this address.
   *  The planner reserves one for every planned DHCP client so that traffic can name the VM and port
   *  forwards can point at it. Absent: none. */
  hosts?: { mac: MacString; ip: Ipv4String }[];
}

/** When a plan's traffic should be over at the latest: each entry's start plus its timeout, or for a
 *  ping its count × interval plus ping's 10 s linger. (Used for run limits and progress.) */
export function trafficEndNs(plan: Pick<WorldPlan, 'traffic'>): number {
  let end = 0;
  for (const t of plan.traffic) {
    const last = t.atNs + (t.count - 1) * t.intervalNs;
    end = Math.max(end, t.kind === 'ping' ? last + t.intervalNs + 10e9 : last + t.timeoutNs * (t.kind === 'tcp' ? t.requests : 1));
  }
  return end;
}
