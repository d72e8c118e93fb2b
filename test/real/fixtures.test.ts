// The emulator against the real kernel, without root: every example scenario of fixtures/scenarios
// that `wirebox real` can run was recorded on Linux 6.18 into fixtures/real/<file stem>/ (see
// docs/VERIFY.md for how, and for why each known difference exists). Here the emulator runs the same
// scenario in memory and each interface must get the verdict docs/VERIFY.md's table gives: `match`, or
// exactly the listed differences — so a new difference, or a known one going away, fails.

import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareCaptures, type Difference, type FileReport } from '../../src/compare/index.js';
import { compilePlan } from '../../src/plan/compile.js';
import { emulatedSide, folderSide } from '../../src/real/verify.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { readCapture, readCaptureFile } from '../../src/capture/reader.js';
import { CaptureSet } from '../../src/world/captures.js';
import { World } from '../../src/world/world.js';
import { DhcpType, decodeDhcp, messageType } from '../../src/vm/dhcp-message.js';

const SCENARIOS = resolve('fixtures/scenarios');
const REAL = resolve('fixtures/real');

type Verdict = 'match' | string[];

/** One line per difference, frame numbers A (emulator) / B (real kernel). */
function line(d: Difference): string {
  switch (d.kind) {
    case 'field':
      return `${d.frameA}/${d.frameB} ${d.field}: ${d.a} ≠ ${d.b}`;
    case 'only-a':
      return `${d.frameA}/- only emulator: ${d.summary}`;
    case 'only-b':
      return `-/${d.frameB} only real: ${d.summary}`;
    case 'checksum':
      return `${d.side} ${d.frame} ${d.field} checksum`;
  }
}

// SO_REUSEPORT picks the listener by a hash of the 4-tuple with a per-boot random secret, over random
// ephemeral ports: which worker answers which connection differs between any two runs, real or not.
// The emulator (seed 1) and this recording agree on 4 of the 8 connections.
const REUSEPORT_WORKERS = [
  '8/8 tcp.payload: 8 bytes, byte 7 = 0x31 ≠ 8 bytes, byte 7 = 0x32',
  '28/28 tcp.payload: 8 bytes, byte 7 = 0x31 ≠ 8 bytes, byte 7 = 0x32',
  '58/58 tcp.payload: 8 bytes, byte 7 = 0x31 ≠ 8 bytes, byte 7 = 0x32',
  '78/78 tcp.payload: 8 bytes, byte 7 = 0x31 ≠ 8 bytes, byte 7 = 0x32',
];

// dhclient's xid is random (srandom of the time and the MAC's bytes): DISCOVER, OFFER, REQUEST and ACK
// differ from byte 4 of the BOOTP message on. The rest of each message is checked byte for byte below.
const VM_NAT_XID = [1, 2, 3, 4].map((n) => `${n}/${n} udp.payload: 300 bytes, byte 4 = 0xcc ≠ 300 bytes, byte 4 = 0x06`);

/** docs/VERIFY.md's table: fixture folder → interface → verdict. */
const EXPECTED: Record<string, Record<string, Verdict>> = {
  // 4 real runs: 3 matched on both interfaces; in one, three echo replies arrived after the next
  // datagram (the agent's 10 ms pacing on a loaded machine). Recorded: a matching run.
  'keepalive-load': { 'client.eth0': 'match', 'server.eth0': 'match' },
  'capture-lo': {
    'dh.docker0': 'match',
    'dh.lo': 'match',
    'dh.veth42d9f79': 'match',
    'dh.vethc0ab73f': 'match',
    'other.eth0': 'match',
    'web.eth0': 'match',
    'web.lo': 'match',
  },
  'docker-bridge-nat': { 'dh.docker0': 'match', 'dh.eth0': 'match', 'dh.veth42d9f79': 'match', 'server.eth0': 'match', 'web.eth0': 'match' },
  'docker-direct-routing': { 'dh.docker0': 'match', 'dh.eth0': 'match', 'dh.veth42d9f79': 'match', 'neighbour.eth0': 'match', 'web.eth0': 'match' },
  'docker-host-mode': { 'client.eth0': 'match', 'dh.docker0': 'match', 'dh.eth0': 'match' },
  'docker-macvlan': { 'dh.docker0': 'match', 'dh.eth0': 'match', 'laptop.eth0': 'match', 'nas.eth0': 'match' },
  'docker-none-and-container': { 'dh.docker0': 'match', 'dh.eth0': 'match', 'dh.veth42d9f79': 'match', 'server.eth0': 'match', 'web.eth0': 'match' },
  'docker-noproxy-hairpin': { 'client.eth0': 'match', 'dh.docker0': 'match', 'dh.eth0': 'match', 'dh.veth42d9f79': 'match', 'web.eth0': 'match' },
  'docker-proxy-hairpin': {
    'client.eth0': 'match',
    'dh.docker0': 'match',
    'dh.eth0': 'match',
    'dh.veth42d9f79': 'match',
    'dh.vethc0ab73f': 'match',
    'other.eth0': 'match',
    'web.eth0': 'match',
  },
  'docker-publish': { 'client.eth0': 'match', 'dh.docker0': 'match', 'dh.eth0': 'match', 'dh.veth42d9f79': 'match', 'web.eth0': 'match' },
  'docker-same-source-port': {
    'a.eth0': 'match',
    'b.eth0': 'match',
    'dh.docker0': 'match',
    'dh.eth0': 'match',
    'dh.veth329e809': 'match',
    'dh.veth9e884f4': 'match',
    'server.eth0': 'match',
  },
  'docker-two-containers': {
    'a.eth0': 'match',
    'b.eth0': 'match',
    'c.eth0': 'match',
    'dh.docker0': 'match',
    'dh.veth329e809': 'match',
    'dh.veth72fe66d': 'match',
    'dh.veth9e884f4': 'match',
  },
  'docker-user-networks': {
    'api.eth0': 'match',
    'db.eth0': 'match',
    'dh.br-105e1a044afd': 'match',
    'dh.br-99b34e86b787': 'match',
    'dh.docker0': 'match',
    'dh.veth0d1947c': 'match',
    'dh.veth42d9f79': 'match',
    'dh.veth4981b79': 'match',
    'dh.veth7f3c0ad': 'match',
    'legacy.eth0': 'match',
    'web.eth0': 'match',
  },
  'multihomed-bind': { 'desk.eth0': 'match', 'phone.wlan0': 'match', 'srv.eth0': 'match', 'srv.wlan0': 'match' },
  'relay-host-proxy': { 'app.eth0': 'match', 'dh.docker0': 'match', 'dh.eth0': 'match', 'dh.veth48de2a4': 'match', 'upstream.eth0': 'match' },
  reuseport: { 'client.eth0': REUSEPORT_WORKERS, 'web.eth0': REUSEPORT_WORKERS },
  'vm-bridged-hostonly-internal': {
    'db1.eth0': 'match',
    'db2.eth0': 'match',
    'host.br0': 'match',
    'host.eth0': 'match',
    'host.vboxnet0': 'match',
    'host.vnet0': 'match',
    'host.vnet1': 'match',
    'lab.eth0': 'match',
    'printer.eth0': 'match',
    'web.eth0': 'match',
  },
  'vm-nat': { 'kvm.eth0': 'match', 'kvm.virbr0': VM_NAT_XID, 'kvm.vnet0': VM_NAT_XID, 'server.eth0': 'match', 'vm1.eth0': VM_NAT_XID },
  'vm-user': { 'guest.eth0': 'match', 'laptop.eth0': 'match', 'server.eth0': 'match' },
};

