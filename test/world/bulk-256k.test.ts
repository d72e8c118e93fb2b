// bulk-256k (fixtures/real-captures/bulk-256k: run 2 at the top, runs 1 and 3 in run1/ and run3/; recorded three times on Linux 6.18 with a veth's default
// offloads): a container downloads 256 KiB through MASQUERADE. What the real captures show, and what
// the emulator's GSO super-frames (src/sockets/tcp/tso.ts, src/devices/gso.ts) reproduce of it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture, readCaptureFile, type Capture } from '../../src/capture/reader.js';
import { compilePlan } from '../../src/plan/compile.js';
import { parseScenario } from '../../src/scenario/load.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { CaptureSet } from '../../src/world/captures.js';
import { World } from '../../src/world/world.js';

const DIR = 'fixtures/real-captures/bulk-256k';
const IFACES = ['server.eth0', 'dh.eth0', 'dh.docker0', 'ct.eth0'];
const TOTAL = 256 * 1024;
const PATTERN = '0123456789abcdef';

interface Tcp { from: string; len: number; payload: number; seq: number; ack: number; win: number; flags: number }

function tcpFrames(cap: Capture): Tcp[] {
  const out: Tcp[] = [];
  for (const r of cap.records) {
    const b = r.data;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (b.length < 54 || v.getUint16(12) !== 0x0800 || b[23] !== 6) continue;
    const ihl = (b[14]! & 15) * 4;
    const t = 14 + ihl;
    const thl = (b[t + 12]! >> 4) * 4;
    out.push({
      from: [b[26], b[27], b[28], b[29]].join('.'),
      len: b.length,
      payload: v.getUint16(16) - ihl - thl,
      seq: v.getUint32(t + 4),
      ack: v.getUint32(t + 8),
      win: v.getUint16(t + 14),
      flags: b[t + 13]!,
    });
  }
  return out;
}

/** Each data frame from the server is followed by the client's ACK of exactly its end, before the next. */
function ackedOneByOne(fs: Tcp[]): boolean {
  let want = -1;
  for (const x of fs) {
    if (x.from === '192.0.2.1' && x.payload > 0) {
      if (want !== -1) return false;
      want = (x.seq + x.payload) >>> 0;
    } else if (x.from === '192.0.2.10' && x.payload === 0 && want !== -1 && x.ack === want) want = -1;
  }
  return want === -1;
}

const dataSizes = (fs: Tcp[]) => fs.filter((f) => f.payload > 0 && f.from !== '192.0.2.10' && f.from !== '172.17.0.2').map((f) => f.payload);

/** The emulator's run of the scenario: the 256 KiB reply given as a string and a client that reads
 *  until all of it arrived, then closes (the scenario's `{ size: 256KiB }` and whole-reply read). */
export function emulateBulk(offload = true): Map<string, Capture> {
  let text = readFileSync(join(DIR, 'scenario.yaml'), 'utf8')
    .replace('reply: { size: 256KiB }', `reply: "${PATTERN.repeat(TOTAL / 16)}"`)
    .replace(/traffic:[\s\S]*$/, 'traffic: []\n');
  if (!offload) text = text.replace(/(mac: "02:00:00:00:00:(01|10)")/g, '$1, offload: false');
  const plan = compilePlan(parseScenario(text, 'bulk-256k.yaml'));
  const world = World.fromPlan(plan);
  const caps = CaptureSet.memory();
  world.capture(caps, World.planCaptures(plan));
  let got = 0;
  world.engine.at(0, () => {
    world.ns('ct').tcp.connect({ dst: parseIpv4('192.0.2.1'), dport: 80 }, {
      onConnect: (c) => c.send(new TextEncoder().encode('GET /big HTTP/1.0\r\n\r\n')),
      onData: (bytes, c) => {
        got += bytes.length;
        if (got >= TOTAL) c.close();
      },
      onPeerClose: (c) => c.close(),
    });
  });
  world.run();
  expect(got).toBe(TOTAL);
  const m = new Map<string, Capture>();
  for (const n of caps.names()) m.set(n, readCapture(caps.bytes(n), n));
  return m;
}

