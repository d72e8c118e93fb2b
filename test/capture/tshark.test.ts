// Files from our writers, holding valid frames, checked by Wireshark's own tools: tshark must find no
// malformed frame, no bad checksum and no expert error (it exits 0 even then, so its output is parsed),
// and capinfos must report Ethernet and the right time precision.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, PcapngWriter, readCaptureFile } from '../../src/capture/index.js';
import { conversation, type TestFrame } from './frames.js';
import { run, toolAvailable, tsharkFrames, tsharkProblems as problems } from './tools.js';

function capinfos(file: string): string {
  const r = run('capinfos', [file]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

function writePcap(path: string, frames: TestFrame[], precision: 'us' | 'ns'): void {
  const w = PcapWriter.create(path, { precision, atomic: true });
  for (const f of frames) w.record(f.timeNs, f.bytes, 0, f.bytes.length);
  w.close();
}

function writePcapng(path: string, frames: TestFrame[], precision: 'us' | 'ns'): void {
  const w = PcapngWriter.create(path, { atomic: true });
  w.addInterface({ name: 'eth0', precision });
  w.addInterface({ name: 'docker0', precision });
  frames.forEach((f, i) => w.packet(i % 2, f.timeNs, f.bytes, 0, f.bytes.length, i % 5 === 0 ? `frame ${i + 1}: ARP, ping, TCP…` : null, i % 3 === 0 ? 'in' : 'out'));
  w.close();
}

const haveTshark = toolAvailable('tshark') && toolAvailable('capinfos', '-h');

describe.runIf(haveTshark)('tshark and capinfos accept what we write', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirebox-tshark-'));
  const frames = conversation();

  for (const precision of ['us', 'ns'] as const) {
    it(`pcap (${precision}): every frame clean, Ethernet, ${precision === 'us' ? 'micro' : 'nano'}seconds`, () => {
      const file = join(dir, `conv-${precision}.pcap`);
      writePcap(file, frames, precision);
      expect(tsharkFrames(file).length).toBe(frames.length);
      expect(problems(file)).toEqual([]);
      const info = capinfos(file);
      expect(info).toMatch(precision === 'us' ? /File type:\s+Wireshark\/tcpdump\/\.\.\. - pcap\n/ : /File type:\s+Wireshark\/tcpdump\/\.\.\. - nanosecond pcap\n/);
      expect(info).toMatch(/File encapsulation:\s+Ethernet\n/);
      expect(info).toMatch(precision === 'us' ? /File timestamp precision:\s+microseconds \(6\)/ : /File timestamp precision:\s+nanoseconds \(9\)/);
      expect(info).toMatch(new RegExp(`Number of packets:\\s+${frames.length}\\n`));
    });

    it(`pcapng (${precision}): every frame clean, interface names, comments, Ethernet, ${precision} per interface`, () => {
      const file = join(dir, `conv-${precision}.pcapng`);
      writePcapng(file, frames, precision);
      const rows = tsharkFrames(file);
      expect(rows.length).toBe(frames.length);
      expect(rows.map((r) => r.ifName)).toEqual(frames.map((_, i) => (i % 2 === 0 ? 'eth0' : 'docker0')));
      expect(rows[5]!.comment).toBe('frame 6: ARP, ping, TCP…');
      expect(rows[1]!.comment).toBe('');
      expect(problems(file)).toEqual([]);
      const info = capinfos(file);
      expect(info).toMatch(/File type:\s+Wireshark\/\.\.\. - pcapng\n/);
      expect(info).toMatch(/File encapsulation:\s+Ethernet\n/);
      expect(info).toMatch(/Capture application:\s+wirebox\n/);
      const want = precision === 'us' ? 'microseconds (6)' : 'nanoseconds (9)';
      expect(info.match(/Time precision = .*/g)).toEqual([`Time precision = ${want}`, `Time precision = ${want}`]);
      expect(info.match(/Name = .*/g)).toEqual(['Name = eth0', 'Name = docker0']);
      expect(info).toMatch(/Encapsulation = Ethernet \(1 - ether\)/);
    });
  }

  it('the times tshark reads are the virtual times we wrote (nanoseconds)', () => {
    const file = join(dir, 'times.pcapng');
    writePcapng(file, frames, 'ns');
    const r = run('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch']);
    const times = r.stdout.trim().split('\n');
    expect(times).toEqual(frames.map((f) => (f.timeNs / 1e9).toFixed(9)));
    expect(readCaptureFile(file).records.map((x) => Number(x.timeNs))).toEqual(frames.map((f) => f.timeNs));
  });

  it('the checker itself sees a bad checksum and a malformed frame (so a clean result means something)', () => {
    const bad = frames.map((f) => ({ ...f, bytes: f.bytes.slice() }));
    bad[6]!.bytes[50]! ^= 0xff; // inside the TCP header of the first ACK: its checksum no longer holds
    bad[2]!.bytes[16] = 0x7f; // IPv4 total length far beyond the frame: malformed / error
    const file = join(dir, 'bad.pcap');
    writePcap(file, bad, 'us');
    const found = problems(file);
    expect(found.some((p) => p.startsWith('frame 7:'))).toBe(true);
    expect(found.some((p) => p.startsWith('frame 3:'))).toBe(true);
  });
});
