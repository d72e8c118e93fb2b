// Run by test/world/alloc.test.ts in a fresh `node --expose-gc` process: the garbage per frame on the
// forwarding path, measured where no other test file has shaped V8's inlining decisions (which decide
// whether a double — virtual time past 2^31 ns — is boxed when handed to a call). Prints JSON.
import { getGc } from '../../bench/fabric/fabric.js';
import { bytesPerFrame, openForwarder, type CaptureMode } from '../../bench/world/docker.js';

const [mode, startNs] = [process.argv[2] as CaptureMode, Number(process.argv[3] ?? 0)];
const gc = await getGc();
if (gc === null) throw new Error('run with --expose-gc');
const f = openForwarder(mode, 'nic', startNs);
try {
  f.forward(100_000, 64);
  const got0 = f.d.received();
  const perFrame = await bytesPerFrame(f, gc);
  process.stdout.write(JSON.stringify({ perFrame, delivered: f.d.received() - got0 }) + '\n');
} finally {
  f.close();
}
