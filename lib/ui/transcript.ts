/**
 * The transcript of `--log FILE`: the conversation, both sides, and what
 * happened to it (connected, left, lost), appended to a file, one line each,
 * with the local date, time and UTC offset:
 *
 * ```text
 * 2026-11-26 03:40:12 +0000 -- connected: 127.0.0.1:34872
 * 2026-11-26 03:40:15 +0000 127.0.0.1:34872: hello
 * 2026-11-26 03:40:21 +0000 you: hi there
 * 2026-11-26 03:41:02 +0000 -- 127.0.0.1:34872 left
 * ```
 *
 * Text from outside is written in the same safe form as on the screen
 * (lib/ui/render.ts), so a transcript can be shown with `cat`.
 *
 * A {@linkcode Transcript} decorates a {@linkcode Ui}: its views and its
 * status sink log what they are given, then pass it on. Writes go to the file
 * synchronously from one fixed buffer, flushed when it fills and at the end
 * of each run of lines: memory stays the size of that buffer however fast
 * the lines come, a slow disk slows the conversation rather than filling
 * memory, and the order of lines is the order of events. Nothing is dropped:
 * the first failed write makes the transcript fail (see
 * {@linkcode Transcript.failure}), and the program ends with it.
 *
 * @module
 */

import { describeIoError, FileError, isIoError, OutputError } from "../io/errors.ts";
import type { SessionMode, SessionNotice, SessionView } from "../session/view.ts";
import type { ByteClass } from "../wire/byte_class.ts";
import { escapeControls, isPlainAscii, PLAIN_TEXT, safe, type SafeText } from "./render.ts";
import type { StatusSink } from "./status_writer.ts";
import { notAlternating, type Ui } from "./ui.ts";

/** What the transcript writes to: a `Deno.FsFile`, or a stand-in in tests. */
export interface TranscriptFile {
  /** Writes some prefix of `p` at once; returns how many bytes it took. */
  writeSync(p: Uint8Array): number;
  /** Closes the file. */
  close(): void;
}

/** Options for {@linkcode Transcript}. */
export interface TranscriptOptions {
  /** The file's name, as in messages. */
  path: string;
  /** Called once, at the first failed write. */
  onFailure?: (error: OutputError) => void;
  /** The time now; replaceable for tests. */
  now?: () => Date;
  /** Bytes gathered before a write (default 64 KiB). */
  bufferBytes?: number;
}

/** Default size of the one buffer in front of the file. */
const DEFAULT_BUFFER_BYTES = 64 * 1024;
/** Bytes of a line escaped at a time, as in the plain view. */
const ESCAPE_PIECE_BYTES = 16 * 1024;
const LF = 0x0a;

/**
 * The transcript of a program's conversations. Every method is synchronous
 * and never throws for a failed write: the failure is kept, reported once
 * through {@linkcode TranscriptOptions.onFailure}, and what follows is not
 * written.
 */
export class Transcript {
  #file: TranscriptFile;
  #path: string;
  #onFailure: ((error: OutputError) => void) | undefined;
  #now: () => Date;
  #buffer: Uint8Array;
  #used = 0;
  #failure: OutputError | undefined;
  #closed = false;
  #encoder = new TextEncoder();
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** The second of the last stamp, and the stamp with its space, as bytes. */
  #stampSecond = NaN;
  #stamp: Uint8Array = new Uint8Array();
  /** The starts of lines this second, by who says them. */
  #heads = new Map<string, Uint8Array>();

  /** Writes to `file`; nothing is written until something is logged. */
  constructor(file: TranscriptFile, options: TranscriptOptions) {
    this.#file = file;
    this.#path = options.path;
    this.#onFailure = options.onFailure;
    this.#now = options.now ?? (() => new Date());
    this.#buffer = new Uint8Array(options.bufferBytes ?? DEFAULT_BUFFER_BYTES);
  }

  /** The first write that failed, as the one line the program ends with. */
  get failure(): OutputError | undefined {
    return this.#failure;
  }

