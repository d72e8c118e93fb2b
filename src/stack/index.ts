// The host stack of one network namespace (see host.ts for the packet paths).
export { Host, isLoopbackDevice, type OutRoute, type RouteSpec, type IcmpListener, type HostStats } from './host.js';
export { Fib, Scope, type IfAddress, type Route } from './route.js';
export { NeighbourTable, Nud, nudName, arpDefaults, type NeighbourParams, type NeighbourOwner } from './neighbour.js';
export { Icmp, IcmpType, IcmpCode, type IcmpErrorInfo } from './icmp.js';
export { IpIdent } from './ipid.js';
