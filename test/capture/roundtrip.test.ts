// Writer → reader round trips for pcap (µs, ns) and pcapng (several interfaces, resolutions, comments,
// directions), hand-built big-endian files for the reader, and the file behaviour of the writers
// (header at open, whole records on disk, atomic rename, abort).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  CaptureError,
  MemorySink,
  PcapWriter,
  PcapngWriter,
  readCapture,
  readCaptureFile,
  type ByteSink,
} from '../../src/capture/index.js';

const frameArb = fc.record({
  timeNs: fc.integer({ min: 0, max: 2 ** 50 }),
  data: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  lead: fc.integer({ min: 0, max: 7 }),
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'wirebox-capture-'));
}

describe('pcap writer → reader', () => {
  for (const precision of ['us', 'ns'] as const) {
    it(`keeps times (${precision}), bytes and lengths`, () => {
      fc.assert(
        fc.property(fc.array(frameArb, { maxLength: 40 }), fc.integer({ min: 64, max: 4096 }), (frames, bufferSize) => {
          const sink = new MemorySink();
          const w = new PcapWriter(sink, { precision, bufferSize });
          for (const f of frames) {
            // the frame sits at an offset inside a larger buffer, as in a pool slot
            const buf = new Uint8Array(f.lead + f.data.length + 3).fill(0xa5);
            buf.set(f.data, f.lead);
            w.record(f.timeNs, buf, f.lead, f.data.length);
          }
          w.close();
          const c = readCapture(sink.bytes(), 'mem.pcap');
          expect(c.format).toBe('pcap');
          expect(c.linkType).toBe(1);
          expect(c.tsPrecision).toBe(precision);
          expect(c.interfaces).toEqual([{ name: null, linkType: 1, tsresolNs: precision === 'ns' ? 1 : 1000 }]);
          expect(c.records.length).toBe(frames.length);
          frames.forEach((f, i) => {
            const r = c.records[i]!;
            const t = BigInt(f.timeNs);
            expect(r.timeNs).toBe(precision === 'ns' ? t : (t / 1000n) * 1000n);
            expect(Array.from(r.data)).toEqual(Array.from(f.data));
            expect(r.origLen).toBe(f.data.length);
            expect(r.ifIndex).toBe(0);
            expect(r.comment).toBeNull();
          });
        }),
        { numRuns: 60 },
      );
    });
  }

  it('writes the header fields tcpdump writes', () => {
    const sink = new MemorySink();
    new PcapWriter(sink, { precision: 'ns' });
    const b = sink.bytes();
    expect(b.length).toBe(24); // the header is out at once
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    expect(v.getUint32(0, true)).toBe(0xa1b23c4d);
    expect([v.getUint16(4, true), v.getUint16(6, true)]).toEqual([2, 4]);
    expect(v.getUint32(16, true)).toBe(262144);
    expect(v.getUint32(20, true)).toBe(1);
  });

  it('cuts frames longer than the snap length and keeps the original length', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { snaplen: 64 });
    const frame = new Uint8Array(100).map((_, i) => i);
    w.record(5_000, frame, 0, 100);
    w.close();
    const r = readCapture(sink.bytes(), 'snap').records[0]!;
    expect(r.data.length).toBe(64);
    expect(r.origLen).toBe(100);
    expect(r.data[63]).toBe(63);
  });

  it('puts virtual time 0 at startTimeSec', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { startTimeSec: 1_795_437_542, precision: 'ns' });
    w.record(1_500_000_123, new Uint8Array(14), 0, 14);
    w.close();
    expect(readCapture(sink.bytes(), 's').records[0]!.timeNs).toBe(1_795_437_543_500_000_123n);
  });

  it('refuses negative times, bad ranges and records after close with CaptureError', () => {
    const w = new PcapWriter(new MemorySink());
    expect(() => w.record(-1, new Uint8Array(14), 0, 14)).toThrow(CaptureError);
    expect(() => w.record(0, new Uint8Array(14), 4, 14)).toThrow(/outside its 14-byte buffer/);
    w.close();
    expect(() => w.record(0, new Uint8Array(14), 0, 14)).toThrow(/after close/);
  });

  it('hands the sink whole records only, never more than the buffer size at once', () => {
    const chunks: number[] = [];
    const all = new MemorySink();
    const sink: ByteSink = {
      write(c) {
        chunks.push(c.length);
        all.write(c);
      },
    };
    const w = new PcapWriter(sink, { bufferSize: 1000 });
    for (let i = 0; i < 100; i++) w.record(i * 1000, new Uint8Array(60).fill(i), 0, 60);
    // before close: what reached the sink is a valid capture of whole records
    const partial = readCapture(all.bytes().slice(), 'partial');
    expect(partial.records.length).toBeGreaterThan(0);
    expect(partial.records.length).toBeLessThan(100);
    w.close();
    expect(Math.max(...chunks)).toBeLessThanOrEqual(1000);
    expect(readCapture(all.bytes(), 'all').records.length).toBe(100);
  });
});

