// Linux 6.x TCP constants and sysctl defaults (include/net/tcp.h, net/ipv4/tcp_ipv4.c tcp_sk_init),
// in virtual nanoseconds where they are times.

import { IpProto } from '../wire/proto.js';

export const MS = 1_000_000;
export const SEC = 1_000_000_000;

/** TCP_TIMEOUT_INIT: the RTO before any RTT sample (RFC 6298). */
export const TCP_TIMEOUT_INIT = 1 * SEC;
/** TCP_TIMEOUT_FALLBACK: the RTO after a handshake that gave no RTT sample (RFC 6298 5.7). */
export const TCP_TIMEOUT_FALLBACK = 3 * SEC;
export const TCP_RTO_MIN = 200 * MS;
export const TCP_RTO_MAX = 120 * SEC;
/** TCP_ATO_MIN and TCP_DELACK_MIN (HZ/25), TCP_DELACK_MAX (HZ/5). */
export const TCP_ATO_MIN = 40 * MS;
export const TCP_DELACK_MIN = 40 * MS;
export const TCP_DELACK_MAX = 200 * MS;
/** TCP_TIMEWAIT_LEN, and tcp_fin_timeout's default for orphaned FIN_WAIT_2 sockets. */
export const TCP_TIMEWAIT_LEN = 60 * SEC;
export const TCP_FIN_TIMEOUT = 60 * SEC;

/** net.ipv4.tcp_invalid_ratelimit: one ACK per this for out-of-window segments without data. */
export const TCP_INVALID_RATELIMIT = 500 * MS;

export const TCP_SYN_RETRIES = 6;
/** net.ipv4.tcp_syn_linear_timeouts (6.5+): the first SYN timeouts stay at the initial RTO. */
export const TCP_SYN_LINEAR_TIMEOUTS = 4;
export const TCP_SYNACK_RETRIES = 5;
export const TCP_RETRIES2 = 15;
export const TCP_MAX_QUICKACKS = 16;
export const TCP_INIT_CWND = 10;
/** TCP_MSS_DEFAULT and TCP_MIN_MSS. */
export const TCP_MSS_DEFAULT = 536;
export const TCP_MIN_MSS = 88;

/** tcp_rmem defaults of a 6.18 kernel: 4096 131072 33554432 (rmem[2] = 32 MiB gives wscale 10). */
export const TCP_RMEM_DEFAULT = 131072;
export const TCP_RMEM_MAX = 33554432;
export const SYSCTL_RMEM_MAX = 212992;
/** TCP_DEFAULT_SCALING_RATIO: half of the receive buffer is offered as window until measured. */
export const TCP_RMEM_TO_WIN_SCALE = 8;
export const TCP_DEFAULT_SCALING_RATIO = 1 << (TCP_RMEM_TO_WIN_SCALE - 1);
/** tcp_app_win default. */
export const TCP_APP_WIN = 31;
/** The largest window scale (RFC 7323). */
export const TCP_MAX_WSCALE = 14;

/** ip_local_port_range default (defined in ports.ts, shared with UDP). */
export { EPHEMERAL_HIGH, EPHEMERAL_LOW } from './ports.js';

export const IPPROTO_TCP = IpProto.TCP;
export const DEFAULT_TTL = 64;

/** ilog2 of a positive integer. */
export function ilog2(n: number): number {
  return 31 - Math.clz32(n);
}

/** The window scale Linux's tcp_select_initial_window picks for the default buffers. */
export function defaultRcvWscale(): number {
  const space = Math.max(TCP_RMEM_MAX, SYSCTL_RMEM_MAX);
  return Math.max(0, Math.min(TCP_MAX_WSCALE, ilog2(space) - 15));
}

/** __tcp_win_from_space. */
export function winFromSpace(ratio: number, space: number): number {
  return Math.floor((space * ratio) / (1 << TCP_RMEM_TO_WIN_SCALE));
}

/** tcp_select_initial_window's rcv_wnd for a buffer of `space` window bytes and segment size `mss`. */
export function initialRcvWnd(space: number, mss: number): number {
  return space > mss ? space - (space % mss) : space;
}
