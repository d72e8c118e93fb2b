// A DHCP server on one interface of a namespace (RFC 2131): libvirt's dnsmasq on virbr0, VirtualBox's
// host-only DHCP server (192.168.56.100 on vboxnet0), or a LAN's server in front of bridged VMs.
//
// Leases: a client whose MAC is in the plan's `hosts` (dnsmasq dhcp-host) gets that address — the
// planner reserved one per planned client so that traffic can name the VM; otherwise its previous
// lease, else the address it asks for (option 50) when free, else the first free address of the range.
// dnsmasq pings a dynamic address before offering it; fixed leases are not pinged, and every planned
// VM has one, so no ping appears.
//
// Where the reply goes (RFC 2131 4.1): NAK broadcast; to ciaddr when the client has one; broadcast
// when the client set the BROADCAST flag; else unicast to yiaddr at chaddr — dnsmasq writes that MAC
// into the ARP cache (SIOCSARP, a REACHABLE entry) and sends with its ordinary UDP socket, so no ARP
// precedes the OFFER/ACK. We do the same with the host's UDP socket (bound to the interface, port 67)
// and a neighbour entry.
//
// The reply (dnsmasq 2.8x): op 2, siaddr = the server ("next server"), options 53, 54 server id,
// 51 lease, 58 T1 = lease/2, 59 T2 = lease*7/8, 1 subnet mask, 28 broadcast, 3 router, 6 DNS, end;
// the BOOTP message zero-padded to 300 bytes. (Not emulated: dnsmasq's ACK, not its OFFER, also
// echoes the client's host-name as option 12 after 6 when option 55 asks for 12 — rfc2131.c
// do_options; fixtures/real/vm-nat has it; docs/VERIFY.md.) IP from dnsmasq's DHCP
// socket (dhcp.c make_fd): IP_TOS = IPTOS_CLASS_CS6 (0xc0) and IP_MTU_DISCOVER = IP_PMTUDISC_DONT, so
// no DF and the hashed per-destination id; TTL 64 — as fixtures/real/vm-nat (dnsmasq 2.90) has them.
// VirtualBox's server is not a host address (192.168.56.100): it answers from its own MAC (08:00:27 +
// 3 bytes from the seed; the real one is random too) with raw frames, always broadcast, TTL 255, id
// random, no DF, siaddr 0 — from VirtualBox's VBoxNetUDP helpers as we read them; not checked
// against a capture. Not emulated: relays (giaddr), INFORM, lease expiry during a run, renewals.

import type { Host } from '../stack/host.js';
import type { NetDevice } from '../devices/device.js';
import type { UdpSocket } from '../sockets/udp.js';
import type { DhcpServerPlan } from '../plan/plan.js';
import { Nud } from '../stack/neighbour.js';
import { L4_OFFSET } from '../wire/ipv4.js';
import { UDP } from '../wire/udp.js';
import { IpProto } from '../wire/ipv4.js';
import { fillUdpChecksum } from '../wire/checksum.js';
import { MAC_BROADCAST, parseIpv4, parseMac, prefixMask } from '../wire/addr.js';
import {
  BOOTREPLY,
  BOOTREQUEST,
  BROADCAST_FLAG,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  DhcpType,
  Opt,
  decodeDhcp,
  encodeDhcp,
  messageType,
  optionU32,
  transmitUdpFrame,
  u32Opt,
  u8Opt,
  type DhcpMessage,
} from './dhcp-message.js';

/** dnsmasq's DHCP socket: IP_TOS IPTOS_CLASS_CS6. */
const DNSMASQ_TOS = 0xc0;

interface Lease {
  ip: number;
  bound: boolean;
}

export class DhcpServer {
  readonly dev: NetDevice;
  readonly serverAddr: number;
  readonly prefixLen: number;
  /** The server is one of the host's addresses (dnsmasq): replies from its UDP socket. */
  readonly local: boolean;
  /** MAC of a server that is not the host (VirtualBox's). */
  readonly serverMac: number;
  readonly leases = new Map<number, Lease>();
  readonly log: { type: number; mac: number; ip: number }[] = [];
  private readonly fixed = new Map<number, number>();
  private readonly reserved = new Set<number>();
  private readonly declined = new Set<number>();
  private readonly sock: UdpSocket;
  private rawId: number;

