// Test vocabulary for frames, after gVisor's checker package: build frames by hand, record what every
// device's capture taps and sinks see, and assert on frames with small named checks.

import { expect } from 'vitest';
import type { Engine } from '../../src/sim/engine.js';
import type { CaptureTap, FrameSink, NetDevice } from '../../src/devices/device.js';

export const mac = (s: string): number => parseInt(s.replace(/:/g, ''), 16);
export const macStr = (n: number): string => n.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');

export const BCAST = 'ff:ff:ff:ff:ff:ff';

/** An Ethernet frame `dst ← src` of ethertype `type`, 60 bytes; byte 14 carries `id` (for telling
 *  frames apart), the rest is 0xa5. */
export function frame(dst: string, src: string, id: number, type = 0x0800): Uint8Array {
  const f = new Uint8Array(60).fill(0xa5);
  const dv = new DataView(f.buffer);
  dv.setUint16(0, mac(dst) / 2 ** 32);
  dv.setUint32(2, mac(dst) >>> 0);
  dv.setUint16(6, mac(src) / 2 ** 32);
  dv.setUint32(8, mac(src) >>> 0);
  dv.setUint16(12, type);
  f[14] = id;
  return f;
}

export interface Seen {
  dev: string;
  t: number;
  dir: 'in' | 'out' | 'sink';
  dst: string;
  src: string;
  id: number;
  bytes: Uint8Array;
}

/** Records every tap and sink event of the devices it watches, in one global order. */
export class Recorder {
  readonly log: Seen[] = [];

  constructor(private readonly engine: Engine) {}

  private push(dev: string, t: number, dir: Seen['dir'], bytes: Uint8Array): void {
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const dst = macStr(dv.getUint16(0) * 2 ** 32 + dv.getUint32(2));
    const src = macStr(dv.getUint16(6) * 2 ** 32 + dv.getUint32(8));
    this.log.push({ dev, t, dir, dst, src, id: bytes[14]!, bytes });
  }

  /** A capture tap on `dev` (as tcpdump -i dev). */
  tap(dev: NetDevice): this {
    const tap: CaptureTap = {
      frame: (t, bytes, off, len, dir) => this.push(dev.name, t, dir, bytes.slice(off, off + len)),
    };
    dev.taps.push(tap);
    return this;
  }

  /** A sink on `dev` (its namespace's stack) that records and releases, checking it owns the slot. */
  sink(dev: NetDevice): this {
    const engine = this.engine;
    const s: FrameSink = {
      deliver: (d, slot) => {
        expect(engine.pool.refCount(slot), `${d.name}: sink got a shared slot`).toBe(1);
        this.push(d.name, engine.now, 'sink', engine.pool.toBytes(slot));
        engine.pool.release(slot);
      },
    };
    dev.sink = s;
    return this;
  }

  /** Ids seen on `dev` in direction `dir`, in order. */
  ids(dev: string, dir: Seen['dir']): number[] {
    return this.log.filter((e) => e.dev === dev && e.dir === dir).map((e) => e.id);
  }

  /** Devices that saw frame `id` in direction `dir`. */
  where(id: number, dir: Seen['dir']): string[] {
    return this.log.filter((e) => e.id === id && e.dir === dir).map((e) => e.dev).sort();
  }

  clear(): void {
    this.log.length = 0;
  }
}

/** Sends `bytes` out of `dev` as its stack would (transmit takes the slot). */
export function send(engine: Engine, dev: NetDevice, bytes: Uint8Array): void {
  dev.transmit(engine.pool.fromBytes(bytes));
}
