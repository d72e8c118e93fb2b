import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { Macvlan } from '../../src/devices/macvlan.js';
import { Nic } from '../../src/devices/nic.js';
import { Wire } from '../../src/devices/wire.js';
import { Bridge } from '../../src/devices/bridge.js';
import { BCAST, frame, mac, Recorder, send } from './checker.js';

const P = '52:54:00:00:00:01'; // parent (host eth0)
const X = '52:54:00:00:00:99'; // another machine on the LAN
const M1 = '02:00:00:00:01:01';
const M2 = '02:00:00:00:01:02';

function lan(switched = false) {
  const e = new Engine({ seed: 1 });
  const wire = new Wire(e, 'lan');
  const parent = new Nic(e, 'eth0', mac(P));
  const ext = new Nic(e, 'ext', mac(X));
  wire.attach(parent);
  wire.attach(ext);
  if (switched) wire.attach(new Nic(e, 'other', mac('52:54:00:00:00:77')));
  const m1 = new Macvlan(e, 'm1', mac(M1), parent);
  const m2 = new Macvlan(e, 'm2', mac(M2), parent);
  const r = new Recorder(e);
  for (const d of [parent, ext, m1, m2]) r.tap(d).sink(d);
  return { e, wire, parent, ext, m1, m2, r };
}

describe('Macvlan (bridge mode)', () => {
  it('sibling unicast is switched inside, through the parent (dev_forward_skb), never on the wire', () => {
    const { e, r, m1 } = lan();
    send(e, m1, frame(M2, M1, 1));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['m2']);
    expect(r.where(1, 'out')).toEqual(['m1']);
    expect(r.where(1, 'in')).toEqual(['eth0', 'm2']);
    expect(r.ids('ext', 'in')).toEqual([]);
    expect(e.pool.inUse).toBe(0);
  });

  it('a child\'s broadcast reaches its siblings and the wire, not the parent\'s stack nor itself', () => {
    const { e, r, m1 } = lan();
    send(e, m1, frame(BCAST, M1, 1, 0x0806));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['ext', 'm2']);
    expect(r.where(1, 'out')).toEqual(['eth0', 'm1']);
    expect(r.where(1, 'in')).toEqual(['ext', 'm2']);
  });

  it('a child\'s unicast to another machine leaves through the parent', () => {
    const { e, r, m2 } = lan();
    send(e, m2, frame(X, M2, 1));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['ext']);
    expect(r.where(1, 'out')).toEqual(['eth0', 'm2']);
  });

  it('frames arriving on the parent are dispatched by destination MAC', () => {
    const { e, r, ext } = lan();
    send(e, ext, frame(M1, X, 1));
    send(e, ext, frame(P, X, 2));
    send(e, ext, frame('02:00:00:00:01:03', X, 3)); // nobody's: the parent's stack drops it (OTHERHOST)
    e.run();
    expect(r.where(1, 'sink')).toEqual(['m1']);
    expect(r.where(1, 'in')).toEqual(['eth0', 'm1']); // parent's tcpdump sees it too
    expect(r.where(2, 'sink')).toEqual(['eth0']);
    expect(r.where(3, 'sink')).toEqual(['eth0']);
  });

  it('broadcast and multicast from outside go to every child and to the parent', () => {
    const { e, r, ext } = lan();
    send(e, ext, frame(BCAST, X, 1));
    send(e, ext, frame('01:00:5e:00:00:01', X, 2));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['eth0', 'm1', 'm2']);
    expect(r.where(2, 'sink')).toEqual(['eth0', 'm1', 'm2']);
    expect(e.pool.inUse).toBe(0);
  });

  it('a child\'s own broadcast coming back on the parent is not given to the children again', () => {
    const { e, r, ext } = lan();
    send(e, ext, frame(BCAST, M1, 1)); // e.g. reflected by the outside network
    e.run();
    expect(r.where(1, 'sink')).toEqual(['eth0']);
  });

  it('the parent cannot reach a child, nor a child the parent', () => {
    const { e, r, parent, m1 } = lan(true); // behind a learning switch
    send(e, m1, frame(BCAST, M1, 1)); // the switch learns M1 on the parent's port
    e.run();
    send(e, parent, frame(M1, P, 2));
    send(e, m1, frame(P, M1, 3));
    e.run();
    expect(r.where(2, 'sink')).toEqual([]);
    expect(r.where(3, 'sink')).toEqual([]);
    expect(r.where(2, 'out')).toEqual(['eth0']);
    expect(r.where(3, 'out')).toEqual(['eth0', 'm1']);
    expect(e.pool.inUse).toBe(0);
  });

  it('a child that is down receives nothing; siblings still do', () => {
    const { e, r, ext, m2 } = lan();
    m2.up = false;
    send(e, ext, frame(BCAST, X, 1));
    send(e, ext, frame(M2, X, 2));
    e.run();
    expect(r.where(1, 'sink')).toEqual(['eth0', 'm1']);
    expect(r.where(2, 'sink')).toEqual([]);
    expect(m2.drops).toBe(1);
    expect(e.pool.inUse).toBe(0);
  });

  it('refuses a busy parent or a duplicate address; the last child frees the parent', () => {
    const e = new Engine({ seed: 1 });
    const br = new Bridge(e, 'br0', mac('02:00:00:00:00:b0'));
    const port = new Nic(e, 'eth1', mac('02:00:00:00:00:e1'));
    br.addPort(port);
    expect(() => new Macvlan(e, 'mv', mac(M1), port)).toThrow(/busy/);
    const parent = new Nic(e, 'eth0', mac(P));
    const a = new Macvlan(e, 'a', mac(M1), parent);
    expect(() => new Macvlan(e, 'b', mac(M1), parent)).toThrow(/in use/);
    expect(() => new Macvlan(e, 'c', mac(P), parent)).toThrow(/in use/);
    expect(() => new Macvlan(e, 'd', mac(M2), a)).toThrow(/macvlan/);
    expect(parent.rxHandler).not.toBeNull();
    a.remove();
    expect(parent.rxHandler).toBeNull();
  });
});
