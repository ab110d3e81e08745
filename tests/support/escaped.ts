/**
 * What hostile text must look like once parley has shown it, worked out here
 * on its own (not with `lib/ui/render.ts`), so that a test checks the programs
 * against the promise rather than against their own code: C0 controls but
 * tab and line feed in caret notation (ESC is `^[`, BEL `^G`), DEL as `^?`,
 * and C1 controls, bidirectional controls and the line and paragraph
 * separators as `<U+XXXX>`.
 *
 * @module
 */

/** Code points shown as `<U+XXXX>`: C1, the Arabic letter mark, LRM, RLM, U+2028 to U+202E, U+2066 to U+2069. */
function isShownAsCodePoint(code: number): boolean {
  return (code >= 0x80 && code <= 0x9f) || code === 0x061c || code === 0x200e || code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

/** `text` as parley must show it: every control character but tab and line feed in a visible form. */
export function shown(text: string): string {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code === 0x09 || code === 0x0a) out += char;
    else if (code < 0x20) out += "^" + String.fromCharCode(code + 0x40);
    else if (code === 0x7f) out += "^?";
    else if (isShownAsCodePoint(code)) out += `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
    else out += char;
  }
  return out;
}

/**
 * The lines a peer sends in `bytes`, as the receiving side must show them:
 * only lines ended by `\n` (a `\r` before it is dropped), decoded as UTF-8
 * with U+FFFD for bad bytes, then {@linkcode shown}.
 */
export function shownLines(bytes: Uint8Array): string[] {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const lines: string[] = [];
  let start = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, start)) {
    const end = i > start && bytes[i - 1] === 0x0d ? i - 1 : i;
    lines.push(shown(decoder.decode(bytes.subarray(start, end))));
    start = i + 1;
  }
  return lines;
}

/** Joins byte arrays into one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