  constructor(
    readonly host: Host,
    readonly plan: DhcpServerPlan,
  ) {
    this.dev = host.device(plan.ifname);
    const primary = host.fib.primaryOf(this.dev.ifindex);
    this.serverAddr = plan.serverAddr !== undefined ? parseIpv4(plan.serverAddr) : primary;
    if (this.serverAddr === 0) throw new Error(`${host.name}: DHCP server on ${plan.ifname} has no address`);
    this.local = host.isLocal(this.serverAddr);
    this.prefixLen = plan.prefixLen ?? this.prefixOf(primary);
    const rng = host.rng.fork(`dhcp-server:${plan.ifname}`);
    this.serverMac = 0x080027000000 + (rng.u32() & 0xffffff);
    this.rawId = rng.u32() & 0xffff;
    for (const h of plan.hosts ?? []) {
      const mac = parseMac(h.mac);
      const ip = parseIpv4(h.ip);
      this.fixed.set(mac, ip);
      this.reserved.add(ip);
    }
    this.reserved.add(this.serverAddr);
    if (primary !== 0) this.reserved.add(primary);
    this.sock = host.udp.bind({ port: DHCP_SERVER_PORT, device: plan.ifname, broadcast: true, reuseaddr: true }, (data) => this.receive(data));
  }

  private prefixOf(addr: number): number {
    for (const a of this.host.fib.addresses) if (a.ifindex === this.dev.ifindex && a.addr === addr) return a.len;
    return 24;
  }

  close(): void {
    this.sock.close();
  }

  private receive(data: Uint8Array): void {
    const m = decodeDhcp(data);
    if (m === null || m.op !== BOOTREQUEST) return;
    const type = messageType(m);
    switch (type) {
      case DhcpType.DISCOVER: {
        const ip = this.choose(m);
        if (ip === 0) return; // pool exhausted: dnsmasq stays silent
        this.leases.set(m.chaddr, { ip, bound: false });
        this.reply(m, DhcpType.OFFER, ip);
        return;
      }
      case DhcpType.REQUEST: {
        const sid = optionU32(m, Opt.SERVER_ID);
        if (sid !== null && sid !== this.serverAddr) {
          // The client took another server's offer.
          const l = this.leases.get(m.chaddr);
          if (l !== undefined && !l.bound) this.leases.delete(m.chaddr);
          return;
        }
        const want = optionU32(m, Opt.REQUESTED_IP) ?? m.ciaddr;
        const l = this.leases.get(m.chaddr);
        const ok = l !== undefined ? l.ip === want : this.fixed.get(m.chaddr) === want || (want !== 0 && this.free(want) && this.inRange(want) && !this.fixed.has(m.chaddr));
        if (!ok || want === 0) {
          this.reply(m, DhcpType.NAK, 0);
          return;
        }
        this.leases.set(m.chaddr, { ip: want, bound: true });
        this.reply(m, DhcpType.ACK, want);
        return;
      }
      case DhcpType.RELEASE:
        this.leases.delete(m.chaddr);
        return;
      case DhcpType.DECLINE: {
        const ip = optionU32(m, Opt.REQUESTED_IP);
        if (ip !== null) this.declined.add(ip);
        this.leases.delete(m.chaddr);
        return;
      }
      default:
        return;
    }
  }

  private inRange(ip: number): boolean {
    return ip >= parseIpv4(this.plan.rangeStart) && ip <= parseIpv4(this.plan.rangeEnd);
  }

  private free(ip: number): boolean {
    if (this.reserved.has(ip) || this.declined.has(ip)) return false;
    for (const l of this.leases.values()) if (l.ip === ip) return false;
    return true;
  }

  private choose(m: DhcpMessage): number {
    const fixed = this.fixed.get(m.chaddr);
    if (fixed !== undefined) return fixed;
    const prev = this.leases.get(m.chaddr);
    if (prev !== undefined) return prev.ip;
    const want = optionU32(m, Opt.REQUESTED_IP);
    if (want !== null && this.inRange(want) && this.free(want)) return want;
    const end = parseIpv4(this.plan.rangeEnd);
    for (let ip = parseIpv4(this.plan.rangeStart); ip <= end; ip++) if (this.free(ip)) return ip;
    return 0;
  }

