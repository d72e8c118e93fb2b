// The iptables rules dockerd installs, replayed call by call from moby's bridge driver so that every
// chain ends up in the order a real daemon leaves it (iptables-save of a fresh host).
//
// Engine 27 (libnetwork/drivers/bridge/setup_ip_tables_linux.go, libnetwork/iptables/iptables.go,
// libnetwork/firewall_linux.go), default daemon options (userland-proxy on, so no hairpin NAT; icc on;
// ip-masq on):
//   start:    -t nat -N DOCKER; -N DOCKER; -N DOCKER-ISOLATION-STAGE-1/2 each with `-j RETURN`;
//             FORWARD policy DROP (dockerd turned ip_forward on)
//   network:  setupIPTablesInternal: -I POSTROUTING -s SUBNET ! -o BR -j MASQUERADE;
//             -I DOCKER(nat) -i BR -j RETURN; setIcc: -I FORWARD -i BR -o BR -j ACCEPT;
//             -I FORWARD -i BR ! -o BR -j ACCEPT;
//             ProgramChain(nat): -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER,
//               -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER (once);
//             ProgramChain(filter): -I FORWARD -o BR -j DOCKER; -I FORWARD 1 -o BR -m conntrack
//               --ctstate RELATED,ESTABLISHED -j ACCEPT;
//             EnsureJumpRule(FORWARD, DOCKER-ISOLATION-STAGE-1);
//             setINC: -I STAGE-1 -i BR ! -o BR -j STAGE-2; -I STAGE-2 -o BR -j DROP;
//             arrangeUserFilterRule: -N DOCKER-USER, -A DOCKER-USER -j RETURN, EnsureJumpRule(FORWARD, DOCKER-USER)
//   port:     ChainInfo.Forward: -A DOCKER(nat) [-d HOSTIP] ! -i BR -p P --dport HP -j DNAT --to-destination CIP:CP;
//             -A DOCKER(filter) -d CIP ! -i BR -o BR -p P --dport CP -j ACCEPT;
//             -A POSTROUTING -s CIP -d CIP -p P --dport CP -j MASQUERADE
//
// Engine 28 (internal/iptabler: iptabler.go, network.go, port.go):
//   start:    -t nat -N DOCKER; -N DOCKER, DOCKER-FORWARD, DOCKER-BRIDGE, DOCKER-CT, DOCKER-ISOLATION-STAGE-1/2
//             (no RETURN rules); -A PREROUTING/-A OUTPUT jumps to nat DOCKER; EnsureJumpRule FORWARD →
//             DOCKER-FORWARD, then DOCKER-FORWARD → DOCKER-BRIDGE, STAGE-1, DOCKER-CT (each to the top, so
//             DOCKER-FORWARD reads CT, STAGE-1, BRIDGE); FORWARD policy DROP
//   network:  -I POSTROUTING -s SUBNET ! -o BR -j MASQUERADE; -I DOCKER(nat) -i BR -j RETURN;
//             -A DOCKER-FORWARD -i BR -j ACCEPT; -A DOCKER ! -i BR -o BR -j DROP;
//             -A DOCKER-CT -o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT; -A DOCKER-BRIDGE -o BR -j DOCKER;
//             setINC: -A STAGE-1 -i BR ! -o BR -j STAGE-2; -I STAGE-2 -o BR -j DROP; DOCKER-USER as in 27
//   endpoint: -t raw -A PREROUTING -d CIP/32 ! -i BR -j DROP (direct-routing protection, one rule per container
//             since moby#49829 in 28.2; 28.0/28.1 had one per published port)
//   port:     (host IP on loopback: -t raw -A PREROUTING -d HOSTIP ! -i lo -p P --dport HP -j DROP);
//             -A DOCKER(nat) [-d HOSTIP] ! -i BR -p P --dport HP -j DNAT --to-destination CIP:CP;
//             -I DOCKER(filter) -d CIP ! -i BR -o BR -p P --dport CP -j ACCEPT (above the network's DROP)
//             (the hairpin MASQUERADE is only added with userland-proxy off, not by default)

