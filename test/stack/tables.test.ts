// Unit tests of the stack's tables: addresses and routes (Linux's local and main tables, source
// selection), the neighbour state machine with a fake owner, IP ids, and the checker itself.

import { describe, expect, it } from 'vitest';
import { Fib, Scope } from '../../src/stack/route.js';
import { NeighbourTable, Nud, arpDefaults, type NeighbourOwner } from '../../src/stack/neighbour.js';
import { IpIdent } from '../../src/stack/ipid.js';
import { Prng } from '../../src/sim/prng.js';
import { parseIpv4 as ip } from '../../src/wire/addr.js';
import { df, ipv4, srcAddr, ttl } from './checker.js';
import { engine, host, nic, SEC, wire } from './world.js';

describe('Fib: addresses and routes as `ip addr` / `ip route` make them', () => {
  it('adds the connected route for a primary address only; a second one in the prefix is secondary', () => {
    const f = new Fib();
    const a = f.addAddress(2, ip('10.0.0.5'), 24, false);
    const b = f.addAddress(2, ip('10.0.0.6'), 24, false);
    const c = f.addAddress(2, ip('10.9.0.1'), 16, false);
    expect([a.secondary, b.secondary, c.secondary]).toEqual([false, true, false]);
    expect(f.routes.map((r) => [r.dst, r.len, r.prefsrc, r.scope])).toEqual([
      [ip('10.0.0.0'), 24, ip('10.0.0.5'), Scope.LINK],
      [ip('10.9.0.0'), 16, ip('10.9.0.1'), Scope.LINK],
    ]);
    expect(f.isLocal(ip('10.0.0.6'))).toBe(true);
    expect(f.isBroadcast(ip('10.0.0.255'))).toBe(true);
    expect(f.isBroadcast(ip('10.9.255.255'))).toBe(true);
    expect(f.isBroadcast(ip('10.0.0.254'))).toBe(false);
    // inet_select_addr: the primary in the destination's prefix, never the secondary.
    expect(f.selectAddr(2, ip('10.9.3.3'), Scope.UNIVERSE)).toBe(ip('10.9.0.1'));
    expect(f.selectAddr(2, ip('10.0.0.77'), Scope.UNIVERSE)).toBe(ip('10.0.0.5'));
    expect(f.selectAddr(2, ip('192.0.2.1'), Scope.UNIVERSE)).toBe(ip('10.0.0.5'));
    expect(() => f.addAddress(2, ip('10.0.0.5'), 24, false)).toThrow(/File exists/);
  });

  it('matches the longest prefix, and the loopback prefix is all local (127/8)', () => {
    const f = new Fib();
    f.addAddress(1, ip('127.0.0.1'), 8, true);
    f.addAddress(2, ip('10.0.0.5'), 24, false);
    f.insertRoute({ dst: 0, len: 0, gateway: ip('10.0.0.1'), ifindex: 2, prefsrc: 0, scope: Scope.UNIVERSE, proto: 'static' });
    f.insertRoute({ dst: ip('10.1.0.0'), len: 16, gateway: ip('10.0.0.2'), ifindex: 2, prefsrc: 0, scope: Scope.UNIVERSE, proto: 'static' });
    f.insertRoute({ dst: ip('10.1.2.0'), len: 24, gateway: ip('10.0.0.3'), ifindex: 2, prefsrc: 0, scope: Scope.UNIVERSE, proto: 'static' });
    expect(f.lookup(ip('10.1.2.9'))!.gateway).toBe(ip('10.0.0.3'));
    expect(f.lookup(ip('10.1.9.9'))!.gateway).toBe(ip('10.0.0.2'));
    expect(f.lookup(ip('8.8.8.8'))!.gateway).toBe(ip('10.0.0.1'));
    expect(f.lookup(ip('10.0.0.9'))!.gateway).toBe(0);
    expect(f.isLocal(ip('127.1.2.3'))).toBe(true);
    expect(f.isBroadcast(ip('127.255.255.255'))).toBe(false);
    // 127.0.0.1 is host-scoped: never the source towards the world.
    expect(f.selectAddr(9, ip('8.8.8.8'), Scope.UNIVERSE)).toBe(ip('10.0.0.5'));
  });

  it('Host.addRoute refuses a gateway off-link, honours `src`, and picks the gateway-subnet address', () => {
    const e = engine();
    const w = wire(e);
    const h = host(e, 'h');
    nic(h, w, 'eth0', '02:00:00:00:00:01', '10.0.0.5/24');
    h.addAddress('eth0', '192.168.1.5/24');
    expect(() => h.addRoute({ to: 'default', via: '172.16.0.1' })).toThrow(/invalid gateway/);
    h.addRoute({ to: 'default', via: '192.168.1.1' });
    expect(h.sourceFor(ip('8.8.8.8'))).toBe(ip('192.168.1.5'));
    h.addRoute({ to: '203.0.113.0/24', via: '10.0.0.1', src: '192.168.1.5' });
    expect(h.sourceFor(ip('203.0.113.7'))).toBe(ip('192.168.1.5'));
    expect(() => h.addRoute({ to: '198.18.0.0/15', dev: 'eth0', src: '1.2.3.4' })).toThrow(/prefsrc/);
    expect(h.routeOutput(ip('10.0.0.255'))!.kind).toBe('broadcast');
    expect(h.routeOutput(ip('10.0.0.5'))!.kind).toBe('local');
    expect(h.routeOutput(ip('8.8.8.8'))).toEqual({ kind: 'unicast', ifindex: 2, nexthop: ip('192.168.1.1'), src: ip('192.168.1.5') });
  });
});