  /** Logs an event (connected, left, an error) as `-- text`, control characters made visible. */
  event(text: string): void {
    if (!this.#writable()) return;
    this.#text(this.#stampNow(), `-- ${escapeControls(text)}\n`);
    this.#flush();
  }

  /**
   * Logs each line of `bytes`, each ending in `\n`, as said by `who`. With
   * `plain`, they are known to hold only printable ASCII and tab, and are
   * written as they are; otherwise each is made safe.
   */
  lines(who: SafeText, bytes: Uint8Array, plain: boolean): void {
    if (!this.#writable()) return;
    const head = this.#head(who);
    for (let start = 0; start < bytes.length;) {
      let end = bytes.indexOf(LF, start);
      if (end < 0) end = bytes.length;
      const line = bytes.subarray(start, end);
      const room = this.#buffer.length - this.#used;
      if ((plain || isPlainAscii(line)) && head.length + line.length < room) {
        // The common case, a short plain line, in place: no more than three copies.
        this.#buffer.set(head, this.#used);
        this.#buffer.set(line, this.#used + head.length);
        this.#used += head.length + line.length;
        this.#buffer[this.#used++] = LF;
      } else {
        this.#line(head, line, plain);
      }
      start = end + 1;
    }
  }

  /** Logs one line of raw bytes (without its `\n`) as said by `who`, made safe. */
  line(who: SafeText, bytes: Uint8Array): void {
    if (!this.#writable()) return;
    this.#line(this.#head(who), bytes, false);
  }

  /** Writes out what is buffered. */
  flush(): void {
    if (this.#writable()) this.#flush();
  }

  /** Logs `-- text` if given, writes out what is buffered and closes the file; later calls do nothing. */
  close(last?: string): void {
    if (this.#closed) return;
    if (last !== undefined) this.event(last);
    this.flush();
    this.#closed = true;
    try {
      this.#file.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  /**
   * Wraps `ui` so that its sessions and status lines are logged too. The
   * peer is named `label` when given (`--name`), else as the program names it.
   */
  wrap(ui: Ui, label?: string): Ui {
    const status = new TranscriptStatus(ui.status, this);
    return {
      status,
      view: (peerName: string, mode?: SessionMode, check?: string) =>
        new TranscriptView(ui.view(peerName, mode, check), this, label ?? peerName),
      idle: (text: string) => ui.idle(text),
    };
  }

  #writable(): boolean {
    return !this.#closed && this.#failure === undefined;
  }

  /** The stamp of this second, with its space after, as bytes: made once a second. */
  #stampNow(): Uint8Array {
    const now = this.#now();
    const second = Math.floor(now.getTime() / 1000);
    if (second !== this.#stampSecond) {
      this.#stampSecond = second;
      this.#stamp = this.#encoder.encode(`${formatStamp(now)} `);
      this.#heads.clear();
    }
    return this.#stamp;
  }

  /** The start of a line said by `who` this second: the stamp, who, and `: `, as bytes. */
  #head(who: SafeText): Uint8Array {
    const stamp = this.#stampNow();
    let head = this.#heads.get(who);
    if (head === undefined) {
      const name = this.#encoder.encode(`${who}: `);
      head = new Uint8Array(stamp.length + name.length);
      head.set(stamp);
      head.set(name, stamp.length);
      // Two speakers, and the odd event: a handful at most.
      if (this.#heads.size >= 8) this.#heads.clear();
      this.#heads.set(who, head);
    }
    return head;
  }

  #line(head: Uint8Array, line: Uint8Array, plain: boolean): void {
    this.#bytes(head);
    if (plain || isPlainAscii(line)) this.#bytes(line);
    else this.#escaped(line);
    this.#bytes(NEWLINE);
  }

  #text(...parts: (Uint8Array | string)[]): void {
    for (const part of parts) this.#bytes(typeof part === "string" ? this.#encoder.encode(part) : part);
  }

  /** Escapes `line` a piece at a time, so that a long line takes no more memory than a piece. */
  #escaped(line: Uint8Array): void {
    const decoder = this.#decoder;
    for (let start = 0; start < line.length; start += ESCAPE_PIECE_BYTES) {
      const end = Math.min(line.length, start + ESCAPE_PIECE_BYTES);
      const text = escapeControls(decoder.decode(line.subarray(start, end), { stream: end < line.length }));
      this.#bytes(this.#encoder.encode(text));
    }
  }

  /** Copies `bytes` into the buffer, writing it out each time it fills. */
  #bytes(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length && this.#failure === undefined) {
      if (this.#used === this.#buffer.length) this.#flush();
      const n = Math.min(bytes.length - offset, this.#buffer.length - this.#used);
      this.#buffer.set(bytes.subarray(offset, offset + n), this.#used);
      this.#used += n;
      offset += n;
    }
  }

  #flush(): void {
    try {
      for (let offset = 0; offset < this.#used;) {
        offset += this.#file.writeSync(this.#buffer.subarray(offset, this.#used));
      }
      this.#used = 0;
    } catch (error) {
      this.#used = 0;
      if (!isIoError(error)) throw error;
      this.#fail(error);
    }
  }

  #fail(error: Error): void {
    this.#failure = new OutputError(`Cannot write the transcript ${this.#path}: ${describeIoError(error)}`, {
      cause: error,
    });
    this.#onFailure?.(this.#failure);
  }
}

const NEWLINE = new Uint8Array([LF]);

/** Passes status lines on, and logs each one as an event. */
class TranscriptStatus implements StatusSink {
  #inner: StatusSink;
  #transcript: Transcript;

  constructor(inner: StatusSink, transcript: Transcript) {
    this.#inner = inner;
    this.#transcript = transcript;
  }

  line(text: string): void {
    this.#inner.line(text);
    this.#transcript.event(text);
  }

  flushed(): Promise<void> {
    return this.#inner.flushed();
  }
}

/**
 * A session's view that logs what it shows: the peer's lines as they are
 * received, ours as they go out, and the end of either direction.
 */
class TranscriptView implements SessionView, Disposable {
  readonly passThrough: ByteClass;
  #inner: SessionView & Disposable;
  #transcript: Transcript;
  /** The peer's name, made safe. */
  #label: SafeText;
  /** True when the view's plain lines are plain for the transcript too. */
  #plainRuns: boolean;

