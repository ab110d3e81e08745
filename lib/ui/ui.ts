/**
 * What a program shows to the person at this end, whichever interface it
 * uses: plain lines on stdout and stderr, or a terminal chat window.
 *
 * @module
 */

import type { SessionMode, SessionView } from "../session/view.ts";
import type { StatusSink } from "./status_writer.ts";

/** The user interface of a program. */
export interface Ui {
  /** Status lines: connected, left, errors. */
  readonly status: StatusSink;
  /**
   * Creates the view of one session with `peerName`, in `mode` when the
   * session's mode differs from the program's (a secure session agrees on
   * the server's), with the secure session's `check` words if any; dispose
   * of it when the session ends.
   */
  view(peerName: string, mode?: SessionMode, check?: string): SessionView & Disposable;
  /** Says what the program is doing while no session runs, such as waiting for a client. */
  idle(text: string): void;
}

/**
 * What the `peer-not-alternating` notice says: the peer sent a line on our
 * turn, so it is not taking turns, and the likely reason.
 */
export function notAlternating(peer: string): string {
  return `${peer} is not taking turns; if it runs --duplex, use --duplex too`;
}
