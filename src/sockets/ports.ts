// Port numbers as Linux hands them out: net.ipv4.ip_local_port_range (32768 60999 by default) and the
// errors a socket call returns, shared by UDP (here) and TCP.

/** net.ipv4.ip_local_port_range defaults. */
export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;

/** reciprocal_scale(val, ep_ro): maps a 32-bit random value to [0, n) as the kernel does. */
export function reciprocalScale(val: number, n: number): number {
  return Math.floor(((val >>> 0) * n) / 0x100000000);
}

export type SocketErrorCode =
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EINVAL'
  | 'EMSGSIZE'
  | 'ENETUNREACH'
  | 'EACCES'
  | 'EAGAIN'
  | 'ENOTCONN'
  | 'EBADF';

/** What a failing socket call returns, with errno's name. */
export class SocketError extends Error {
  override readonly name = 'SocketError';
  constructor(
    readonly code: SocketErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/**
 * udp_lib_get_port's search for a free port when none was asked for: a random start in the range, then
 * steps of an odd multiple of the hash-table size (mod 2^16), so every port of the range is tried once.
 * `htableSize` is the UDP hash table's size (a power of two; with a large table the search is just
 * "random start, then upward"). Returns 0 when every port is taken.
 */
export function udpEphemeralPort(
  rand: number,
  inUse: (port: number) => boolean,
  low = EPHEMERAL_LOW,
  high = EPHEMERAL_HIGH,
  htableSize = 65536,
): number {
  const remaining = high - low + 1;
  let first = reciprocalScale(rand, remaining) + low;
  const step = Math.imul((rand | 1) >>> 0, htableSize) & 0xffff;
  const last = first + htableSize;
  do {
    let snum = first & 0xffff;
    const start = snum;
    do {
      if (low <= snum && snum <= high && !inUse(snum)) return snum;
      snum = (snum + step) & 0xffff;
    } while (snum !== start);
  } while (++first !== last);
  return 0;
}
