/**
 * Makes text from the other side safe to show on a terminal.
 *
 * Every control character except tab is replaced by a visible form, so the
 * peer can never move the cursor, clear the screen, ring the bell, set the
 * window title or plant a hyperlink (CWE-150). Bidirectional overrides and
 * line separators are shown too, so the peer cannot disguise what it wrote.
 *
 * - C0 controls and DEL use caret notation: ESC is `^[`, BEL `^G`, DEL `^?`.
 * - C1 controls, bidi controls and U+2028/U+2029 appear as `<U+XXXX>`.
 *
 * @module
 */

import { ByteClass } from "../wire/byte_class.ts";

/**
 * Characters that are not shown as themselves: C0 except tab, DEL, C1, the
 * Arabic letter mark, LRM/RLM, line and paragraph separators, bidi embeddings,
 * overrides and isolates.
 */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

function visible(char: string): string {
  const code = char.charCodeAt(0);
  if (code < 0x20) return "^" + String.fromCharCode(code + 0x40);
  if (code === 0x7f) return "^?";
  return `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
}

/** The same characters as {@linkcode UNSAFE}, but for the line feed. */
// deno-lint-ignore no-control-regex
const UNSAFE_BUT_NEWLINE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Text that may be written to a terminal as it is: whatever came from outside
 * the program has been through {@linkcode escapeControls}. The screen's
 * writers take only this type, so no code path can pass them raw text. (The
 * brand exists only for the type checker.)
 */
export type SafeText = string & { readonly "parley.safeText": true };

/** Returns `text` with every unsafe character replaced by a visible form. */
export function escapeControls(text: string): SafeText {
  return text.replace(UNSAFE, visible) as SafeText;
}

/** As {@linkcode escapeControls}, but line feeds are kept: for text of several lines. */
export function escapeLines(text: string): SafeText {
  return text.replace(UNSAFE_BUT_NEWLINE, visible) as SafeText;
}

/**
 * Builds safe text from a template: its literal parts are the program's own
 * words; every value put into it must already be safe.
 */
export function safe(strings: TemplateStringsArray, ...values: SafeText[]): SafeText {
  let text = strings[0];
  for (let i = 0; i < values.length; i++) text += values[i] + strings[i + 1];
  return text as SafeText;
}

/** Joins safe pieces with a safe separator. */
export function joinSafe(pieces: readonly SafeText[], separator: SafeText): SafeText {
  return pieces.join(separator) as SafeText;
}

/**
 * The bytes that can be written to a terminal as they are, without decoding
 * and escaping: printable ASCII and tab.
 */
export const PLAIN_TEXT: ByteClass = ByteClass.of((byte) => (byte >= 0x20 && byte <= 0x7e) || byte === 0x09);

/** True when every byte of `bytes` is in {@linkcode PLAIN_TEXT}. */
export function isPlainAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (!PLAIN_TEXT.has(bytes[i])) return false;
  }
  return true;
}
