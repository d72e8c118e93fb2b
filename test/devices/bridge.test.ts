import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { Bridge } from '../../src/devices/bridge.js';
import { Veth } from '../../src/devices/veth.js';
import { BCAST, frame, mac, macStr, Recorder, send } from './checker.js';

// Three containers on docker0, as Docker builds them: ctN.eth0 <-veth-> vethN (port of docker0).
const BR = '02:42:c0:00:00:01';
const CT = ['', '02:42:ac:11:00:02', '02:42:ac:11:00:03', '02:42:ac:11:00:04'];
const HOSTSIDE = ['', '9a:00:00:00:00:01', '9a:00:00:00:00:02', '9a:00:00:00:00:03'];

function topology(opts: { ageingNs?: number; capture?: boolean } = {}) {
  const e = new Engine({ seed: 1 });
  const br = new Bridge(e, 'docker0', mac(BR), 1500, opts.ageingNs);
  const r = new Recorder(e).sink(br);
  if (opts.capture ?? true) r.tap(br);
  const ct: Veth[] = [];
  const port: Veth[] = [];
  for (let i = 1; i <= 3; i++) {
    const [c, p] = Veth.pair(e, { name: `ct${i}`, mac: mac(CT[i]!) }, { name: `veth${i}`, mac: mac(HOSTSIDE[i]!) });
    br.addPort(p);
    r.tap(c).sink(c).tap(p);
    ct[i] = c;
    port[i] = p;
  }
  return { e, br, r, ct, port };
}