//
// Engine 29 (docker-v29.1.0: integration/network/bridge/iptablesdoc/generated/*.md, iptables firewall
// backend): as 28, but no DOCKER-ISOLATION chains (the per-network `! -i BR -o BR -j DROP` in DOCKER
// already isolates networks), a DOCKER-INTERNAL chain jumped to from DOCKER-FORWARD between DOCKER-CT
// and DOCKER-BRIDGE, and no `-i BR -j RETURN` in nat DOCKER (so a container on another network reaching
// a published port through a host address is DNATed, not handed to docker-proxy).
//
// userland-proxy false (every engine: `hairpin` below): nat OUTPUT jumps to DOCKER for loopback
// destinations too; `-I POSTROUTING -o BR -m addrtype --src-type LOCAL -j MASQUERADE` per network (the
// host's 127.0.0.1 DNATed to a container leaves with the bridge's address); no RETURN rule; DNAT without
// `! -i BR`; a per-port `-s CIP -d CIP --dport CP -j MASQUERADE` (which 27 adds in both modes); and, in
// the model (./model.ts), route_localnet on the bridge and hairpin mode on its ports.
//
// Internal networks (`internal: true`; 28: iptabler network.go setupInternalNetworkRules, 29 the same
// rules in DOCKER-INTERNAL; 27: setup_ip_tables_linux.go): `! -s SUBNET -o BR -j DROP` and
// `! -d SUBNET -i BR -j DROP` at the top of ISOLATION-STAGE-1 (27/28) or DOCKER-INTERNAL (29), icc
// `-i BR -o BR -j ACCEPT` (27 in FORWARD, 28/29 in DOCKER-FORWARD) and nothing else: no MASQUERADE, no
// DNAT, no DOCKER/DOCKER-CT/DOCKER-BRIDGE rules.

import type { Tables } from '../plan/rules.js';

export type Engine = 27 | 28 | 29;

/** Daemon options the rules depend on. */
export interface FwOptions {
  engine: Engine;
  /** --userland-proxy=false: dockerd's "hairpin mode". */
  hairpin: boolean;
}

export interface FwNetwork {
  bridge: string;
  /** Network prefix, e.g. "172.17.0.0/16". */
  subnet: string;
  internal?: boolean;
}

