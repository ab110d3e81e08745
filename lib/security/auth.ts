/**
 * Proving that both sides know the same secret, without sending it.
 *
 * A mutual challenge-response over three lines, before the conversation:
 *
 * ```
 * server → client   parley-auth 1 challenge <server nonce>
 * client → server   parley-auth 1 response <client nonce> <client proof>
 * server → client   parley-auth 1 ok <server proof>      (or: parley-auth 1 failed)
 * ```
 *
 * Nonces are 32 fresh random bytes; proofs are HMAC-SHA256 under the secret
 * of a label naming who proves, followed by both nonces; all in base64. Each
 * side checks the other's proof against its own fresh nonce, so a recorded
 * exchange cannot be replayed to either side, and the labels keep one side's
 * proof from being reflected back as the other's. Proofs are compared in
 * constant time.
 *
 * @module
 */

import { writeAll } from "../io/buffered_writer.ts";
import { ParleyError } from "../io/errors.ts";
import type { Writer } from "../io/types.ts";
import type { LineReader } from "../wire/line_reader.ts";
import {
  AUTH_CHALLENGE,
  AUTH_CLIENT_LABEL,
  AUTH_FAILED,
  AUTH_NONCE_BYTES,
  AUTH_OK,
  AUTH_PREFIX,
  AUTH_RESPONSE,
  AUTH_SERVER_LABEL,
} from "../wire/protocol.ts";

/** The other side does not know the secret, or does not take part. */
export class AuthError extends ParleyError {}

/**
 * The other side sent a line that is not part of the exchange: a chat line,
 * or a server's notice (busy, refused). The line is kept so that the caller
 * can tell which; it is never shown as it is.
 */
export class UnexpectedLineError extends AuthError {
  /** The line received, as text. */
  readonly line: string;

  /** Creates the error for `line`, received while waiting for `what`. */
  constructor(what: string, line: string) {
    super(`expected ${what}, got a chat line (does the other side use a secret?)`);
    this.line = line;
  }
}

/** Options for {@linkcode authenticateClient}. */
export interface AuthenticateClientOptions {
  /**
   * Runs once the client has answered and before its answer is judged: a
   * place to slow down guessing, after the client has learnt that a secret
   * is needed.
   */
  beforeVerdict?: () => Promise<void>;
}

const CLIENT_LABEL = new TextEncoder().encode(AUTH_CLIENT_LABEL);
const SERVER_LABEL = new TextEncoder().encode(AUTH_SERVER_LABEL);
const encoder = new TextEncoder();

/** Makes the HMAC key for `secret`. */
export function importSecret(secret: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/**
 * The server's part: challenges the client and checks its proof, then proves
 * itself. The reader must be able to hold a {@linkcode MAX_AUTH_LINE_BYTES} line.
 *
 * @throws {AuthError} when the client's answer is missing, malformed or wrong.
 */
export async function authenticateClient(
  key: CryptoKey,
  reader: LineReader,
  writer: Writer,
  options: AuthenticateClientOptions = {},
): Promise<void> {
  const serverNonce = randomNonce();
  await sendLine(writer, `${AUTH_PREFIX} ${AUTH_CHALLENGE} ${toBase64(serverNonce)}`);
  const words = (await readAuthLine(reader, "the client's answer")).split(" ");
  await options.beforeVerdict?.();
  const clientNonce = words[3] === undefined ? undefined : fromBase64(words[3]);
  const clientProof = words[4] === undefined ? undefined : fromBase64(words[4]);
  const wellFormed = words.length === 5 && words[2] === AUTH_RESPONSE && clientNonce?.length === AUTH_NONCE_BYTES &&
    clientProof !== undefined;
  const expected = await proof(key, CLIENT_LABEL, serverNonce, clientNonce ?? new Uint8Array(0));
  if (!wellFormed || !timingSafeEqual(expected, clientProof)) {
    await sendLine(writer, `${AUTH_PREFIX} ${AUTH_FAILED}`).catch(() => {});
    throw new AuthError(wellFormed ? "the client does not know the secret" : "the client did not answer the challenge");
  }
  await sendLine(
    writer,
    `${AUTH_PREFIX} ${AUTH_OK} ${toBase64(await proof(key, SERVER_LABEL, clientNonce!, serverNonce))}`,
  );
}

/**
 * The client's part: answers the server's challenge, then checks the server's
 * proof. The reader must be able to hold a {@linkcode MAX_AUTH_LINE_BYTES} line.
 *
 * @throws {AuthError} when the server refuses us, or cannot prove it knows the secret.
 */
export async function authenticateServer(key: CryptoKey, reader: LineReader, writer: Writer): Promise<void> {
  const challenge = (await readAuthLine(reader, "a challenge")).split(" ");
  const serverNonce = challenge[3] === undefined ? undefined : fromBase64(challenge[3]);
  if (challenge.length !== 4 || challenge[2] !== AUTH_CHALLENGE || serverNonce?.length !== AUTH_NONCE_BYTES) {
    throw new AuthError("the server sent a malformed challenge");
  }
  const clientNonce = randomNonce();
  const clientProof = await proof(key, CLIENT_LABEL, serverNonce, clientNonce);
  await sendLine(writer, `${AUTH_PREFIX} ${AUTH_RESPONSE} ${toBase64(clientNonce)} ${toBase64(clientProof)}`);
  const verdict = (await readAuthLine(reader, "the server's verdict")).split(" ");
  if (verdict[2] === AUTH_FAILED) throw new AuthError("the server does not accept our secret");
  const serverProof = verdict[3] === undefined ? undefined : fromBase64(verdict[3]);
  const expected = await proof(key, SERVER_LABEL, clientNonce, serverNonce);
  if (verdict.length !== 4 || verdict[2] !== AUTH_OK || !timingSafeEqual(expected, serverProof)) {
    throw new AuthError("the server does not know the secret");
  }
}

/** Compares two byte strings in time that depends only on their lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

async function proof(key: CryptoKey, label: Uint8Array, first: Uint8Array, second: Uint8Array): Promise<Uint8Array> {
  const message = new Uint8Array(label.length + first.length + second.length);
  message.set(label);
  message.set(first, label.length);
  message.set(second, label.length + first.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
}

async function readAuthLine(reader: LineReader, what: string): Promise<string> {
  const line = await reader.readLine();
  if (line === null) throw new AuthError(`the connection closed before ${what}`);
  if (!line.startsWith(`${AUTH_PREFIX} `)) throw new UnexpectedLineError(what, line);
  return line;
}

async function sendLine(writer: Writer, line: string): Promise<void> {
  await writeAll(writer, encoder.encode(line + "\n"));
}

function randomNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(AUTH_NONCE_BYTES));
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}