describe('Bridge: learning and flooding', () => {
  it('floods broadcast to every other port and up to the bridge device, not back to the sender', () => {
    const { e, r, ct } = topology();
    send(e, ct[1]!, frame(BCAST, CT[1]!, 1, 0x0806));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['ct2', 'ct3', 'docker0']);
    expect(r.where(1, 'out')).toEqual(['ct1', 'veth2', 'veth3']);
    expect(r.where(1, 'in')).toEqual(['ct2', 'ct3', 'docker0', 'veth1']);
    expect(e.pool.inUse).toBe(0);
  });

  it('floods unknown unicast to the other ports; the bridge device only captures it', () => {
    const { e, r, ct } = topology();
    send(e, ct[1]!, frame(CT[2]!, CT[1]!, 1));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['ct2', 'ct3']);
    expect(r.where(1, 'in')).toEqual(['ct2', 'ct3', 'docker0', 'veth1']);
  });

  it('learns the source: the answer goes to one port only, and later frames too', () => {
    const { e, br, r, ct } = topology();
    send(e, ct[1]!, frame(BCAST, CT[1]!, 1, 0x0806)); // ct1 learned on port of veth1
    e.run();
    send(e, ct[2]!, frame(CT[1]!, CT[2]!, 2, 0x0806)); // known: to veth1 only; ct2 learned
    e.run();
    send(e, ct[1]!, frame(CT[2]!, CT[1]!, 3)); // known: to veth2 only
    e.run();
    expect(r.where(2, 'sink')).toEqual(['ct1']);
    expect(r.where(3, 'sink')).toEqual(['ct2']);
    expect(r.where(2, 'out')).toEqual(['ct2', 'veth1']);
    expect(r.ids('ct3', 'in')).toEqual([1]);
    expect(br.fdb.entries().filter((x) => !x.local).map((x) => [macStr(x.mac), x.port])).toEqual([
      [CT[1], 0],
      [CT[2], 1],
    ]);
  });

  it('filters a frame whose destination was learned on its ingress port (hairpin off)', () => {
    const { e, br, r, port } = topology();
    // Two stations behind veth1 (as if ct1 were itself a bridge): 02:..:99 speaks first.
    port[1]!.receive(e.pool.fromBytes(frame(BCAST, '02:00:00:00:00:99', 1)));
    e.run();
    port[1]!.receive(e.pool.fromBytes(frame('02:00:00:00:00:99', CT[1]!, 2)));
    e.run();
    expect(r.where(2, 'out')).toEqual([]);
    expect(r.where(2, 'sink')).toEqual([]);
    expect(r.where(2, 'in')).toEqual(['docker0', 'veth1']); // still seen by tcpdump -i docker0 (promisc pass-up)
    expect(br.fwdDrops).toBe(1);
    expect(e.pool.inUse).toBe(0);
  });

  it('follows a station that moves to another port', () => {
    const { e, r, ct, port } = topology();
    send(e, ct[1]!, frame(BCAST, CT[1]!, 1));
    e.run();
    port[3]!.receive(e.pool.fromBytes(frame(BCAST, CT[1]!, 2))); // now CT1's MAC speaks on veth3
    e.run();
    send(e, ct[2]!, frame(CT[1]!, CT[2]!, 3));
    e.run();
    expect(r.where(3, 'out')).toEqual(['ct2', 'veth3']);
  });

  it('ages entries out after ageingNs (default 300 s) and floods again', () => {
    const { e, br, r, ct } = topology();
    expect(br.fdb.ageingNs).toBe(300e9);
    send(e, ct[2]!, frame(BCAST, CT[2]!, 1));
    e.run();
    e.at(300e9 - 1, () => send(e, ct[1]!, frame(CT[2]!, CT[1]!, 2)));
    e.at(300e9, () => send(e, ct[1]!, frame(CT[2]!, CT[1]!, 3)));
    e.run();
    expect(r.where(2, 'sink')).toEqual(['ct2']); // still known 1 ns before
    expect(r.where(3, 'sink')).toEqual(['ct2', 'ct3']); // expired: flooded
    expect(br.fdb.entries().map((x) => macStr(x.mac))).toEqual([CT[1], BR, HOSTSIDE[1], HOSTSIDE[2], HOSTSIDE[3]].sort());
  });

  it('ageing 0 makes it a hub', () => {
    const { e, r, ct } = topology({ ageingNs: 0 });
    send(e, ct[2]!, frame(BCAST, CT[2]!, 1));
    e.run();
    send(e, ct[1]!, frame(CT[2]!, CT[1]!, 2));
    e.run();
    expect(r.where(2, 'sink')).toEqual(['ct2', 'ct3']);
  });

  it('learning refreshes the age', () => {
    const { e, r, ct } = topology({ ageingNs: 1000 });
    send(e, ct[2]!, frame(BCAST, CT[2]!, 1));
    e.at(900, () => send(e, ct[2]!, frame(BCAST, CT[2]!, 2)));
    e.at(1500, () => send(e, ct[1]!, frame(CT[2]!, CT[1]!, 3)));
    e.run();
    expect(r.where(3, 'sink')).toEqual(['ct2']);
  });

  it('passes frames for its own or a port\'s MAC up to the bridge device, not forwarded', () => {
    const { e, r, ct } = topology();
    send(e, ct[1]!, frame(BR, CT[1]!, 1));
    send(e, ct[1]!, frame(HOSTSIDE[2]!, CT[1]!, 2));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['docker0']);
    expect(r.where(2, 'sink')).toEqual(['docker0']);
    expect(r.where(1, 'out')).toEqual(['ct1']);
    expect(r.ids('docker0', 'in')).toEqual([1, 2]); // once each
  });

  it('multicast is flooded and passed up', () => {
    const { e, r, ct } = topology();
    send(e, ct[3]!, frame('01:00:5e:00:00:fb', CT[3]!, 1));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['ct1', 'ct2', 'docker0']);
  });

  it('drops frames with a multicast or zero source, without learning them', () => {
    const { e, br, r, port } = topology();
    port[1]!.receive(e.pool.fromBytes(frame(BCAST, '01:00:5e:00:00:01', 1)));
    port[1]!.receive(e.pool.fromBytes(frame(BCAST, '00:00:00:00:00:00', 2)));
    e.run();
    expect(r.log.filter((x) => x.dir !== 'in' || x.dev !== 'veth1')).toEqual([]);
    expect(br.fdb.size).toBe(4); // bridge + three ports, all local
    expect(br.fwdDrops).toBe(2);
  });

  it('link-local 01:80:c2:00:00:0X: STP BPDUs flood (STP off), pause dropped, others stay on the port', () => {
    const { e, r, port } = topology();
    const stack = new Recorder(e).sink(port[1]!); // the host namespace's stack behind veth1
    port[1]!.receive(e.pool.fromBytes(frame('01:80:c2:00:00:00', CT[1]!, 1, 0x0026)));
    port[1]!.receive(e.pool.fromBytes(frame('01:80:c2:00:00:01', CT[1]!, 2, 0x8808)));
    port[1]!.receive(e.pool.fromBytes(frame('01:80:c2:00:00:0e', CT[1]!, 3, 0x88cc)));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['ct2', 'ct3', 'docker0']);
    expect(r.where(2, 'sink')).toEqual([]);
    expect(r.where(3, 'sink')).toEqual([]);
    expect(stack.ids('veth1', 'sink')).toEqual([3]);
    expect(e.pool.inUse).toBe(0);
  });

  it('the bridge device transmits by FDB: flood when unknown, one port when known, never learning', () => {
    const { e, br, r, ct } = topology();
    send(e, br, frame(CT[2]!, BR, 1));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['ct1', 'ct2', 'ct3']);
    expect(r.ids('docker0', 'out')).toEqual([1]);
    expect(r.ids('docker0', 'in')).toEqual([]);
    send(e, ct[2]!, frame(BR, CT[2]!, 2));
    e.run();
    send(e, br, frame(CT[2]!, BR, 3));
    send(e, br, frame(BCAST, BR, 4));
    e.run();
    expect(r.where(3, 'sink')).toEqual(['ct2']);
    expect(r.where(4, 'sink')).toEqual(['ct1', 'ct2', 'ct3']);
    expect(br.fdb.entries().filter((x) => !x.local).map((x) => macStr(x.mac))).toEqual([CT[2]]);
  });

  it('skips ports that are down; a bridge that is down forwards nothing', () => {
    const { e, br, r, ct, port } = topology();
    port[3]!.up = false;
    send(e, ct[1]!, frame(BCAST, CT[1]!, 1));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['ct2', 'docker0']);
    expect(port[3]!.drops).toBe(0); // disabled port: not tried
    br.up = false;
    send(e, ct[1]!, frame(BCAST, CT[1]!, 2));
    e.run();
    expect(r.where(2, 'sink')).toEqual([]);
    expect(e.pool.inUse).toBe(0);
  });

  it('removing a port forgets what was learned on it', () => {
    const { e, br, r, ct, port } = topology();
    send(e, ct[2]!, frame(BCAST, CT[2]!, 1));
    e.run();
    br.removePort(port[2]!);
    expect(port[2]!.rxHandler).toBeNull();
    send(e, ct[1]!, frame(CT[2]!, CT[1]!, 2));
    e.run();
    expect(r.where(2, 'sink')).toEqual(['ct3']);
    expect(br.fdb.entries().some((x) => x.port === 1)).toBe(false);
    expect(() => br.removePort(port[2]!)).toThrow();
    br.addPort(port[2]!);
    expect(port[2]!.portNo).toBe(1); // the freed number is reused
  });

  it('each receiving stack gets its own copy of a flooded frame', () => {
    const { e, ct } = topology();
    const seen: number[] = [];
    for (const i of [2, 3]) {
      ct[i]!.sink = {
        deliver: (_d, slot) => {
          const b = e.pool.base(slot);
          seen.push(e.pool.bytes[b + 15]!);
          e.pool.bytes[b + 15] = 0x77; // a stack rewriting in place (TTL, NAT)
          e.pool.release(slot);
        },
      };
    }
    send(e, ct[1]!, frame(BCAST, CT[1]!, 1));
    e.run();
    expect(seen).toEqual([0xa5, 0xa5]);
    expect(e.pool.inUse).toBe(0);
  });
});

