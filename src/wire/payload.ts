// Application payloads as a scenario names them (`send`, `reply`): a string (UTF-8 on the wire), a size
// (that many bytes of "0123456789abcdef" repeated, the pattern a human can read in a hex dump and spot
// a missing or repeated 16-byte run in) or raw bytes in hex. The same plain-data form is in the
// scenario, in the plan and in the real agent's JSON, so both back ends send the very same bytes.
//
// A sized payload is never held whole: `payloadChunk` produces any part of it on demand, so a 1 GB
// download costs one chunk of memory, as `dd if=… | nc` would.

/** A string, `{ size }` bytes of the 16-byte pattern, or `{ hex }` (lower-case hex, no separators). */
export type Payload = string | { size: number } | { hex: string };

/** The repeated pattern of a `{ size }` payload. */
export const PAYLOAD_PATTERN = '0123456789abcdef';
const PATTERN = new TextEncoder().encode(PAYLOAD_PATTERN);

const encoder = new TextEncoder();

/** Length in bytes. */
export function payloadLength(p: Payload): number {
  if (typeof p === 'string') return encoder.encode(p).length;
  if ('size' in p) return p.size;
  return p.hex.length / 2;
}

/** The whole payload as bytes (only for payloads small enough to hold; see `payloadChunk`). */
export function payloadBytes(p: Payload): Uint8Array {
  if (typeof p === 'string') return encoder.encode(p);
  if ('size' in p) return patternBytes(0, p.size);
  return hexBytes(p.hex);
}

/** Bytes [offset, offset+len) of the payload (clipped to its end). */
export function payloadChunk(p: Payload, offset: number, len: number): Uint8Array {
  if (typeof p === 'object' && 'size' in p) return patternBytes(offset, Math.max(0, Math.min(len, p.size - offset)));
  return payloadBytes(p).subarray(offset, offset + len);
}

function patternBytes(offset: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = PATTERN[(offset + i) & 15]!;
  return out;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** How a payload reads in the summary: the string, `16 MiB of the pattern`, or `4 bytes of hex`. */
export function describePayload(p: Payload): string {
  if (typeof p === 'string') return JSON.stringify(p);
  if ('size' in p) return `${p.size} bytes`;
  return `${p.hex.length / 2} bytes of hex`;
}
