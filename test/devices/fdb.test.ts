import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FDB_MISS, MacTable } from '../../src/devices/fdb.js';

describe('MacTable (FDB)', () => {
  it('agrees with a Map model under random learn/lookup/remove/removePort (property)', () => {
    const macArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('learn', 'lookup', 'remove', 'removePort', 'tick'), macArb, fc.integer({ min: 0, max: 5 })), { maxLength: 300 }),
        (ops) => {
          const clock = { now: 0 };
          const t = new MacTable(100, clock, 4);
          const model = new Map<number, { port: number; updated: number }>();
                    for (const [op, m, p] of ops) {
            if (op === 'tick') clock.now += p * 13;
            else if (op === 'learn') {
              t.learn(m, p);
              model.set(m, { port: p, updated: clock.now });
            } else if (op === 'remove') {
              expect(t.remove(m)).toBe(model.delete(m));
            } else if (op === 'removePort') {
              t.removePort(p);
              for (const [k, v] of model) if (v.port === p) model.delete(k);
            } else {
              const v = model.get(m);
              const live = v !== undefined && clock.now - v.updated < 100;
              expect(t.lookup(m)).toBe(live ? v.port : FDB_MISS);
              if (!live) model.delete(m);
            }
          }
          const want = [...model].filter(([, v]) => clock.now - v.updated < 100).map(([k, v]) => [k, v.port]).sort((a, b) => a[0]! - b[0]!);
          expect(t.entries().map((x) => [x.mac, x.port])).toEqual(want);
        },
      ),
    );
  });

  it('local entries never age and are not moved by learning', () => {
    const clock = { now: 0 };
    const t = new MacTable(10, clock);
    t.addLocal(0x0242c0000001, -1);
    clock.now = 5;
    t.learn(0x0242c0000001, 3);
    clock.now = 1e12;
    expect(t.lookup(0x0242c0000001)).toBe(-1);
    expect(t.isLocal(0x0242c0000001)).toBe(true);
  });

  it('sweeps expired entries instead of growing under churn', () => {
    const clock = { now: 0 };
    const t = new MacTable(1000, clock, 16);
    for (let i = 0; i < 100_000; i++) {
      clock.now = i * 100;
      t.learn(0x020000000000 + i, 1); // ~10 live at a time
    }
    expect(t.size).toBeLessThanOrEqual(16);
    expect(t.lookup(0x020000000000 + 99_999)).toBe(1);
    expect(t.lookup(0x020000000000 + 99_989)).toBe(-2);
  });
});
