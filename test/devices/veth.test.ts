import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { Veth } from '../../src/devices/veth.js';
import { Loopback } from '../../src/devices/loopback.js';
import { packetType, PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST } from '../../src/devices/device.js';
import { BCAST, frame, mac, Recorder, send } from './checker.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

function pair(): { e: Engine; a: Veth; b: Veth; r: Recorder } {
  const e = new Engine({ seed: 1 });
  const [a, b] = Veth.pair(e, { name: 'a', mac: mac(A) }, { name: 'b', mac: mac(B) });
  const r = new Recorder(e).tap(a).tap(b).sink(a).sink(b);
  return { e, a, b, r };
}

describe('Veth', () => {
  it('what one end transmits the peer receives, later in the same instant (no recursion)', () => {
    const { e, a, r } = pair();
    e.at(500, () => {
      send(e, a, frame(B, A, 1));
      // Not yet received: delivery is an engine event.
      expect(r.ids('b', 'in')).toEqual([]);
    });
    e.run();
    expect(r.log.map((x) => `${x.dev} ${x.dir} ${x.id} @${x.t}`)).toEqual(['a out 1 @500', 'b in 1 @500', 'b sink 1 @500']);
    expect(e.pool.inUse).toBe(0);
  });

  it('keeps the order of frames sent in one instant, both directions tapped on each end', () => {
    const { e, a, b, r } = pair();
    for (let i = 1; i <= 5; i++) send(e, a, frame(B, A, i));
    send(e, b, frame(A, B, 9));
    e.run();
    expect(r.ids('b', 'in')).toEqual([1, 2, 3, 4, 5]);
    expect(r.ids('b', 'out')).toEqual([9]);
    expect(r.ids('a', 'in')).toEqual([9]);
    expect(r.ids('a', 'out')).toEqual([1, 2, 3, 4, 5]);
  });

  it('drops when either end is down, counting the drop where it happens', () => {
    const { e, a, b, r } = pair();
    b.up = false;
    send(e, a, frame(B, A, 1));
    e.run();
    expect(a.drops).toBe(1);
    expect(r.ids('b', 'sink')).toEqual([]);
    a.up = false;
    b.up = true;
    send(e, a, frame(B, A, 2));
    expect(a.drops).toBe(2);
    expect(r.ids('a', 'out')).toEqual([1]); // tapped before the carrier drop, not when a is down
    expect(e.pool.inUse).toBe(0);
  });
});

describe('Loopback', () => {
  it('receives what it transmits, and tcpdump -i lo shows each frame once, as incoming', () => {
    const e = new Engine({ seed: 1 });
    const lo = new Loopback(e);
    const r = new Recorder(e).tap(lo).sink(lo);
    send(e, lo, frame('00:00:00:00:00:00', '00:00:00:00:00:00', 7));
    expect(r.log).toEqual([]);
    e.run();
    expect(r.log.map((x) => `${x.dir} ${x.id}`)).toEqual(['in 7', 'sink 7']);
    expect(lo.mtu).toBe(65536);
    expect(e.pool.inUse).toBe(0);
  });
});

describe('packetType (eth_type_trans)', () => {
  it('classifies host, broadcast, multicast and other-host frames', () => {
    const e = new Engine({ seed: 1 });
    const [a] = Veth.pair(e, { name: 'a', mac: mac(A) }, { name: 'b', mac: mac(B) });
    const cases: [string, number][] = [
      [A, PACKET_HOST],
      [BCAST, PACKET_BROADCAST],
      ['01:00:5e:00:00:16', PACKET_MULTICAST],
      ['ff:ff:ff:ff:ff:fe', PACKET_MULTICAST],
      [B, PACKET_OTHERHOST],
    ];
    for (const [dst, want] of cases) {
      const s = e.pool.fromBytes(frame(dst, B, 0));
      expect(packetType(a, s), dst).toBe(want);
      e.pool.release(s);
    }
  });
});