// ---- the real capture ------------------------------------------------------------------------

interface PcapFrame {
  tNs: number;
  bytes: Uint8Array;
}

/** Classic little-endian microsecond pcap, enough for the fixtures. */
function readPcap(path: string): PcapFrame[] {
  const b = readFileSync(path);
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect(b.readUInt32LE(20)).toBe(1); // LINKTYPE_ETHERNET
  const out: PcapFrame[] = [];
  for (let o = 24; o < b.length; ) {
    const cap = b.readUInt32LE(o + 8);
    out.push({ tNs: b.readUInt32LE(o) * 1e9 + b.readUInt32LE(o + 4) * 1e3, bytes: new Uint8Array(b.subarray(o + 16, o + 16 + cap)) });
    o += 16 + cap;
  }
  return out;
}

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const srcOf = (u: Uint8Array): string => macStr(new DataView(u.buffer, u.byteOffset).getUint16(6) * 2 ** 32 + new DataView(u.buffer, u.byteOffset).getUint32(8));

/** The Docker-bridge fixtures: which container capture files exist and the container MACs. */
const SCENARIOS: { dir: string; containers: Record<string, string> }[] = [
  { dir: 'bridge-learning', containers: { ct1: CT[1]!, ct2: CT[2]!, ct3: CT[3]! } },
  { dir: 'nat-basic', containers: { ct: CT[1]! } },
  { dir: 'publish', containers: { ct: CT[1]! } },
];

