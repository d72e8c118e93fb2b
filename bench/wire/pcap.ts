// Capture-writer benchmarks: one record written to memory by PcapWriter (µs and ns) and PcapngWriter
// (EPB, with and without epb_flags), for the 74-byte Linux SYN and a 1514-byte full frame. The records
// go through the writers' 64 KiB batch into a sink that copies them into a fixed 1 MiB ring (memory,
// no growth, no file system). The baseline copies the same frame bytes once into a reused buffer: the
// least any capture must do.

import Benchmark from 'benchmark';
import { PcapWriter } from '../../src/capture/pcap.js';
import { PcapngWriter } from '../../src/capture/pcapng.js';
import type { ByteSink } from '../../src/capture/sink.js';
import type { BenchResults } from '../run.js';

const SYN_HEX =
  '0242c0000001 0242ac110002 0800 4500 003c 8ebe 4000 4006 d5b5 ac11 0002 c633 6401 8c70 1f40 597e 2366 0000 0000 a002 faf0 d676 0000 0204 05b4 0402 080a 2660 0231 0000 0000 0103 030a';
const SYN = Uint8Array.from(Buffer.from(SYN_HEX.replace(/\s+/g, ''), 'hex'));
const FULL = new Uint8Array(1514).map((_, i) => (i * 7) & 0xff);

/** Copies every chunk into a fixed ring: memory traffic like a real sink, without growth. */
class RingSink implements ByteSink {
  readonly buf = new Uint8Array(1 << 20);
  pos = 0;
  total = 0;
  write(chunk: Uint8Array): void {
    if (this.pos + chunk.length > this.buf.length) this.pos = 0;
    this.buf.set(chunk, this.pos);
    this.pos += chunk.length;
    this.total += chunk.length;
  }
}

/** Keeps results observable so V8 cannot drop the work. */
export let blackhole = 0;

function suiteFor(label: string, frame: Uint8Array): Benchmark.Suite {
  const len = frame.length;
  const s = new Benchmark.Suite(`pcap: write one ${len}-byte record to memory (${label})`);
  const copyBuf = new Uint8Array(64 * 1024);
  let copyAt = 0;
  s.add(`baseline: copy ${len} bytes into a reused buffer`, () => {
    if (copyAt + len > copyBuf.length) copyAt = 0;
    copyBuf.set(frame.subarray(0, len), copyAt);
    copyAt += len;
    blackhole ^= copyAt;
  });

  const usSink = new RingSink();
  const us = new PcapWriter(usSink, { precision: 'us' });
  let tUs = 0;
  s.add('PcapWriter.record (µs)', () => {
    us.record((tUs += 1_000), frame, 0, len);
    blackhole ^= us.count;
  });

  const nsSink = new RingSink();
  const ns = new PcapWriter(nsSink, { precision: 'ns' });
  let tNs = 0;
  s.add('PcapWriter.record (ns)', () => {
    ns.record((tNs += 1_001), frame, 0, len);
    blackhole ^= ns.count;
  });

  const ngSink = new RingSink();
  const ng = new PcapngWriter(ngSink);
  const eth0 = ng.addInterface({ name: 'eth0' });
  let tNg = 0;
  s.add('PcapngWriter.packet (EPB)', () => {
    ng.packet(eth0, (tNg += 1_001), frame, 0, len);
    blackhole ^= ng.count;
  });

  const ngdSink = new RingSink();
  const ngd = new PcapngWriter(ngdSink);
  const veth = ngd.addInterface({ name: 'veth0' });
  let tNgd = 0;
  s.add('PcapngWriter.packet (EPB + epb_flags direction)', () => {
    ngd.packet(veth, (tNgd += 1_001), frame, 0, len, null, 'out');
    blackhole ^= ngd.count;
  });
  return s;
}

export function suites(): Benchmark.Suite[] {
  return [suiteFor('Linux SYN', SYN), suiteFor('full-size frame', FULL)];
}

/** Throughput in frames/s and MB/s for each writer, from the measured rates. */
export function after(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const [suite, rows] of results) {
    const size = /write one (\d+)-byte/.exec(suite)?.[1];
    if (size === undefined) continue;
    for (const r of rows.values()) {
      if (r.name.startsWith('baseline')) continue;
      const mbs = (r.hz * Number(size)) / 1e6;
      lines.push(`${size} B ${r.name}: ${(r.hz / 1e6).toFixed(2)} M records/s, ${mbs.toFixed(0)} MB/s of frame data`);
    }
  }
  return lines;
}
