// DHCP for VMs: a libvirt `nat` guest leases its planned address from dnsmasq on virbr0 and reaches a
// server through MASQUERADE only once configured; a VirtualBox host-only guest leases from
// 192.168.56.100 and reaches the host but nothing beyond; the server's RFC 2131 choices (range order,
// broadcast flag, NAK, another server's offer taken) and the client's retransmissions; tshark finds
// nothing wrong in any of the files.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/reader.js';
import { compilePlan } from '../../src/plan/compile.js';
import type { WorldPlan } from '../../src/plan/plan.js';
import { parseScenario } from '../../src/scenario/load.js';
import { decodeFrame, type DecodedFrame } from '../../src/wire/frame.js';
import { formatIpv4, formatMac, parseIpv4 } from '../../src/wire/addr.js';
import { CaptureSet } from '../../src/world/captures.js';
import { World, type RunSummary } from '../../src/world/world.js';
import { DhcpServer } from '../../src/vm/dhcp-server.js';
import { DhcpClient } from '../../src/vm/dhcp-client.js';
import {
  BOOTREQUEST,
  BROADCAST_FLAG,
  DhcpType,
  Opt,
  decodeDhcp,
  encodeDhcp,
  messageType,
  option,
  optionU32,
  transmitUdpFrame,
  u32Opt,
  u8Opt,
  type DhcpMessage,
} from '../../src/vm/dhcp-message.js';
import { run, toolAvailable } from '../capture/tools.js';

const SEC = 1e9;

function runScenario(text: string): { plan: WorldPlan; world: World; summary: RunSummary; caps: CaptureSet } {
  const plan = compilePlan(parseScenario(text, 't.yaml'));
  const world = World.fromPlan(plan);
  const caps = CaptureSet.memory();
  world.capture(caps, World.planCaptures(plan));
  return { plan, world, summary: world.run(), caps };
}

interface Rec {
  t: number;
  f: DecodedFrame;
}

function frames(caps: CaptureSet, name: string): Rec[] {
  return readCapture(caps.bytes(name), name).records.map((r) => ({ t: Number(r.timeNs), f: decodeFrame(r.data, 0, r.data.length) }));
}

function dhcpOf(f: DecodedFrame): DhcpMessage | null {
  const t = f.transport;
  if (t?.kind !== 'udp' || (t.repr.dstPort !== 67 && t.repr.dstPort !== 68)) return null;
  return decodeDhcp(t.repr.payload);
}

function ipOf(f: DecodedFrame) {
  return f.network?.kind === 'ipv4' ? f.network.repr : null;
}

function tsharkClean(caps: CaptureSet): void {
  const dir = mkdtempSync(join(tmpdir(), 'wirebox-dhcp-'));
  for (const name of caps.names()) {
    const file = join(dir, `${name}.pcap`);
    writeFileSync(file, caps.bytes(name));
    const opts = ['-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE'];
    const r = run('tshark', ['-r', file, '-q', ...opts, '-z', 'expert,error']);
    expect(r.status, r.stderr).toBe(0);
    expect(/Errors \((\d+)\)/.exec(r.stdout)?.[1] ?? '0', `${name}: ${r.stdout}`).toBe('0');
    const bad = run('tshark', ['-r', file, ...opts, '-Y', '_ws.malformed || _ws.expert.severity >= 0x00800000']);
    expect(bad.stdout.trim(), name).toBe('');
  }
}

const SCENARIO = `
version: 1
name: vm-dhcp
wires: { wan: {} }
hosts:
  server:
    interfaces:
      eth0: { wire: wan, ip: 198.51.100.1/24, mac: "52:54:00:aa:00:01" }
    services:
      - { tcp: 8000, reply: "hello" }
  vh:
    interfaces:
      eth0: { wire: wan, ip: 198.51.100.10/24, mac: "52:54:00:aa:00:10" }
    routes: [ { to: default, via: 198.51.100.1 } ]
    vms:
      vg: { mode: nat }
      vo: { mode: host-only, services: [ { tcp: 7000, reply: "svc-7000" } ] }
traffic:
  - { at: 0ms, from: vg, tcp: "198.51.100.1:8000", send: "hi" }
  - { at: 0ms, from: vo, ping: 192.168.56.1 }
  - { at: 100ms, from: vo, tcp: "198.51.100.1:8000", send: "x", timeout: 2s }
  - { at: 3s, from: vh, tcp: "vo:7000", send: "x" }
`;