  constructor(inner: SessionView & Disposable, transcript: Transcript, label: string) {
    this.#inner = inner;
    this.#transcript = transcript;
    this.#label = escapeControls(label);
    this.passThrough = inner.passThrough;
    this.#plainRuns = inner.passThrough === PLAIN_TEXT;
  }

  peerLine(bytes: Uint8Array): Promise<void> {
    this.#transcript.line(this.#label, bytes);
    return this.#after(this.#inner.peerLine(bytes));
  }

  peerLines(bytes: Uint8Array, lines: number): Promise<void> {
    this.#transcript.lines(this.#label, bytes, this.#plainRuns);
    return this.#after(this.#inner.peerLines(bytes, lines));
  }

  flush(): Promise<void> {
    this.#transcript.flush();
    return this.#after(this.#inner.flush());
  }

  turn(mine: boolean): void {
    this.#inner.turn(mine);
  }

  sent(lines: Uint8Array): void {
    this.#inner.sent(lines);
    this.#transcript.lines(safe`you`, lines, false);
    this.#transcript.flush();
  }

  unconfirmed(count: number): void {
    this.#inner.unconfirmed?.(count);
  }

  notice(notice: SessionNotice): void {
    this.#inner.notice(notice);
    this.#transcript.event(
      notice === "peer-finished"
        ? `${this.#label} finished sending`
        : notice === "finished-sending"
        ? `you finished sending; still receiving from ${this.#label}`
        : notAlternating(this.#label),
    );
  }

  [Symbol.dispose](): void {
    this.#transcript.flush();
    this.#inner[Symbol.dispose]();
  }

  /** Resolves as `shown` does, or fails with the transcript's failure: a session ends on it. */
  async #after(shown: Promise<void>): Promise<void> {
    await shown;
    const failure = this.#transcript.failure;
    if (failure !== undefined) throw failure;
  }
}

/** `2026-11-26 03:40:12 +0000`: the local date and time, and the offset from UTC. */
export function formatStamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const zone = `${sign}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${zone}`;
}

/** Open-file flags of a transcript: appended to, created owner-only if missing. */
const OPEN_OPTIONS: Deno.OpenOptions = { append: true, create: true, mode: 0o600 };

/**
 * Opens the transcript `path` for `--log`: appends, and creates it readable
 * and writable by its owner only (0600) when it is missing; an existing
 * file's mode is left as it is. Refuses a directory, a named pipe and a
 * socket, which are no place for a transcript (a pipe with no reader would
 * hold the program).
 *
 * @throws {FileError} naming the file and the reason, in one line.
 */
export async function openTranscript(path: string, options: Omit<TranscriptOptions, "path"> = {}): Promise<Transcript> {
  const fail = (reason: string, cause?: unknown) =>
    new FileError(`Cannot open the transcript ${path}: ${reason}`, { cause });
  if (path === "") throw new FileError("Cannot open the transcript: the file name is empty");
  try {
    // Looked at first when it may be (reading is not always granted): opening a pipe would wait for a reader.
    const info = await statIfAllowed(path);
    if (info !== undefined) checkKind(info, fail);
    const file = await Deno.open(path, OPEN_OPTIONS);
    try {
      checkKind(await file.stat(), fail);
    } catch (error) {
      file.close();
      throw error;
    }
    return new Transcript(file, { ...options, path });
  } catch (error) {
    if (error instanceof FileError) throw error;
    if (error instanceof Deno.errors.NotCapable) {
      // Deno keeps some paths (/proc, /dev…) for --allow-all; it says so in its message.
      const advice = /\ball access\b/.test(error.message)
        ? "Deno lets a program write it only with --allow-all"
        : Deno.build.standalone
        ? "this program was compiled without write permission: see --log in docs/usage.md"
        : `run with --allow-write=${path}`;
      throw fail(`write access not granted (${advice})`, error);
    }
    if (error instanceof Deno.errors.NotFound) throw fail(`no such directory: ${parentOf(path)}`, error);
    if (!isIoError(error)) throw error;
    throw fail(describeIoError(error), error);
  }
}

/** The file's details, or undefined when it is missing or may not be looked at. */
async function statIfAllowed(path: string): Promise<Deno.FileInfo | undefined> {
  if ((await Deno.permissions.query({ name: "read", path })).state !== "granted") return undefined;
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Throws `fail(reason)` for a file that cannot hold a transcript.
 *
 * @throws {FileError} for a directory, a named pipe or a socket.
 */
function checkKind(info: Deno.FileInfo, fail: (reason: string) => FileError): void {
  if (info.isDirectory) throw fail("it is a directory");
  if (info.isFifo) throw fail("it is a named pipe (FIFO), not a regular file");
  if (info.isSocket) throw fail("it is a socket, not a regular file");
}

/** The directory part of `path`, as typed (`.` when there is none). */
function parentOf(path: string): string {
  const cut = Math.max(path.lastIndexOf("/"), Deno.build.os === "windows" ? path.lastIndexOf("\\") : -1);
  return cut < 0 ? "." : cut === 0 ? path.slice(0, 1) : path.slice(0, cut);
}
