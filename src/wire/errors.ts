// The one error type of the wire layer. Every parse failure of untrusted bytes is a WireError that
// says what was wrong (`code`), in which protocol, and at which byte offset of the buffer it was given,
// so the CLI can print it in one line ("ipv4: bad-length at byte 16: total length 19 < IHL 20").

/** Why a header was refused. */
export type WireErrorCode =
  /** Fewer bytes than the header (or a length field) needs. */
  | 'truncated'
  /** A length field that contradicts itself or the buffer (IHL < 5, total length < IHL, data offset < 5…). */
  | 'bad-length'
  /** A version field that is not the one expected (IPv4 version ≠ 4). */
  | 'bad-version'
  /** A field value that is not allowed (bad text address, ARP hardware type we cannot read…). */
  | 'bad-value';

export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly code: WireErrorCode,
    /** 'ethernet' | 'arp' | 'ipv4' | 'icmpv4' | 'udp' | 'tcp' | 'addr' | 'frame' … */
    readonly protocol: string,
    /** Byte offset in the caller's buffer (or character offset in the text for addresses). */
    readonly offset: number,
    detail: string,
  ) {
    super(`${protocol}: ${code} at byte ${offset}: ${detail}`);
  }
}

/** The common case: fewer bytes than needed. `offset` is where the header (or field) starts. */
export function truncated(protocol: string, offset: number, need: number, have: number): WireError {
  return new WireError('truncated', protocol, offset, `need ${need} bytes, have ${have}`);
}

/** A caller's (off, len) that lies about the buffer itself: refuse it rather than read past the end. */
export function checkRange(protocol: string, bytes: Uint8Array, off: number, len: number): void {
  if (!(off >= 0 && len >= 0 && off + len <= bytes.length))
    throw new WireError('truncated', protocol, off, `range [${off}, ${off + len}) outside the ${bytes.length}-byte buffer`);
}