describe('NeighbourTable state machine', () => {
  function table() {
    const e = engine(3);
    const log: string[] = [];
    const sent: number[] = [];
    const failed: number[] = [];
    const owner: NeighbourOwner = {
      solicit: (_i, target, dstMac, queued) => log.push(`${e.now / SEC}s solicit ${target} ${dstMac < 0 ? 'bcast' : 'ucast'} q=${queued}`),
      transmit: (_i, slot, mac) => {
        sent.push(mac);
        e.pool.release(slot);
      },
      unreachable: (slot) => {
        failed.push(slot);
        e.pool.release(slot);
      },
    };
    const t = new NeighbourTable(e, new Prng(5), owner);
    const frame = (): number => {
      const s = e.pool.alloc();
      e.pool.len[s] = 60;
      return s;
    };
    return { e, t, log, sent, failed, frame };
  }

  it('INCOMPLETE: queues, 3 broadcasts 1 s apart, FAILED at 3 s with the queue reported', () => {
    const { e, t, log, failed, frame } = table();
    const s1 = frame();
    t.output(1, 42, s1);
    const s2 = frame();
    t.output(1, 42, s2);
    expect(t.state(1, 42)).toBe(Nud.INCOMPLETE);
    e.run(10 * SEC);
    // The first request goes out with the first packet; later ones name the newest (skb_peek_tail).
    expect(log).toEqual([`0s solicit 42 bcast q=${s1}`, `1s solicit 42 bcast q=${s2}`, `2s solicit 42 bcast q=${s2}`]);
    expect(failed.length).toBe(2);
    expect(t.state(1, 42)).toBe(Nud.FAILED);
    expect(e.pool.inUse).toBe(0);
  });

  it('a reply resolves the queue in order; REACHABLE lasts reachable_time then STALE', () => {
    const { e, t, sent, frame } = table();
    t.output(1, 42, frame());
    t.output(1, 42, frame());
    e.run(SEC / 2);
    t.update(1, 42, 0xaabbccddeeff, Nud.REACHABLE, true, false);
    expect(sent).toEqual([0xaabbccddeeff, 0xaabbccddeeff]);
    expect(t.state(1, 42)).toBe(Nud.REACHABLE);
    const rt = t.reachableTime(1);
    expect(rt).toBeGreaterThanOrEqual(15 * SEC);
    expect(rt).toBeLessThan(45 * SEC);
    e.run(SEC / 2 + rt - 1);
    expect(t.state(1, 42)).toBe(Nud.REACHABLE);
    // At exactly confirmed + reachable_time the entry still counts as confirmed (time_before_eq); the
    // timer comes back HZ/100 later and finds it stale.
    e.run(SEC / 2 + rt + 10_000_000);
    expect(t.state(1, 42)).toBe(Nud.STALE);
  });

  it('STALE → DELAY on use → PROBE after 5 s: 3 unicast probes, then FAILED', () => {
    const { e, t, log, sent, frame } = table();
    t.update(1, 7, 0x020000000007, Nud.STALE, true, true);
    expect(t.state(1, 7)).toBe(Nud.STALE);
    t.output(1, 7, frame());
    expect(sent).toEqual([0x020000000007]); // sent at once, on the stale address
    expect(t.state(1, 7)).toBe(Nud.DELAY);
    e.run(20 * SEC);
    expect(log).toEqual(['5s solicit 7 ucast q=-1', '6s solicit 7 ucast q=-1', '7s solicit 7 ucast q=-1']);
    expect(t.state(1, 7)).toBe(Nud.FAILED);
  });

  it('DELAY with a confirmation goes back to REACHABLE without probing', () => {
    const { e, t, log, frame } = table();
    t.update(1, 7, 0x020000000007, Nud.STALE, true, true);
    t.output(1, 7, frame());
    e.run(2 * SEC);
    t.confirm(1, 7);
    e.run(6 * SEC);
    expect(log).toEqual([]);
    expect(t.state(1, 7)).toBe(Nud.REACHABLE);
  });

  it('a STALE update with the same address leaves a REACHABLE entry alone; a new MAC needs override', () => {
    const { t } = table();
    t.update(1, 9, 0x1, Nud.REACHABLE, true, true);
    t.update(1, 9, 0x1, Nud.STALE, true, false);
    expect(t.state(1, 9)).toBe(Nud.REACHABLE);
    t.update(1, 9, 0x2, Nud.STALE, false, false);
    expect(t.mac(1, 9)).toBe(0x1);
    t.update(1, 9, 0x2, Nud.STALE, true, false);
    expect(t.mac(1, 9)).toBe(0x2);
    expect(t.state(1, 9)).toBe(Nud.STALE);
    expect(arpDefaults().queueLenBytes).toBe(212992);
  });

  it('grows past its first capacity and still finds every entry', () => {
    const { t } = table();
    for (let i = 0; i < 100; i++) t.update(i % 3, 1000 + i, i, Nud.STALE, true, true);
    for (let i = 0; i < 100; i++) expect(t.mac(i % 3, 1000 + i)).toBe(i);
    expect(t.find(0, 1001)).toBe(-1);
  });
});