describe('DHCP in the VM modes', () => {
  const { plan, summary, caps } = runScenario(SCENARIO);
  const vh = plan.namespaces.find((n) => n.name === 'vh')!;
  const virbr0 = vh.dhcpServers.find((d) => d.ifname === 'virbr0')!;
  const vgMac = plan.namespaces.find((n) => n.name === 'vg')!.interfaces.find((i) => i.name === 'eth0')!.mac;

  it('nat: DISCOVER, OFFER, REQUEST, ACK on vg.eth0 as dhclient and dnsmasq put them there', () => {
    const vg = frames(caps, 'vg.eth0');
    const dh = vg.map((r) => ({ r, m: dhcpOf(r.f) })).filter((x) => x.m !== null);
    expect(dh.map((x) => messageType(x.m!))).toEqual([DhcpType.DISCOVER, DhcpType.OFFER, DhcpType.REQUEST, DhcpType.ACK]);
    const [disc, offer, req, ack] = dh;
    // dhclient: raw frames from 0.0.0.0:68 to the broadcast, TOS 0x10, TTL 128, id 0, 300-byte BOOTP.
    for (const x of [disc!, req!]) {
      const ip = ipOf(x.r.f)!;
      expect([formatIpv4(ip.src), formatIpv4(ip.dst), ip.tos, ip.ttl, ip.id, ip.df]).toEqual(['0.0.0.0', '255.255.255.255', 0x10, 128, 0, false]);
      expect(x.r.f.ethernet.kind === 'ethernet' && formatMac(x.r.f.ethernet.repr.src)).toBe(vgMac);
      expect(x.r.f.length).toBe(342);
      expect(x.m!.chaddr).toBe(Number.parseInt(vgMac.replace(/:/g, ''), 16));
      expect(x.m!.flags).toBe(0);
    }
    expect(req!.m!.xid).toBe(disc!.m!.xid);
    expect(optionU32(req!.m!, Opt.REQUESTED_IP)).toBe(parseIpv4(virbr0.hosts![0]!.ip));
    expect(optionU32(req!.m!, Opt.SERVER_ID)).toBe(parseIpv4('192.168.122.1'));
    // dnsmasq: unicast to the offered address at the client's MAC (no ARP before it), with the options.
    for (const x of [offer!, ack!]) {
      const ip = ipOf(x.r.f)!;
      expect(formatIpv4(ip.src)).toBe('192.168.122.1');
      expect(formatIpv4(ip.dst)).toBe(virbr0.hosts![0]!.ip);
      expect(x.r.f.ethernet.kind === 'ethernet' && formatMac(x.r.f.ethernet.repr.dst)).toBe(vgMac);
      const m = x.m!;
      expect(formatIpv4(m.yiaddr)).toBe(virbr0.hosts![0]!.ip);
      // the ACK also echoes the client's host-name, as dnsmasq does
      expect(m.options.map((o) => o.code)).toEqual(x === ack ? [53, 54, 51, 58, 59, 1, 28, 3, 6, 12] : [53, 54, 51, 58, 59, 1, 28, 3, 6]);
      expect(optionU32(m, Opt.LEASE_TIME)).toBe(3600);
      expect(formatIpv4(optionU32(m, Opt.SUBNET_MASK)!)).toBe('255.255.255.0');
      expect(formatIpv4(optionU32(m, Opt.ROUTER)!)).toBe('192.168.122.1');
      expect(formatIpv4(optionU32(m, Opt.DNS)!)).toBe('192.168.122.1');
    }
    expect(vg.slice(0, vg.indexOf(ack!.r)).some((r) => r.f.network?.kind === 'arp')).toBe(false);
  });

  it('nat: the guest’s traffic waits for its lease, then reaches the server through MASQUERADE', () => {
    expect(summary.traffic.find((t) => t.node === 'vg')?.result).toBe('ok');
    const vg = frames(caps, 'vg.eth0');
    const ackAt = vg.findIndex((r) => dhcpOf(r.f) !== null && messageType(dhcpOf(r.f)!) === DhcpType.ACK);
    const synAt = vg.findIndex((r) => r.f.transport?.kind === 'tcp');
    expect(ackAt).toBeGreaterThan(0);
    expect(synAt).toBeGreaterThan(ackAt);
    expect(formatIpv4(ipOf(vg[synAt]!.f)!.src)).toBe(virbr0.hosts![0]!.ip);
    const srv = frames(caps, 'server.eth0').filter((r) => r.f.transport?.kind === 'tcp');
    expect(srv.length).toBeGreaterThan(0);
    expect(new Set(srv.map((r) => formatIpv4(ipOf(r.f)!.src)).filter((a) => a !== '198.51.100.1'))).toEqual(new Set(['198.51.100.10']));
  });

  it('host-only: the lease comes from 192.168.56.100; the host is reachable, the world beyond is not', () => {
    const vo = frames(caps, 'vo.eth0');
    const offers = vo.filter((r) => dhcpOf(r.f) !== null && messageType(dhcpOf(r.f)!) !== DhcpType.DISCOVER && messageType(dhcpOf(r.f)!) !== DhcpType.REQUEST);
    expect(offers.map((r) => messageType(dhcpOf(r.f)!))).toEqual([DhcpType.OFFER, DhcpType.ACK]);
    for (const r of offers) {
      expect(formatIpv4(ipOf(r.f)!.src)).toBe('192.168.56.100');
      expect(formatIpv4(dhcpOf(r.f)!.yiaddr)).toBe('192.168.56.101');
      expect(option(dhcpOf(r.f)!, Opt.ROUTER)).toBeNull();
    }
    const byWhat = Object.fromEntries(summary.traffic.filter((t) => t.node !== 'vg').map((t) => [`${t.node} ${t.what}`, t.result]));
    expect(byWhat).toEqual({
      'vo ping 192.168.56.1': 'ok',
      'vo tcp 198.51.100.1:8000': 'unreachable',
      'vh tcp 192.168.56.101:7000': 'ok',
    });
    const outside = frames(caps, 'vh.eth0').filter((r) => {
      const ip = ipOf(r.f);
      return ip !== null && (ip.src >>> 8 === parseIpv4('192.168.56.0') >>> 8 || ip.dst >>> 8 === parseIpv4('192.168.56.0') >>> 8);
    });
    expect(outside).toEqual([]);
  });

  it.runIf(toolAvailable('tshark', '-v'))('tshark finds no malformed frame, bad checksum or error in any file', () => {
    tsharkClean(caps);
  });
});

