// src/capture: pcap and pcapng writers, the reader, and capture taps for devices.
export { CaptureError } from './error.js';
export { readCapture, readCaptureFile, LINKTYPE_ETHERNET } from './reader.js';
export type { Capture, CaptureInterface, CaptureRecord } from './reader.js';
export { PcapWriter, PCAP_SNAPLEN } from './pcap.js';
export type { PcapWriterOptions, TsPrecision } from './pcap.js';
export { PcapngWriter } from './pcapng.js';
export type { PcapngWriterOptions, PcapngInterfaceOptions } from './pcapng.js';
export { MemorySink, FileSink } from './sink.js';
export type { ByteSink, FileSinkOptions } from './sink.js';
export { PcapTap, PcapngTap, attachTap, detachTap } from './tap.js';
export { FramePrinter, formatTime } from './print.js';
export type { PrintOptions } from './print.js';
