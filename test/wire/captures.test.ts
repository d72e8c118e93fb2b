// Every frame of every real Linux capture (fixtures/real-captures/**) decodes without error, and
// re-emitting its Reprs gives the same bytes. Checksums: the IPv4 header and ICMP ones are always right;
// a TCP/UDP checksum is either right or, for packets the capturing host sent itself over a veth, the
// offload placeholder (the pseudo-header sum) — in which case we check that ours is the correct full one.

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/reader.js';
import { pseudoHeaderSum, verifyTcpChecksum, verifyUdpChecksum } from '../../src/wire/checksum.js';
import { decodeFrame, emitFrame } from '../../src/wire/frame.js';
import { toHex } from './helpers.js';

const ROOT = join(import.meta.dirname, '../../fixtures/real-captures');

function pcaps(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...pcaps(p));
    else if (/\.pcap(ng)?$/.test(name)) out.push(p);
  }
  return out;
}

const files = pcaps(ROOT);

describe('real captures', () => {
  it('there are captures to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  const totals = { frames: 0, partial: 0, ok: 0 };
  for (const file of files) {
    it(`${relative(ROOT, file)}: every frame decodes and re-emits byte for byte`, () => {
      const cap = readCaptureFile(file);
      expect(cap.records.length).toBeGreaterThan(0);
      for (const [i, rec] of cap.records.entries()) {
        const where = `${relative(ROOT, file)} frame ${i + 1}`;
        const f = decodeFrame(rec.data, 0, rec.data.length);
        expect(f.error, where).toBeNull();
        expect(f.length).toBe(rec.data.length);
        const out = new Uint8Array(rec.data.length + 2).fill(0xa5);
        expect(emitFrame(f, out, 1), where).toBe(rec.data.length);
        expect(toHex(out.subarray(1, 1 + rec.data.length)), where).toBe(toHex(rec.data));
        expect(out[0]).toBe(0xa5);
        expect(out[out.length - 1]).toBe(0xa5);

        const net = f.network;
        if (net?.kind === 'ipv4') {
          expect(net.checksum, where).toBe('ok');
          expect(net.expectedChecksum).toBe(net.repr.checksum);
          const t = f.transport!;
          expect(t.kind, where).not.toBe('error');
          if (t.kind === 'icmpv4') expect(t.checksum, where).toBe('ok');
          if (t.kind === 'tcp' || t.kind === 'udp') {
            totals.frames++;
            expect(['ok', 'partial'], where).toContain(t.checksum);
            if (t.checksum === 'ok') {
              totals.ok++;
              expect(t.expectedChecksum).toBe(t.repr.checksum);
            } else {
              // Offload on veth: the kernel left the folded pseudo-header sum for the NIC; ours is the
              // full checksum, and putting it in makes the segment verify.
              totals.partial++;
              const len = t.kind === 'udp' ? t.repr.length : t.length;
              expect(t.repr.checksum).toBe(pseudoHeaderSum(net.repr.src, net.repr.dst, net.repr.protocol, len));
              const fixed = rec.data.slice();
              fixed[t.offset + (t.kind === 'tcp' ? 16 : 6)] = t.expectedChecksum >>> 8;
              fixed[t.offset + (t.kind === 'tcp' ? 17 : 7)] = t.expectedChecksum & 0xff;
              const verify = t.kind === 'tcp' ? verifyTcpChecksum : verifyUdpChecksum;
              expect(verify(fixed, t.offset, len, net.repr.src, net.repr.dst), where).toBe(true);
              expect(decodeFrame(fixed, 0, fixed.length).transport).toMatchObject({ checksum: 'ok' });
            }
          }
        }
      }
    });
  }

  it('the captures hold both kinds of TCP/UDP checksum (partial from local senders, full from libslirp and forwarded ones)', () => {
    expect(totals.frames).toBeGreaterThan(50);
    expect(totals.partial).toBeGreaterThan(10);
    expect(totals.ok).toBeGreaterThan(5);
  });
});
