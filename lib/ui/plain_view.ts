/**
 * The session as plain text: the peer's lines on stdout, one per line, made
 * safe for a terminal; whose turn it is on stderr when a person is typing.
 *
 * @module
 */

import { BufferedWriter } from "../io/buffered_writer.ts";
import { describeOsError, isIoError, OutputClosedError, OutputError } from "../io/errors.ts";
import type { Writer } from "../io/types.ts";
import type { SessionNotice, SessionView } from "../session/view.ts";
import type { ByteClass } from "../wire/byte_class.ts";
import { escapeControls, isPlainAscii, PLAIN_TEXT } from "./render.ts";
import type { StatusWriter } from "./status_writer.ts";
import { notAlternating, type Ui } from "./ui.ts";

/** Options for {@linkcode PlainView}. */
export interface PlainViewOptions {
  /** True when a person types at a terminal: show prompts and flush each line. */
  interactive: boolean;
  /** How the peer is named in the "waiting for …" line. */
  peerName: string;
}

const NEWLINE = new Uint8Array([0x0a]);
/** Bytes of a line escaped at a time. */
const ESCAPE_PIECE_BYTES = 16 * 1024;

/** The plain interface: {@linkcode PlainView} for sessions, status on stderr. */
export class PlainUi implements Ui {
  #out: Writer;
  #interactive: boolean;
  /** Status lines, on stderr. */
  readonly status: StatusWriter;

  /** Writes the peer's lines to `out`, status to `status`; prompts when `interactive`. */
  constructor(out: Writer, status: StatusWriter, interactive: boolean) {
    this.#out = out;
    this.status = status;
    this.#interactive = interactive;
  }

  /** Creates the view of a session with `peerName`. */
  view(peerName: string): PlainView {
    return new PlainView(this.#out, this.status, { interactive: this.#interactive, peerName });
  }

  /** Nothing to show: plain output has no prompt while no session runs. */
  idle(_text: string): void {}
}

/** Writes the peer's lines to an output sink and turns to a status writer. */
export class PlainView implements SessionView, Disposable {
  /** Printable ASCII and tab pass as they are; anything else is escaped. */
  readonly passThrough: ByteClass = PLAIN_TEXT;
  #out: BufferedWriter;
  #status: StatusWriter;
  #options: PlainViewOptions;
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #encoder = new TextEncoder();
  /**
   * Room for a piece once escaped: four times its size at most (a C1
   * control's two bytes become eight), with room for the few bytes of a
   * character that the decoder carries over from the piece before.
   */
  #escaped = new Uint8Array(4 * (ESCAPE_PIECE_BYTES + 4));

  /** Creates a view writing lines to `out` and prompts to `status`. */
  constructor(out: Writer, status: StatusWriter, options: PlainViewOptions) {
    this.#out = new BufferedWriter(out);
    this.#status = status;
    this.#options = options;
  }

  /** Writes one line from the peer, with control characters made visible. */
  async peerLine(bytes: Uint8Array): Promise<void> {
    if (isPlainAscii(bytes)) return await this.#output(bytes, NEWLINE);
    // Escaping can make a line four times longer (a C1 control's two bytes become <U+0085>):
    // a long line is escaped a piece at a time, into one reused buffer, so that memory stays flat.
    for (let start = 0; start < bytes.length; start += ESCAPE_PIECE_BYTES) {
      const end = Math.min(bytes.length, start + ESCAPE_PIECE_BYTES);
      const text = escapeControls(this.#decoder.decode(bytes.subarray(start, end), { stream: end < bytes.length }));
      const { read, written } = this.#encoder.encodeInto(text, this.#escaped);
      if (read !== text.length) throw new RangeError("an escaped piece of a line did not fit its buffer");
      await this.#output(this.#escaped.subarray(0, written));
    }
    await this.#output(NEWLINE);
  }

  /** Writes a run of plain lines as they are. */
  async peerLines(bytes: Uint8Array, _lines: number): Promise<void> {
    await this.#output(bytes);
  }

  /** Writes out the lines still buffered. */
  async flush(): Promise<void> {
    try {
      await this.#out.flush();
    } catch (error) {
      throw outputError(error);
    }
  }

  async #output(...parts: Uint8Array[]): Promise<void> {
    if (this.#options.interactive) {
      // Keep the peer's lines off the line of a prompt shown on stderr.
      this.#status.endLine();
      await this.#status.flushed();
    }
    try {
      for (const part of parts) await this.#out.write(part);
    } catch (error) {
      throw outputError(error);
    }
    if (this.#options.interactive) await this.flush();
  }

  /** Shows a prompt on our turn and a waiting line on theirs, to a person only. */
  turn(mine: boolean): void {
    if (!this.#options.interactive) return;
    this.#status.write(mine ? "your turn> " : `waiting for ${this.#options.peerName}…\n`);
  }

  /**
   * Reports a change in the conversation on the status stream; that the
   * peer does not take turns is advice for a person, not for a script.
   */
  notice(notice: SessionNotice): void {
    const peer = this.#options.peerName;
    if (notice === "peer-not-alternating" && !this.#options.interactive) return;
    this.#status.line(
      notice === "peer-finished"
        ? `${peer} finished sending${this.#options.interactive ? "; Ctrl+D when you are done too" : ""}`
        : notice === "finished-sending"
        ? `end of input: everything sent; still receiving from ${peer}`
        : notAlternating(peer),
    );
  }

  /** The terminal already echoed what was typed, and the Enter that ended it. */
  /** Only a person at a terminal sees our lines go out (as a new prompt). */
  get showsSent(): boolean {
    return this.#options.interactive;
  }

  sent(_lines: Uint8Array): void {
    if (this.#options.interactive) this.#status.lineEnded();
  }

  /** Nothing to release. */
  [Symbol.dispose](): void {}
}

function outputError(error: unknown): unknown {
  if (!isIoError(error)) return error;
  if (error instanceof Deno.errors.BrokenPipe) {
    return new OutputClosedError("Standard output was closed by its reader", { cause: error });
  }
  const reason = describeOsError(error) ?? error.message;
  return new OutputError(`Cannot write to standard output: ${reason}`, { cause: error });
}
