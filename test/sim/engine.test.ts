import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../src/sim/engine.js';
import { Timer } from '../../src/sim/timer.js';

describe('Engine event queue', () => {
  it('runs events in time order, FIFO among equal times (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 300 }), (times) => {
        const e = new Engine({ seed: 1, queueSlots: 2 }); // tiny, so growth is exercised
        const seen: number[] = [];
        times.forEach((t, i) => e.at(t, (arg) => seen.push(arg), i));
        e.run();
        const expected = times.map((t, i) => ({ t, i })).sort((a, b) => a.t - b.t || a.i - b.i).map((x) => x.i);
        expect(seen).toEqual(expected);
        expect(e.pending).toBe(0);
      }),
    );
  });

  it('orders times far past 2^32 ns exactly (hours of virtual time), FIFO among equals', () => {
    const e = new Engine({ seed: 1 });
    const base = 3600e9 * 5; // five hours
    const seen: number[] = [];
    e.at(base + 2, (x) => seen.push(x), 0);
    e.at(base + 1, (x) => seen.push(x), 1);
    e.at(base + 1, (x) => seen.push(x), 2);
    e.at(base, () => e.after(1, (x) => seen.push(x), 3)); // base + 1, scheduled last
    e.run();
    expect(seen).toEqual([1, 2, 3, 0]);
    expect(e.now).toBe(base + 2);
  });

  it('sets now to each event time; events scheduled from events interleave correctly', () => {
    const e = new Engine({ seed: 1 });
    const log: string[] = [];
    e.at(10, () => {
      log.push(`a@${e.now}`);
      e.after(0, () => log.push(`c@${e.now}`)); // same instant, after b (already queued at 10)
      e.after(5, () => log.push(`d@${e.now}`));
    });
    e.at(10, () => log.push(`b@${e.now}`));
    e.at(12, () => log.push(`e@${e.now}`));
    e.run();
    expect(log).toEqual(['a@10', 'b@10', 'c@10', 'e@12', 'd@15']);
  });

  it('run(until) stops before later events, includes events at until, advances now', () => {
    const e = new Engine({ seed: 1 });
    const log: number[] = [];
    for (const t of [5, 10, 15]) e.at(t, (x) => log.push(x), t);
    e.run(10);
    expect(log).toEqual([5, 10]);
    expect(e.now).toBe(10);
    expect(e.pending).toBe(1);
    e.run(12);
    expect(e.now).toBe(12);
    expect(log).toEqual([5, 10]);
    e.run();
    expect(log).toEqual([5, 10, 15]);
    expect(e.now).toBe(15);
  });

  it('rejects scheduling in the past and negative delays', () => {
    const e = new Engine({ seed: 1 });
    e.at(100, () => {});
    e.run();
    expect(() => e.at(99, () => {})).toThrow(RangeError);
    expect(() => e.after(-1, () => {})).toThrow(RangeError);
    expect(() => e.at(Number.NaN, () => {})).toThrow(RangeError);
  });

  it('refuses a nested run; an event that throws leaves the engine usable', () => {
    const e = new Engine({ seed: 1 });
    e.at(1, () => e.run());
    expect(() => e.run()).toThrow(/inside an event/);
    e.at(2, () => { throw new Error('boom'); });
    e.at(3, () => {});
    expect(() => e.run()).toThrow('boom');
    e.run();
    expect(e.now).toBe(3);
    expect(e.pending).toBe(0);
  });

  it('stop() ends the run after the current event', () => {
    const e = new Engine({ seed: 1 });
    const log: number[] = [];
    e.at(1, () => { log.push(1); e.stop(); });
    e.at(2, () => log.push(2));
    e.run();
    expect(log).toEqual([1]);
    e.run();
    expect(log).toEqual([1, 2]);
  });

  it('recycles handles: a million after(0) chains keep the queue small', () => {
    const e = new Engine({ seed: 1, queueSlots: 4 });
    let n = 0;
    const step = (): void => { if (++n < 1_000_000) e.after(1, step); };
    e.after(0, step);
    e.run();
    expect(n).toBe(1_000_000);
    expect(e.now).toBe(999_999);
    expect(e.eventsRun).toBe(1_000_000);
  });
});

describe('Timer', () => {
  it('fires once at its deadline', () => {
    const e = new Engine({ seed: 1 });
    const fired: number[] = [];
    const t = new Timer(e, () => fired.push(e.now));
    t.armAfter(100);
    expect(t.armed).toBe(true);
    expect(t.deadline).toBe(100);
    e.run();
    expect(fired).toEqual([100]);
    expect(t.armed).toBe(false);
  });

  it('re-arming replaces the earlier deadline (earlier or later)', () => {
    const e = new Engine({ seed: 1 });
    const fired: number[] = [];
    const t = new Timer(e, () => fired.push(e.now));
    t.armAt(100);
    t.armAt(50);
    t.armAt(200);
    e.run();
    expect(fired).toEqual([200]);
  });

  it('cancel stops it; it can be armed again, also from its own callback', () => {
    const e = new Engine({ seed: 1 });
    const fired: number[] = [];
    const t: Timer = new Timer(e, () => { fired.push(e.now); if (fired.length < 3) t.armAfter(10); });
    t.armAt(5);
    t.cancel();
    expect(t.armed).toBe(false);
    e.run();
    expect(fired).toEqual([]);
    t.armAt(20);
    e.run();
    expect(fired).toEqual([20, 30, 40]);
  });

  it('cancel then re-arm at the same time fires exactly once', () => {
    const e = new Engine({ seed: 1 });
    let n = 0;
    const t = new Timer(e, () => n++);
    t.armAt(10);
    t.cancel();
    t.armAt(10);
    e.run();
    expect(n).toBe(1);
  });
});
