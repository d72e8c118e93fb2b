// Bad input to the reader: truncated, foreign, bad block lengths, random damage. Always a CaptureError
// naming the file and a byte offset inside it, never any other exception.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CaptureError, MemorySink, PcapWriter, PcapngWriter, readCapture, readCaptureFile } from '../../src/capture/index.js';

function samplePcap(precision: 'us' | 'ns' = 'us'): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { precision });
  for (let i = 0; i < 4; i++) w.record(i * 1_000_003, new Uint8Array(42 + i).fill(i), 0, 42 + i);
  w.close();
  return sink.bytes().slice();
}

function samplePcapng(): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface({ name: 'eth0' });
  w.addInterface({ name: 'docker0', precision: 'us' });
  for (let i = 0; i < 4; i++) w.packet(i % 2, i * 1_000_003, new Uint8Array(43 + i).fill(i), 0, 43 + i, i === 2 ? 'note' : null, 'in');
  w.close();
  return sink.bytes().slice();
}

/** Run the reader; return the CaptureError it throws (failing on any other exception), or null. */
function outcome(bytes: Uint8Array, name: string): CaptureError | null {
  try {
    readCapture(bytes, name);
    return null;
  } catch (err) {
    if (!(err instanceof CaptureError)) throw new Error(`not a CaptureError: ${String(err)}`);
    return err;
  }
}

function expectCaptureError(bytes: Uint8Array, name: string, message: string | RegExp): CaptureError {
  const err = outcome(bytes, name);
  expect(err).not.toBeNull();
  if (typeof message === 'string') expect(err!.message).toBe(message);
  else expect(err!.message).toMatch(message);
  expect(err!.file).toBe(name);
  return err!;
}

describe('truncated files', () => {
  it('names the file, the offset and what is missing', () => {
    const full = samplePcap();
    // header (24) + record header (16) + 42 bytes = 82, then 7 bytes of the next record header
    expectCaptureError(full.subarray(0, 82 + 7), 'x.pcap', 'x.pcap: byte 82: record header truncated (16 bytes needed, 7 left)');
    expectCaptureError(full.subarray(0, 82 + 16 + 5), 'x.pcap', 'x.pcap: byte 98: record data truncated (43 bytes needed, 5 left)');
    expectCaptureError(full.subarray(0, 10), 'x.pcap', 'x.pcap: byte 0: file header truncated (24 bytes needed, 10 left)');
    expectCaptureError(new Uint8Array(0), 'empty.pcap', 'empty.pcap: byte 0: file header truncated (24 bytes needed, 0 left)');
  });

  for (const [kind, make] of [
    ['pcap µs', () => samplePcap('us')],
    ['pcap ns', () => samplePcap('ns')],
    ['pcapng', samplePcapng],
  ] as const) {
    it(`${kind}: every cut is either a whole-record prefix or a CaptureError at an offset within the file`, () => {
      const full = make();
      const fullCount = readCapture(full, 'full').records.length;
      let errors = 0;
      for (let cut = 0; cut < full.length; cut++) {
        const part = full.subarray(0, cut);
        const err = outcome(part, 'cut');
        if (err === null) {
          expect(readCapture(part, 'cut').records.length).toBeLessThan(fullCount);
        } else {
          errors++;
          expect(err.offset).not.toBeNull();
          expect(err.offset!).toBeGreaterThanOrEqual(0);
          expect(err.offset!).toBeLessThanOrEqual(cut);
          expect(err.message).toMatch(/^cut: byte \d+: .*(truncated|past the end)/);
        }
      }
      expect(errors).toBeGreaterThan(full.length / 2);
    });
  }
});

describe('what could be read before the damage', () => {
  it('pcap: the whole records before a cut come with the error', () => {
    const full = samplePcap('ns');
    const err = outcome(full.subarray(0, 82 + 16 + 43 + 3), 'cut.pcap')!;
    expect(err.partial).not.toBeNull();
    expect(err.partial!.tsPrecision).toBe('ns');
    expect(err.partial!.records.map((r) => r.data.length)).toEqual([42, 43]);
  });

  it('pcapng: interfaces and packets before a bad block', () => {
    const full = samplePcapng();
    new DataView(full.buffer).setUint32(128 + 88 + 4, 13, true); // the second EPB's length
    const err = outcome(full, 'bad.pcapng')!;
    expect(err.message).toMatch(/^bad\.pcapng: byte 220: bad block length 13 /);
    expect(err.partial!.interfaces.map((i) => i.name)).toEqual(['eth0', 'docker0']);
    expect(err.partial!.records.length).toBe(1);
  });

  it('no partial for a file that is not a capture', () => {
    expect(outcome(new TextEncoder().encode('GIF89a........................'), 'x.gif')!.partial).toBeNull();
  });
});

