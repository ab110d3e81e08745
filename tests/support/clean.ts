/**
 * What every output of the programs must be, whatever was done to them:
 * free of stack traces and of raw control characters.
 *
 * @module
 */

import { assertExits, hasStackTrace, type RunningProgram } from "./process.ts";

/**
 * Characters that must never reach a screen as they are: C0 controls but tab
 * and line feed, DEL, C1 controls, and the bidirectional controls and
 * separators that parley shows as `<U+XXXX>`.
 */
// deno-lint-ignore no-control-regex
export const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** Throws when `text` holds a raw control character; `where` names the output in the message. */
export function assertNoRawControls(text: string, where: string): void {
  const found = RAW_CONTROL.exec(text);
  if (found) {
    const code = found[0].codePointAt(0)!.toString(16).padStart(4, "0");
    throw new Error(`raw control character U+${code} in ${where}:\n${JSON.stringify(text)}`);
  }
}

/** Throws when either output of `program` so far holds a stack trace or a raw control character. */
export function assertCleanOutput(program: RunningProgram): void {
  for (const [name, log] of [["stdout", program.stdout], ["stderr", program.stderr]] as const) {
    if (hasStackTrace(log.text)) throw new Error(`stack trace on ${name}:\n${log.text}`);
    assertNoRawControls(log.text, name);
  }
}

/**
 * Waits for `program` to exit with `code` and `lastLine` last on stderr (as
 * {@linkcode assertExits}), then checks that both outputs are clean.
 */
export async function assertCleanExit(
  program: RunningProgram,
  code: number,
  lastLine: string | RegExp,
): Promise<void> {
  await assertExits(program, code, lastLine);
  assertCleanOutput(program);
}
