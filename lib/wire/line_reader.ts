/**
 * Splits a byte stream into `\n`-terminated lines with a hard cap on length.
 *
 * The reader owns one buffer that is reused for every read: bytes left over
 * after the last complete line stay in it, and it never grows. A line whose
 * content exceeds the cap is reported with {@linkcode LineTooLongError} as
 * soon as that is certain, without waiting for its end.
 *
 * @module
 */

import { ProtocolError } from "../io/errors.ts";
import type { Reader } from "../io/types.ts";
import type { ByteClass } from "./byte_class.ts";
import { type LineScanner, ScanBuffer } from "./scan_buffer.ts";

/** Options for {@linkcode LineReader}. */
export interface LineReaderOptions {
  /** Longest line content accepted, in bytes, not counting `\r\n`. */
  maxLineBytes: number;
  /** Smallest buffer to read into; the buffer is at least `maxLineBytes + 2`. */
  minBufferBytes?: number;
}

/** Default smallest read buffer: enough for short exchanges such as a handshake. */
const MIN_BUFFER_BYTES = 16 * 1024;

/**
 * Smallest read buffer for a conversation's traffic. Each read of stdin, and
 * each write of stdout, is a trip to one of the runtime's I/O threads: large
 * blocks make a bulk transfer few trips.
 */
export const BULK_BUFFER_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/** A run of complete lines taken at once: their bytes, each line ending in `\n`. */
export interface LineRun {
  /** The lines with their `\n` terminators; a view valid until the next call. */
  bytes: Uint8Array;
  /** How many lines `bytes` holds. */
  lines: number;
}

/**
 * A line longer than the limit was seen. It is a {@linkcode ProtocolError},
 * so that even where no caller names the peer it still reaches the user as
 * one line.
 */
export class LineTooLongError extends ProtocolError {
  /** The limit that was broken, in bytes. */
  readonly limit: number;

  /** Creates the error for a line that went past `limit` bytes. */
  constructor(limit: number) {
    super(`a line longer than ${limit} bytes was received`);
    this.limit = limit;
  }
}

/**
 * Reads lines from a {@linkcode Reader}.
 *
 * A line ends at `\n`; one `\r` before it is dropped. At the end of the stream
 * {@linkcode readLineBytes} returns `null`, unless unterminated bytes remain:
 * those are returned first as a last line, with {@linkcode terminated} false.
 *
 * After a {@linkcode LineTooLongError} the reader stays usable: the next read
 * skips the rest of the offending line and carries on with the one after it.
 */