describe('bulk-256k on the real kernel (what the fixtures show)', () => {
  // run 2 (the most common outcome) sits at the folder's top, runs 1 and 3 in run1/ and run3/
  const runs = ['run1', '.', 'run3'].map((r) => new Map(IFACES.map((i) => [i, tcpFrames(readCaptureFile(join(DIR, r, `${i}.pcap`)))])));

  it('super-frames far larger than the MTU, the same on all four interfaces (veth, NAT, bridge keep them whole)', () => {
    for (const run of runs) {
      const s = dataSizes(run.get('server.eth0')!);
      expect(s.reduce((a, b) => a + b, 0)).toBe(TOTAL);
      expect(Math.max(...s)).toBeGreaterThan(40000);
      for (const i of IFACES) expect(dataSizes(run.get(i)!), i).toEqual(s);
    }
  });

  it('runs 2 and 3 open alike (run 1 differs from the third frame): 5 and 5 segments, then half a doubled cwnd per ACK', () => {
    const s = runs.map((r) => dataSizes(r.get('server.eth0')!));
    expect(s[1]!.slice(0, 6)).toEqual([7240, 7240, 14480, 21720, 27512, 46336]);
    expect(s[2]!.slice(0, 6)).toEqual(s[1]!.slice(0, 6));
    expect(s[0]!.slice(0, 4)).toEqual([7240, 7240, 10136, 14480]);
  });

  it('one ACK per super-frame from the receiver', () => {
    for (const run of runs) {
      expect(ackedOneByOne(run.get('server.eth0')!)).toBe(true);
    }
  });
});

describe('bulk-256k in the emulator', () => {
  const emu = emulateBulk();

  it('the sender hands down GSO super-frames that stay whole on every interface, as on the real kernel', () => {
    const s = dataSizes(tcpFrames(emu.get('server.eth0')!));
    expect(s.reduce((a, b) => a + b, 0)).toBe(TOTAL);
    for (const i of IFACES) expect(dataSizes(tcpFrames(emu.get(i)!)), i).toEqual(s);
    expect(Math.max(...s)).toBeLessThanOrEqual(45 * 1448); // 64 KiB GSO limit
  });

  it('opens as the most common real run does: 7240 7240 14480 21720 (runs 2 and 3)', () => {
    const s = dataSizes(tcpFrames(emu.get('server.eth0')!));
    expect(s.slice(0, 4)).toEqual([7240, 7240, 14480, 21720]);
  });

  it('one ACK per super-frame', () => {
    // every super-frame's end is acknowledged by an ACK of its own (the opening two frames leave back
    // to back here; on the real host the first ACK is captured between them)
    const f = tcpFrames(emu.get('server.eth0')!);
    const acks = new Set(f.filter((x) => x.from === '192.0.2.10' && x.payload === 0).map((x) => x.ack));
    for (const x of f.filter((y) => y.from === '192.0.2.1' && y.payload > 0)) expect(acks.has((x.seq + x.payload) >>> 0)).toBe(true);
  });
});

describe('bulk-256k with offload: false on both hosts\' eth0', () => {
  const emu = emulateBulk(false);

  it('wire-sized segments on every interface, all 256 KiB delivered', () => {
    for (const i of IFACES) {
      const f = tcpFrames(emu.get(i)!);
      expect(Math.max(...f.map((x) => x.len)), i).toBeLessThanOrEqual(1514);
    }
    const s = tcpFrames(emu.get('server.eth0')!).filter((x) => x.from === '192.0.2.1' && x.payload > 0);
    expect(s.reduce((a, x) => a + x.payload, 0)).toBe(TOTAL);
    expect(s.filter((x) => (x.flags & 0x08) === 0).length).toBeGreaterThan(0); // cut frames: PSH on their last segment only
  });
});
