/**
 * The lines this side has written and not yet sent.
 *
 * Input is read ahead of the conversation, so that lines typed while it is the
 * other side's turn are kept, and the end of input is noticed at once. The
 * queue is bounded: when it holds {@linkcode InputQueueOptions.maxQueuedBytes},
 * reading pauses, and a writer into our stdin waits.
 *
 * @module
 */

import { isIoError } from "./errors.ts";
import { type ByteSource, LineReader, LineTooLongError } from "./line_reader.ts";

/** Options for {@linkcode InputQueue}. */
export interface InputQueueOptions {
  /** Longest line accepted for sending, in bytes (UTF-8, without `\n`). */
  maxLineBytes: number;
  /** Reading pauses while the queue holds this many bytes or more. */
  maxQueuedBytes?: number;
}

/** Something that happened to the queue. */
export type InputEvent =
  /** A line was added, or the input ended. */
  | { kind: "changed" }
  /** A line over the limit was read and dropped; `limit` is in bytes. */
  | { kind: "refused"; limit: number };

const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Reads lines from a source into a bounded queue, each ready to send as valid
 * UTF-8 ending in `\n`. Bytes that are not valid UTF-8 become U+FFFD; a line
 * over the limit is refused and reported, and reading carries on after it.
 */
export class InputQueue {
  #source: ByteSource & { cancel?(): Promise<void> };
  #reader: LineReader;
  #maxQueuedBytes: number;
  #lines: Uint8Array[] = [];
  #queuedBytes = 0;
  #ended = false;
  #refused = 0;
  #listeners = new Set<(event: InputEvent) => void>();
  #room: PromiseWithResolvers<void> | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #decoder = new TextDecoder();
  #encoder = new TextEncoder();

  /** Creates a queue over `source`; call {@linkcode start} to begin reading. */
  constructor(source: ByteSource & { cancel?(): Promise<void> }, options: InputQueueOptions) {
    this.#source = source;
    this.#reader = new LineReader(source, { maxLineBytes: options.maxLineBytes });
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  }

  /** Number of lines waiting to be sent. */
  get queued(): number {
    return this.#lines.length;
  }

  /** True once the input has ended (every queued line is still available). */
  get ended(): boolean {
    return this.#ended;
  }

  /** How many lines were refused for being over the limit, in all. */
  get refused(): number {
    return this.#refused;
  }

  /** Starts reading in the background; calling it again does nothing. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Calls `listener` on every {@linkcode InputEvent}; returns an unsubscriber. */
  subscribe(listener: (event: InputEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Takes the oldest line, with its `\n`, or `undefined` when there is none. */
  shift(): Uint8Array | undefined {
    const line = this.#lines.shift();
    if (line !== undefined) this.#release(line.length);
    return line;
  }

  /** Drops every queued line and returns how many there were. */
  clear(): number {
    const count = this.#lines.length;
    this.#lines = [];
    this.#release(this.#queuedBytes);
    return count;
  }

  /** Stops reading: cancels the source and waits for the reader to finish. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#room?.resolve();
    await this.#source.cancel?.();
    await this.#running;
  }

  #emit(event: InputEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #release(bytes: number): void {
    this.#queuedBytes -= bytes;
    if (this.#queuedBytes < this.#maxQueuedBytes) {
      this.#room?.resolve();
      this.#room = undefined;
    }
  }

  async #run(): Promise<void> {
    try {
      while (!this.#closed) {
        if (this.#queuedBytes >= this.#maxQueuedBytes) {
          this.#room = Promise.withResolvers();
          await this.#room.promise;
          continue;
        }
        let bytes: Uint8Array | null;
        try {
          bytes = await this.#reader.readLineBytes();
        } catch (error) {
          if (!(error instanceof LineTooLongError)) throw error;
          this.#refused++;
          this.#emit({ kind: "refused", limit: error.limit });
          continue;
        }
        if (bytes === null) break;
        const line = this.#toWire(bytes);
        if (line === undefined) {
          this.#refused++;
          this.#emit({ kind: "refused", limit: this.#reader.maxLineBytes });
          continue;
        }
        this.#lines.push(line);
        this.#queuedBytes += line.length;
        this.#emit({ kind: "changed" });
      }
    } catch (error) {
      // A terminal that goes away (EIO) or a closed descriptor ends the input
      // like Ctrl+D does; there is nowhere better to report it.
      if (!isIoError(error)) throw error;
    }
    this.#ended = true;
    this.#emit({ kind: "changed" });
  }

  /** Copies line bytes into a new `\n`-terminated UTF-8 line, or `undefined` if too long. */
  #toWire(bytes: Uint8Array): Uint8Array | undefined {
    let text = bytes;
    if (!isAscii(bytes)) {
      text = this.#encoder.encode(this.#decoder.decode(bytes));
      if (text.length > this.#reader.maxLineBytes) return undefined;
    }
    const line = new Uint8Array(text.length + 1);
    line.set(text);
    line[text.length] = NEWLINE;
    return line;
  }
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] >= 0x80) return false;
  }
  return true;
}