export interface FwPort {
  proto: 'tcp' | 'udp';
  /** null: all host addresses. */
  hostIp: string | null;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

const ISO1 = 'DOCKER-ISOLATION-STAGE-1';
const ISO2 = 'DOCKER-ISOLATION-STAGE-2';
const INTERNAL = 'DOCKER-INTERNAL';

export function daemonStart(t: Tables, o: FwOptions): void {
  const engine = o.engine;
  t.newChain('nat', 'DOCKER');
  t.newChain('filter', 'DOCKER');
  if (engine === 27) {
    t.newChain('filter', ISO1);
    t.newChain('filter', ISO2);
    t.append('filter', ISO1, '-j RETURN');
    t.append('filter', ISO2, '-j RETURN');
  } else {
    t.newChain('filter', 'DOCKER-FORWARD');
    t.newChain('filter', 'DOCKER-BRIDGE');
    t.newChain('filter', 'DOCKER-CT');
    const middle = engine === 28 ? ISO1 : INTERNAL;
    if (engine === 28) {
      t.newChain('filter', ISO1);
      t.newChain('filter', ISO2);
    } else {
      t.newChain('filter', INTERNAL);
    }
    addNatJumps(t, o.hairpin);
    t.ensureJump('filter', 'FORWARD', 'DOCKER-FORWARD');
    t.ensureJump('filter', 'DOCKER-FORWARD', 'DOCKER-BRIDGE');
    t.ensureJump('filter', 'DOCKER-FORWARD', middle);
    t.ensureJump('filter', 'DOCKER-FORWARD', 'DOCKER-CT');
  }
  // dockerd enables net.ipv4.ip_forward and, having done so, sets the FORWARD policy to DROP.
  t.policy('filter', 'FORWARD', 'DROP');
}

/** ProgramChain(nat), once: with the userland proxy, loopback destinations are left to docker-proxy. */
function addNatJumps(t: Tables, hairpin: boolean): void {
  t.append('nat', 'PREROUTING', '-m addrtype --dst-type LOCAL -j DOCKER');
  t.append('nat', 'OUTPUT', `${hairpin ? '' : '! -d 127.0.0.0/8 '}-m addrtype --dst-type LOCAL -j DOCKER`);
}

/** arrangeUserFilterRule: DOCKER-USER, jumped to first from FORWARD; 27 ends it with `-j RETURN`, 28+ leave
 *  it empty (iptablesdoc's pages from v28 on list no rule in it). */
function arrangeUserChain(t: Tables, engine: Engine): void {
  t.newChain('filter', 'DOCKER-USER');
  if (engine === 27) t.append('filter', 'DOCKER-USER', '-j RETURN');
  t.ensureJump('filter', 'FORWARD', 'DOCKER-USER');
}

/** Rules for one bridge network (docker0 or a user-defined one), as its creation leaves them. */
export function bridgeNetwork(t: Tables, o: FwOptions, n: FwNetwork): void {
  const br = n.bridge;
  const engine = o.engine;
  if (n.internal) {
    internalNetwork(t, o, n);
    arrangeUserChain(t, engine);
    return;
  }
  t.insert('nat', 'POSTROUTING', `-s ${n.subnet} ! -o ${br} -j MASQUERADE`);
  if (!o.hairpin && engine !== 29) t.insert('nat', 'DOCKER', `-i ${br} -j RETURN`);
  if (o.hairpin) t.insert('nat', 'POSTROUTING', `-o ${br} -m addrtype --src-type LOCAL -j MASQUERADE`);
  if (engine === 27) {
    t.insert('filter', 'FORWARD', `-i ${br} -o ${br} -j ACCEPT`);
    t.insert('filter', 'FORWARD', `-i ${br} ! -o ${br} -j ACCEPT`);
    addNatJumps(t, o.hairpin);
    t.insert('filter', 'FORWARD', `-o ${br} -j DOCKER`);
    t.insert('filter', 'FORWARD', `-o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, 1);
    t.ensureJump('filter', 'FORWARD', ISO1);
    t.insert('filter', ISO1, `-i ${br} ! -o ${br} -j ${ISO2}`);
    t.insert('filter', ISO2, `-o ${br} -j DROP`);
  } else {
    t.append('filter', 'DOCKER-FORWARD', `-i ${br} -j ACCEPT`);
    t.append('filter', 'DOCKER', `! -i ${br} -o ${br} -j DROP`);
    t.append('filter', 'DOCKER-CT', `-o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    t.append('filter', 'DOCKER-BRIDGE', `-o ${br} -j DOCKER`);
    if (engine === 28) {
      t.append('filter', ISO1, `-i ${br} ! -o ${br} -j ${ISO2}`);
      t.insert('filter', ISO2, `-o ${br} -j DROP`);
    }
  }
  arrangeUserChain(t, engine);
}

/** An `internal: true` network: traffic stays inside its subnet (no way out, none in). */
function internalNetwork(t: Tables, o: FwOptions, n: FwNetwork): void {
  const br = n.bridge;
  if (o.engine === 27) {
    t.insert('filter', ISO1, `-i ${br} ! -d ${n.subnet} -j DROP`);
    t.insert('filter', ISO1, `-o ${br} ! -s ${n.subnet} -j DROP`);
    t.insert('filter', 'FORWARD', `-i ${br} -o ${br} -j ACCEPT`);
    t.ensureJump('filter', 'FORWARD', ISO1);
    return;
  }
  const chain = o.engine === 28 ? ISO1 : INTERNAL;
  t.insert('filter', chain, `! -d ${n.subnet} -i ${br} -j DROP`);
  t.insert('filter', chain, `! -s ${n.subnet} -o ${br} -j DROP`);
  t.append('filter', 'DOCKER-FORWARD', `-i ${br} -o ${br} -j ACCEPT`);
}

/** Rules for a container's endpoint on bridge `n` (engine 28: drop packets routed straight to the container
 *  from anywhere but its bridge; engine 27: none). */
export function containerEndpoint(t: Tables, engine: Engine, n: FwNetwork, containerIp: string): void {
  if (engine >= 28 && !n.internal) t.append('raw', 'PREROUTING', `-d ${containerIp}/32 ! -i ${n.bridge} -j DROP`);
}

/** Rules for one published port (`docker run -p`) of a container on bridge `n`. */
export function publishPort(t: Tables, o: FwOptions, n: FwNetwork, p: FwPort): void {
  const br = n.bridge;
  const m = `-p ${p.proto} -m ${p.proto}`;
  const hostDst = p.hostIp && p.hostIp !== '0.0.0.0' ? `-d ${p.hostIp}/32 ` : '';
  // setPerPortNAT: with the proxy, a packet from the container's own bridge is left to docker-proxy.
  const dnat = `${hostDst}${o.hairpin ? '' : `! -i ${br} `}${m} --dport ${p.hostPort} -j DNAT --to-destination ${p.containerIp}:${p.containerPort}`;
  const accept = `-d ${p.containerIp}/32 ! -i ${br} -o ${br} ${m} --dport ${p.containerPort} -j ACCEPT`;
  const hairpinMasq = `-s ${p.containerIp}/32 -d ${p.containerIp}/32 ${m} --dport ${p.containerPort} -j MASQUERADE`;
  if (o.engine === 27) {
    t.append('nat', 'DOCKER', dnat);
    t.append('filter', 'DOCKER', accept);
    t.append('nat', 'POSTROUTING', hairpinMasq);
  } else {
    if (p.hostIp && p.hostIp.startsWith('127.')) {
      t.append('raw', 'PREROUTING', `-d ${p.hostIp}/32 ! -i lo ${m} --dport ${p.hostPort} -j DROP`);
    }
    if (o.hairpin) t.append('nat', 'POSTROUTING', hairpinMasq);
    t.append('nat', 'DOCKER', dnat);
    t.insert('filter', 'DOCKER', accept);
  }
}
