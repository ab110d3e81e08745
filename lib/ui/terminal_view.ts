/**
 * The session on a terminal: each message with who sent it (and the time
 * with `--timestamps`), in colour unless `NO_COLOR` is set; and a prompt that
 * tells the state: whose turn, how many lines wait, whether the peer is done.
 *
 * @module
 */

import { pause } from "../io/time.ts";
import type { InputQueue } from "../session/input_queue.ts";
import type { SessionMode, SessionNotice, SessionView } from "../session/view.ts";
import type { ByteClass } from "../wire/byte_class.ts";
import { escapeControls, joinSafe, PLAIN_TEXT, safe, type SafeText } from "./render.ts";
import type { StatusSink } from "./status_writer.ts";
import type { Style } from "./style.ts";
import type { Terminal } from "./terminal.ts";
import { notAlternating, type Ui } from "./ui.ts";

/** How messages are shown on the terminal. */
export interface TerminalLook {
  /** Colours, or none. */
  style: Style;
  /** Show the time of each message. */
  timestamps: boolean;
  /** Show the other side as this instead of its address. */
  label?: string;
  /** The time now; replaceable for tests. */
  now?: () => Date;
}

/** Most lines printed at once (see {@linkcode TerminalView.peerLines}). */
const PRINT_LINES = 64;

/**
 * Our lines from the moment the queue takes them from the terminal until
 * they are reported sent, in order: what to show as not sent when a session
 * ends with them still there.
 */
class Unsent {
  #lines: string[] = [];
  #head = 0;

  /** How many lines are held. */
  get count(): number {
    return this.#lines.length - this.#head;
  }

  add(line: string): void {
    this.#lines.push(line);
  }

  /** The oldest `count` lines went out. */
  sent(count: number): void {
    this.#head = Math.min(this.#head + count, this.#lines.length);
    if (this.#head === this.#lines.length) this.clear();
  }

  /** Takes every line held. */
  take(): string[] {
    const lines = this.#lines.slice(this.#head);
    this.clear();
    return lines;
  }

  clear(): void {
    this.#lines = [];
    this.#head = 0;
  }
}

/** Writes status lines above the input line. */
class TerminalStatus implements StatusSink {
  #terminal: Terminal;
  #style: Style;

  constructor(terminal: Terminal, style: Style) {
    this.#terminal = terminal;
    this.#style = style;
  }

  line(text: string): void {
    this.#terminal.print(this.#style.dim(escapeControls(text)));
  }

  flushed(): Promise<void> {
    return Promise.resolve();
  }
}

/** What to do when the input ends while no session runs. */
export interface IdleEnd {
  /** The status line that says it, such as `no client came; leaving`. */
  line: string;
  /** Does it: ends the program, as Ctrl+C does. */
  leave(): void;
}

/** The user interface on a terminal: a {@linkcode Ui} backed by a {@linkcode Terminal}. */
export class TerminalUi implements Ui {
  #terminal: Terminal;
  #input: InputQueue;
  #look: TerminalLook;
  #mode: SessionMode;
  #unsent = new Unsent();
  #view: TerminalView | undefined;
  #idleText: string | undefined;
  #idleEnd: IdleEnd | undefined;
  /** Status lines go above the input line. */
  readonly status: StatusSink;