describe('pcapng writer → reader', () => {
  it('keeps interfaces, resolutions, times, bytes, comments', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ frame: frameArb, iface: fc.integer({ min: 0, max: 2 }), comment: fc.option(fc.string({ unit: 'grapheme', maxLength: 20 })) }), {
          maxLength: 30,
        }),
        (packets) => {
          const sink = new MemorySink();
          const w = new PcapngWriter(sink, { bufferSize: 512 });
          const names = ['eth0', 'ct1.eth0', 'dockér0'];
          const precisions = ['ns', 'us', 'ns'] as const;
          names.forEach((name, i) => expect(w.addInterface({ name, precision: precisions[i]! })).toBe(i));
          for (const p of packets) {
            const buf = new Uint8Array(p.frame.lead + p.frame.data.length);
            buf.set(p.frame.data, p.frame.lead);
            w.packet(p.iface, p.frame.timeNs, buf, p.frame.lead, p.frame.data.length, p.comment, p.iface === 1 ? 'in' : null);
          }
          w.close();
          const c = readCapture(sink.bytes(), 'mem.pcapng');
          expect(c.format).toBe('pcapng');
          expect(c.linkType).toBe(1);
          expect(c.tsPrecision).toBe('ns');
          expect(c.interfaces).toEqual([
            { name: 'eth0', linkType: 1, tsresolNs: 1 },
            { name: 'ct1.eth0', linkType: 1, tsresolNs: 1000 },
            { name: 'dockér0', linkType: 1, tsresolNs: 1 },
          ]);
          expect(c.records.length).toBe(packets.length);
          packets.forEach((p, i) => {
            const r = c.records[i]!;
            const t = BigInt(p.frame.timeNs);
            expect(r.ifIndex).toBe(p.iface);
            expect(r.timeNs).toBe(p.iface === 1 ? (t / 1000n) * 1000n : t);
            expect(Array.from(r.data)).toEqual(Array.from(p.frame.data));
            expect(r.origLen).toBe(p.frame.data.length);
            expect(r.comment).toBe(p.comment);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is microsecond precision when every interface is', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ name: 'a', precision: 'us' });
    w.close();
    expect(readCapture(sink.bytes(), 'x').tsPrecision).toBe('us');
  });

  it('pads and terminates every block and option (lengths multiple of 4, trailer = leader)', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, { application: 'abcde' });
    w.addInterface({ name: 'x' });
    w.packet(0, 1, new Uint8Array(13), 0, 13, 'odd', 'out');
    w.close();
    const b = sink.bytes();
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    const types: number[] = [];
    for (let off = 0; off < b.length; ) {
      const total = v.getUint32(off + 4, true);
      expect(total % 4).toBe(0);
      expect(v.getUint32(off + total - 4, true)).toBe(total);
      const type = v.getUint32(off, true);
      types.push(type);
      // walk the options from where this block type's fixed part ends: every value padded, and
      // opt_endofopt exactly before the trailer (no stray bytes)
      let q = off + (type === 0x0a0d0d0a ? 24 : type === 1 ? 16 : 28 + ((v.getUint32(off + 20, true) + 3) & ~3));
      for (;;) {
        const code = v.getUint16(q, true);
        const len = v.getUint16(q + 2, true);
        if (code === 0) {
          expect(len).toBe(0);
          break;
        }
        for (let i = len; i < ((len + 3) & ~3); i++) expect(b[q + 4 + i]).toBe(0);
        q += 4 + ((len + 3) & ~3);
      }
      expect(q).toBe(off + total - 8);
      off += total;
    }
    expect(types).toEqual([0x0a0d0d0a, 1, 6]);
  });

  it('refuses packets on undescribed interfaces and oversize options with CaptureError', () => {
    const w = new PcapngWriter(new MemorySink());
    expect(() => w.packet(0, 0, new Uint8Array(14), 0, 14)).toThrow(/interface 0, but 0 are described/);
    w.addInterface({ name: 'eth0' });
    expect(() => w.packet(0, 0, new Uint8Array(14), 0, 14, 'x'.repeat(70_000))).toThrow(CaptureError);
  });

  it('puts virtual time 0 at startTimeSec in both resolutions', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, { startTimeSec: 1_795_437_542 });
    w.addInterface({ name: 'n' });
    w.addInterface({ name: 'u', precision: 'us' });
    w.packet(0, 2 ** 40 + 7, new Uint8Array(14), 0, 14);
    w.packet(1, 2 ** 40 + 7, new Uint8Array(14), 0, 14);
    w.close();
    const [a, b] = readCapture(sink.bytes(), 's').records;
    expect(a!.timeNs).toBe(1_795_437_542_000_000_000n + 2n ** 40n + 7n);
    expect(b!.timeNs).toBe(1_795_437_542_000_000_000n + ((2n ** 40n + 7n) / 1000n) * 1000n);
  });
});