/** Examples `wirebox real` refuses, and why (docs/VERIFY.md's "cannot run" rows). */
const CANNOT_RUN: Record<string, string> = {};

function verdictOf(f: FileReport): Verdict {
  return f.verdict === 'match' ? 'match' : f.differences.map(line);
}

describe('emulator vs recorded real-kernel captures (fixtures/real)', () => {
  it('every example scenario has a recording or a documented reason why not', () => {
    const stems = readdirSync(SCENARIOS)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort();
    expect(stems).toEqual([...Object.keys(EXPECTED), ...Object.keys(CANNOT_RUN)].sort());
    for (const stem of Object.keys(EXPECTED)) expect(existsSync(join(REAL, stem)), stem).toBe(true);
    for (const stem of Object.keys(CANNOT_RUN)) expect(existsSync(join(REAL, stem)), stem).toBe(false);
  });


  for (const [stem, expected] of Object.entries(EXPECTED)) {
    it(`${stem}: per-interface verdicts`, () => {
      const plan = compilePlan(loadScenarioFile(join(SCENARIOS, `${stem}.yaml`)));
      const report = compareCaptures(emulatedSide(plan), folderSide(join(REAL, stem), 'real kernel'), {});
      const got: Record<string, Verdict> = {};
      for (const f of report.files) got[f.key] = f.verdict === 'only-a' || f.verdict === 'only-b' ? [f.verdict] : verdictOf(f);
      expect(got).toEqual(expected);
    });
  }

  // The comparison reports a field's first differing byte only, and the random xid hides the rest of each
  // DHCP message: here every byte of them is compared with the xid (bytes 4-7) masked.
  it('vm-nat: the DHCP messages byte for byte as dhclient and dnsmasq sent them, but for the xid', () => {
    const plan = compilePlan(loadScenarioFile(join(SCENARIOS, 'vm-nat.yaml')));
    const world = World.fromPlan(plan);
    const caps = CaptureSet.memory();
    world.capture(caps, World.planCaptures(plan));
    world.run();
    const emu = dhcpPayloads(readCapture(caps.bytes('vm1.eth0'), 'vm1.eth0').records);
    const real = dhcpPayloads(readCaptureFile(join(REAL, 'vm-nat', 'vm1.eth0.pcap')).records);
    expect(emu.map((p) => messageType(decodeDhcp(p)!))).toEqual([DhcpType.DISCOVER, DhcpType.OFFER, DhcpType.REQUEST, DhcpType.ACK]);
    expect(real.map((p) => messageType(decodeDhcp(p)!))).toEqual([DhcpType.DISCOVER, DhcpType.OFFER, DhcpType.REQUEST, DhcpType.ACK]);
    for (let i = 0; i < 4; i++) expect(Buffer.from(maskXid(emu[i]!)).toString('hex'), `message ${i + 1}`).toBe(Buffer.from(maskXid(real[i]!)).toString('hex'));
    // including dnsmasq's echo of the client's host-name (option 12) at the end of the ACK
    expect(Buffer.from(decodeDhcp(emu[3]!)!.options.at(-1)!.data).toString()).toBe('vm1');
  });
});

/** UDP payloads of the DHCP frames (ports 67/68) of an Ethernet capture. */
function dhcpPayloads(records: { data: Uint8Array }[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const r of records) {
    const d = r.data;
    if (d.length < 42 || d[12] !== 0x08 || d[13] !== 0x00 || d[23] !== 17) continue;
    const u = 14 + (d[14]! & 15) * 4;
    const sport = (d[u]! << 8) | d[u + 1]!;
    if (sport !== 67 && sport !== 68) continue;
    out.push(d.subarray(u + 8, 14 + ((d[16]! << 8) | d[17]!)));
  }
  return out;
}

function maskXid(p: Uint8Array): Uint8Array {
  const c = Uint8Array.from(p);
  c.fill(0, 4, 8);
  return c;
}
