// Seeded identifiers: MACs, hex names. Each is drawn from its own forked stream (`rng.fork(label)`), so
// adding a node or an interface never changes what another one gets.

import type { MacString } from './plan.js';
import { formatMac } from '../wire/addr.js';

/** What the planner needs of src/sim/prng.ts's Prng. */
export interface Rng {
  u32(): number;
  fork(label: string): Rng;
}

function bytes(rng: Rng, n: number): number[] {
  const out: number[] = [];
  let w = 0;
  for (let i = 0; i < n; i++) {
    if (i % 4 === 0) w = rng.u32() >>> 0;
    out.push((w >>> ((i % 4) * 8)) & 0xff);
  }
  return out;
}

function macOf(b: number[]): MacString {
  let n = 0;
  for (const x of b) n = n * 256 + x;
  return formatMac(n);
}

/** The kernel's eth_random_addr(): random bytes, multicast bit cleared, locally-administered bit set. */
export function randomLocalMac(rng: Rng): MacString {
  const b = bytes(rng, 6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return macOf(b);
}

/** A MAC in a vendor prefix with three random bytes: libvirt/QEMU 52:54:00, VirtualBox 08:00:27. */
export function prefixedMac(rng: Rng, prefix: readonly [number, number, number]): MacString {
  return macOf([...prefix, ...bytes(rng, 3)]);
}

/** Docker up to 27: 02:42 followed by the container's four IPv4 bytes. */
export function docker27Mac(ip: number): MacString {
  ip = ip >>> 0;
  return macOf([0x02, 0x42, ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff]);
}

/** `n` random lower-case hex digits. */
export function randomHex(rng: Rng, n: number): string {
  let s = '';
  for (const b of bytes(rng, Math.ceil(n / 2))) s += b.toString(16).padStart(2, '0');
  return s.slice(0, n);
}

export const QEMU_OUI = [0x52, 0x54, 0x00] as const;
export const VBOX_OUI = [0x08, 0x00, 0x27] as const;
