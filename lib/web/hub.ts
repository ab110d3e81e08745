/**
 * The chat page's side of the program: the conversation so far (bounded),
 * the state the page shows, the pages open now, and the lines the person
 * enters in them, which become the program's input.
 *
 * @module
 */

import type { LineSource } from "../session/input_queue.ts";
import { type ChatEvent, type ChatState, MAX_HISTORY, type PageMessage, type ServerMessage } from "./messages.ts";

/** Longest message a page may send, in characters: a line and its JSON around it. */
const MAX_PAGE_MESSAGE = 256 * 1024;
/** Most lines entered in pages and not yet taken by the input queue. */
const MAX_WAITING_LINES = 10_000;

/** The lines the person enters in the page, as the program's input. */
export class WebInput implements LineSource {
  #lines: string[] = [];
  #head = 0;
  #waiter: PromiseWithResolvers<void> | undefined;
  #ended = false;

  /** Adds a line entered in the page; false when too many wait already (it is refused). */
  push(line: string): boolean {
    if (this.#ended || this.#lines.length - this.#head >= MAX_WAITING_LINES) return false;
    this.#lines.push(line);
    this.#waiter?.resolve();
    return true;
  }

  /** Resolves to the next line entered, or `null` once the input ended. */
  async nextLine(): Promise<string | null> {
    while (this.#head === this.#lines.length) {
      if (this.#ended) return null;
      this.#waiter = Promise.withResolvers();
      await this.#waiter.promise;
    }
    const line = this.#lines[this.#head++];
    if (this.#head === this.#lines.length) {
      this.#lines = [];
      this.#head = 0;
    }
    return line;
  }

  /** Ends the input. */
  cancel(): Promise<void> {
    this.#ended = true;
    this.#waiter?.resolve();
    return Promise.resolve();
  }
}

/** The conversation and state the pages show, and the pages open now. */
export class WebHub {
  #history: ChatEvent[] = [];
  #state: ChatState;
  #sockets = new Set<WebSocket>();
  /** What the person enters in a page. */
  readonly input: WebInput = new WebInput();

  /** Starts with the program's mode. */
  constructor(mode: ChatState["mode"]) {
    this.#state = { mode, queued: 0, unconfirmed: 0, ended: false };
  }

  /** The state the pages show now. */
  get state(): Readonly<ChatState> {
    return this.#state;
  }

  /** Adds an entry to the conversation and shows it on every page. */
  add(event: ChatEvent): void {
    this.#history.push(event);
    // Dropped in bulk, so that a long conversation costs a copy once in a while, not at every line.
    if (this.#history.length > MAX_HISTORY * 1.25) this.#history = this.#history.slice(-MAX_HISTORY);
    this.#broadcast({ t: "event", event });
  }

  /** Changes the state the pages show. */
  update(change: Partial<ChatState>): void {
    const next = { ...this.#state, ...change };
    if (JSON.stringify(next) === JSON.stringify(this.#state)) return;
    this.#state = next;
    this.#broadcast({ t: "state", state: next });
  }

  /** Serves a page's WebSocket: the conversation so far, then what comes; its lines become input. */
  attach(socket: WebSocket): void {
    socket.addEventListener("open", () => {
      this.#sockets.add(socket);
      this.#send(socket, { t: "hello", history: this.#history.slice(-MAX_HISTORY), state: this.#state });
    });
    socket.addEventListener("message", (message) => {
      const line = pageLine(message.data);
      if (line === undefined || this.#state.ended) return;
      if (!this.input.push(line)) {
        this.add({ kind: "status", text: "line not sent: too many waiting", time: Date.now() });
      }
    });
    socket.addEventListener("close", () => this.#sockets.delete(socket));
    socket.addEventListener("error", () => this.#sockets.delete(socket));
  }

  /** The program ends: every page is told, and closed. */
  close(): void {
    this.update({ ended: true });
    for (const socket of this.#sockets) {
      try {
        socket.close(1000, "parley has ended");
      } catch {
        // Closing already.
      }
    }
    this.#sockets.clear();
    void this.input.cancel();
  }

  #broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const socket of this.#sockets) this.#sendText(socket, text);
  }

  #send(socket: WebSocket, message: ServerMessage): void {
    this.#sendText(socket, JSON.stringify(message));
  }

  #sendText(socket: WebSocket, text: string): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    // A page that does not read its socket is dropped rather than let memory grow.
    if (socket.bufferedAmount > 16 * 1024 * 1024) {
      socket.close(1008, "too slow");
      this.#sockets.delete(socket);
      return;
    }
    socket.send(text);
  }
}

/** The line in a page's message, or `undefined` for anything else (ignored). */
function pageLine(data: unknown): string | undefined {
  if (typeof data !== "string" || data.length > MAX_PAGE_MESSAGE) return undefined;
  let message: PageMessage;
  try {
    message = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof message !== "object" || message === null || message.t !== "send" || typeof message.text !== "string") {
    return undefined;
  }
  // One line: what a textbox cannot hold (line ends) is cut at the first.
  return message.text.split(/\r?\n/, 1)[0];
}
