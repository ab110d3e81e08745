/**
 * The session in the chat page: the third view beside the plain and the
 * terminal ones. The peer's lines, ours, notices and status become entries
 * of the page's conversation; whose turn it is, the lines queued and those
 * unconfirmed, the page's state. Status lines go to the terminal too.
 *
 * @module
 */

import type { InputQueue } from "../session/input_queue.ts";
import type { SessionMode, SessionNotice, SessionView } from "../session/view.ts";
import { escapeControls, PLAIN_TEXT } from "../ui/render.ts";
import type { StatusSink } from "../ui/status_writer.ts";
import type { Ui } from "../ui/ui.ts";
import { notAlternating } from "../ui/ui.ts";
import type { ByteClass } from "../wire/byte_class.ts";
import type { WebHub } from "./hub.ts";

/** Status lines on the terminal and in the page alike. */
class WebStatus implements StatusSink {
  #hub: WebHub;
  #terminal: StatusSink;

  constructor(hub: WebHub, terminal: StatusSink) {
    this.#hub = hub;
    this.#terminal = terminal;
  }

  line(text: string): void {
    this.#terminal.line(text);
    this.#hub.add({ kind: "status", text: escapeControls(text), time: Date.now() });
  }

  flushed(): Promise<void> {
    return this.#terminal.flushed();
  }
}

/** The user interface of a program run with `--web`. */
export class WebUi implements Ui {
  #hub: WebHub;
  #input: InputQueue;
  #mode: SessionMode;
  #name: string | undefined;
  /** Status lines: on the terminal, and in the page. */
  readonly status: StatusSink;

  /**
   * Shows sessions in the pages of `hub`; status also on `terminal`; queue
   * state from `input`; the peer named `name` (`--name`) instead of its address.
   */
  constructor(hub: WebHub, terminal: StatusSink, input: InputQueue, mode: SessionMode, name?: string) {
    this.#hub = hub;
    this.#input = input;
    this.#mode = mode;
    this.#name = name;
    this.status = new WebStatus(hub, terminal);
    input.subscribe(() => hub.update({ queued: input.queued }));
  }

  /** Creates the view of a session with `peerName`, in `mode` (by default the program's). */
  view(peerName: string, mode: SessionMode = this.#mode, check?: string): WebView {
    const label = escapeControls(this.#name ?? peerName);
    this.#hub.update({ peer: label, mode, check, idle: undefined, queued: this.#input.queued });
    return new WebView(this.#hub, label, mode, () => this.#input.queued);
  }

  /** Shows what the program does while no session runs. */
  idle(text: string): void {
    this.#hub.update({ idle: escapeControls(text), peer: undefined, turn: undefined, check: undefined });
  }
}

/** One session shown in the pages. */
export class WebView implements SessionView, Disposable {
  /** Printable ASCII and tab pass as they are; anything else is escaped. */
  readonly passThrough: ByteClass = PLAIN_TEXT;
  /** Our lines are shown in the page as they go out (or once confirmed). */
  readonly showsSent = true;
  #hub: WebHub;
  #label: string;
  #duplex: boolean;
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #queued: () => number;

  /**
   * Shows a session with the peer named `label` (made safe already), in
   * `mode`, in the pages of `hub`; `queued` tells how many lines wait.
   */
  constructor(hub: WebHub, label: string, mode: SessionMode, queued: () => number = () => 0) {
    this.#hub = hub;
    this.#label = label;
    this.#duplex = mode === "duplex";
    this.#queued = queued;
  }

  /** One line from the peer, made safe. */
  peerLine(bytes: Uint8Array): Promise<void> {
    this.#line("peer", this.#decoder.decode(bytes));
    return Promise.resolve();
  }

  /** A run of plain lines from the peer. */
  peerLines(bytes: Uint8Array, _lines: number): Promise<void> {
    const lines = this.#decoder.decode(bytes).split("\n");
    lines.pop();
    for (const line of lines) this.#line("peer", line);
    return Promise.resolve();
  }

  /** Nothing is held back. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Whose turn it is. */
  turn(mine: boolean): void {
    if (!this.#duplex) this.#hub.update({ turn: mine ? "mine" : "theirs", queued: this.#queued() });
  }

  /** Our lines, as they go out (or once the peer confirmed them); the count of those waiting goes down. */
  sent(lines: Uint8Array): void {
    this.#hub.update({ queued: this.#queued() });
    const text = this.#decoder.decode(lines).split("\n");
    text.pop();
    for (const line of text) this.#line("you", line);
  }

  /** Our lines on their way, in a secure session. */
  unconfirmed(count: number): void {
    this.#hub.update({ unconfirmed: count });
  }

  /** A change in the conversation. */
  notice(notice: SessionNotice): void {
    const text = notice === "peer-finished"
      ? `${this.#label} finished sending`
      : notice === "finished-sending"
      ? `you finished sending; still receiving from ${this.#label}`
      : notAlternating(this.#label);
    if (notice === "peer-finished") this.#hub.update({ peerFinished: true });
    this.#hub.add({ kind: "status", text: escapeControls(text), time: Date.now() });
  }

  /** The session is over. */
  [Symbol.dispose](): void {
    this.#hub.update({ peer: undefined, turn: undefined, peerFinished: false, unconfirmed: 0, check: undefined });
  }

  #line(from: "peer" | "you", text: string): void {
    this.#hub.add({
      kind: "line",
      from,
      who: from === "you" ? "you" : this.#label,
      text: escapeControls(text),
      time: Date.now(),
    });
  }
}