export class LineReader {
  #source: Reader;
  #maxLineBytes: number;
  #scanBuffer: LineScanner;
  #buf: Uint8Array;
  /** Unconsumed bytes are `#buf[#start, #end)`. */
  #start = 0;
  #end = 0;
  /** `#buf[#start, #scanned)` is known to hold no `\n`. */
  #scanned = 0;
  /**
   * What {@linkcode tryReadPlainLines} knows of the line at `#start`: that
   * its first n bytes are plain and hold no `\n` (n >= 0), or that it is not
   * plain (-1).
   */
  #plainChecked = 0;
  #eof = false;
  #skipping = false;
  #terminated = true;
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  /** Creates a reader; it reads nothing until asked for a line. */
  constructor(source: Reader, options: LineReaderOptions) {
    if (!Number.isSafeInteger(options.maxLineBytes) || options.maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer`);
    }
    this.#source = source;
    this.#maxLineBytes = options.maxLineBytes;
    const min = options.minBufferBytes ?? MIN_BUFFER_BYTES;
    this.#scanBuffer = new ScanBuffer(Math.max(options.maxLineBytes + 2, min));
    this.#buf = this.#scanBuffer.bytes;
  }

  /** The longest line content accepted, in bytes. */
  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }

  /** Size of the reused buffer: the reader never holds more than this. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** Bytes read from the source and not yet returned as lines. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** False when the last line returned was cut off by the end of the stream. */
  get terminated(): boolean {
    return this.#terminated;
  }

  /**
   * Returns the next line if it can be had without reading: a complete line
   * already in the buffer, or the last line or `null` after the end.
   * Returns `undefined` when a read is needed.
   *
   * The returned bytes are a view into the buffer, valid until the next call.
   *
   * @throws {LineTooLongError} when the next line is over the limit.
   */
  tryReadLineBytes(): Uint8Array | null | undefined {
    for (;;) {
      const buf = this.#buf;
      const newline = buf.subarray(this.#scanned, this.#end).indexOf(LF);
      if (newline >= 0) {
        const lineEnd = this.#scanned + newline;
        const lineStart = this.#start;
        this.#start = this.#scanned = lineEnd + 1;
        this.#plainChecked = 0;
        if (this.#skipping) {
          this.#skipping = false;
          continue;
        }
        const contentEnd = lineEnd > lineStart && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
        if (contentEnd - lineStart > this.#maxLineBytes) {
          throw new LineTooLongError(this.#maxLineBytes);
        }
        this.#terminated = true;
        return buf.subarray(lineStart, contentEnd);
      }
      this.#scanned = this.#end;
      if (this.#skipping) {
        this.#start =
          this.#end =
          this.#scanned =
          this.#plainChecked =
            0;
      } else if (this.#certainlyTooLong()) {
        this.#skipping = true;
        this.#start =
          this.#end =
          this.#scanned =
          this.#plainChecked =
            0;
        throw new LineTooLongError(this.#maxLineBytes);
      }
      if (!this.#eof) return undefined;
      if (this.#skipping) this.#skipping = false;
      if (this.#end === this.#start) return null;
      const lineStart = this.#start;
      const contentEnd = buf[this.#end - 1] === CR ? this.#end - 1 : this.#end;
      this.#start = this.#scanned = this.#end;
      this.#plainChecked = 0;
      this.#terminated = false;
      return buf.subarray(lineStart, contentEnd);
    }
  }

  /**
   * Takes, without reading, the longest run of buffered complete lines that
   * can pass through unchanged: every byte in `plain`, a bare `\n` at the end
   * of each, and each within the limit. Returns `undefined` when the next
   * buffered line is not such a line, or is not complete: then use
   * {@linkcode tryReadLineBytes}.
   *
   * This is the fast path for bulk traffic: the buffer is scanned where it
   * is, sixty-four bytes at a step, in windows that start at a line and are
   * never longer than the limit plus its `\n`, so no line in a window can be
   * over. A run goes on from window to window, up to the whole buffer.
   */
  tryReadPlainLines(plain: ByteClass): LineRun | undefined {
    if (this.#skipping || this.#plainChecked < 0) return undefined;
    const start = this.#start;
    let runEnd = start;
    let lines = 0;
    // Bytes of the line at runEnd known to be plain, without `\n`; -1: not plain.
    let checked = this.#plainChecked;
    for (;;) {
      const windowEnd = Math.min(this.#end, runEnd + this.#maxLineBytes + 1);
      const from = runEnd + checked;
      if (from >= windowEnd) break;
      const scan = this.#scanBuffer.scanLines(plain, from, windowEnd);
      if (scan.end > 0) {
        runEnd = from + scan.end;
        lines += scan.lines;
      }
      if (scan.stopped) {
        checked = -1;
        break;
      }
      // The rest of the window is plain: known for the line now at runEnd.
      checked = windowEnd - runEnd;
      if (scan.end === 0) break;
    }
    this.#plainChecked = checked;
    if (lines === 0) return undefined;
    this.#start = this.#scanned = runEnd;
    this.#terminated = true;
    return { bytes: this.#buf.subarray(start, runEnd), lines };
  }

  /**
   * Reads more bytes from the source into the buffer. Resolves to `false` once
   * the source has ended. Use it when both `tryRead…` methods need a read.
   */
  async fill(): Promise<boolean> {
    if (!this.#eof) await this.#fill();
    return !this.#eof;
  }

  /**
   * Treats the stream as ended here, whatever the source would still give:
   * the lines already buffered come out as usual, then the unterminated rest
   * as a last line, then `null`. For a reader whose source failed or was
   * closed, so that what was received is not lost with it.
   */
  finish(): void {
    this.#eof = true;
  }

  /**
   * Reads the next line's bytes, without its terminator; `null` at the end.
   *
   * The returned bytes are a view into the buffer, valid until the next call.
   *
   * @throws {LineTooLongError} when the line is over the limit.
   */
  async readLineBytes(): Promise<Uint8Array | null> {
    for (;;) {
      const line = this.tryReadLineBytes();
      if (line !== undefined) return line;
      await this.#fill();
    }
  }

  /**
   * Reads the next line as text; `null` at the end. Bytes that are not valid
   * UTF-8 become U+FFFD.
   *
   * @throws {LineTooLongError} when the line is over the limit.
   */
  async readLine(): Promise<string | null> {
    const bytes = await this.readLineBytes();
    return bytes === null ? null : this.decode(bytes);
  }

  /**
   * Takes every byte read and not yet returned as a line, as a copy, and
   * leaves the buffer empty: for handing a connection on to another reader.
   */
  takeBuffered(): Uint8Array {
    const rest = this.#buf.slice(this.#start, this.#end);
    this.#start =
      this.#end =
      this.#scanned =
      this.#plainChecked =
        0;
    return rest;
  }

  /** Decodes line bytes as UTF-8, replacing invalid sequences by U+FFFD. */
  decode(bytes: Uint8Array): string {
    return this.#decoder.decode(bytes);
  }

  /**
   * True when the unterminated bytes held can no longer form a line within the
   * limit: content over the limit, counting a final `\r` as a possible part of
   * a `\r\n` terminator still to come.
   */
  #certainlyTooLong(): boolean {
    const pending = this.#end - this.#start;
    const limit = this.#maxLineBytes;
    return pending > limit + 1 || (pending === limit + 1 && this.#buf[this.#end - 1] !== CR);
  }

  async #fill(): Promise<void> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#scanned -= this.#start;
      this.#start = 0;
    }
    // Cannot be full: a pending line is at most maxLineBytes + 1 bytes.
    const n = await this.#source.read(this.#buf.subarray(this.#end));
    if (n === null) this.#eof = true;
    else this.#end += n;
  }
}
