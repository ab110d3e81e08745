/**
 * Every string parley puts on the wire besides the chat itself, in one place.
 * docs/protocol.md describes each in context, byte by byte; a test checks
 * that it names every constant here with its value.
 *
 * A conversation is UTF-8 lines ending in `\n`. Before it, a server may send
 * one line that turns the client away (busy, denied, overloaded, rate, TLS,
 * plain). A secure session (a code or a shared secret) begins with four
 * handshake lines and continues in encrypted records (lib/security/record.ts). A
 * client recognises a server's line by its first {@linkcode CHECKED_BYTES}
 * bytes, so every prefix here is shorter than that.
 *
 * @module
 */

/** How much of the start of a stream is looked at to recognise a server's line or a TLS handshake, at most. */
export const CHECKED_BYTES = 64;

/** How a parley server's line to a client it turns away begins, while busy. */
export const BUSY_PREFIX = "busy: the parley server";

/** The whole line sent to a client while the server at `address` is in a session. */
export function busyLine(address: string): string {
  return `${BUSY_PREFIX} on ${address} is in a session with someone else; try again later`;
}

/** How a parley server's line to a client it refuses (--allow, --deny) begins. */
export const DENIED_PREFIX = "denied: this parley server";
/** The whole line sent to a client whose address is not allowed. */
export const DENIED_LINE = `${DENIED_PREFIX} does not accept connections from your address`;

/** How a parley server's line to a client evicted from its handshake by newer ones begins. */
export const OVERLOADED_PREFIX = "busy: too many connections to this parley server";
/** The whole line sent to a client evicted from its handshake. */
export const OVERLOADED_LINE = `${OVERLOADED_PREFIX} are being set up at once; try again in a moment`;

/** How a parley server's line to a client over its address's rate of new connections begins. */
export const RATE_PREFIX = "busy: too many new connections from your address";
/** The whole line sent to a client over its address's rate of new connections. */
export const RATE_LINE = `${RATE_PREFIX} to this parley server; try again in a few seconds`;

/** The line a TLS server sends to a client that does not speak TLS. */
export const TLS_SERVER_REPLY = "error: this parley server uses TLS: connect with --tls";
/** The line a plain server sends to a client that tries to start TLS. */
export const PLAIN_SERVER_REPLY = "error: this parley server does not use TLS";

/**
 * First words of the client's first line and the server's answer in the
 * secure session's handshake (`--code`, `--secret-file`):
 * `parley-pake 1 MODE SID SHARE` and `parley-pake 1 MODE SHARE TAG`.
 */
export const PAKE_PREFIX = "parley-pake 1";
/** First word of the client's key confirmation: `parley-confirm TAG`. */
export const CONFIRM_PREFIX = "parley-confirm";
/** The server's line once the client's confirmation holds; records follow. */
export const PAKE_OK = "parley-ok";
/** The line either side sends, and then closes, when the other's confirmation fails. */
export const CODE_MISMATCH_LINE = "error: the code did not match";
/** How the line begins that a code server sends a client that does not use a code (then it closes). */
export const NEEDS_CODE_PREFIX = "error: this parley server needs a code";
/** The whole line a code server sends to a client without one, at its first line or after a silence. */
export const NEEDS_CODE_LINE = `${NEEDS_CODE_PREFIX}: connect with the client's --code CODE (ask for the code)`;
/** The line a server without a code sends to a client that starts the secure handshake. */
export const NO_CODE_LINE = "error: this parley server uses no code: connect without --code";
/** The channel identifier (CI) bound into CPace, and the protocol version. */
export const PAKE_CHANNEL = "parley/1";
/** The associated data of each side's CPace message, before its mode: `parley/1 client duplex`. */
export const PAKE_CLIENT_AD = "parley/1 client ";
/** As {@linkcode PAKE_CLIENT_AD}, for the server: `parley/1 server alternating`. */
export const PAKE_SERVER_AD = "parley/1 server ";
/** Length of the session id the client draws, in bytes, before base64url. */
export const PAKE_SID_BYTES = 16;
/** Longest line of the handshake, in bytes: far above what a valid one needs. */
export const MAX_PAKE_LINE_BYTES = 512;
/** How long a code server waits for a client's first line before it tells the client that a code is needed (ms). */
export const CODE_SILENCE_MS = 3000;