describe('IP ids (__ip_select_ident)', () => {
  it('count up by one within a jiffy, jump after idle time, and differ per destination', () => {
    const g = new IpIdent(new Prng(9));
    const a = g.next(1, 2, 17, 0);
    expect(g.next(1, 2, 17, 0)).toBe((a + 1) & 0xffff);
    const later = g.next(1, 2, 17, 5 * SEC);
    expect(later).not.toBe((a + 2) & 0xffff);
    const others = new Set([g.next(3, 2, 17, 0), g.next(4, 2, 17, 0), g.next(5, 2, 17, 0)]);
    expect(others.size).toBe(3);
  });
});

describe('checker', () => {
  it('fails on a wrong field and passes on the right one', () => {
    const e = engine();
    const w = wire(e);
    const a = host(e, 'a');
    const b = host(e, 'b');
    const an = nic(a, w, 'eth0', '02:00:00:00:00:01', '10.0.0.1/24');
    nic(b, w, 'eth0', '02:00:00:00:00:02', '10.0.0.2/24');
    a.udp.bind().send('x', '10.0.0.2', 9);
    e.run(SEC);
    const f = an.rec.ip[0]!;
    expect(() => ipv4(f, ttl(64), df(true), srcAddr('10.0.0.1'))).not.toThrow();
    expect(() => ipv4(f, ttl(63))).toThrow(/ip ttl: want 63, got 64/);
    expect(() => ipv4(f, df(false))).toThrow(/DF/);
    const bad = Uint8Array.from(f.bytes);
    bad[22] = 1; // TTL changed without the checksum
    expect(() => ipv4(bad)).toThrow(/checksum/);
  });
});
