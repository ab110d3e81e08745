/**
 * Status lines for the person at this end (prompts, notices, errors), written
 * in order to a sink such as stderr without making the caller wait.
 *
 * Status text often carries words from outside the program — an address, a
 * file name, an option as typed, an error from the system or a certificate's
 * names — so every status sink escapes what it is given (line feeds aside)
 * before it reaches the screen: this is the escaping edge for status, and
 * callers need not, and cannot forget to, do it themselves.
 *
 * @module
 */

import { writeAll } from "../io/buffered_writer.ts";
import { isIoError } from "../io/errors.ts";
import type { Writer } from "../io/types.ts";
import { escapeControls, escapeLines } from "./render.ts";

/** Somewhere status lines go. */
export interface StatusSink {
  /** Shows `text` on a line of its own, with its control characters (line feeds too) made visible. */
  line(text: string): void;
  /** Resolves once everything shown so far is out. */
  flushed(): Promise<void>;
}

/**
 * Most bytes of status waiting to be written: beyond this (stderr is not
 * being read), lines are dropped and counted, so that memory stays bounded
 * however much there is to say.
 */
const MAX_PENDING_BYTES = 256 * 1024;

/** Writes text to a sink in the order it was given. */
export class StatusWriter implements StatusSink {
  #sink: Writer;
  #encoder = new TextEncoder();
  #tail: Promise<void> = Promise.resolve();
  #broken = false;
  #midLine = false;
  #pendingBytes = 0;
  #dropped = 0;

  /** Creates a writer in front of `sink`. */
  constructor(sink: Writer) {
    this.#sink = sink;
  }

  /** Writes `text`, control characters but line feeds made visible, after everything written before it. */
  write(text: string): void {
    if (text === "") return;
    const bytes = this.#encoder.encode(escapeLines(text));
    // Something is always let through when nothing waits, so a drop is always followed by its count.
    if (this.#pendingBytes > 0 && this.#pendingBytes + bytes.length > MAX_PENDING_BYTES) {
      this.#dropped++;
      return;
    }
    this.#midLine = !text.endsWith("\n");
    this.#pendingBytes += bytes.length;
    this.#tail = this.#tail.then(async () => {
      try {
        if (!this.#broken) await writeAll(this.#sink, bytes);
      } catch (error) {
        // stderr is gone (closed pipe, lost terminal): there is nowhere to say so.
        if (!isIoError(error)) throw error;
        this.#broken = true;
      } finally {
        this.#pendingBytes -= bytes.length;
      }
      if (this.#dropped > 0 && this.#pendingBytes === 0) {
        const dropped = this.#dropped;
        this.#dropped = 0;
        this.line(`(${dropped} status line${dropped === 1 ? "" : "s"} dropped: this output was not being read)`);
      }
    });
  }

  /** Writes `text` on a line of its own: a line feed in it is shown, as every control character is. */
  line(text: string): void {
    this.write(`${this.#midLine ? "\n" : ""}${escapeControls(text)}\n`);
  }

  /** Ends the line if the last write left the cursor in the middle of one. */
  endLine(): void {
    if (this.#midLine) this.write("\n");
  }

  /** Notes that the cursor is at the start of a line (the user pressed Enter). */
  lineEnded(): void {
    this.#midLine = false;
  }

  /** Resolves once everything written so far is out, and the count of any lines dropped. */
  async flushed(): Promise<void> {
    for (let tail = this.#tail;; tail = this.#tail) {
      await tail;
      if (tail === this.#tail) return;
    }
  }
}