/** A big-endian file, assembled field by field. */
class BeBuilder {
  private parts: number[] = [];
  u8(...xs: number[]): this {
    this.parts.push(...xs);
    return this;
  }
  u16(x: number): this {
    return this.u8(x >> 8, x & 0xff);
  }
  u32(x: number): this {
    return this.u8((x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

describe('reader: big-endian and unusual files', () => {
  it('reads a big-endian microsecond pcap', () => {
    const b = new BeBuilder().u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1);
    b.u32(1000).u32(999_999).u32(3).u32(60).u8(1, 2, 3);
    b.u32(1001).u32(5).u32(0).u32(0);
    const c = readCapture(b.bytes(), 'be.pcap');
    expect(c.tsPrecision).toBe('us');
    expect(c.records.map((r) => r.timeNs)).toEqual([1000_999_999_000n, 1001_000_005_000n]);
    expect(Array.from(c.records[0]!.data)).toEqual([1, 2, 3]);
    expect(c.records[0]!.origLen).toBe(60);
  });

  it('reads a big-endian nanosecond pcap', () => {
    const b = new BeBuilder().u32(0xa1b23c4d).u16(2).u16(4).u32(0).u32(0).u32(262144).u32(1);
    b.u32(7).u32(123_456_789).u32(1).u32(1).u8(0xff);
    const c = readCapture(b.bytes(), 'be-ns.pcap');
    expect(c.tsPrecision).toBe('ns');
    expect(c.records[0]!.timeNs).toBe(7_123_456_789n);
  });

  it('reads a big-endian pcapng: two interfaces, tsresol 6 and 2^-10, tsoffset, EPB, SPB, an unknown block', () => {
    const b = new BeBuilder();
    // SHB with no options
    b.u32(0x0a0d0d0a).u32(28).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).u32(28);
    // IDB 0: Ethernet, snaplen 4, if_name "tap0", if_tsresol 6
    b.u32(1).u32(20 + 8 + 8 + 4).u16(1).u16(0).u32(4);
    b.u16(2).u16(4).u8(0x74, 0x61, 0x70, 0x30);
    b.u16(9).u16(1).u8(6, 0, 0, 0);
    b.u16(0).u16(0).u32(20 + 8 + 8 + 4);
    // IDB 1: no name, if_tsresol 2^-10, if_tsoffset 100 s
    b.u32(1).u32(20 + 8 + 12 + 4).u16(1).u16(0).u32(0);
    b.u16(9).u16(1).u8(0x80 | 10, 0, 0, 0);
    b.u16(14).u16(8).u32(0).u32(100);
    b.u16(0).u16(0).u32(20 + 8 + 12 + 4);
    // an unknown block (custom, 0x40000BAD) is skipped
    b.u32(0x40000bad).u32(16).u32(0xdeadbeef).u32(16);
    // EPB on interface 1: ts 2048 ticks of 1/1024 s = 2 s, 5 bytes (padded to 8), comment "hé"
    b.u32(6).u32(32 + 8 + 8 + 4).u32(1).u32(0).u32(2048).u32(5).u32(5).u8(1, 2, 3, 4, 5, 0, 0, 0);
    b.u16(1).u16(3).u8(0x68, 0xc3, 0xa9, 0);
    b.u16(0).u16(0).u32(32 + 8 + 8 + 4);
    // SPB: original length 6, snaplen of interface 0 is 4
    b.u32(3).u32(24).u32(6).u8(9, 8, 7, 6, 5, 4, 0, 0).u32(24);
    // EPB on interface 0: ts 1_500_000 µs
    b.u32(6).u32(32).u32(0).u32(0).u32(1_500_000).u32(0).u32(60).u32(32);
    const c = readCapture(b.bytes(), 'be.pcapng');
    expect(c.format).toBe('pcapng');
    expect(c.tsPrecision).toBe('us'); // µs and 2^-10 s (976 µs): nothing finer than a microsecond
    expect(c.interfaces).toEqual([
      { name: 'tap0', linkType: 1, tsresolNs: 1000 },
      { name: null, linkType: 1, tsresolNs: 1e9 / 1024 },
    ]);
    expect(c.records.length).toBe(3);
    expect(c.records[0]).toMatchObject({ ifIndex: 1, timeNs: 102_000_000_000n, origLen: 5, comment: 'hé' });
    expect(Array.from(c.records[0]!.data)).toEqual([1, 2, 3, 4, 5]);
    expect(c.records[1]).toMatchObject({ ifIndex: 0, timeNs: 0n, origLen: 6, comment: null });
    expect(Array.from(c.records[1]!.data)).toEqual([9, 8, 7, 6]);
    expect(c.records[2]).toMatchObject({ ifIndex: 0, timeNs: 1_500_000_000n, origLen: 60 });
  });

  it('starts interface numbering afresh in a second section', () => {
    const sink1 = new MemorySink();
    const w1 = new PcapngWriter(sink1);
    w1.addInterface({ name: 'a' });
    w1.packet(0, 1, new Uint8Array(1), 0, 1);
    w1.close();
    const sink2 = new MemorySink();
    const w2 = new PcapngWriter(sink2);
    w2.addInterface({ name: 'b' });
    w2.packet(0, 2, new Uint8Array(1), 0, 1);
    w2.close();
    const both = new Uint8Array(sink1.length + sink2.length);
    both.set(sink1.bytes());
    both.set(sink2.bytes(), sink1.length);
    const c = readCapture(both, 'two-sections');
    expect(c.interfaces.map((i) => i.name)).toEqual(['a', 'b']);
    expect(c.records.map((r) => r.ifIndex)).toEqual([0, 1]);
  });
});

describe('writers on files', () => {
  it('writes the header at open, whole records as the buffer fills, everything at close', () => {
    const path = join(tmp(), 'x.pcap');
    const w = PcapWriter.create(path, { bufferSize: 4096 });
    expect(readCaptureFile(path).records.length).toBe(0);
    for (let i = 0; i < 200; i++) w.record(i * 1e6, new Uint8Array(100).fill(i), 0, 100);
    const midway = readCaptureFile(path).records.length;
    expect(midway).toBeGreaterThan(100);
    expect(midway).toBeLessThan(200);
    w.flush();
    expect(readCaptureFile(path).records.length).toBe(200);
    w.close();
    expect(statSync(path).size).toBe(24 + 200 * 116);
  });

  for (const kind of ['pcap', 'pcapng'] as const) {
    it(`${kind}: atomic output appears under its final name only at close; abort leaves nothing`, () => {
      const dir = tmp();
      const path = join(dir, `a.${kind}`);
      const open = () =>
        kind === 'pcap' ? PcapWriter.create(path, { atomic: true }) : PcapngWriter.create(path, { atomic: true });
      const w = open();
      if (w instanceof PcapngWriter) w.addInterface({ name: 'eth0' });
      const rec = (t: number) =>
        w instanceof PcapWriter ? w.record(t, new Uint8Array(42), 0, 42) : w.packet(0, t, new Uint8Array(42), 0, 42);
      rec(1);
      expect(existsSync(path)).toBe(false);
      expect(existsSync(`${path}.partial`)).toBe(true);
      w.close();
      expect(existsSync(`${path}.partial`)).toBe(false);
      expect(readCaptureFile(path).records.length).toBe(1);

      const path2 = join(dir, `b.${kind}`);
      const w2 = kind === 'pcap' ? PcapWriter.create(path2, { atomic: true }) : PcapngWriter.create(path2, { atomic: true });
      w2.abort();
      expect(existsSync(path2)).toBe(false);
      expect(existsSync(`${path2}.partial`)).toBe(false);
    });
  }

  it('a process dying with records buffered leaves a readable file holding all of them', () => {
    const dir = tmp();
    const path = join(dir, 'crash.pcap');
    const script = join(dir, 'crash.ts');
    const mod = new URL('../../src/capture/index.ts', import.meta.url).pathname;
    writeFileSync(
      script,
      `import { PcapWriter, PcapngWriter } from ${JSON.stringify(mod)};
       const w = PcapWriter.create(${JSON.stringify(path)}, { atomic: true });
       const g = PcapngWriter.create(${JSON.stringify(path + 'ng')});
       g.addInterface({ name: 'eth0' });
       for (let i = 0; i < 10; i++) { w.record(i, new Uint8Array(60), 0, 60); g.packet(0, i, new Uint8Array(60), 0, 60); }
       throw new Error('boom');`,
    );
    const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
    const r = spawnSync(tsx, [script], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('boom');
    // the run failed: the file keeps its partial name, and holds every whole record
    expect(existsSync(path)).toBe(false);
    expect(readCaptureFile(`${path}.partial`).records.length).toBe(10);
    expect(readCaptureFile(`${path}ng`).records.length).toBe(10);
  });

  it('cannot create a file in a missing folder: CaptureError naming it', () => {
    expect(() => PcapWriter.create('/nonexistent-dir/x.pcap')).toThrow(/^\/nonexistent-dir\/x\.pcap: cannot create: ENOENT$/);
  });

  it('reads the real captures', () => {
    const dir = new URL('../../fixtures/real-captures/nat-basic/', import.meta.url).pathname;
    const c = readCaptureFile(join(dir, 'ct.eth0.pcap'));
    expect(c.format).toBe('pcap');
    expect(c.tsPrecision).toBe('us');
    expect(c.records.length).toBe(17);
    expect(c.records[1]!.data.length).toBe(42); // the ARP request
    expect(readFileSync(join(dir, 'ct.eth0.pcap')).length).toBe(24 + c.records.reduce((n, r) => n + 16 + r.data.length, 0));
  });
});
