/**
 * The terminal as a chat window, built on `node:readline`: an input line with
 * editing and history at the bottom, and messages printed above it without
 * disturbing what is being typed.
 *
 * Typed lines go straight into the input queue, whole (the terminal is its
 * {@linkcode LineSource}). Ctrl+C is reported to a handler; Ctrl+D on an
 * empty line ends the input.
 *
 * @module
 */

import * as readline from "node:readline";
import type { ReadStream, WriteStream } from "node:tty";
import type { LineSource } from "../session/input_queue.ts";
import { displayPosition } from "./display_width.ts";
import { PacedInput } from "./paced_input.ts";
import type { SafeText } from "./render.ts";
import { stripStyle } from "./style.ts";

/** The streams of a terminal, as `process.stdin` and `process.stdout`. */
export interface TerminalStreams {
  /** Keyboard input, a TTY. */
  input: ReadStream;
  /** The screen, a TTY. */
  output: WriteStream;
}

/** Lines of history kept for the up and down keys. */
const HISTORY_SIZE = 1000;
/** readline's tab width, needed to measure what it drew. */
const TAB_SIZE = 8;

/** An input line at the bottom of the terminal, and output above it. */
export class Terminal implements LineSource {
  #rl: readline.Interface;
  #input: PacedInput;
  #output: WriteStream;
  #prompt = "";
  /** Lines typed and not yet taken; the head moves instead of shifting. */
  #typed: string[] = [];
  #head = 0;
  #waiter: PromiseWithResolvers<void> | undefined;
  #inputEnded = false;
  #closed = false;
  #onInterrupt: (() => void) | undefined;

  /** Takes over `streams`: raw mode, prompt, and line editing. */
  constructor(streams: TerminalStreams) {
    this.#output = streams.output;
    // Keys reach readline a slice at a time, so that a long paste cannot make the program deaf to signals.
    this.#input = new PacedInput(streams.input);
    this.#rl = readline.createInterface({
      input: this.#input.stream,
      output: streams.output,
      terminal: true,
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
      tabSize: TAB_SIZE,
      prompt: "",
    });
    this.#rl.on("line", (line: string) => this.#submitted(line));
    this.#rl.on("SIGINT", () => this.#onInterrupt?.());
    this.#rl.on("close", () => {
      // Ctrl+D on an empty line: take the prompt away and end the input.
      if (!this.#closed) this.#eraseInputArea();
      this.#closed = true;
      this.#input.close();
      this.#endInput();
    });
  }

  /** Calls `handler` when Ctrl+C is pressed. */
  onInterrupt(handler: () => void): void {
    this.#onInterrupt = handler;
  }

  /** Shows `prompt` (which may be coloured) before the input line. */
  setPrompt(prompt: SafeText): void {
    if (prompt === this.#prompt) return;
    this.#prompt = prompt;
    if (this.#closed) return;
    this.#rl.setPrompt(prompt);
    // Redraw in place, keeping what is typed and where the cursor is.
    this.#rl.prompt(true);
  }

  /** Prints `text` (one or more lines) above the input line. */
  print(text: SafeText): void {
    if (this.#closed) {
      this.#output.write(text + "\n");
      return;
    }
    const { rows } = this.#rl.getCursorPos();
    this.#eraseInputArea();
    // readline redraws by first going up as many rows as the cursor was below
    // the prompt; step down that far so that it lands just under our text.
    this.#output.write(text + "\n" + "\n".repeat(rows));
    this.#rl.prompt(true);
  }

  /** Resolves to the next typed line, without `\n`; `null` once the input ended. */
  async nextLine(): Promise<string | null> {
    while (this.#head === this.#typed.length) {
      if (this.#inputEnded) return null;
      this.#waiter = Promise.withResolvers();
      await this.#waiter.promise;
    }
    const line = this.#typed[this.#head++];
    if (this.#head === this.#typed.length) {
      this.#typed = [];
      this.#head = 0;
    }
    return line;
  }

  /** Ends the input, as closing the terminal does. */
  cancel(): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Takes the input line away and gives the terminal back as it was. */
  close(): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#eraseInputArea();
      this.#rl.close();
    }
    this.#endInput();
  }

  /** readline has drawn the submitted line and moved below it: take that back. */
  #submitted(line: string): void {
    const columns = this.#output.columns || 80;
    const { rows } = displayPosition(stripStyle(this.#prompt) + line, columns, TAB_SIZE);
    readline.moveCursor(this.#output, 0, -(rows + 1));
    readline.cursorTo(this.#output, 0);
    readline.clearScreenDown(this.#output);
    this.#typed.push(line);
    this.#waiter?.resolve();
    this.#rl.prompt();
  }

  /** Clears from the first row of the prompt down; the cursor ends there. */
  #eraseInputArea(): void {
    const { rows } = this.#rl.getCursorPos();
    readline.moveCursor(this.#output, 0, -rows);
    readline.cursorTo(this.#output, 0);
    readline.clearScreenDown(this.#output);
  }

  #endInput(): void {
    this.#inputEnded = true;
    this.#waiter?.resolve();
  }
}