// ---- the server and the client on their own ----------------------------------------------------

function lan(): { w: World; srv: DhcpServer; cli: ReturnType<World['namespace']>; caps: CaptureSet } {
  const w = new World({ seed: 7 });
  const wire = w.wire('lan');
  const s = w.namespace('s');
  const c = w.namespace('c');
  s.nic('eth0', wire, { mac: '02:00:00:00:00:01', addrs: ['192.0.2.1/24'] });
  c.nic('eth0', wire, { mac: '02:00:00:00:00:02' });
  const srv = new DhcpServer(s.host, {
    ifname: 'eth0', rangeStart: '192.0.2.100', rangeEnd: '192.0.2.102', router: '192.0.2.1', dns: null, leaseSeconds: 600,
    hosts: [{ mac: '02:00:00:00:00:99', ip: '192.0.2.100' }],
  });
  const caps = CaptureSet.memory();
  w.capture(caps, [{ ns: 'c', ifname: 'eth0', captureName: 'c.eth0' }]);
  return { w, srv, cli: c, caps };
}

function request(cli: ReturnType<World['namespace']>, type: number, mac: number, extra: DhcpMessage['options'], flags = 0, xid = 0x1234): void {
  const m: DhcpMessage = { op: BOOTREQUEST, xid, secs: 0, flags, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: mac, options: [u8Opt(Opt.MESSAGE_TYPE, type), ...extra] };
  transmitUdpFrame(cli.device('eth0'), {
    dstMac: 0xffffffffffff, srcMac: mac, src: 0, dst: 0xffffffff, sport: 68, dport: 67, tos: 0, ttl: 64, id: 0, df: false, payload: encodeDhcp(m),
  });
}

