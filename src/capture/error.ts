// The one error type of src/capture: a capture file (or writer) that cannot be read (or written),
// carrying the file's name and the byte offset where the problem sits, so the CLI can print it in one
// line: "x.pcap: byte 40: record header truncated (16 bytes needed, 7 left)".

export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  /** When reading: what could be read before the problem (the header and every whole record before the
   *  offset), for tools that show what there is, as tcpdump does with a cut file; null otherwise. */
  partial: import('./reader.js').Capture | null = null;

  constructor(
    /** The file name (or the name given to an in-memory capture). */
    readonly file: string,
    /** Byte offset in the file where the problem was found; null when it is about the file as a whole
     *  (cannot open, cannot rename). */
    readonly offset: number | null,
    /** What is wrong, without the file and offset. */
    readonly reason: string,
  ) {
    super(offset === null ? `${file}: ${reason}` : `${file}: byte ${offset}: ${reason}`);
  }
}
