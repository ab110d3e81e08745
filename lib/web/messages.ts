/**
 * What the chat page and the program say to each other over the page's
 * WebSocket, as JSON text frames. The page (`page/app.js`) mirrors these
 * types in JSDoc.
 *
 * The program sends {@linkcode ServerMessage}s: `hello` once a socket
 * opens (the conversation so far and the state, so that a reloaded page
 * shows everything), then an `event` for each new entry and a `state`
 * whenever the state changes. The page sends {@linkcode PageMessage}s:
 * `send`, one line the person entered.
 *
 * All text in these messages that came from outside the program (the
 * peer's lines, its name, addresses) has been through the same escaping as
 * the terminal (`ui/render.ts`): control characters arrive in visible form,
 * and the page places text with `textContent` only.
 *
 * @module
 */

/** One entry of the conversation as the page shows it. */
export type ChatEvent =
  | {
    /** A line of the conversation. */
    kind: "line";
    /** Who said it: the peer, or the person at this end. */
    from: "peer" | "you";
    /** How the sayer is named (`you` for the person here). */
    who: string;
    /** The line, made safe. */
    text: string;
    /** When it was shown here (ms since the epoch). */
    time: number;
  }
  | {
    /** A status line: connected, left, lost, a notice. */
    kind: "status";
    /** The line, made safe. */
    text: string;
    /** When (ms since the epoch). */
    time: number;
  };

/** What the page shows beside the conversation. */
export interface ChatState {
  /** The peer's name, while a session runs. */
  peer?: string;
  /** How the sides take turns. */
  mode: "alternating" | "duplex";
  /** Alternating: whose turn it is, while a session runs. */
  turn?: "mine" | "theirs";
  /** Duplex: the peer finished sending. */
  peerFinished?: boolean;
  /** Lines entered and waiting to be sent. */
  queued: number;
  /** Secure session: lines sent and not yet confirmed by the peer. */
  unconfirmed: number;
  /** Secure session: the two check words. */
  check?: string;
  /** What the program is doing when no session runs (`waiting for a client on …`). */
  idle?: string;
  /** The program has ended: the page can send no more. */
  ended: boolean;
}

/** From the program to the page. */
export type ServerMessage =
  | { t: "hello"; history: ChatEvent[]; state: ChatState }
  | { t: "event"; event: ChatEvent }
  | { t: "state"; state: ChatState };

/** From the page to the program. */
export type PageMessage = { t: "send"; text: string };

/** Most entries the program keeps and sends to a page that opens: older ones are dropped. */
export const MAX_HISTORY = 10_000;
