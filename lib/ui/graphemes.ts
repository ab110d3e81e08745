/**
 * Editing a line by grapheme cluster, what a person sees as one character:
 * `e` + U+0301 (é), a flag (🇫🇷, two regional indicators), an emoji with a
 * skin tone (👍🏽) or a ZWJ sequence (👨‍👩‍👧) is stepped over and deleted
 * whole, never split. Boundaries are those of `Intl.Segmenter` with
 * granularity `"grapheme"`; positions are UTF-16 offsets, as in
 * `node:readline`'s `line` and `cursor`.
 *
 * @module
 */

/** A line being edited and the cursor in it (a UTF-16 offset). */
export interface Edit {
  /** The text of the line. */
  line: string;
  /** Where the cursor is, from 0 to `line.length`. */
  cursor: number;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The offsets where grapheme clusters of `line` begin, and `line.length`. */
function boundaries(line: string): number[] {
  const offsets: number[] = [];
  for (const { index } of segmenter.segment(line)) offsets.push(index);
  offsets.push(line.length);
  return offsets;
}

/** The last cluster boundary of `line` before `cursor` (0 at the start). */
export function previousBoundary(line: string, cursor: number): number {
  let previous = 0;
  for (const offset of boundaries(line)) {
    if (offset >= cursor) break;
    previous = offset;
  }
  return previous;
}

/** The first cluster boundary of `line` after `cursor` (`line.length` at the end). */
export function nextBoundary(line: string, cursor: number): number {
  for (const offset of boundaries(line)) {
    if (offset > cursor) return offset;
  }
  return line.length;
}

/** Backspace: deletes the cluster before the cursor. */
export function deleteBefore({ line, cursor }: Edit): Edit {
  const start = previousBoundary(line, cursor);
  return { line: line.slice(0, start) + line.slice(cursor), cursor: start };
}

/** Delete: deletes the cluster after the cursor. */
export function deleteAfter({ line, cursor }: Edit): Edit {
  const end = nextBoundary(line, cursor);
  return { line: line.slice(0, cursor) + line.slice(end), cursor };
}
