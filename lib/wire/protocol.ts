/**
 * Every string parley puts on the wire besides the chat itself, in one place.
 * docs/protocol.md describes each in context, byte by byte; a test checks
 * that it names every constant here with its value.
 *
 * A conversation is UTF-8 lines ending in `\n`. Before it, a server may send
 * one line that turns the client away (busy, denied, overloaded, rate, TLS,
 * plain); with a shared secret, three `parley-auth 1` lines come first. A
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

/** First words of every line of the shared-secret exchange. */
export const AUTH_PREFIX = "parley-auth 1";
/** Third word of the server's first line: `parley-auth 1 challenge NONCE`. */
export const AUTH_CHALLENGE = "challenge";
/** Third word of the client's answer: `parley-auth 1 response NONCE PROOF`. */
export const AUTH_RESPONSE = "response";
/** Third word of the server's verdict when the proof holds: `parley-auth 1 ok PROOF`. */
export const AUTH_OK = "ok";
/** Third word of the server's verdict when it does not: `parley-auth 1 failed`. */
export const AUTH_FAILED = "failed";
/** What the client's proof is computed over, before both nonces (ends in a NUL byte). */
export const AUTH_CLIENT_LABEL = "parley-auth 1 client proof\0";
/** What the server's proof is computed over, before both nonces (ends in a NUL byte). */
export const AUTH_SERVER_LABEL = "parley-auth 1 server proof\0";
/** Length of each side's random nonce, in bytes, before base64. */
export const AUTH_NONCE_BYTES = 32;
/** Longest line of the exchange, in bytes: far above what a valid one needs. */
export const MAX_AUTH_LINE_BYTES = 512;
