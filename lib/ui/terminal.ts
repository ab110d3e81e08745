/**
 * The terminal as a chat window, built on `node:readline`: an input line with
 * editing and history at the bottom, and messages printed above it without
 * disturbing what is being typed.
 *
 * Typed lines go straight into the input queue, whole (the terminal is its
 * {@linkcode LineSource}), except local commands (`commands.ts`): `/help`
 * prints the keys and commands, `/quit` does what Ctrl+C does, `//text`
 * sends `/text`, and any other `/` and a letter is refused, never sent.
 * Ctrl+C is reported to a handler; Ctrl+D on an empty line ends the input.
 *
 * The terminal is parley's until {@linkcode Terminal.close}: it stays in raw
 * mode after the input ended, with the prompt's place kept by a status line,
 * and keys are read and dropped (Ctrl+C still leaves), so that nothing typed
 * is echoed or left for the shell. Ctrl+Z gives the terminal back as it was
 * and stops the process; when it is continued, the terminal is taken again
 * and the input line redrawn.
 *
 * The terminal's title names the peer and counts the messages that came
 * while the window was not focused (`attention.ts`); it is given back, with
 * focus reporting off, whenever the terminal is (Ctrl+Z, leaving).
 *
 * @module
 */

import * as readline from "node:readline";
import type { ReadStream, WriteStream } from "node:tty";
import type { LineSource } from "../session/input_queue.ts";
import { Attention } from "./attention.ts";
import { classifyLine, HELP, unknownCommand } from "./commands.ts";
import { displayPosition } from "./display_width.ts";
import { deleteAfter, deleteBefore, type Edit, nextBoundary, previousBoundary } from "./graphemes.ts";
import { PacedInput } from "./paced_input.ts";
import { escapeControls, escapeLines, type SafeText } from "./render.ts";
import { stripStyle } from "./style.ts";

/** The streams of a terminal, as `process.stdin` and `process.stdout`. */
export interface TerminalStreams {
  /** Keyboard input, a TTY. */
  input: ReadStream;
  /** The screen, a TTY. */
  output: WriteStream;
}

/** How the chat window asks for attention. */
export interface TerminalOptions {
  /** Ring the bell for each message that comes while the window is not focused. */
  bell?: boolean;
}

/** Lines of history kept for the up and down keys. */
const HISTORY_SIZE = 1000;
/** readline's tab width, needed to measure what it drew. */
const TAB_SIZE = 8;

/** Stopping and continuing a process (Ctrl+Z, `fg`) exist. */
const JOB_CONTROL = Deno.build.os !== "windows";

/** What of readline's state the terminal reads and restores (public in Node, untyped). */
interface HistoryState {
  line: string;
  cursor: number;
  history: string[];
  historyIndex: number;
}

/** A key as readline's keypress events name it. */
interface Key {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
}