  private reply(req: DhcpMessage, type: number, yiaddr: number): void {
    this.log.push({ type, mac: req.chaddr, ip: yiaddr });
    const mask = prefixMask(this.prefixLen);
    const options = [u8Opt(Opt.MESSAGE_TYPE, type), u32Opt(Opt.SERVER_ID, this.serverAddr)];
    if (type === DhcpType.NAK) {
      options.push({ code: Opt.MESSAGE, data: new TextEncoder().encode('wrong address') });
    } else {
      const lease = this.plan.leaseSeconds;
      options.push(u32Opt(Opt.LEASE_TIME, lease), u32Opt(Opt.RENEWAL_T1, Math.floor(lease / 2)), u32Opt(Opt.REBINDING_T2, Math.floor((lease * 7) / 8)));
      options.push(u32Opt(Opt.SUBNET_MASK, mask), u32Opt(Opt.BROADCAST, ((yiaddr & mask) | ~mask) >>> 0));
      if (this.plan.router !== null) options.push(u32Opt(Opt.ROUTER, parseIpv4(this.plan.router)));
      if (this.plan.dns !== null) options.push(u32Opt(Opt.DNS, parseIpv4(this.plan.dns)));
      // dnsmasq (rfc2131.c) echoes the host-name the client gave in its REQUEST as option 12 of the ACK
      // (not of the OFFER) — seen in fixtures/real/vm-nat. VirtualBox's server (serverAddr set) does not.
      const name = req.options.find((o) => o.code === Opt.HOSTNAME);
      if (type === DhcpType.ACK && name !== undefined && this.plan.serverAddr === undefined) options.push({ code: Opt.HOSTNAME, data: name.data });
    }
    const msg: DhcpMessage = {
      op: BOOTREPLY,
      xid: req.xid,
      secs: 0,
      flags: req.flags,
      ciaddr: type === DhcpType.NAK ? 0 : req.ciaddr,
      yiaddr,
      siaddr: type === DhcpType.NAK || !this.local ? 0 : this.serverAddr,
      giaddr: 0,
      chaddr: req.chaddr,
      options,
    };
    const payload = encodeDhcp(msg);
    const bcast = type === DhcpType.NAK || (req.ciaddr === 0 && (req.flags & BROADCAST_FLAG) !== 0);
    if (!this.local) {
      transmitUdpFrame(this.dev, {
        dstMac: MAC_BROADCAST, srcMac: this.serverMac, src: this.serverAddr, dst: 0xffffffff,
        sport: DHCP_SERVER_PORT, dport: DHCP_CLIENT_PORT, tos: 0, ttl: 255, id: this.nextRawId(), df: false, payload,
      });
      return;
    }
    if (bcast) {
      this.sendDnsmasq(payload, 0xffffffff);
      return;
    }
    const to = req.ciaddr !== 0 ? req.ciaddr : yiaddr;
    // dnsmasq's SIOCSARP: the client cannot answer ARP before it has the address.
    this.host.neigh.update(this.dev.ifindex, to, req.chaddr, Nud.REACHABLE, true, true);
    this.sendDnsmasq(payload, to);
  }

  /** udp_sendmsg on dnsmasq's DHCP socket (port 67, on the interface): TOS 0xc0, no DF
   *  (IP_PMTUDISC_DONT), the hashed IP id, TTL 64. */
  private sendDnsmasq(payload: Uint8Array, dst: number): void {
    const host = this.host;
    const rt = host.routeOutput(dst, this.dev.ifindex);
    if (rt === null) return;
    const pool = host.engine.pool;
    const slot = pool.alloc();
    const off = pool.base(slot) + L4_OFFSET;
    const l4len = UDP.HEADER_LEN + payload.length;
    const v = pool.view;
    v.setUint16(off + UDP.SRC_PORT, DHCP_SERVER_PORT);
    v.setUint16(off + UDP.DST_PORT, DHCP_CLIENT_PORT);
    v.setUint16(off + UDP.LENGTH, l4len);
    v.setUint16(off + UDP.CHECKSUM, 0);
    pool.bytes.set(payload, off + UDP.HEADER_LEN);
    fillUdpChecksum(pool.bytes, off, l4len, rt.src, dst >>> 0);
    const id = host.nextIpId(dst >>> 0, rt.src, IpProto.UDP);
    host.sendL4Dev(slot, l4len, { src: rt.src, dst: dst >>> 0, proto: IpProto.UDP, ttl: 64, tos: DNSMASQ_TOS, df: false, id }, this.dev.ifindex);
  }

  private nextRawId(): number {
    const id = this.rawId;
    this.rawId = (id + 1) & 0xffff;
    return id;
  }
}
