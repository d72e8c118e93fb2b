// The library API as `wirebox verify` will use it: captures already read (here from bytes in memory),
// compared without touching the file system; pure and deterministic.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readCapture } from '../../src/capture/index.js';
import { compareCaptures, formatReport, sideFromCaptures, type CaptureSide } from '../../src/compare/index.js';
import { fixture } from './helpers.js';

function side(name: string, scenario: string, files: string[], edit?: (file: string, bytes: Uint8Array) => void): CaptureSide {
  return sideFromCaptures(
    name,
    files.map((f) => {
      const bytes = new Uint8Array(readFileSync(fixture(scenario, f)));
      edit?.(f, bytes);
      return { fileName: f, capture: readCapture(bytes, f) };
    }),
  );
}

describe('compareCaptures', () => {
  const files = ['ct.eth0.pcap', 'dh.docker0.pcap', 'dh.eth0.pcap', 'server.eth0.pcap'];

  it('on in-memory captures: a match, and the same report every time', () => {
    const a = side('emulator', 'nat-basic', files);
    const b = side('real', 'nat-basic', files);
    const r1 = compareCaptures(a, b);
    const r2 = compareCaptures(a, b);
    expect(r1.verdict).toBe('match');
    expect(JSON.stringify(r2)).toBe(JSON.stringify(r1));
    expect(r1.files.map((f) => f.key)).toEqual(['ct.eth0', 'dh.docker0', 'dh.eth0', 'server.eth0']);
    expect(formatReport(r1)).toMatch(/^match: 4 file\(s\)/m);
  });

  it('explicit pairs and a difference in the bytes of one capture', () => {
    // the record of frame 5 of server.eth0 starts at 24 + 4 records; its TTL is 14 + 8 bytes into the data
    const b = side('real', 'nat-basic', files, (f, bytes) => {
      if (f !== 'server.eth0.pcap') return;
      const v = new DataView(bytes.buffer, bytes.byteOffset);
      let off = 24;
      for (let i = 0; i < 4; i++) off += 16 + v.getUint32(off + 8, true);
      bytes[off + 16 + 22] = 1;
    });
    const a = side('emulator', 'nat-basic', files);
    const r = compareCaptures(a, b, { pairs: [['server.eth0', 'server.eth0']] });
    expect(r.verdict).toBe('differ');
    const server = r.files.find((f) => f.key === 'server.eth0')!;
    expect(server.differences).toEqual([{ kind: 'field', frameA: 5, frameB: 5, field: 'ipv4.ttl', a: '63', b: '1' }]);
    // the three others are unpaired here: reported on each side
    expect(r.files.filter((f) => f.verdict === 'only-a')).toHaveLength(3);
    expect(r.files.filter((f) => f.verdict === 'only-b')).toHaveLength(3);
  });
});