/** What `key` does to `before` when it moves or deletes by grapheme cluster; `undefined` for other keys. */
function graphemeEdit(before: Edit, key: Key): Edit | undefined {
  const { line, cursor } = before;
  const name = key.ctrl ? `C-${key.name}` : key.name;
  switch (name) {
    case "left":
    case "C-b":
      return { line, cursor: previousBoundary(line, cursor) };
    case "right":
    case "C-f":
      return { line, cursor: nextBoundary(line, cursor) };
    case "backspace":
      return deleteBefore(before);
    case "delete":
    case "C-d":
      // Ctrl+D on an empty line ends the input instead.
      return line === "" ? undefined : deleteAfter(before);
    default:
      return undefined;
  }
}

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
  /** Readline is done (Ctrl+D) but the program is not: a status line stands where the prompt was. */
  #held = false;
  #closed = false;
  #onInterrupt: (() => void) | undefined;
  /** The last line handed out by {@linkcode Terminal.nextLine}, until taken. */
  #handedOut: string | undefined;
  #attention: Attention;

  /** Takes over `streams`: raw mode, prompt, line editing, and the title. */
  constructor(streams: TerminalStreams, options: TerminalOptions = {}) {
    this.#output = streams.output;
    // Keys reach readline a slice at a time, so that a long paste cannot make the program deaf to signals.
    this.#input = new PacedInput(streams.input);
    this.#input.setRaw(true);
    this.#attention = new Attention(streams.output, { bell: options.bell ?? false });
    this.#input.filterFocus((focused) => this.#attention.focus(focused));
    this.#attention.start();
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
    // With a listener, readline leaves Ctrl+Z to us (its own way leaves it deaf after `fg`).
    this.#rl.on("SIGTSTP", this.#suspend);
    this.#rl.on("close", () => {
      if (this.#closed) return;
      // Ctrl+D on an empty line: the input ends, the program goes on; keep the terminal.
      this.#eraseInputArea();
      this.#held = true;
      this.#input.hold({ interrupt: () => this.#onInterrupt?.(), suspend: this.#suspend });
      this.#drawHeld();
      this.#endInput();
    });
    this.#stopHistoryAtOldest();
    this.#editByGrapheme();
    this.#countWrappedRows();
    this.#followReflow();
    if (JOB_CONTROL) Deno.addSignalListener("SIGCONT", this.#resume);
  }

  /** Calls `handler` when Ctrl+C is pressed. */
  onInterrupt(handler: () => void): void {
    this.#onInterrupt = handler;
  }

  /** The title names `peer` (`undefined`: no session, `parley` alone). */
  setTitlePeer(peer: string | undefined): void {
    this.#attention.setPeer(peer);
  }

  /** A message came from the peer: counted in the title (and rung) when the window is not focused. */
  peerMessage(): void {
    if (!this.#closed) this.#attention.message();
  }

  /** Does what Ctrl+C does. */
  interrupt(): void {
    this.#onInterrupt?.();
  }

  /**
   * Shows `prompt` (which may be coloured) before the input line; once the
   * input ended, as the status line in its place.
   */
  setPrompt(prompt: SafeText): void {
    if (prompt === this.#prompt) return;
    if (this.#held) this.#eraseHeld();
    this.#prompt = prompt;
    if (this.#closed) return;
    if (this.#held) return this.#drawHeld();
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
    if (this.#held) {
      this.#eraseHeld();
      this.#output.write(text + "\n");
      this.#drawHeld();
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
    this.#handedOut = line;
    return line;
  }

  /** The line {@linkcode Terminal.nextLine} handed out last, once; `undefined` when taken already. */
  takeHandedOut(): string | undefined {
    const line = this.#handedOut;
    this.#handedOut = undefined;
    return line;
  }

  /** What is typed on the input line and not yet entered (`""` once the input ended). */
  get draft(): string {
    return this.#held || this.#closed ? "" : this.#rl.line;
  }

  /** Ends the input, as closing the terminal does. */
  cancel(): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Takes the input line away (showing a half-typed line as not sent) and gives the terminal back as it was. */
  close(): void {
    if (!this.#closed) {
      const draft = this.draft;
      this.#closed = true;
      if (JOB_CONTROL) Deno.removeSignalListener("SIGCONT", this.#resume);
      if (this.#held) this.#eraseHeld();
      else this.#eraseInputArea();
      // A half-typed line is shown rather than lost, so that it can be copied.
      if (draft !== "") this.#output.write(`not sent: ${escapeControls(draft)}\n`);
      this.#rl.close();
      this.#input.close();
      this.#attention.stop();
    }
    this.#endInput();
  }

  /**
   * Ctrl+Z: gives the terminal back as it was (cooked mode, input line
   * erased) and stops the process, as the key does in any program; SIGTSTP
   * keeps its default action.
   */
  #suspend = (): void => {
    if (this.#closed) return;
    if (this.#held) this.#eraseHeld();
    else this.#eraseInputArea();
    this.#input.setRaw(false);
    this.#attention.stop();
    if (JOB_CONTROL) Deno.kill(Deno.pid, "SIGTSTP");
  };

  /** Continued after a stop (`fg`): takes the terminal again and redraws what it showed. */
  #resume = (): void => {
    if (this.#closed) return;
    this.#input.setRaw(true);
    this.#attention.start();
    if (this.#held) return this.#drawHeld();
    // The shell wrote below where the input line was: readline will first go up as
    // many rows as the cursor was below the prompt, so step down that far (as print does).
    const { rows } = this.#rl.getCursorPos();
    this.#output.write("\n".repeat(rows));
    this.#rl.prompt(true);
  };

  /**
   * Up on the oldest line that matches what was typed stays there, as
   * bash's history-search-backward does; readline would wrap back to the
   * typed text.
   */
  #stopHistoryAtOldest(): void {
    const rl = this.#rl as unknown as HistoryState;
    let before: { line: string; cursor: number; historyIndex: number } | undefined;
    this.#input.stream.prependListener("keypress", () => {
      before = { line: rl.line, cursor: rl.cursor, historyIndex: rl.historyIndex };
    });
    this.#input.stream.on("keypress", () => {
      const wasOnEntry = before !== undefined && before.historyIndex >= 0 &&
        before.historyIndex < rl.history.length;
      if (!wasOnEntry || rl.historyIndex !== rl.history.length) return;
      rl.line = before!.line;
      rl.cursor = before!.cursor;
      rl.historyIndex = before!.historyIndex;
      this.#rl.prompt(true);
    });
  }

  /**
   * Left/Right (Ctrl+B/Ctrl+F), Backspace (Ctrl+H) and Delete (Ctrl+D on a
   * line that is not empty) move and delete by grapheme cluster: readline
   * does it by code point, splitting `e` + U+0301, flags, skin tones and ZWJ
   * sequences. The result is made again from the line as it was before the key.
   */
  #editByGrapheme(): void {
    const rl = this.#rl as unknown as HistoryState;
    let before: Edit | undefined;
    this.#input.stream.prependListener("keypress", () => {
      before = this.#held || this.#closed ? undefined : { line: rl.line, cursor: rl.cursor };
    });
    this.#input.stream.on("keypress", (_text: string | undefined, key: Key | undefined) => {
      if (before === undefined || key === undefined || key.meta || this.#held || this.#closed) return;
      const edit = graphemeEdit(before, key);
      if (edit === undefined || (edit.line === rl.line && edit.cursor === rl.cursor)) return;
      rl.line = edit.line;
      rl.cursor = edit.cursor;
      this.#rl.prompt(true);
    });
  }

  /**
   * Keeps readline's count of the rows between the prompt and the cursor
   * true as typing wraps the line. Deno's readline redraws (and counts) only
   * when a character ends exactly at the right edge; a wide character that
   * does not fit in the last column wraps with a blank left there, so the
   * count stayed behind, and the next redraw (a message arriving, the line
   * filling a row) went up too few rows and left a copy of the prompt row
   * above (docs/design.md#wrapped-input-rows). After every key readline has
   * handled, the cursor is where readline measures it.
   */
  #countWrappedRows(): void {
    const rl = this.#rl as unknown as { prevRows?: number };
    this.#input.stream.on("keypress", () => {
      if (this.#held || this.#closed) return;
      rl.prevRows = this.#rl.getCursorPos().rows;
    });
  }

  /**
   * A resized terminal rewraps the rows it shows (tmux, VTE, kitty, iTerm2,
   * Windows Terminal and most others reflow), so the cursor is now as many
   * rows below the prompt as the new width makes it. readline, redrawing on
   * `resize`, would go up as many rows as it was below before the resize:
   * after narrowing it stops short and leaves a stale copy of the prompt row
   * (or writes over a message above); after widening it goes too far and
   * erases the end of a message. Before readline redraws, its count is set
   * to the row the cursor is on at the new width.
   */
  #followReflow(): void {
    const rl = this.#rl as unknown as { prevRows?: number };
    this.#output.prependListener("resize", () => {
      if (this.#held || this.#closed) return;
      const { rows, cols } = this.#rl.getCursorPos();
      // A cursor just past a full row is still on that row, waiting to wrap, after a reflow.
      rl.prevRows = cols === 0 && rows > 0 ? rows - 1 : rows;
    });
  }

  /** Draws the status line that stands for the prompt once the input ended; the cursor stays at its end. */
  #drawHeld(): void {
    this.#output.write(this.#prompt.trimEnd());
  }

  /** Clears the status line drawn by {@linkcode Terminal.#drawHeld}; the cursor ends where it began. */
  #eraseHeld(): void {
    const columns = this.#output.columns || 80;
    const { rows, cols } = displayPosition(stripStyle(this.#prompt.trimEnd()), columns, TAB_SIZE);
    // A status line that just fills its last row leaves the cursor there, not below.
    const up = cols === 0 && rows > 0 ? rows - 1 : rows;
    readline.moveCursor(this.#output, 0, -up);
    readline.cursorTo(this.#output, 0);
    readline.clearScreenDown(this.#output);
  }

  /** readline has drawn the submitted line and moved below it: take that back. */
  #submitted(line: string): void {
    const columns = this.#output.columns || 80;
    const { rows } = displayPosition(stripStyle(this.#prompt) + line, columns, TAB_SIZE);
    readline.moveCursor(this.#output, 0, -(rows + 1));
    readline.cursorTo(this.#output, 0);
    readline.clearScreenDown(this.#output);
    const typed = classifyLine(line);
    if (typed.kind === "send") {
      this.#typed.push(typed.line);
      this.#waiter?.resolve();
    } else if (typed.kind === "help") {
      this.#output.write(escapeLines(HELP.join("\n")) + "\n");
    } else if (typed.kind === "unknown") {
      this.#output.write(escapeControls(unknownCommand(typed.name)) + "\n");
    }
    this.#rl.prompt();
    if (typed.kind === "quit") this.#onInterrupt?.();
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