function replies(caps: CaptureSet): { dst: string; dstMac: string; m: DhcpMessage }[] {
  return frames(caps, 'c.eth0').flatMap((r) => {
    const m = dhcpOf(r.f);
    if (m === null || m.op !== 2 || r.f.ethernet.kind !== 'ethernet') return [];
    return [{ dst: formatIpv4(ipOf(r.f)!.dst), dstMac: formatMac(r.f.ethernet.repr.dst), m }];
  });
}

describe('DHCP server (RFC 2131)', () => {
  it('hands out the range in order, skipping fixed leases; honours the broadcast flag', () => {
    const { w, cli, caps } = lan();
    request(cli, DhcpType.DISCOVER, 0x020000000002, [], BROADCAST_FLAG, 1);
    w.engine.at(1e6, () => request(cli, DhcpType.DISCOVER, 0x020000000003, [], 0, 2));
    w.run(1 * SEC);
    const r = replies(caps);
    expect(r.map((x) => [messageType(x.m), formatIpv4(x.m.yiaddr), x.dst, x.dstMac])).toEqual([
      [DhcpType.OFFER, '192.0.2.101', '255.255.255.255', 'ff:ff:ff:ff:ff:ff'],
      [DhcpType.OFFER, '192.0.2.102', '192.0.2.102', '02:00:00:00:00:03'],
    ]);
    expect(r.every((x) => (x.m.flags & BROADCAST_FLAG) === (x.m.xid === 1 ? BROADCAST_FLAG : 0))).toBe(true);
  });

  it('a fixed lease goes to its MAC; a REQUEST for another address is NAKed by broadcast; another server’s offer taken is silence', () => {
    const { w, srv, cli, caps } = lan();
    const fixed = 0x020000000099;
    request(cli, DhcpType.DISCOVER, fixed, []);
    w.engine.at(1e6, () => request(cli, DhcpType.REQUEST, fixed, [u32Opt(Opt.SERVER_ID, parseIpv4('192.0.2.1')), u32Opt(Opt.REQUESTED_IP, parseIpv4('192.0.2.102'))]));
    w.engine.at(2e6, () => request(cli, DhcpType.REQUEST, fixed, [u32Opt(Opt.SERVER_ID, parseIpv4('192.0.2.254')), u32Opt(Opt.REQUESTED_IP, parseIpv4('192.0.2.100'))]));
    w.engine.at(3e6, () => request(cli, DhcpType.REQUEST, fixed, [u32Opt(Opt.SERVER_ID, parseIpv4('192.0.2.1')), u32Opt(Opt.REQUESTED_IP, parseIpv4('192.0.2.100'))]));
    w.run(1 * SEC);
    const r = replies(caps);
    expect(r.map((x) => [messageType(x.m), formatIpv4(x.m.yiaddr), x.dst])).toEqual([
      [DhcpType.OFFER, '192.0.2.100', '192.0.2.100'],
      [DhcpType.NAK, '0.0.0.0', '255.255.255.255'],
      [DhcpType.ACK, '192.0.2.100', '192.0.2.100'],
    ]);
    expect(srv.leases.get(fixed)).toEqual({ ip: parseIpv4('192.0.2.100'), bound: true });
  });
});

