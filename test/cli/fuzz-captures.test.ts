// Issue 12's promise for `inspect` and `compare`: a capture file damaged the ways files get damaged —
// bytes flipped, cut short, bytes inserted or removed, lengths made huge — is read up to where it
// breaks and then refused with a CaptureError (the CLI's one line, exit 2), never another exception,
// never a hang. Fixed seed; real fixture captures (pcap) and a commented pcapng of the built-in example
// as the starting points.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../src/cli/common.js';
import { captureLines } from '../../src/cli/inspect.js';
import { readCapture, type Capture } from '../../src/capture/reader.js';
import { CaptureError } from '../../src/capture/error.js';
import { compareCaptures } from '../../src/compare/compare.js';
import { NotEthernetError, sideFromCaptures } from '../../src/compare/streams.js';
import { runPlan } from '../../src/cli/run.js';
import { compilePlan } from '../../src/plan/compile.js';
import { BUILTIN_EXAMPLE, BUILTIN_EXAMPLE_NAME } from '../../src/scenario/example.js';
import { parseScenario } from '../../src/scenario/load.js';

const fx = join(import.meta.dirname, '../../fixtures');
const originals = [
  'real-captures/nat-basic/dh.eth0.pcap',
  'real-captures/vm-nat/vh.eth0.pcap',
  'real/docker-fragments/dh.eth0.pcap',
  'real/capture-lo/dh.lo.pcap',
].map((p) => ({ name: p.split('/').pop()!, bytes: new Uint8Array(readFileSync(join(fx, p))) }));

// and a pcapng with comments (several interfaces in one file), from a run of the built-in example
{
  const tmp = mkdtempSync(join(tmpdir(), 'wirebox-fuzz-'));
  try {
    runPlan(compilePlan(parseScenario(BUILTIN_EXAMPLE, BUILTIN_EXAMPLE_NAME)), join(tmp, 'out'), { pcapng: true });
    const f = readdirSync(join(tmp, 'out')).find((n) => n.endsWith('.pcapng'))!;
    originals.push({ name: f, bytes: new Uint8Array(readFileSync(join(tmp, 'out', f))) });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const damage = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('remove' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('huge' as const), at: fc.nat() }),
);

function apply(b: Uint8Array, ds: { op: string; at: number; value?: number; bytes?: Uint8Array; n?: number }[]): Uint8Array {
  let out = b.slice();
  for (const d of ds) {
    const at = d.at % (out.length + 1);
    if (d.op === 'flip' && at < out.length) out[at] = d.value!;
    else if (d.op === 'cut') out = out.slice(0, at);
    else if (d.op === 'insert') out = new Uint8Array([...out.subarray(0, at), ...d.bytes!, ...out.subarray(at)]);
    else if (d.op === 'remove') out = new Uint8Array([...out.subarray(0, at), ...out.subarray(at + d.n!)]);
    else if (d.op === 'huge') for (let i = 0; i < 4 && at + i < out.length; i++) out[at + i] = 0xff;
  }
  return out;
}

describe('inspect and compare over damaged captures', () => {
  it('read what is readable, then a CaptureError; never another exception', () => {
    const seen = { read: 0, partial: 0, refused: 0 };
    fc.assert(
      fc.property(fc.nat(), fc.array(damage, { minLength: 1, maxLength: 4 }), (which, ds) => {
        const o = originals[which % originals.length]!;
        const bytes = apply(o.bytes, ds);
        let cap: Capture;
        try {
          cap = readCapture(bytes, o.name);
          seen.read++;
        } catch (e) {
          if (!(e instanceof CaptureError)) throw e;
          if (e.partial === null) {
            seen.refused++;
            return;
          }
          cap = e.partial;
          seen.partial++;
        }
        const t0 = performance.now();
        captureLines(cap);
        captureLines(cap, { ether: true });
        try {
          const orig = readCapture(o.bytes, o.name);
          compareCaptures(sideFromCaptures('a', [{ fileName: o.name, capture: orig }]), sideFromCaptures('b', [{ fileName: o.name, capture: cap }]));
        } catch (e) {
          // compare refuses a capture that is not Ethernet (the CLI turns it into a UsageError, exit 2)
          if (!(e instanceof NotEthernetError) && !isUserError(e)) throw e;
        }
        expect(performance.now() - t0).toBeLessThan(20_000);
      }),
      { seed: 12, numRuns: Number(process.env.WIREBOX_FUZZ_RUNS ?? 1500) },
    );
    console.log(`fuzz: ${JSON.stringify(seen)}`);
    expect(seen.read + seen.partial).toBeGreaterThan(0);
    expect(seen.refused + seen.partial).toBeGreaterThan(0);
  }, 300_000);
});
