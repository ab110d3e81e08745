/**
 * The secure session's handshake (`--code`, `--secret-file`): CPace between
 * the two sides over four lines, key confirmation both ways, then records
 * (docs/protocol.md has it byte by byte).
 *
 * ```text
 * client → server   parley-pake 1 MODE SID YA
 * server → client   parley-pake 1 MODE YB TB      (MODE: the session's, the server's)
 * client → server   parley-confirm TA             (only once TB holds)
 * server → client   parley-ok                     (only once TA holds)
 * ```
 *
 * The password is the code (or the secret file's bytes); the two modes are
 * bound into the run as its associated data, so an attacker cannot change
 * either without the tags failing. Neither side sends a chat byte before
 * the other has proved it holds the same keys.
 *
 * @module
 */

import { writeAll } from "../io/buffered_writer.ts";
import { ConnectionLostError, type ParleyError, ProtocolError, quote } from "../io/errors.ts";
import { AuthError, NotSecureError } from "./auth_errors.ts";
import { deadline } from "../io/time.ts";
import type { Channel, Reader } from "../io/types.ts";
import { LineReader, LineTooLongError } from "../wire/line_reader.ts";
import {
  BUSY_PREFIX,
  CODE_MISMATCH_LINE,
  CODE_SILENCE_MS,
  CONFIRM_PREFIX,
  MAX_PAKE_LINE_BYTES,
  NEEDS_CODE_LINE,
  NO_CODE_LINE,
  OVERLOADED_PREFIX,
  PAKE_CHANNEL,
  PAKE_CLIENT_AD,
  PAKE_OK,
  PAKE_PREFIX,
  PAKE_SERVER_AD,
  PAKE_SID_BYTES,
} from "../wire/protocol.ts";
import { PrefixedSource } from "../wire/source_adapters.ts";
import { CPACE_SHARE_BYTES, CpaceError, cpaceInitiatorStart, cpaceResponderRespond } from "./cpace.ts";
import type { SecureChannel } from "./secure_channel.ts";
import { CONFIRMATION_TAG_BYTES, confirmationTag, deriveSessionKeys, verifyConfirmation } from "./session_keys.ts";

/** How the two sides take turns, as the handshake names it. */
export type Mode = "alternating" | "duplex";

export { AuthError, NotSecureError };

/** A secure session, ready. */
export interface SecureSession {
  /** The connection, carrying records from now on. */
  channel: SecureChannel;
  /** The session's mode: the server's. */
  mode: Mode;
  /** The mode the other side asked for (the server learns the client's; the client, the server's). */
  peerMode: Mode;
  /** Two words the two people may compare. */
  check: string;
}

/** What a side of the handshake needs. */
export interface SecureOptions {
  /** The password: the code's UTF-8 bytes, or the secret file's bytes. */
  password: Uint8Array;
  /** Our mode. */
  mode: Mode;
  /** How the peer is named in messages. */
  peerName: string;
  /** What the password is, as messages name it: `code` (the default) or `secret`. */
  passwordName?: "code" | "secret";
}

const encoder = new TextEncoder();
const MODES: readonly string[] = ["alternating", "duplex"];

