// The connection moved to src/sockets/tcp/conn.ts in the TCP split (its work to input/output/
// timers/minisocks beside it). Import from src/sockets/tcp.ts; this re-export only keeps branches
// started before the split compiling.
export { TcpConnection } from './tcp/conn.js';
export type { Segment, TcpErrorReason, TcpHandlers, TcpOwner, TcpState } from './tcp/conn.js';
