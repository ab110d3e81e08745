/**
 * How much room text takes on a terminal: most characters take one column,
 * East Asian wide characters and emoji two, combining marks none.
 *
 * The rules follow those `node:readline` uses to place its cursor, so that
 * we can tell how many rows a line it drew takes.
 *
 * @module
 */

/** Columns taken by one code point: 0, 1 or 2. */
export function codePointWidth(code: number): number {
  if (isZeroWidth(code)) return 0;
  return isWide(code) ? 2 : 1;
}

/** Columns taken by `text` on one unbroken line; a tab, like other controls, counts as none ({@linkcode displayPosition} places tabs). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += codePointWidth(char.codePointAt(0)!);
  return width;
}

/**
 * Where the cursor ends up after writing `text` from the start of a row on a
 * terminal `columns` wide: full rows passed and the column reached. A wide
 * character that does not fit at the end of a row moves to the next one.
 */
export function displayPosition(text: string, columns: number, tabSize = 8): { rows: number; cols: number } {
  let rows = 0;
  let offset = 0;
  for (const char of text) {
    if (char === "\n") {
      rows += Math.ceil(offset / columns) || 1;
      offset = 0;
      continue;
    }
    if (char === "\t") {
      offset += tabSize - (offset % tabSize);
      continue;
    }
    const width = codePointWidth(char.codePointAt(0)!);
    if (width === 2 && (offset + 1) % columns === 0) offset++;
    offset += width;
  }
  const cols = offset % columns;
  return { rows: rows + (offset - cols) / columns, cols };
}

function isZeroWidth(code: number): boolean {
  return code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x300 && code <= 0x36f) || // combining diacritical marks
    (code >= 0x200b && code <= 0x200f) || // zero-width space, joiners, marks
    (code >= 0x20d0 && code <= 0x20ff) || // combining marks for symbols
    (code >= 0xfe00 && code <= 0xfe0f) || // variation selectors
    (code >= 0xfe20 && code <= 0xfe2f) || // combining half marks
    (code >= 0xe0100 && code <= 0xe01ef); // variation selectors supplement
}

function isWide(code: number): boolean {
  return code >= 0x1100 && (
    code <= 0x115f || // Hangul Jamo
    code === 0x2329 || code === 0x232a ||
    (code >= 0x2e80 && code <= 0x3247 && code !== 0x303f) || // CJK radicals … enclosed
    (code >= 0x3250 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0xa4c6) || // CJK unified ideographs, Yi
    (code >= 0xa960 && code <= 0xa97c) ||
    (code >= 0xac00 && code <= 0xd7a3) || // Hangul syllables
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe10 && code <= 0xfe19) ||
    (code >= 0xfe30 && code <= 0xfe6b) ||
    (code >= 0xff01 && code <= 0xff60) || // fullwidth forms
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1b000 && code <= 0x1b001) ||
    (code >= 0x1f200 && code <= 0x1f251) ||
    (code >= 0x1f300 && code <= 0x1f64f) || // pictographs, emoticons
    (code >= 0x1f900 && code <= 0x1f9ff) || // supplemental symbols and pictographs
    (code >= 0x20000 && code <= 0x3fffd)
  );
}
