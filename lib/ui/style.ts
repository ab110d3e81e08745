/**
 * Colours for the terminal view, or none: when `NO_COLOR` is set or output is
 * not a terminal, every method returns its text unchanged. Only text already
 * made safe is styled (see {@linkcode SafeText}).
 *
 * @module
 */

import type { SafeText } from "./render.ts";

/** ANSI styling that can be switched off. */
export class Style {
  #enabled: boolean;

  /** Creates a style that colours only when `enabled`. */
  constructor(enabled: boolean) {
    this.#enabled = enabled;
  }

  /** True when text is coloured. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Our own name: bold green. */
  self(text: SafeText): SafeText {
    return this.#sgr("1;32", text);
  }

  /** The other side's name: bold cyan. */
  peer(text: SafeText): SafeText {
    return this.#sgr("1;36", text);
  }

  /** Secondary text such as times and status: dim. */
  dim(text: SafeText): SafeText {
    return this.#sgr("2", text);
  }

  /** Waiting or a warning: yellow. */
  warn(text: SafeText): SafeText {
    return this.#sgr("33", text);
  }

  /** A good state, such as our turn: green. */
  ok(text: SafeText): SafeText {
    return this.#sgr("32", text);
  }

  #sgr(code: string, text: SafeText): SafeText {
    return this.#enabled ? `\x1b[${code}m${text}\x1b[0m` as SafeText : text;
  }
}

/** Removes the colour codes {@linkcode Style} adds, to measure text. */
export function stripStyle(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}
