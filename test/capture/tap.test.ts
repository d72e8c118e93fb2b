// Capture as a wrapper around a device: taps on both ends of a veth pair see each frame once per end,
// at the engine's virtual time, out on the sender and in on the receiver (epb_flags in pcapng).
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/sim/engine.js';
import { Veth } from '../../src/devices/veth.js';
import { MemorySink, PcapTap, PcapWriter, PcapngTap, PcapngWriter, attachTap, detachTap, readCapture, readCaptureFile } from '../../src/capture/index.js';
import { conversation } from './frames.js';
import { run, toolAvailable } from './tools.js';

function world() {
  const engine = new Engine({ seed: 1 });
  const [a, b] = Veth.pair(engine, { name: 'veth-a', mac: 0x0242ac110002 }, { name: 'veth-b', mac: 0x0242c0000001 });
  return { engine, a, b };
}

/** Send the conversation's frames from `a`, one every 1.5 µs from t = 2 s. */
function send(engine: Engine, a: Veth): Uint8Array[] {
  const frames = conversation().map((f) => f.bytes);
  frames.forEach((bytes, i) => {
    engine.at(2e9 + i * 1500, () => a.transmit(engine.pool.fromBytes(bytes)));
  });
  engine.run();
  return frames;
}

describe('capture taps on devices', () => {
  it('a pcap tap per end records every frame once, at virtual time, byte for byte', () => {
    const { engine, a, b } = world();
    const sinkA = new MemorySink();
    const sinkB = new MemorySink();
    const wa = new PcapWriter(sinkA, { precision: 'ns' });
    const wb = new PcapWriter(sinkB, { precision: 'ns' });
    attachTap(a, new PcapTap(wa));
    attachTap(b, new PcapTap(wb));
    const frames = send(engine, a);
    wa.close();
    wb.close();
    for (const sink of [sinkA, sinkB]) {
      const c = readCapture(sink.bytes(), 'tap');
      expect(c.records.map((r) => Array.from(r.data))).toEqual(frames.map((f) => Array.from(f)));
      expect(c.records.map((r) => Number(r.timeNs))).toEqual(frames.map((_, i) => 2e9 + i * 1500));
    }
    expect(engine.pool.inUse).toBe(0); // b has no stack: it drops what it receives, nothing leaks
  });

  it('pcapng taps write each end as its own interface with the direction', () => {
    const { engine, a, b } = world();
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    const ta = PcapngTap.forInterface(w, a.name);
    const tb = PcapngTap.forInterface(w, b.name);
    attachTap(a, ta);
    attachTap(b, tb);
    const frames = send(engine, a);
    w.close();
    const c = readCapture(sink.bytes(), 'ng');
    expect(c.interfaces.map((i) => i.name)).toEqual(['veth-a', 'veth-b']);
    expect(c.records.length).toBe(frames.length * 2);
    // veth delivers to the peer in a later event at the same instant: a's "out" then b's "in"
    expect(c.records.filter((r) => r.ifIndex === 0).length).toBe(frames.length);
    expect(c.records.filter((r) => r.ifIndex === 1).length).toBe(frames.length);
    expect(detachTap(a, ta)).toBe(true);
    expect(detachTap(a, ta)).toBe(false);
  });

  it.runIf(toolAvailable('tshark'))('tshark reads the directions and interface names', () => {
    const { engine, a, b } = world();
    const file = join(mkdtempSync(join(tmpdir(), 'wirebox-tap-')), 'veth.pcapng');
    const w = PcapngWriter.create(file, { atomic: true });
    attachTap(a, PcapngTap.forInterface(w, a.name));
    attachTap(b, PcapngTap.forInterface(w, b.name));
    const frames = send(engine, a);
    w.close();
    expect(readCaptureFile(file).records.length).toBe(2 * frames.length);
    const r = run('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.packet_flags_direction']);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    for (const [name, dir] of rows) {
      expect(name === 'veth-a' ? 0x2 : 0x1).toBe(Number(dir));
    }
    expect(new Set(rows.map(([n]) => n))).toEqual(new Set(['veth-a', 'veth-b']));
  });
});