function encode(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** `text` as base64url of exactly `length` bytes, or `undefined`. */
function decode(text: string | undefined, length: number): Uint8Array<ArrayBuffer> | undefined {
  if (text === undefined || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const bytes = Uint8Array.fromBase64(text, { alphabet: "base64url" });
    // One spelling per value: no padding, no stray bits.
    return bytes.length === length && encode(bytes) === text ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a CPace step; a share the peer sent that is not valid is reported with the peer's name. */
function namingPeer<T>(peerName: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof CpaceError) throw new ProtocolError(`${peerName} sent an invalid share: ${error.message}`);
    throw error;
  }
}

async function sendLine(conn: Channel, line: string): Promise<void> {
  await writeAll(conn, encoder.encode(line + "\n"));
}

/** Sends `line` as a last word, if the connection still takes it. */
async function sayLast(conn: Channel, line: string): Promise<void> {
  await sendLine(conn, line).catch(() => {});
}

/** Reads one handshake line; what a line too long or the connection's end means, said in words. */
async function readLine(reader: LineReader, peerName: string, during: string): Promise<string> {
  let line: string | null;
  try {
    line = await reader.readLine();
  } catch (error) {
    if (error instanceof LineTooLongError) {
      throw new ProtocolError(`${peerName} sent a handshake line longer than ${MAX_PAKE_LINE_BYTES} bytes`);
    }
    throw error;
  }
  if (line === null) throw new ConnectionLostError(`${peerName} closed the connection ${during}`);
  return line;
}

/** The record layer's module, loading or loaded. */
let recordLayer: Promise<typeof import("./secure_channel.ts")> | undefined;

/**
 * Loads the record layer (with the runtime's `node:crypto`, tens of
 * milliseconds of loading) once, and resolves to its module: a client starts
 * it once its first message is sent, so that it loads while the server
 * computes the answer; a server calls this when it starts to listen.
 */
export function loadRecordLayer(): Promise<typeof import("./secure_channel.ts")> {
  // A failed load is not kept: the next handshake tries again.
  recordLayer ??= import("./secure_channel.ts").catch((error: unknown) => {
    recordLayer = undefined;
    throw error;
  });
  // Awaited where the channel is made; a failure to load shows there.
  recordLayer.catch(() => {});
  return recordLayer;
}

/**
 * The client's side: proves the password, learns the session's mode, and
 * returns the records channel. `refusal` turns a line that is not the
 * handshake (busy, denied, …) into the error to report, if it knows it.
 *
 * @throws {AuthError} when the code (or secret) does not match.
 * @throws {NotSecureError} when the server does not speak the secure handshake.
 */
export async function pakeClientSide(
  conn: Channel,
  source: Reader,
  options: SecureOptions,
  refusal: (line: string) => ParleyError | undefined = () => undefined,
): Promise<SecureSession> {
  const { peerName } = options;
  const sid = crypto.getRandomValues(new Uint8Array(PAKE_SID_BYTES));
  const ci = encoder.encode(PAKE_CHANNEL);
  const run = cpaceInitiatorStart(options.password, ci, sid, encoder.encode(PAKE_CLIENT_AD + options.mode));
  await sendLine(conn, `${PAKE_PREFIX} ${options.mode} ${encode(sid)} ${encode(run.message.share)}`);
  // Loaded while the server computes its answer: not in the way of our first message.
  const loadingRecords = loadRecordLayer();

  const reader = new LineReader(source, { maxLineBytes: MAX_PAKE_LINE_BYTES });
  const answer = await readLine(reader, peerName, "before answering the code");
  if (!answer.startsWith(PAKE_PREFIX + " ")) {
    const known = refusal(answer);
    if (known !== undefined) throw known;
    if (answer === NO_CODE_LINE) {
      throw new NotSecureError(`${peerName} uses no code and no secret: connect without --code (or --secret-file)`);
    }
    throw new NotSecureError(
      `${peerName} does not speak parley's secure handshake (it answered ${quote(answer)}): ` +
        "is it a parley server started with --code?",
    );
  }
  const [mode, yb, tb, extra] = answer.slice(PAKE_PREFIX.length + 1).split(" ");
  const share = decode(yb, CPACE_SHARE_BYTES);
  const tag = decode(tb, CONFIRMATION_TAG_BYTES);
  if (!MODES.includes(mode) || share === undefined || tag === undefined || extra !== undefined) {
    throw new ProtocolError(`${peerName} sent a malformed handshake line`);
  }
  const result = namingPeer(peerName, () => run.finish({ share, ad: encoder.encode(PAKE_SERVER_AD + mode) }));
  const keys = await deriveSessionKeys(result.isk, sid);
  if (!(await verifyConfirmation(keys, result.responder, tag))) {
    await sayLast(conn, CODE_MISMATCH_LINE);
    throw new AuthError(
      `the ${options.passwordName ?? "code"} did not match: ${peerName} has another (or someone is in between)`,
    );
  }
  await sendLine(conn, `${CONFIRM_PREFIX} ${encode(await confirmationTag(keys, result.initiator))}`);
  const verdict = await readLine(reader, peerName, "before confirming the code");
  const refused = refusal(verdict);
  if (refused !== undefined) throw refused;
  if (verdict === CODE_MISMATCH_LINE) {
    throw new AuthError(
      `${peerName} says the ${options.passwordName ?? "code"} did not match (someone may be in between)`,
    );
  }
  if (verdict !== PAKE_OK) throw new ProtocolError(`${peerName} sent a malformed handshake line`);
  const records = new PrefixedSource(reader.takeBuffered(), source);
  const { SecureChannel } = await loadingRecords;
  // Turned away right after the handshake (the server took another client meanwhile): said as such. Only the
  // acceptor's busy lines may come there; it is plain text, so any other line stays a protocol error.
  const turnedAway = (line: string) =>
    line.startsWith(BUSY_PREFIX) || line.startsWith(OVERLOADED_PREFIX) ? refusal(line) : undefined;
  return {
    channel: new SecureChannel(conn, records, keys.clientToServer, keys.serverToClient, peerName, turnedAway),
    mode: mode as Mode,
    peerMode: mode as Mode,
    check: keys.check,
  };
}

/** What the server's side needs besides {@linkcode SecureOptions}. */
export interface SecureServerOptions extends SecureOptions {
  /**
   * Waits before the server answers a client's share: the answer (with its
   * tag) is what tells a guesser whether its code was right, so this is
   * where guessing from one address is slowed down.
   */
  beforeAnswer?: () => Promise<void>;
  /**
   * Called once the answer went out: from then on the client knows whether
   * its guess was right, so whatever happens next short of success (a
   * mismatch, a close, a timeout) counts as a failed try.
   */
  answered?: () => void;
}

/**
 * The server's side: answers the client's share with its own and its proof,
 * checks the client's, and returns the records channel. A client that does
 * not start the handshake (at its first line, or within
 * {@linkcode CODE_SILENCE_MS}) is told that a code is needed.
 *
 * @throws {AuthError} when the client's proof fails or the client says ours did.
 * @throws {NotSecureError} when the client does not speak the secure handshake.
 */
export async function pakeServerSide(
  conn: Channel,
  source: Reader,
  options: SecureServerOptions,
): Promise<SecureSession> {
  const { peerName } = options;
  const reader = new LineReader(source, { maxLineBytes: MAX_PAKE_LINE_BYTES });
  // A person at netcat may wait for us to speak first: after a while, tell them what is needed.
  const silence = deadline(CODE_SILENCE_MS);
  let first: string | null | undefined;
  const reading = reader.readLine().catch((error) => {
    if (error instanceof LineTooLongError) return undefined;
    throw error;
  });
  // Abandoned when the silence wins: closing the connection then ends it, and that failure is nobody's news.
  reading.catch(() => {});
  try {
    first = await Promise.race([reading, silence.promise.then(() => undefined)]);
  } finally {
    silence.cancel();
  }
  if (first === null) throw new ConnectionLostError(`${peerName} closed the connection before the handshake`);
  if (first === undefined || !first.startsWith(PAKE_PREFIX + " ")) {
    await sayLast(conn, NEEDS_CODE_LINE);
    throw new NotSecureError(
      first === undefined
        ? `${peerName} did not start the secure handshake: told it a code is needed`
        : `${peerName} does not use a code (it sent ${quote(first)}): told it a code is needed`,
    );
  }
  const [mode, sidText, ya, extra] = first.slice(PAKE_PREFIX.length + 1).split(" ");
  const sid = decode(sidText, PAKE_SID_BYTES);
  const share = decode(ya, CPACE_SHARE_BYTES);
  if (!MODES.includes(mode) || sid === undefined || share === undefined || extra !== undefined) {
    throw new ProtocolError(`${peerName} sent a malformed handshake line`);
  }
  const ci = encoder.encode(PAKE_CHANNEL);
  const response = namingPeer(peerName, () =>
    cpaceResponderRespond(
      options.password,
      ci,
      sid,
      { share, ad: encoder.encode(PAKE_CLIENT_AD + mode) },
      encoder.encode(PAKE_SERVER_AD + options.mode),
    ));
  const keys = await deriveSessionKeys(response.isk, sid);
  const ours = encode(await confirmationTag(keys, response.responder));
  await options.beforeAnswer?.();
  await sendLine(conn, `${PAKE_PREFIX} ${options.mode} ${encode(response.message.share)} ${ours}`);
  options.answered?.();
  const confirm = await readLine(reader, peerName, "before confirming the code");
  const wrong = `${peerName} gave a ${options.passwordName ?? "code"} that did not match`;
  if (confirm === CODE_MISMATCH_LINE) throw new AuthError(wrong);
  const tag = confirm.startsWith(CONFIRM_PREFIX + " ")
    ? decode(confirm.slice(CONFIRM_PREFIX.length + 1), CONFIRMATION_TAG_BYTES)
    : undefined;
  if (tag === undefined) throw new ProtocolError(`${peerName} sent a malformed handshake line`);
  if (!(await verifyConfirmation(keys, response.initiator, tag))) {
    await sayLast(conn, CODE_MISMATCH_LINE);
    throw new AuthError(wrong);
  }
  await sendLine(conn, PAKE_OK);
  const records = new PrefixedSource(reader.takeBuffered(), source);
  const { SecureChannel } = await loadRecordLayer();
  return {
    channel: new SecureChannel(conn, records, keys.serverToClient, keys.clientToServer, peerName),
    mode: options.mode,
    peerMode: mode as Mode,
    check: keys.check,
  };
}
