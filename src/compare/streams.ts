// From read captures to the streams compareCaptures pairs: a pcap is one stream keyed by its file name
// without extension (`dh.eth0.pcap` → `dh.eth0`); a pcapng with one interface likewise; a pcapng with
// several interfaces gives one stream per interface, keyed by its if_name (`dh.eth0`, as wirebox writes
// them; a name without a dot is prefixed with the file's name: `dh.pcapng` + `eth0` → `dh.eth0`).

import { LINKTYPE_ETHERNET, type Capture } from '../capture/reader.js';
import type { CaptureSide, CaptureStream, StreamFrame } from './types.js';

/** `dh.eth0.pcap` → `dh.eth0` (the directory part and a .pcap/.pcapng/.cap extension taken off). */
export function captureKey(fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  return base.replace(/\.(pcapng|pcap|cap)$/i, '');
}

/** The streams of one capture; `fileName` names them in reports. Throws (a plain Error with the file
 *  named) when an interface's link type is not Ethernet. */
export function captureStreams(fileName: string, capture: Capture): CaptureStream[] {
  const key = captureKey(fileName);
  const used = new Set(capture.records.map((r) => r.ifIndex));
  const ifaces = capture.interfaces.map((_, i) => i).filter((i) => used.has(i) || capture.interfaces.length === 1);
  for (const i of ifaces) {
    const lt = capture.interfaces[i]!.linkType;
    if (lt !== LINKTYPE_ETHERNET) throw new NotEthernetError(`${fileName}: link type ${lt} is not Ethernet (1); wirebox compares Ethernet captures`);
  }
  const frames = (ifIndex: number | null): StreamFrame[] => {
    const out: StreamFrame[] = [];
    capture.records.forEach((r, i) => {
      if (ifIndex === null || r.ifIndex === ifIndex) out.push({ number: i + 1, data: r.data, origLen: r.origLen });
    });
    return out;
  };
  if (capture.format === 'pcap' || ifaces.length <= 1) return [{ key, label: fileName, frames: frames(null) }];
  return ifaces.map((i) => {
    const name = capture.interfaces[i]!.name;
    const ifKey = name === null ? `${key}.if${i}` : name.includes('.') ? name : `${key}.${name}`;
    return { key: ifKey, label: `${fileName}#${name ?? `if${i}`}`, frames: frames(i) };
  });
}

/** A side from captures already read (e.g. a world's in-memory pcaps read back with readCapture):
 *  each entry's `fileName` keys its streams as captureStreams does. */
export function sideFromCaptures(name: string, entries: { fileName: string; capture: Capture }[]): CaptureSide {
  return { name, streams: entries.flatMap((e) => captureStreams(e.fileName, e.capture)) };
}

export class NotEthernetError extends Error {
  override name = 'NotEthernetError';
}
