/**
 * For tests that speak the secure handshake themselves, as a guesser or a
 * hostile peer would: a client's start of the exchange with a password of
 * its choosing, and its first line (docs/protocol.md, line 1).
 *
 * @module
 */

import { type CpaceInitiator, cpaceInitiatorStart } from "../../lib/security/cpace.ts";
import { PAKE_CHANNEL, PAKE_CLIENT_AD, PAKE_PREFIX, PAKE_SID_BYTES } from "../../lib/wire/protocol.ts";

const encoder = new TextEncoder();

/** The modes a client may ask for in its first line. */
export type PakeMode = "alternating" | "duplex";

/** Bytes as the handshake's lines spell them: base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** A client's first handshake line (with its `\n`) in `mode`, with the session id `sid` and the share `share`. */
export function pakeLine(
  share: Uint8Array,
  mode: PakeMode = "alternating",
  sid: Uint8Array = crypto.getRandomValues(new Uint8Array(PAKE_SID_BYTES)),
): string {
  return `${PAKE_PREFIX} ${mode} ${base64url(sid)} ${base64url(share)}\n`;
}

/** A client's start of the handshake: its session id, its CPace run (to finish with the answer) and its first line. */
export interface PakeStart {
  /** The session id the client drew. */
  sid: Uint8Array;
  /** The run, holding the client's secret scalar. */
  run: CpaceInitiator;
  /** The first line, with its `\n`. */
  line: string;
}

/** Starts the handshake as a client with `password` (a guess, say) in `mode`, with a fresh session id. */
export function startPake(password: string, mode: PakeMode = "alternating"): PakeStart {
  const sid = crypto.getRandomValues(new Uint8Array(PAKE_SID_BYTES));
  const run = cpaceInitiatorStart(
    encoder.encode(password),
    encoder.encode(PAKE_CHANNEL),
    sid,
    encoder.encode(PAKE_CLIENT_AD + mode),
  );
  return { sid, run, line: pakeLine(run.message.share, mode, sid) };
}