describe('foreign files', () => {
  it('a text file is not a capture', () => {
    const text = new TextEncoder().encode('hello, this is not a pcap\n');
    expectCaptureError(text, 'notes.txt', 'notes.txt: byte 0: not a pcap or pcapng file (magic 0x68656c6c)');
  });

  it('a pcap with an unknown version', () => {
    const b = samplePcap();
    b[4] = 9;
    expectCaptureError(b, 'v.pcap', /^v\.pcap: byte 4: unsupported pcap version 9\.4$/);
  });

  it('a pcapng section header with a bad byte-order magic', () => {
    const b = samplePcapng();
    b[8] = 0;
    expectCaptureError(b, 'bom.pcapng', /^bom\.pcapng: byte 8: bad byte-order magic/);
  });

  it('a missing file, a folder', () => {
    expect(() => readCaptureFile('/nonexistent/x.pcap')).toThrow(new CaptureError('/nonexistent/x.pcap', null, 'cannot read: no such file'));
    expect(() => readCaptureFile('/tmp')).toThrow(/^\/tmp: cannot read: is a directory$/);
  });
});

describe('bad block lengths', () => {
  // Blocks of samplePcapng: SHB at 0 (length 44), IDB at 44 (length 40), IDB at 84 (44), first EPB at 128.
  const setLen = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);

  it('not a multiple of 4', () => {
    const b = samplePcapng();
    setLen(b, 48, 13);
    expectCaptureError(b, 'l.pcapng', 'l.pcapng: byte 48: bad block length 13 (block type 0x00000001; must be a multiple of 4, at least 12)');
  });

  it('shorter than a block header', () => {
    const b = samplePcapng();
    setLen(b, 48, 8);
    expectCaptureError(b, 'l.pcapng', /^l\.pcapng: byte 48: bad block length 8 /);
  });

  it('longer than the file', () => {
    const b = samplePcapng();
    setLen(b, 48, 4000);
    expectCaptureError(b, 'l.pcapng', `l.pcapng: byte 44: block truncated (4000 bytes needed, ${b.length - 44} left)`);
  });

  it('trailing length differs from the leading one', () => {
    const b = samplePcapng();
    setLen(b, 44 + 4, 36); // the IDB claims 36 bytes: its trailer is elsewhere
    expectCaptureError(b, 'l.pcapng', /^l\.pcapng: byte 76: trailing block length \d+ differs from leading 36$/);
  });

  it('a packet block for an interface that was never described', () => {
    const b = samplePcapng();
    setLen(b, 128 + 8, 5);
    expectCaptureError(b, 'i.pcapng', 'i.pcapng: byte 136: packet refers to interface 5, but the section describes 2');
  });

  it('a captured length past its block', () => {
    const b = samplePcapng();
    setLen(b, 128 + 20, 1000);
    expectCaptureError(b, 'c.pcapng', /^c\.pcapng: byte 148: captured length 1000 runs past the end of its block/);
  });
});

describe('random damage', () => {
  for (const [kind, make] of [
    ['pcap', () => samplePcap()],
    ['pcapng', samplePcapng],
  ] as const) {
    it(`${kind}: flipped bytes and cuts give a capture or a CaptureError, nothing else`, () => {
      const base = make();
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
          fc.nat(base.length),
          (edits, cut) => {
            const b = base.slice(0, Math.max(cut, 1));
            for (const [at, v] of edits) if (at < b.length) b[at] = v;
            const err = outcome(b, 'fuzz');
            if (err !== null) {
              expect(err.message.startsWith('fuzz: ')).toBe(true);
              if (err.offset !== null) expect(err.offset).toBeLessThanOrEqual(b.length);
            }
          },
        ),
        { numRuns: 1500 },
      );
    });
  }

  it('arbitrary bytes give a capture or a CaptureError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(0xa1b2c3d4, 0xd4c3b2a1, 0x0a0d0d0a, 0x4d3cb2a1), (tail, magic) => {
        const b = new Uint8Array(4 + tail.length);
        new DataView(b.buffer).setUint32(0, magic, true);
        b.set(tail, 4);
        outcome(b, 'any');
      }),
      { numRuns: 1500 },
    );
  });
});
