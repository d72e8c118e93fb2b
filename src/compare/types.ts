// The data `compareCaptures` works on and the report it gives back. Plain data: a side is a list of
// streams (one per captured interface), each a list of frames; the report is JSON-serialisable.

/** One captured frame of a stream. */
export interface StreamFrame {
  /** 1-based record number in its file (what Wireshark and `tcpdump -r | nl` call the frame number). */
  number: number;
  /** Captured bytes. */
  data: Uint8Array;
  /** Length on the wire. */
  origLen: number;
}

/** The frames of one interface: a pcap file, or one interface of a pcapng. */
export interface CaptureStream {
  /** Pairing key, normally `<node>.<if>` (the file name without extension, or the pcapng if_name). */
  key: string;
  /** For reports: the file name, with `#ifname` for one interface of a pcapng. */
  label: string;
  frames: StreamFrame[];
}

export interface CaptureSide {
  /** For reports, e.g. the folder or 'emulator'. */
  name: string;
  streams: CaptureStream[];
}

export interface CompareOptions {
  /** Compare MAC addresses literally instead of as tokens. */
  fixedMacs?: boolean;
  /** Also compare IP id patterns, TCP windows after the handshake and Ethernet padding bytes. */
  strict?: boolean;
  /** Validate checksums on each side: bad ones are differences, partial (offload) ones are notes. */
  checksums?: boolean;
  /** Keep IGMP frames (ignored by default). */
  keepIgmp?: boolean;
  /** Keep IPv6 frames (ethertype 0x86dd, ignored by default). */
  keepIpv6?: boolean;
  /** Keep trailing ARP refreshes (ignored by default). */
  keepArpRefresh?: boolean;
  /** Explicit pairs [key on side A, key on side B]; by default streams with the same key are paired. */
  pairs?: [string, string][];
}

export type Difference =
  | { kind: 'field'; frameA: number; frameB: number; field: string; a: string; b: string }
  | { kind: 'only-a'; frameA: number; summary: string }
  | { kind: 'only-b'; frameB: number; summary: string }
  | { kind: 'checksum'; side: 'a' | 'b'; frame: number; field: string; found: number; expected: number };

export interface FileReport {
  /** The A stream's key (or B's when only B has it). */
  key: string;
  labelA: string | null;
  labelB: string | null;
  verdict: 'match' | 'differ' | 'only-a' | 'only-b';
  /** Frames compared on each side (after the ignored ones are taken out). */
  framesA: number;
  framesB: number;
  /** Frames left out by the normalisation (IGMP, IPv6, trailing ARP refreshes). */
  ignoredA: number;
  ignoredB: number;
  /** Frames aligned with a frame of the other side, and of those the ones without a field difference. */
  framesAligned: number;
  framesIdentical: number;
  fieldsCompared: number;
  fieldsMatched: number;
  differences: Difference[];
  /** Things worth knowing that are not differences (partial checksums left for offload). */
  notes: string[];
}

export interface CompareReport {
  verdict: 'match' | 'differ';
  sideA: string;
  sideB: string;
  files: FileReport[];
  totals: { files: number; filesMatching: number; differences: number; fieldsCompared: number; fieldsMatched: number };
}