describe('Bridge against fixtures/real-captures (docker0 and the containers\' eth0)', () => {
  for (const sc of SCENARIOS) {
    it(`${sc.dir}: replaying what each sender sent gives the same frames, byte for byte, on every capture`, () => {
      const fix = new URL(`../../fixtures/real-captures/${sc.dir}/`, import.meta.url);
      const docker0 = readPcap(new URL('dh.docker0.pcap', fix).pathname);
      const e = new Engine({ seed: 1 });
      const br = new Bridge(e, 'docker0', mac(BR));
      const r = new Recorder(e).tap(br).sink(br);
      const senders = new Map<string, Bridge | Veth>([[BR, br]]);
      let n = 0;
      for (const [name, m] of Object.entries(sc.containers)) {
        const [c, port] = Veth.pair(e, { name, mac: mac(m) }, { name: `veth${n++}`, mac: mac(HOSTSIDE[n]!) });
        br.addPort(port);
        r.tap(c).sink(c);
        senders.set(m, c);
      }
      // docker0 is promiscuous under tcpdump, so its file holds every frame of the exchange: it is the
      // script. Each frame is sent at its time by the owner of its source MAC (docker0's stack: IGMP,
      // ARP, routed or NATed packets; a container's stack: the rest).
      const t0 = docker0[0]!.tNs;
      for (const f of docker0) {
        const dev = senders.get(srcOf(f.bytes));
        expect(dev, `sender of ${srcOf(f.bytes)}`).toBeDefined();
        e.at(f.tNs - t0, () => send(e, dev!, f.bytes));
      }
      e.run();
      const ours = (dev: string): string[] => r.log.filter((x) => x.dev === dev && x.dir !== 'sink').map((x) => hex(x.bytes));
      expect(ours('docker0')).toEqual(docker0.map((f) => hex(f.bytes)));
      for (const [name, m] of Object.entries(sc.containers)) {
        const theirs = readPcap(new URL(`${name}.eth0.pcap`, fix).pathname);
        expect(ours(name), name).toEqual(theirs.map((f) => hex(f.bytes)));
        // Direction: a container's own frames are outgoing, everything else incoming.
        for (const x of r.log.filter((y) => y.dev === name && y.dir !== 'sink')) expect(x.dir).toBe(x.src === m ? 'out' : 'in');
      }
      // docker0: its own frames 'out', the rest 'in'; its stack gets only frames for it (its MAC,
      // broadcast, multicast) — never unicast between containers.
      for (const x of r.log.filter((y) => y.dev === 'docker0' && y.dir !== 'sink')) expect(x.dir).toBe(x.src === BR ? 'out' : 'in');
      const forStack = docker0.filter((f) => srcOf(f.bytes) !== BR && (macStr(new DataView(f.bytes.buffer).getUint16(0) * 2 ** 32 + new DataView(f.bytes.buffer).getUint32(2)) === BR || (f.bytes[0]! & 1) === 1));
      expect(r.log.filter((x) => x.dev === 'docker0' && x.dir === 'sink').map((x) => hex(x.bytes))).toEqual(forStack.map((f) => hex(f.bytes)));
      expect(e.pool.inUse).toBe(0);
    });
  }

  it('bridge-learning: the third container sees only the IGMP report and the broadcast ARP', () => {
    const ct3 = readPcap(new URL('../../fixtures/real-captures/bridge-learning/ct3.eth0.pcap', import.meta.url).pathname);
    expect(ct3.map((f) => f.bytes[0]! & 1)).toEqual([1, 1]);
  });

  it('without a capture on docker0, the bridge device sees only what is for it', () => {
    const { e, r, ct } = topology({ capture: false });
    const tapped = new Recorder(e).tap(ct[3]!);
    send(e, ct[1]!, frame(BCAST, CT[1]!, 1, 0x0806));
    e.run();
    send(e, ct[2]!, frame(CT[1]!, CT[2]!, 2));
    e.run();
    expect(r.ids('docker0', 'sink')).toEqual([1]);
    expect(tapped.ids('ct3', 'in')).toEqual([1]);
  });
});

