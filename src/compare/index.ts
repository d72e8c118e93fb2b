// src/compare: structural comparison of captures (`wirebox compare`, and `wirebox verify` on in-memory
// captures). compareCaptures is pure: it works on captures already read.
export { compareCaptures } from './compare.js';
export { formatReport, differenceLine, type FormatOptions } from './format.js';
export { captureStreams, captureKey, sideFromCaptures, NotEthernetError } from './streams.js';
export { lcsPairs } from './align.js';
export type { CaptureSide, CaptureStream, StreamFrame, CompareOptions, CompareReport, FileReport, Difference } from './types.js';
