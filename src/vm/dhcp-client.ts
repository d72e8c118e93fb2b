// A Linux guest's DHCP client, as ISC dhclient 4.4 (Debian/Ubuntu's `dhclient eth0`) puts it on the
// wire. It has no address yet, so like dhclient's LPF socket it writes whole frames through the
// device and reads them from a packet tap on it (the device's taps are exactly where a packet socket
// sits), while the kernel stack drops the unicast OFFER/ACK not addressed to one of its addresses.
//
//   DISCOVER  00:…(client) > ff:ff:ff:ff:ff:ff, IP tos 0x10 (IPTOS_LOWDELAY) ttl 128 id 0, no DF
//             (common/packet.c assemble_udp_ip_header), 0.0.0.0:68 > 255.255.255.255:67, BOOTP 300
//             bytes: xid random, secs since the first DISCOVER, flags 0 (no broadcast bit: LPF receives
//             unicast), chaddr the MAC; options 53, 12 host-name (the VM name), 55 the Debian
//             dhclient.conf request list (1 28 2 3 15 6 119 12 44 47 26 121 42), end.
//   REQUEST   in SELECTING, broadcast like the DISCOVER with the same xid: 53, 54 server id, 50 the
//             offered address, 12, 55.
//   then      dhclient-script: `ip addr add ADDR/LEN broadcast B dev eth0`, `ip route add default via
//             ROUTER dev eth0` — nothing on the wire — and the guest is configured: `onBound` fires,
//             which is what lets the VM's traffic start (World/Apps hold it until then).
// Retransmission (send_discover): after initial_interval (3 s, clparse.c's default), then
// interval += random(2 * interval), capped at backoff_cutoff (15 s); an unanswered REQUEST goes back
// to DISCOVER. With no lease 60 s after starting (`timeout`, clparse.c) dhclient gives up ("No
// DHCPOFFERS received"): `onGiveUp` fires (the guest's programs then run without a network, as they
// would after boot); its retry 300 s later (retry_interval) is not emulated. Not emulated: renewals (T1/T2),
// the DHCPDECLINE after an ARP check (dhclient has none on Linux), options beyond those listed.

import type { Host } from '../stack/host.js';
import type { NetDevice, CaptureTap } from '../devices/device.js';
import type { Prng } from '../sim/prng.js';
import { Timer } from '../sim/timer.js';
import { MAC_BROADCAST, formatCidr, formatIpv4, prefixMask } from '../wire/addr.js';
import {
  BOOTREPLY,
  BOOTREQUEST,
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
  udpPayloadOf,
  type DhcpMessage,
} from './dhcp-message.js';

const SEC = 1e9;
/** clparse.c: top_level_config.initial_interval and backoff_cutoff. */
const INITIAL_INTERVAL_S = 3;
const BACKOFF_CUTOFF_S = 15;
/** clparse.c: top_level_config.timeout — how long dhclient tries before giving up. */
const GIVE_UP_S = 60;
/** Debian's /etc/dhcp/dhclient.conf `request` list as option codes. */
export const DHCLIENT_PRL = Uint8Array.of(1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42);

export interface DhcpLease {
  addr: number;
  prefixLen: number;
  router: number | null;
  dns: number | null;
  server: number;
  leaseSeconds: number;
}

type State = 'INIT' | 'SELECTING' | 'REQUESTING' | 'BOUND';

export class DhcpClient {
  state: State = 'INIT';
  lease: DhcpLease | null = null;
  onBound: ((lease: DhcpLease) => void) | null = null;
  /** No lease within 60 s: dhclient gave up. */
  onGiveUp: (() => void) | null = null;
  gaveUp = false;
  /** Messages sent and received, for tests and the summary. */
  readonly log: { dir: 'out' | 'in'; type: number }[] = [];
  private readonly dev: NetDevice;
  private readonly rng: Prng;
  private xid = 0;
  private firstSending = 0;
  private interval = INITIAL_INTERVAL_S;
  private offered: { addr: number; server: number } | null = null;
  private readonly timer: Timer;
  private readonly giveUpTimer: Timer;
  private readonly tap: CaptureTap;
  private readonly hostname: Uint8Array;

  constructor(
    readonly host: Host,
    readonly ifname: string,
    hostname: string,
  ) {
    this.dev = host.device(ifname);
    this.rng = host.rng.fork(`dhclient:${ifname}`);
    this.hostname = new TextEncoder().encode(hostname);
    this.timer = new Timer(host.engine, () => this.timeout());
    this.giveUpTimer = new Timer(host.engine, () => {
      if (this.state === 'BOUND') return;
      this.stop();
      this.state = 'INIT';
      this.gaveUp = true;
      this.onGiveUp?.();
    });
    this.tap = {
      frame: (_t, bytes, offset, length, direction) => {
        if (direction !== 'in') return;
        const u = udpPayloadOf(bytes, offset, length, DHCP_CLIENT_PORT);
        if (u === null) return;
        if (u.dstMac !== this.dev.mac && u.dstMac !== MAC_BROADCAST) return;
        // Handled after the frame's delivery, as a packet socket's reader runs later.
        host.engine.after(0, () => this.receive(u.payload));
      },
    };
  }