describe('Bridge: property against a learning-switch model', () => {
  it('random traffic among stations: who receives each frame, and no slot leaks', async () => {
    const fc = (await import('fast-check')).default;
    const STATIONS = [CT[1]!, CT[2]!, CT[3]!, '02:42:ac:11:00:09'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ from: fc.integer({ min: 0, max: 3 }), to: fc.integer({ min: -1, max: 4 }), gap: fc.integer({ min: 0, max: 200 }) }), { maxLength: 60 }),
        fc.boolean(),
        (script, captured) => {
          const { e, br, r, port } = topology({ ageingNs: 500, capture: captured });
          const p4 = port[3]!; // the 4th station sits behind veth3 too (as if ct3 bridged it)
          const where = [0, 1, 2, 2]; // station → port number
          const learned = new Map<number, { port: number; at: number }>();
          let t = 0;
          script.forEach((s, id) => {
            t += s.gap;
            e.at(t, () => {
              const dst = s.to === -1 ? BCAST : s.to === 4 ? BR : STATIONS[s.to]!;
              const f = frame(dst, STATIONS[s.from]!, id + 1);
              // A station's frame arrives on its bridge port (as from ct's eth0 a moment later).
              (s.from === 3 ? p4 : port[where[s.from]! + 1]!).receive(e.pool.fromBytes(f));
            });
          });
          // Model and check event by event: run each frame to completion before the next.
          let now = 0;
          script.forEach((s, id) => {
            now += s.gap;
            e.run(now);
            const ingress = where[s.from]!;
            const dstMac = s.to === -1 ? null : s.to === 4 ? BR : STATIONS[s.to]!;
            learned.set(mac(STATIONS[s.from]!), { port: ingress, at: now }); // learning comes before the lookup
            let expected: string[];
            if (dstMac === null) expected = ['docker0', ...[0, 1, 2].filter((p) => p !== ingress).map((p) => `veth${p + 1}`)];
            else if (dstMac === BR) expected = ['docker0'];
            else {
              const l = learned.get(mac(dstMac));
              const known = l !== undefined && now - l.at < 500;
              if (!known) expected = [0, 1, 2].filter((p) => p !== ingress).map((p) => `veth${p + 1}`);
              else expected = l.port === ingress ? [] : [`veth${l.port + 1}`];
            }
            const got = r.log.filter((x) => x.id === id + 1 && ((x.dir === 'out' && x.dev.startsWith('veth')) || (x.dir === 'sink' && x.dev === 'docker0'))).map((x) => x.dev).sort();
            expect(got, `frame ${id + 1}`).toEqual(expected.sort());
            // With a capture on docker0, every frame accepted on a port is seen there exactly once
            // (without one, nothing taps it).
            expect(r.log.filter((x) => x.id === id + 1 && x.dev === 'docker0' && x.dir === 'in').length).toBe(captured ? 1 : 0);
          });
          e.run();
          expect(e.pool.inUse).toBe(0);
          void br;
        },
      ),
      { numRuns: 150 },
    );
  });
});
