/**
 * Session codes: the short secret two people share to start a session, read
 * aloud or typed, such as `7-orbit-meadow-silver`. The code is the password
 * of the CPace exchange (`cpace.ts`), so an attacker on the network gets one
 * guess per connection, and no offline test of guesses at all.
 *
 * A generated code is a number from 0 to 99 followed by three words of the
 * BIP-39 English word list (`code_words.ts`: 2048 words, MIT License, see
 * there), all drawn with `crypto.getRandomValues` and without modulo bias.
 * That is log2(100) + 3 × 11 ≈ 39.6 bits of entropy
 * ({@linkcode CODE_ENTROPY_BITS}): against one guess per connection, far more
 * than a person ever needs, while staying short enough to read over the
 * phone.
 *
 * What a person types is normalised by {@linkcode parseCode}: surrounding
 * blanks go, letters become lower case, and any run of spaces, tabs and `-`
 * becomes one `-`. A code need not be one parley generated (two people may
 * agree on `--code=CODE` beforehand), but it must be plain ASCII letters and
 * digits, in at least {@linkcode MIN_CODE_PARTS} parts: the same keys on every
 * keyboard, nothing that Unicode normalisation could turn into something else,
 * and at least a shape that keeps a lone word (a password habit) out.
 *
 * @module
 */

import { quote, UsageError } from "../io/errors.ts";
import { CODE_WORDS } from "./code_words.ts";

/** The numbers a generated code starts with run from 0 to this, less one. */
export const CODE_NUMBER_RANGE = 100;

/** How many words a generated code has after its number. */
export const CODE_WORD_COUNT = 3;

/** The fewest `-`-separated parts a code may have. */
export const MIN_CODE_PARTS = 3;

/** The most characters a (normalised) code may have. */
export const MAX_CODE_LENGTH = 128;

/** The entropy of a generated code in bits: log2(100 × 2048³) ≈ 39.6. */
export const CODE_ENTROPY_BITS: number = Math.log2(CODE_NUMBER_RANGE) +
  CODE_WORD_COUNT * Math.log2(CODE_WORDS.length);

/** A code the user gave is not one: exit status 2, as for any bad command line. */
export class CodeError extends UsageError {}

/** What a code looks like, for messages. */
const EXAMPLE = "7-orbit-meadow-silver";

/**
 * A fresh random code: a number from 0 to 99 and three words, joined by
 * `-`, such as `42-oyster-ladder-bright`.
 */
export function generateCode(): string {
  const parts = [String(randomBelow(CODE_NUMBER_RANGE))];
  for (let i = 0; i < CODE_WORD_COUNT; i++) parts.push(CODE_WORDS[randomBelow(CODE_WORDS.length)]);
  return parts.join("-");
}

/**
 * The code a person typed, normalised: blanks around it dropped, letters in
 * lower case, every run of spaces, tabs and `-` made one `-` (and dropped at
 * either end). `" 7  Orbit--meadow silver "` gives `7-orbit-meadow-silver`.
 *
 * @throws {CodeError} when the text holds anything but ASCII letters,
 *   digits, spaces, tabs and `-`, has fewer than {@linkcode MIN_CODE_PARTS}
 *   parts, or is longer than {@linkcode MAX_CODE_LENGTH} characters. The
 *   message shows the value quoted and escaped, never raw.
 */
export function parseCode(text: string): string {
  if (!/^[A-Za-z0-9 \t-]*$/.test(text)) {
    throw new CodeError(
      `Invalid code ${shown(text)}: expected letters and digits in parts separated by -, such as ${EXAMPLE}`,
    );
  }
  const code = text.toLowerCase().replace(/[ \t-]+/g, "-").replace(/^-|-$/g, "");
  const parts = code === "" ? 0 : code.split("-").length;
  if (parts < MIN_CODE_PARTS) {
    throw new CodeError(
      `Invalid code ${shown(text)}: expected at least ${MIN_CODE_PARTS} parts separated by -, such as ${EXAMPLE}`,
    );
  }
  if (code.length > MAX_CODE_LENGTH) {
    throw new CodeError(`Invalid code ${shown(text)}: expected at most ${MAX_CODE_LENGTH} characters`);
  }
  return code;
}

/**
 * The CPace password (PRS) of a code: the UTF-8 bytes of the code as
 * {@linkcode parseCode} normalises it, so `7 Orbit meadow silver` and
 * `7-orbit-meadow-silver` are the same password. Being lower-case ASCII, it
 * is already in the form RFC 8265 (OpaqueString) asks for.
 *
 * @throws {CodeError} as {@linkcode parseCode} does.
 */
export function codePassword(code: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(parseCode(code));
}

/**
 * A value from outside as a message shows it: quoted and shortened as
 * {@linkcode quote} does, and every character beyond printable ASCII
 * (C1 controls, bidirectional overrides, invisible spaces) written as a
 * `\u` escape, so the message is safe and unambiguous wherever it goes.
 */
function shown(text: string): string {
  return quote(text).replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * A uniformly random integer from 0 to `bound - 1` (at most 2^32), by
 * rejection: 32-bit draws at or above the largest multiple of `bound` are
 * drawn again, so no value is more likely than another.
 */
function randomBelow(bound: number): number {
  const limit = 2 ** 32 - (2 ** 32 % bound);
  const draw = new Uint32Array(1);
  while (true) {
    crypto.getRandomValues(draw);
    if (draw[0] < limit) return draw[0] % bound;
  }
}
