/**
 * Keyboard input handed to `node:readline` a little at a time.
 *
 * readline handles keystrokes synchronously, redrawing the input line as it
 * goes, and its cost per key grows with the line: a paste of 8,000
 * characters kept the program busy for 22 s, deaf to Ctrl+C and SIGTERM. So
 * the terminal's bytes are queued here and passed on in slices of
 * {@linkcode SLICE_BYTES}, with a turn of the event loop between slices, in
 * which signals and timers run. And Ctrl+C (ETX in raw mode) jumps the
 * queue: typed-ahead input is dropped, and readline sees the interrupt next.
 *
 * The terminal's mode is not readline's to change: readline's calls to
 * `setRawMode` are ignored, and the `Terminal` that owns the
 * terminal sets it through {@linkcode PacedInput.setRaw}. Once readline is
 * done (the input ended) the terminal is {@linkcode PacedInput.hold held}:
 * still read in raw mode, every key dropped but Ctrl+C and Ctrl+Z, so that
 * nothing typed is echoed, or left for the shell to run after parley exits.
 *
 * With {@linkcode PacedInput.filterFocus}, the terminal's focus reports
 * (`ESC [ I`, `ESC [ O`) are taken out before anything else sees the keys.
 *
 * @module
 */

import { PassThrough } from "node:stream";
import type { ReadStream } from "node:tty";
import { pause } from "../io/time.ts";
import { FocusFilter } from "./attention.ts";

/** Bytes given to readline in one turn of the event loop. */
export const SLICE_BYTES = 64;
/** Ctrl+C, as a terminal in raw mode sends it. */
const ETX = 0x03;
/** Ctrl+Z, as a terminal in raw mode sends it. */
const SUB = 0x1a;
/** How long the start of a focus report at the end of a read waits for its end: a lone Escape key. */
export const FOCUS_HOLD_MS = 30;

/** What a held terminal still answers to. */
export interface HeldKeys {
  /** Ctrl+C. */
  interrupt(): void;
  /** Ctrl+Z. */
  suspend(): void;
}

/** The stream readline reads from: a pass-through that also sets the terminal's mode. */
export type PacedStream = PassThrough & {
  /** Always true: readline treats it as the terminal it stands for. */
  isTTY: boolean;
  /** Ignored: the terminal's mode is set with {@linkcode PacedInput.setRaw}. */
  setRawMode(mode: boolean): PacedStream;
};

/** A terminal's input, re-emitted in slices (see the module doc). */
export class PacedInput {
  /** What readline should read. */
  readonly stream: PacedStream;
  #source: ReadStream;
  #queue: Uint8Array[] = [];
  #pumping = false;
  #closed = false;
  #held: HeldKeys | undefined;
  #encoder = new TextEncoder();
  #focus: FocusFilter | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  /** Starts taking `source`'s input. */
  constructor(source: ReadStream) {
    this.#source = source;
    const stream = new PassThrough() as PacedStream;
    stream.isTTY = true;
    // readline would leave raw mode when it closes, while parley still runs.
    stream.setRawMode = () => stream;
    this.stream = stream;
    source.on("data", this.#take);
  }

  /** Sets the terminal's raw mode (no echo, no line editing, keys as bytes). */
  setRaw(mode: boolean): void {
    this.#source.setRawMode(mode);
  }

  /** Takes the focus reports out of the keys from now on, and calls `onFocus` for each. */
  filterFocus(onFocus: (focused: boolean) => void): void {
    this.#focus = new FocusFilter(onFocus);
  }

  /**
   * Readline is done, the program is not: keys typed from now on are read
   * and dropped, but for Ctrl+C and Ctrl+Z, which go to `keys`.
   */
  hold(keys: HeldKeys): void {
    if (this.#closed) return;
    this.#held = keys;
    this.#queue = [];
    this.stream.end();
  }

  /** Stops taking input: the terminal's stream is paused, and set back to cooked mode. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    clearTimeout(this.#flushTimer);
    this.#source.off("data", this.#take);
    this.#source.pause();
    this.#source.setRawMode(false);
    if (this.#held === undefined) this.stream.end();
  }

  #take = (chunk: Uint8Array | string): void => {
    if (this.#closed) return;
    let bytes = typeof chunk === "string" ? this.#encoder.encode(chunk) : chunk;
    if (this.#focus !== undefined) {
      clearTimeout(this.#flushTimer);
      bytes = this.#focus.filter(bytes);
      if (this.#focus.holding) this.#flushTimer = setTimeout(this.#flushFocus, FOCUS_HOLD_MS);
      if (bytes.length === 0) return;
    }
    this.#pass(bytes);
  };

  /** No focus report followed what was held: it was a key. */
  #flushFocus = (): void => {
    this.#flushTimer = undefined;
    const bytes = this.#focus?.flush();
    if (bytes !== undefined && bytes.length > 0 && !this.#closed) this.#pass(bytes);
  };

  #pass(bytes: Uint8Array): void {
    if (this.#held !== undefined) {
      if (bytes.includes(ETX)) this.#held.interrupt();
      else if (bytes.includes(SUB)) this.#held.suspend();
      return;
    }
    const interrupt = bytes.indexOf(ETX);
    // Ctrl+C goes before whatever is still waiting, which it cancels.
    if (interrupt >= 0) this.#queue = [bytes.subarray(interrupt)];
    else this.#queue.push(bytes);
    if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed && this.#held === undefined) {
        const head = this.#queue[0];
        if (head.length <= SLICE_BYTES) this.#queue.shift();
        else this.#queue[0] = head.subarray(SLICE_BYTES);
        this.stream.write(head.subarray(0, SLICE_BYTES));
        if (this.#queue.length > 0) await pause(0);
      }
    } finally {
      this.#pumping = false;
    }
  }
}
