// Capture as a wrapper around a device (smoltcp's phy/pcap_writer.rs idea): a `CaptureTap` that writes
// every frame a device sees into a pcap writer, or into a pcapng writer as one of its interfaces.
// `attachTap(dev, tap)` is all a device needs; it never knows about files.

import type { CaptureTap, NetDevice } from '../devices/device.js';
import type { PcapWriter } from './pcap.js';
import type { PcapngWriter } from './pcapng.js';

/** Every frame, both directions, into one pcap file (what `tcpdump -i IF -w FILE` records). */
export class PcapTap implements CaptureTap {
  constructor(readonly writer: PcapWriter) {}

  frame(timeNs: number, bytes: Uint8Array, offset: number, length: number, _direction: 'in' | 'out'): void {
    this.writer.record(timeNs, bytes, offset, length);
  }
}

/** Every frame into a pcapng writer as interface `ifIndex`, with the direction in epb_flags unless
 *  `directions` is false. */
export class PcapngTap implements CaptureTap {
  constructor(
    readonly writer: PcapngWriter,
    readonly ifIndex: number,
    readonly directions = true,
  ) {}

  /** Describe the interface `name` in `writer` and return a tap writing as it. */
  static forInterface(writer: PcapngWriter, name: string, directions = true): PcapngTap {
    return new PcapngTap(writer, writer.addInterface({ name }), directions);
  }

  frame(timeNs: number, bytes: Uint8Array, offset: number, length: number, direction: 'in' | 'out'): void {
    this.writer.packet(this.ifIndex, timeNs, bytes, offset, length, null, this.directions ? direction : null);
  }
}

/** Start capturing on a device. */
export function attachTap(dev: NetDevice, tap: CaptureTap): void {
  dev.taps.push(tap);
}

/** Stop capturing; returns whether the tap was attached. */
export function detachTap(dev: NetDevice, tap: CaptureTap): boolean {
  const i = dev.taps.indexOf(tap);
  if (i < 0) return false;
  dev.taps.splice(i, 1);
  return true;
}
