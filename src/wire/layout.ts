// The bridge between the buffer-layout declarations (one per header, the single source of truth for
// field positions) and the constant offset tables the hot path reads (`IPV4.TTL`, `TCP.FLAGS`…).
// Offsets are computed once at module load; test/wire/offsets.test.ts pins them to the RFC values.

import type { Layout, Structure } from '@solana/buffer-layout';

/** Untyped field list → Structure, so declarations read like the RFC diagrams. */
export type HeaderLayout = Structure<Record<string, number | Uint8Array>>;

/** Byte offset of `field` in `layout`; throws at load time if the name is wrong (a programming error). */
export function fieldOffset(layout: HeaderLayout, field: string): number {
  const at = layout.offsetOf(field);
  if (at === undefined || at < 0) throw new Error(`layout has no fixed field ${field}`);
  return at;
}

/** Total fixed span of the header layout in bytes. */
export function layoutSpan(layout: HeaderLayout): number {
  return layout.span;
}

/** Cast helper: buffer-layout's `struct<T>` wants one value type for all members; headers mix numbers
 *  and blobs, which is fine for offsets and tool-side decode. */
export function fields(list: Layout<number>[] | Layout<number | Uint8Array>[]): Layout<number | Uint8Array>[] {
  return list as Layout<number | Uint8Array>[];
}