describe('DHCP client (ISC dhclient)', () => {
  it('binds, configures address and default route, and only then reports bound', () => {
    const { w, cli } = lan();
    const c = new DhcpClient(cli.host, 'eth0', 'c');
    let boundAt = -1;
    c.onBound = () => {
      boundAt = w.engine.now;
      expect(cli.host.routeOutput(parseIpv4('203.0.113.9'))?.nexthop).toBe(parseIpv4('192.0.2.1'));
    };
    expect(cli.host.routeOutput(parseIpv4('203.0.113.9'))).toBeNull();
    w.engine.at(0, () => c.start());
    w.run(5 * SEC);
    expect(boundAt).toBe(0);
    expect(c.lease?.addr).toBe(parseIpv4('192.0.2.101'));
    expect(c.lease?.prefixLen).toBe(24);
    expect(cli.host.isLocal(parseIpv4('192.0.2.101'))).toBe(true);
    expect(c.log.map((l) => `${l.dir} ${l.type}`)).toEqual(['out 1', 'in 2', 'out 3', 'in 5']);
  });

  it('without a server: DISCOVER again after 3 s, growing intervals up to 15 s, secs counting up; gives up at 60 s', () => {
    const w = new World({ seed: 3 });
    const c0 = w.namespace('c');
    c0.nic('eth0', w.wire('lan'), { mac: '02:00:00:00:00:02' });
    const caps = CaptureSet.memory();
    w.capture(caps, [{ ns: 'c', ifname: 'eth0', captureName: 'c.eth0' }]);
    const c = new DhcpClient(c0.host, 'eth0', 'c');
    let gaveUpAt = -1;
    c.onGiveUp = () => {
      gaveUpAt = w.engine.now;
    };
    w.engine.at(0, () => c.start());
    w.run(200 * SEC);
    expect(gaveUpAt).toBe(60 * SEC);
    expect(c.gaveUp).toBe(true);
    const recs = readCapture(caps.bytes('c.eth0'), 'c.eth0').records;
    const times = recs.map((r) => Number(r.timeNs) / SEC);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[0]).toBeCloseTo(3, 6);
    expect(times[times.length - 1]! - times[0]!).toBeLessThan(60);
    expect(times.length).toBeGreaterThan(4);
    expect(gaps.every((g) => g >= 3 - 1e-9 && g <= 15 + 1e-9)).toBe(true);
    const secs = recs.map((r) => decodeDhcp(decodeFrame(r.data, 0, r.data.length).transport?.kind === 'udp' ? (decodeFrame(r.data, 0, r.data.length).transport as { repr: { payload: Uint8Array } }).repr.payload : new Uint8Array())!.secs);
    expect(secs[0]).toBe(0);
    expect(secs[1]).toBe(3);
    expect(new Set(recs.map((r) => messageType(decodeDhcp((decodeFrame(r.data, 0, r.data.length).transport as { repr: { payload: Uint8Array } }).repr.payload)!)))).toEqual(new Set([DhcpType.DISCOVER]));
  });
});

describe('bridged VM with a LAN DHCP server', () => {
  it('the guest on the host’s bridge leases from the LAN’s server and talks to it directly', () => {
    const text = `
version: 1
name: bridged
wires: { lan: {} }
hosts:
  router:
    interfaces:
      eth0: { wire: lan, ip: 192.0.2.1/24, mac: "02:00:00:00:00:01" }
    services:
      - { tcp: 80, reply: "router" }
  vh:
    interfaces:
      eth0: { wire: lan, ip: 192.0.2.10/24, mac: "02:00:00:00:00:10" }
    routes: [ { to: default, via: 192.0.2.1 } ]
    vms:
      vb: { mode: bridged, interface: eth0, ip: 192.0.2.50, mac: "52:54:00:00:00:50" }
traffic:
  - { at: 0ms, from: vb, tcp: "192.0.2.1:80", send: "x" }
`;
    // The scenario format has no key for a LAN's DHCP server yet: plan the VM with an address, then make
    // it a DHCP client of a server on the router's NIC, as the planner does when one is described.
    const plan = compilePlan(parseScenario(text, 't.yaml'));
    const vb = plan.namespaces.find((n) => n.name === 'vb')!;
    vb.interfaces.find((i) => i.name === 'eth0')!.addrs = [];
    vb.routes = [];
    vb.dhcpClient.push('eth0');
    plan.namespaces.find((n) => n.name === 'router')!.dhcpServers.push({
      ifname: 'eth0', rangeStart: '192.0.2.100', rangeEnd: '192.0.2.199', router: '192.0.2.1', dns: '192.0.2.1', leaseSeconds: 86400,
    });
    const world = World.fromPlan(plan);
    const caps = CaptureSet.memory();
    world.capture(caps, World.planCaptures(plan));
    const summary = world.run();
    expect(summary.traffic.map((t) => `${t.result} ${t.detail}`)).toEqual(['ok reply 6 bytes "router"']);
    const r = frames(caps, 'router.eth0');
    const dh = r.flatMap((x) => (dhcpOf(x.f) ? [messageType(dhcpOf(x.f)!)] : []));
    expect(dh).toEqual([DhcpType.DISCOVER, DhcpType.OFFER, DhcpType.REQUEST, DhcpType.ACK]);
    const syn = r.find((x) => x.f.transport?.kind === 'tcp')!;
    expect(formatIpv4(ipOf(syn.f)!.src)).toBe('192.0.2.100');
  });
});
