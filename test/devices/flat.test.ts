import { describe, expect, it } from 'vitest';
import { heapDelta } from '../../bench/fabric/fabric.js';

describe('forwarding allocates nothing per frame', () => {
  it('heap stays flat over a million frames veth → bridge → veth', async () => {
    const { deltaBytes, gc, fabric } = await heapDelta(1_000_000);
    expect(fabric.received()).toBe(1_000_000 + 100_000);
    expect(fabric.engine.pool.inUse).toBe(0);
    // Without per-frame allocation the heap does not move (a 60-byte frame object each would be
    // ≥ 60 MB); a few hundred kB of noise (JIT, vitest) is tolerated. Only meaningful with gc().
    expect(gc).toBe(true);
    expect(Math.abs(deltaBytes)).toBeLessThan(1_000_000);
    // The queue and the pool stayed at their working size.
    expect(fabric.engine.pool.grows).toBe(0);
  }, 60_000);
});
