import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { Nic } from '../../src/devices/nic.js';
import { Wire } from '../../src/devices/wire.js';
import { BCAST, frame, mac, Recorder, send } from './checker.js';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const C = '52:54:00:00:00:0c';

function segment(n: number, latencyNs = 0) {
  const e = new Engine({ seed: 1 });
  const wire = new Wire(e, 'lan', latencyNs);
  const r = new Recorder(e);
  const nics = [A, B, C].slice(0, n).map((m, i) => {
    const nic = new Nic(e, `n${i}`, mac(m));
    wire.attach(nic);
    r.tap(nic).sink(nic);
    return nic;
  });
  return { e, wire, r, nics };
}

describe('Wire', () => {
  it('a cable delivers everything to the other end, one-way latency later, in order', () => {
    const { e, r, nics } = segment(2, 1_000_000);
    e.at(10, () => {
      send(e, nics[0]!, frame(B, A, 1));
      send(e, nics[0]!, frame('02:00:00:00:00:01', A, 2)); // not for B: still on the cable
    });
    e.at(20, () => send(e, nics[1]!, frame(A, B, 3)));
    e.run();
    expect(r.log.filter((x) => x.dir !== 'sink').map((x) => `${x.dev} ${x.dir} ${x.id} @${x.t}`)).toEqual([
      'n0 out 1 @10',
      'n0 out 2 @10',
      'n1 out 3 @20',
      'n1 in 1 @1000010',
      'n1 in 2 @1000010',
      'n0 in 3 @1000020',
    ]);
    expect(e.pool.inUse).toBe(0);
  });

  it('with more NICs it is a learning switch: floods unknown, then one port', () => {
    const { e, wire, r, nics } = segment(3, 500);
    send(e, nics[0]!, frame(B, A, 1)); // unknown B: flooded
    e.run();
    send(e, nics[1]!, frame(A, B, 2)); // A learned: one port
    e.run();
    send(e, nics[0]!, frame(B, A, 3)); // B learned
    send(e, nics[2]!, frame(BCAST, C, 4));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['n1', 'n2']);
    expect(r.where(2, 'sink')).toEqual(['n0']);
    expect(r.where(3, 'sink')).toEqual(['n1']);
    expect(r.where(4, 'sink')).toEqual(['n0', 'n1']);
    expect(r.log.find((x) => x.id === 2 && x.dir === 'in')!.t - r.log.find((x) => x.id === 2 && x.dir === 'out')!.t).toBe(500);
    expect(wire.fdb.entries().map((x) => x.port)).toEqual([0, 1, 2]);
    expect(e.pool.inUse).toBe(0);
  });

  it('a switch drops a frame for a station on the port it came from', () => {
    const { e, wire, r, nics } = segment(3);
    send(e, nics[0]!, frame(BCAST, A, 1));
    e.run();
    send(e, nics[0]!, frame(A, B, 2)); // claims to be B, sends to A: A is on this very port
    e.run();
    expect(r.where(2, 'sink')).toEqual([]);
    expect(wire.drops).toBe(1);
  });

  it('an unplugged NIC drops; a NIC cannot be plugged twice; latency must be ≥ 0', () => {
    const e = new Engine({ seed: 1 });
    const nic = new Nic(e, 'eth0', mac(A));
    send(e, nic, frame(B, A, 1));
    expect(nic.drops).toBe(1);
    const w = new Wire(e, 'w');
    w.attach(nic);
    expect(() => new Wire(e, 'v').attach(nic)).toThrow(/already/);
    expect(() => new Wire(e, 'bad', -1)).toThrow(RangeError);
    expect(e.pool.inUse).toBe(0);
  });
});
