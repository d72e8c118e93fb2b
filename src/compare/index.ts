// src/compare: structural comparison of captures (`wirebox compare`, and `wirebox verify` on in-memory
// captures). compareCaptures is pure: it works on captures already read, and gives the same report for
// the same inputs.
//
//   import { readCapture } from '../capture/index.js';
//   import { compareCaptures, formatReport, sideFromCaptures } from '../compare/index.js';
//   const emu = sideFromCaptures('emulator', names.map((n) => ({ fileName: `${n}.pcap`, capture: readCapture(set.bytes(n), n) })));
//   const real = sideFromCaptures('real', files.map((f) => ({ fileName: basename(f), capture: readCaptureFile(f) })));
//   const report = compareCaptures(emu, real, { pairs: [['vg.eth0', 'vg.tap0'], …] });   // pairs optional
//   report.verdict === 'match'; process.stdout.write(formatReport(report));
//
// What is normalised and why: normalise.ts; how frames are paired and compared: compare.ts.
export { compareCaptures } from './compare.js';
export { formatReport, differenceLine, type FormatOptions } from './format.js';
export { captureStreams, captureKey, sideFromCaptures, NotEthernetError } from './streams.js';
export { lcsPairs } from './align.js';
export type { CaptureSide, CaptureStream, StreamFrame, CompareOptions, CompareReport, FileReport, Difference } from './types.js';
