/**
 * Status lines for the person at this end (prompts, notices, errors), written
 * in order to a sink such as stderr without making the caller wait.
 *
 * @module
 */

import { type ByteSink, writeAll } from "./buffered_writer.ts";
import { isIoError } from "./errors.ts";

/** Somewhere status lines go. */
export interface StatusSink {
  /** Shows `text` on a line of its own. */
  line(text: string): void;
  /** Resolves once everything shown so far is out. */
  flushed(): Promise<void>;
}

/** Writes text to a sink in the order it was given. */
export class StatusWriter implements StatusSink {
  #sink: ByteSink;
  #encoder = new TextEncoder();
  #tail: Promise<void> = Promise.resolve();
  #broken = false;
  #midLine = false;

  /** Creates a writer in front of `sink`. */
  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /** Writes `text` as it is, after everything written before it. */
  write(text: string): void {
    if (text === "") return;
    this.#midLine = !text.endsWith("\n");
    const bytes = this.#encoder.encode(text);
    this.#tail = this.#tail.then(async () => {
      if (this.#broken) return;
      try {
        await writeAll(this.#sink, bytes);
      } catch (error) {
        // stderr is gone (closed pipe, lost terminal): there is nowhere to say so.
        if (!isIoError(error)) throw error;
        this.#broken = true;
      }
    });
  }

  /** Writes `text` on a line of its own. */
  line(text: string): void {
    this.write(`${this.#midLine ? "\n" : ""}${text}\n`);
  }

  /** Ends the line if the last write left the cursor in the middle of one. */
  endLine(): void {
    if (this.#midLine) this.write("\n");
  }

  /** Notes that the cursor is at the start of a line (the user pressed Enter). */
  lineEnded(): void {
    this.#midLine = false;
  }

  /** Resolves once everything written so far is out. */
  flushed(): Promise<void> {
    return this.#tail;
  }
}