  /** dhclient starts: INIT → DISCOVER now. */
  start(): void {
    this.dev.taps.push(this.tap);
    this.xid = this.rng.u32();
    this.firstSending = this.host.engine.now;
    this.interval = INITIAL_INTERVAL_S;
    this.state = 'SELECTING';
    this.giveUpTimer.armAfter(GIVE_UP_S * SEC);
    this.send(DhcpType.DISCOVER);
  }

  stop(): void {
    this.timer.cancel();
    this.giveUpTimer.cancel();
    const i = this.dev.taps.indexOf(this.tap);
    if (i >= 0) this.dev.taps.splice(i, 1);
  }

  private send(type: number): void {
    const options = [u8Opt(Opt.MESSAGE_TYPE, type)];
    if (type === DhcpType.REQUEST && this.offered !== null) {
      options.push(u32Opt(Opt.SERVER_ID, this.offered.server), u32Opt(Opt.REQUESTED_IP, this.offered.addr));
    }
    options.push({ code: Opt.HOSTNAME, data: this.hostname }, { code: Opt.PARAM_REQUEST, data: DHCLIENT_PRL });
    const secs = Math.min(0xffff, Math.floor((this.host.engine.now - this.firstSending) / SEC));
    const m: DhcpMessage = {
      op: BOOTREQUEST, xid: this.xid, secs, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0,
      chaddr: this.dev.mac, options,
    };
    this.log.push({ dir: 'out', type });
    transmitUdpFrame(this.dev, {
      dstMac: MAC_BROADCAST, srcMac: this.dev.mac, src: 0, dst: 0xffffffff,
      sport: DHCP_CLIENT_PORT, dport: DHCP_SERVER_PORT, tos: 0x10, ttl: 128, id: 0, df: false,
      payload: encodeDhcp(m),
    });
    // Next retransmission: interval += random(2 * interval), capped at backoff-cutoff.
    this.timer.armAfter(this.interval * SEC);
    this.interval = Math.min(BACKOFF_CUTOFF_S, this.interval + this.rng.below(2 * this.interval + 1));
  }

  private timeout(): void {
    if (this.state === 'SELECTING') this.send(DhcpType.DISCOVER);
    else if (this.state === 'REQUESTING') {
      // No ACK: start over (dhclient goes back to INIT after its request times out).
      this.offered = null;
      this.state = 'SELECTING';
      this.send(DhcpType.DISCOVER);
    }
  }

  private receive(payload: Uint8Array): void {
    const m = decodeDhcp(payload);
    if (m === null || m.op !== BOOTREPLY || m.xid !== this.xid || m.chaddr !== this.dev.mac) return;
    const type = messageType(m);
    if (type === null) return;
    this.log.push({ dir: 'in', type });
    const server = optionU32(m, Opt.SERVER_ID);
    if (type === DhcpType.OFFER && this.state === 'SELECTING') {
      if (server === null || m.yiaddr === 0) return;
      this.offered = { addr: m.yiaddr, server };
      this.state = 'REQUESTING';
      this.interval = INITIAL_INTERVAL_S;
      this.send(DhcpType.REQUEST);
      return;
    }
    if (this.state !== 'REQUESTING' || this.offered === null || server !== this.offered.server) return;
    if (type === DhcpType.NAK) {
      this.offered = null;
      this.state = 'SELECTING';
      this.xid = this.rng.u32();
      this.send(DhcpType.DISCOVER);
      return;
    }
    if (type !== DhcpType.ACK || m.yiaddr !== this.offered.addr) return;
    this.timer.cancel();
    const mask = optionU32(m, Opt.SUBNET_MASK);
    const prefixLen = mask === null ? 24 : 32 - trailingZeros(mask);
    this.lease = {
      addr: m.yiaddr,
      prefixLen,
      router: optionU32(m, Opt.ROUTER),
      dns: optionU32(m, Opt.DNS),
      server,
      leaseSeconds: optionU32(m, Opt.LEASE_TIME) ?? 0,
    };
    this.state = 'BOUND';
    this.configure(this.lease);
    this.stop();
    this.onBound?.(this.lease);
  }

  /** dhclient-script BOUND: address, then the default route. */
  private configure(l: DhcpLease): void {
    this.host.addAddress(this.ifname, formatCidr(l.addr, l.prefixLen));
    if (l.router !== null && ((l.router & prefixMask(l.prefixLen)) >>> 0) === ((l.addr & prefixMask(l.prefixLen)) >>> 0)) {
      this.host.addRoute({ to: 'default', via: formatIpv4(l.router), dev: this.ifname });
    }
  }
}

/** Prefix length of a contiguous netmask: 32 minus its trailing zero bits. */
function trailingZeros(mask: number): number {
  let m = mask >>> 0;
  let n = 0;
  while (n < 32 && (m & 1) === 0) {
    m >>>= 1;
    n++;
  }
  return n;
}
