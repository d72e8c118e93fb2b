// The net devices, for `import { Bridge, Veth, … } from '../devices/index.js'`.
export { NetDevice, packetType, PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST } from './device.js';
export type { FrameSink, CaptureTap, RxHandler, PacketType } from './device.js';
export { Veth, type VethEnd } from './veth.js';
export { Nic } from './nic.js';
export { Wire } from './wire.js';
export { Bridge, DEFAULT_AGEING_NS } from './bridge.js';
export { Macvlan } from './macvlan.js';
export { Loopback } from './loopback.js';
export { MacTable, FDB_MISS, type FdbEntry } from './fdb.js';
export { readMac, isMulticastMac, isValidUnicastMac, isLinkLocalMac, BROADCAST_MAC, isGroupAt, isValidSourceAt, linkLocalAt, macEqualsAt } from './mac.js';
