/**
 * What a session needs from the interface that shows it: the peer's lines,
 * whose turn it is, what went out, and changes in a duplex conversation.
 * The plain view and the terminal window (lib/ui/) implement it.
 *
 * @module
 */

import type { ByteClass } from "../wire/byte_class.ts";

/** What the session shows to the person at this end. */
export interface SessionView {
  /**
   * The bytes this view shows as they are. Runs of lines made only of them
   * come to {@linkcode SessionView.peerLines} in one call; any other line
   * comes to {@linkcode SessionView.peerLine}, to be made safe. The view, not
   * the session, decides what is safe to show.
   */
  readonly passThrough: ByteClass;
  /**
   * Shows a line from the peer: raw bytes without the newline, which the view
   * must make safe before they reach a terminal. The bytes are only valid
   * during the call. Resolves once the view has accepted the line.
   */
  peerLine(bytes: Uint8Array): Promise<void>;
  /**
   * Shows a run of `lines` lines from the peer, each ending in `\n`, known to
   * hold only bytes in {@linkcode SessionView.passThrough}: safe as they are. The bytes are only
   * valid during the call. Resolves once the view has accepted them.
   */
  peerLines(bytes: Uint8Array, lines: number): Promise<void>;
  /** Writes out anything the view still holds. */
  flush(): Promise<void>;
  /** Tells whose turn it is now. */
  turn(mine: boolean): void;
  /**
   * Reports that lines of ours (each with its `\n`) went out; `count`, when
   * given, is how many. The bytes are only valid during the call.
   */
  sent(lines: Uint8Array, count?: number): void;
  /**
   * False when the view does nothing with our lines as they go out (a
   * script's plain output): then they need not be kept for it.
   */
  readonly showsSent?: boolean;
  /** Reports a change in the conversation. */
  notice(notice: SessionNotice): void;
  /**
   * Secure session: how many of our lines went out and wait for the peer
   * to confirm them (shown by `sent` once it has). Views may leave it out.
   */
  unconfirmed?(count: number): void;
}

/** How the two sides take turns. */
export type SessionMode = "alternating" | "duplex";

/** Changes in a conversation that a person may want to know about. */
export type SessionNotice =
  /** Duplex: the peer closed its sending direction; our lines still go to it. */
  | "peer-finished"
  /** Duplex: our input ended and every line went out; we still receive. */
  | "finished-sending"
  /**
   * Alternating: the peer sent a line when the turn was already ours (or
   * several in one turn), so it is not taking turns: a duplex parley, or a
   * person at netcat. Said once a session; plain TCP cannot say more.
   */
  | "peer-not-alternating";
