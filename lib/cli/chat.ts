/**
 * One session as both programs hold it once a connection is ready: the view
 * in the session's mode, delivery receipts in a secure session, and how the
 * session ended, said in one line.
 *
 * @module
 */

import type { SecureChannel } from "../security/secure_channel.ts";
import type { ReadyConnection } from "../security/handshake.ts";
import { runSession, type SessionMode, type SessionResult, type SessionView } from "../session.ts";
import { ReceiptView } from "../session/receipts.ts";
import type { CommonOptions } from "./options.ts";
import type { ProgramContext } from "./program.ts";
import { describeSessionEnd, plural } from "./program.ts";

/** How one side holds its session. */
export interface ChatRole {
  /** True for the client, which speaks first. */
  speaksFirst: boolean;
  /** How the peer is named in status lines (with its port). */
  peerName: string;
  /** How what the peer says is labelled. */
  label: string;
}

/**
 * Holds the session on `ready` and says how it ended, in one status line
 * (`explain` may add to it), before the view goes: lines of ours not sent
 * are listed after it. Resolves to how it went, with the lines of ours that
 * a secure session's peer never confirmed.
 *
 * @throws {Error} as {@linkcode runSession} does.
 */
export async function holdChat(
  ready: ReadyConnection,
  context: ProgramContext,
  options: CommonOptions,
  role: ChatRole,
  explain: (result: SessionResult) => string = () => "",
): Promise<{ result: SessionResult; unconfirmed: number }> {
  const mode: SessionMode = ready.secure?.mode ?? (options.duplex ? "duplex" : "alternating");
  using view = context.ui.view(role.label, mode, ready.secure?.check);
  let shown: SessionView = view;
  let receipts: ReceiptView | undefined;
  if (ready.secure !== undefined) {
    // A secure session's connection is its records channel, which reports what the peer confirmed.
    const confirming = receipts = new ReceiptView(view);
    (ready.conn as SecureChannel).onConfirmed((bytes) => confirming.confirmed(bytes));
    shown = confirming;
  }
  const result: SessionResult = await runSession(ready.conn, context.input, shown, {
    speaksFirst: role.speaksFirst,
    mode,
    maxLineBytes: options.maxLineBytes,
    peerName: role.peerName,
    signal: context.signal,
    source: ready.source,
    idleTimeoutMs: options.idleTimeoutMs,
  });
  const unconfirmed = receipts?.waiting ?? 0;
  const end = `${describeSessionEnd(result, role.peerName)}${explain(result)}`;
  // Lines that may be lost make it a failure, said as failures are: with the program's name.
  context.ui.status.line(
    unconfirmed > 0
      ? `${context.name}: ${end}; ${receipts?.exact === false ? "up to " : ""}${
        plural(unconfirmed, "line")
      } not confirmed`
      : end,
  );
  return { result, unconfirmed };
}

/** What a secure session says once connected: that it is private, and the words to compare. */
export function describeSecure(ready: ReadyConnection): string {
  return ready.secure === undefined ? "" : ` (private, check: ${ready.secure.check})`;
}
