import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/sim/engine.js';
import { Veth } from '../../src/devices/veth.js';
import { gsoNetworkLen } from '../../src/devices/gso.js';
import { verifyIpv4Checksum, verifyTcpChecksum } from '../../src/wire/checksum.js';
import { tcp, tsOptions } from '../capture/frames.js';
import { mac, Recorder } from './checker.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:10';
const PATTERN = '0123456789abcdef';
const payload = new TextEncoder().encode(PATTERN.repeat(63)).subarray(0, 1000);
const CWR = 0x80;

/** A super-frame as the server's TCP hands it down in bulk-256k: ACK|PSH, TS option, id 0x8832. */
function superFrame(flags = 0x18 | CWR): Uint8Array {
  return tcp(A, B, { src: '192.0.2.1', dst: '192.0.2.10', id: 0x8832, ttl: 64, df: true }, {
    sport: 80, dport: 43210, seq: 1000, ack: 22, flags, win: 64, options: tsOptions(3277413418, 3701102693), payload,
  });
}

function world(offload: boolean): { e: Engine; a: Veth; b: Veth; r: Recorder } {
  const e = new Engine({ seed: 1 });
  const [a, b] = Veth.pair(e, { name: 'a', mac: mac(A) }, { name: 'b', mac: mac(B) });
  a.offload = offload;
  const r = new Recorder(e).tap(a).sink(b);
  return { e, a, b, r };
}

function sendGso(e: Engine, a: Veth, gso: number, bytes = superFrame()): void {
  const slot = e.pool.fromBytes(bytes);
  e.pool.gsoSize[slot] = gso;
  a.transmit(slot);
}

describe('GSO super-frames at a device', () => {
  it('a device with offloads passes a super-frame on whole, gso_size kept (what tcpdump shows on a veth)', () => {
    const { e, a, r } = world(true);
    const seen: number[] = [];
    const b = a.peer;
    b.sink = { deliver: (_d, slot) => { seen.push(e.pool.gsoSize[slot]!, e.pool.len[slot]!); e.pool.release(slot); } };
    sendGso(e, a, 300);
    e.run();
    expect(r.log.filter((x) => x.dir === 'out').map((x) => x.bytes.length)).toEqual([66 + 1000]);
    expect(seen).toEqual([300, 1066]);
    expect(e.pool.inUse).toBe(0);
  });

  it('offload: false cuts it as skb_gso_segment does: ids and seq advance, CWR first, PSH last, checksums per segment', () => {
    const { e, a, r } = world(false);
    sendGso(e, a, 300);
    e.run();
    const out = r.log.filter((x) => x.dir === 'out').map((x) => x.bytes);
    const got = r.log.filter((x) => x.dir === 'sink').map((x) => x.bytes);
    expect(out.map((f) => f.length)).toEqual([366, 366, 366, 166]);
    expect(got).toEqual(out);
    const dv = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset, f.byteLength);
    expect(out.map((f) => dv(f).getUint16(18).toString(16))).toEqual(['8832', '8833', '8834', '8835']);
    expect(out.map((f) => dv(f).getUint16(16))).toEqual([352, 352, 352, 152]);
    expect(out.map((f) => dv(f).getUint32(38))).toEqual([1000, 1300, 1600, 1900]);
    expect(out.map((f) => f[47])).toEqual([0x10 | CWR, 0x10, 0x10, 0x18]);
    for (const f of out) {
      expect(verifyIpv4Checksum(f, 14)).toBe(true);
      expect(verifyTcpChecksum(f, 34, f.length - 34, 0xc0000201, 0xc000020a)).toBe(true);
      expect(f.subarray(54, 66)).toEqual(superFrame().subarray(54, 66)); // the same TS option in each
    }
    const joined = new Uint8Array(out.reduce((n, f) => n + f.length - 66, 0));
    let at = 0;
    for (const f of out) {
      joined.set(f.subarray(66), at);
      at += f.length - 66;
    }
    expect(joined).toEqual(payload);
    expect(e.pool.inUse).toBe(0);
  });

  it('FIN stays on the last segment only', () => {
    const { e, a, r } = world(false);
    sendGso(e, a, 500, superFrame(0x11));
    e.run();
    expect(r.log.filter((x) => x.dir === 'out').map((x) => x.bytes[47])).toEqual([0x10, 0x11]);
  });

  it('an ordinary frame leaves a device without offloads unchanged', () => {
    const { e, a, r } = world(false);
    sendGso(e, a, 0);
    e.run();
    expect(r.log.filter((x) => x.dir === 'out').map((x) => x.bytes)).toEqual([superFrame()]);
  });

  it('skb_gso_validate_network_len: each segment\'s IPv4 length, or the packet\'s own', () => {
    const e = new Engine({ seed: 1 });
    const slot = e.pool.fromBytes(superFrame());
    expect(gsoNetworkLen(e.pool, slot, e.pool.base(slot) + 14)).toBe(1052);
    e.pool.gsoSize[slot] = 300;
    expect(gsoNetworkLen(e.pool, slot, e.pool.base(slot) + 14)).toBe(352);
    e.pool.release(slot);
  });
});