  /**
   * Shows sessions with `mode` on `terminal`, reading the queue state from
   * `input`. With `idleEnd`, the end of input while no session runs does
   * what it says; without, the status line says that the input ended.
   */
  constructor(terminal: Terminal, input: InputQueue, mode: SessionMode, look: TerminalLook, idleEnd?: IdleEnd) {
    this.#terminal = terminal;
    this.#input = input;
    this.#mode = mode;
    this.#look = look;
    this.#idleEnd = idleEnd;
    this.status = new TerminalStatus(terminal, look.style);
    input.subscribe((event) => {
      // The queue took the line the terminal handed out, or refused it.
      const line = terminal.takeHandedOut();
      if (event.kind === "changed" && line !== undefined) this.#unsent.add(line);
      if (event.kind === "changed" && input.ended && this.#view === undefined) this.#idleEnded();
      else if (event.kind === "changed" && this.#view === undefined && this.#idleText !== undefined) {
        this.idle(this.#idleText);
      }
    });
  }

  /** Creates the view of a session with `peerName`, in `mode` (by default the program's). */
  view(peerName: string, mode: SessionMode = this.#mode): SessionView & Disposable {
    const view = new TerminalView(
      this.#terminal,
      this.#input,
      mode,
      {
        ...this.#look,
        label: this.#look.label ?? peerName,
      },
      this.#unsent,
      () => {
        if (this.#view === view) this.#view = undefined;
      },
    );
    this.#view = view;
    this.#idleText = undefined;
    return view;
  }

  /** Shows `text` in the prompt while no session runs. */
  idle(text: string): void {
    this.#idleText = text;
    const { style } = this.#look;
    // Once the input ended, a status line without the prompt's `>`.
    // Lines typed while no session runs wait for the next one: the prompt counts them.
    const queued = this.#input.queued > 0 ? `, ${this.#input.queued} queued` : "";
    if (this.#input.ended) {
      this.#terminal.setPrompt(style.dim(escapeControls(`[${text}${queued}; input ended — Ctrl+C to leave]`)));
    } else this.#terminal.setPrompt(safe`[${style.dim(escapeControls(text + queued))}] > `);
  }

  #idleEnded(): void {
    if (this.#idleEnd === undefined) {
      if (this.#idleText !== undefined) this.idle(this.#idleText);
      return;
    }
    const { line, leave } = this.#idleEnd;
    this.#idleEnd = undefined;
    this.status.line(line);
    leave();
  }
}

/** One session shown on a terminal. */
export class TerminalView implements SessionView, Disposable {
  /** Printable ASCII and tab pass as they are; anything else is escaped. */
  readonly passThrough: ByteClass = PLAIN_TEXT;
  #terminal: Terminal;
  #input: InputQueue;
  #duplex: boolean;
  #look: TerminalLook;
  /** The peer's name as shown. */
  #label: SafeText;
  #myTurn = false;
  #peerFinished = false;
  /** Secure session: our lines sent and not yet confirmed by the peer. */
  #unconfirmed = 0;
  #unsubscribe: () => void;
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #unsent: Unsent;
  #disposed: () => void;

  /**
   * Shows a session on `terminal`; `look.label` names the peer. `unsent`
   * holds our lines taken from the terminal and not yet sent; `disposed` is
   * called on disposal.
   */
  constructor(
    terminal: Terminal,
    input: InputQueue,
    mode: SessionMode,
    look: TerminalLook & { label: string },
    unsent: Unsent = new Unsent(),
    disposed: () => void = () => {},
  ) {
    this.#terminal = terminal;
    this.#input = input;
    this.#duplex = mode === "duplex";
    this.#look = look;
    this.#label = escapeControls(look.label);
    this.#unsent = unsent;
    this.#disposed = disposed;
    this.#unsubscribe = input.subscribe(() => this.#showPrompt());
    this.#showPrompt();
    terminal.setTitlePeer(look.label);
  }

  /** Prints one line from the peer, with its control characters made visible. */
  peerLine(bytes: Uint8Array): Promise<void> {
    this.#terminal.peerMessage();
    this.#terminal.print(this.#message(this.#look.style.peer(this.#label), this.#decoder.decode(bytes)));
    return Promise.resolve();
  }

  /**
   * Prints a run of plain lines from the peer, {@linkcode PRINT_LINES} at a
   * time with a turn of the event loop between: writing to a terminal blocks
   * until the terminal has taken it, and a run may be a megabyte, so signals
   * and timers get their turn meanwhile.
   */
  async peerLines(bytes: Uint8Array, _lines: number): Promise<void> {
    const who = this.#look.style.peer(this.#label);
    const lines = this.#decoder.decode(bytes).split("\n");
    lines.pop();
    this.#terminal.peerMessage();
    for (let start = 0; start < lines.length; start += PRINT_LINES) {
      if (start > 0) await pause(0);
      this.#terminal.print(
        joinSafe(lines.slice(start, start + PRINT_LINES).map((line) => this.#message(who, line)), safe`\n`),
      );
    }
  }

  /** Nothing is held back: every line is printed at once. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Shows whose turn it is in the prompt. */
  turn(mine: boolean): void {
    this.#myTurn = mine;
    this.#showPrompt();
  }

  /** Prints our lines as they go out; the prompt's count of queued lines goes down. */
  sent(lines: Uint8Array): void {
    const count = this.#printLines(this.#look.style.self(safe`you`), lines);
    this.#unsent.sent(count);
    this.#showPrompt();
  }

  /** Counts our lines on their way in the prompt, until the peer confirms them. */
  unconfirmed(count: number): void {
    this.#unconfirmed = count;
    this.#showPrompt();
  }

  /** Tells of a change in the conversation: one direction of a duplex one over, a peer not taking turns. */
  notice(notice: SessionNotice): void {
    const { style } = this.#look;
    const label = this.#label;
    if (notice === "peer-finished") {
      this.#peerFinished = true;
      this.#terminal.print(style.dim(safe`-- ${label} finished sending; Ctrl+D when you are done too`));
    } else if (notice === "peer-not-alternating") {
      this.#terminal.print(style.dim(safe`-- ${escapeControls(notAlternating(this.#label))}`));
    } else {
      this.#terminal.print(style.dim(safe`-- you finished sending; still receiving from ${label}`));
    }
    this.#showPrompt();
  }

  /**
   * Stops following the input queue. The session is over: our lines it did
   * not send are printed, each as `not sent: …`, so that they can be copied.
   */
  [Symbol.dispose](): void {
    this.#unsubscribe();
    this.#terminal.setTitlePeer(undefined);
    const unsent = this.#unsent.take();
    if (unsent.length > 0) {
      const { style } = this.#look;
      this.#terminal.print(
        joinSafe(unsent.map((line) => style.warn(safe`not sent: ${escapeControls(line)}`)), safe`\n`),
      );
    }
    this.#disposed();
  }

  /** Prints each line of `bytes` (each ending in `\n`) as a message from `who`; returns how many. */
  #printLines(who: SafeText, bytes: Uint8Array): number {
    const lines = this.#decoder.decode(bytes).split("\n");
    lines.pop();
    this.#terminal.print(joinSafe(lines.map((line) => this.#message(who, line)), safe`\n`));
    return lines.length;
  }

  /** One message as shown: the time, who sent it, and its text made safe. */
  #message(who: SafeText, text: string): SafeText {
    const { style, timestamps, now = () => new Date() } = this.#look;
    const time = timestamps ? safe`${style.dim(escapeControls(formatTime(now())))} ` : safe``;
    return safe`${time}${who}: ${escapeControls(text)}`;
  }

  #showPrompt(): void {
    const { style } = this.#look;
    const label = this.#label;
    const queued = this.#input.queued;
    if (this.#input.ended) {
      // The status line that stands for the prompt while parley still runs.
      // Alternating, the last line sent waits for its reply before parley leaves.
      const what = this.#duplex
        ? safe`still receiving from ${label}`
        : queued > 0
        ? escapeControls(`${queued} queued`)
        : this.#myTurn
        ? safe`leaving`
        : safe`waiting for the reply of ${label}`;
      this.#terminal.setPrompt(style.dim(safe`[input ended; ${what} — Ctrl+C to leave]`));
      return;
    }
    let state: SafeText;
    if (this.#peerFinished) state = style.dim(safe`${label} finished sending`);
    else if (this.#duplex) state = style.peer(label);
    else if (this.#myTurn) state = style.ok(safe`your turn`);
    else state = style.warn(safe`waiting for ${label}`);
    const counts = [
      ...(queued > 0 ? [`${queued} queued`] : []),
      ...(this.#unconfirmed > 0 ? [`${this.#unconfirmed} unconfirmed`] : []),
    ];
    const waiting = counts.length > 0 ? style.dim(escapeControls(`, ${counts.join(", ")}`)) : safe``;
    this.#terminal.setPrompt(safe`[${state}${waiting}] > `);
  }
}

/** `HH:MM:SS` in local time. */
export function formatTime(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}
