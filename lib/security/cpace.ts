/**
 * CPace, a balanced password-authenticated key exchange (PAKE), with the
 * cipher suite CPACE-RISTR255-SHA512, as draft-irtf-cfrg-cpace-21 specifies
 * it (https://github.com/cfrg/draft-irtf-cfrg-cpace), in the
 * initiator-responder setting.
 *
 * Both sides know the same password-related string PRS (for parley, the
 * session code: see `code.ts`). Each sends one message, its public share and
 * associated data, and both end with the same 64-byte intermediate session
 * key ISK only when PRS, the channel identifier CI, the session identifier
 * sid and both messages agree. An eavesdropper learns nothing it can test
 * passwords against offline; an active attacker gets one guess per run.
 *
 * ```
 * initiator (client)                          responder (server)
 * cpaceInitiatorStart(prs, ci, sid, adA)
 *            ── initiator.message: Ya, ADa ──▶
 *                                             cpaceResponderRespond(prs, ci, sid, {Ya, ADa}, adB)
 *            ◀── responder.message: Yb, ADb ──
 * cpaceInitiatorFinish(initiator, {Yb, ADb})
 * ```
 *
 * The group arithmetic, the ristretto255 encoding and element derivation
 * (RFC 9496) and SHA-512 are those of `@noble/curves` and `@noble/hashes`;
 * this module holds only the draft's glue: `lv_cat`, `generator_string`,
 * `calculate_generator`, `sample_scalar`, `scalar_mult`, `scalar_mult_vfy`,
 * the initiator-responder transcript and the ISK. Nothing here measures time
 * or branches on a secret beyond what those libraries do.
 *
 * The ISK is meant to go through a key derivation function before use (see
 * `session_keys.ts`), never to be used as a key itself; the shared point K
 * never leaves this module.
 *
 * @module
 */

import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { ProtocolError } from "../io/errors.ts";

/**
 * A ristretto255 group element in its internal (decoded) form, as
 * `@noble/curves` represents it: what this module needs of it.
 */
export interface RistrettoPoint {
  /** This element times `scalar`, which must be from 1 to the group order less one. */
  multiply(scalar: bigint): RistrettoPoint;
  /** The element's canonical 32-byte encoding (RFC 9496). */
  toBytes(): Uint8Array;
}

/** Bytes of an encoded ristretto255 element: a public share Y, or K. */
export const CPACE_SHARE_BYTES = 32;

/** Bytes of the intermediate session key ISK (a SHA-512 digest). */
export const CPACE_ISK_BYTES = 64;

/** Bytes of a scalar as {@linkcode sampleScalar} returns it (little-endian). */
export const CPACE_SCALAR_BYTES = 32;

/** The domain-separation identifier of G_Ristretto255: `CPaceRistretto255`. */
export const CPACE_DSI: Uint8Array<ArrayBuffer> = new TextEncoder().encode("CPaceRistretto255");

/** The input block size of SHA-512 in bytes (`H.s_in_bytes`). */
export const SHA512_BLOCK_BYTES = 128;

/** The label of the ISK hash: `G.DSI || "_ISK"`. */
const ISK_DSI: Uint8Array<ArrayBuffer> = concat(CPACE_DSI, new TextEncoder().encode("_ISK"));

/** `G.I`: the encoding of the neutral element, 32 zero bytes. */
const IDENTITY: Uint8Array<ArrayBuffer> = new Uint8Array(CPACE_SHARE_BYTES);

/** The order of the ristretto255 group. */
const GROUP_ORDER: bigint = ristretto255.Point.Fn.ORDER;

/**
 * The peer's CPace message cannot be used: its share is not the encoding of
 * a ristretto255 element, or it leads to the neutral element, or it reflects
 * our own share back. The run is over; no key comes out of it.
 */
export class CpaceError extends ProtocolError {}

/** One CPace message: a public share and the associated data sent with it. */
export interface CpaceMessage {
  /** The public share Y: an encoded ristretto255 element, {@linkcode CPACE_SHARE_BYTES} bytes. */
  readonly share: Uint8Array;
  /** The associated data AD, sent in clear beside the share and authenticated by the run. */
  readonly ad: Uint8Array;
}

/** What both sides have once a run succeeds. */
export interface CpaceResult {
  /** The intermediate session key ISK, {@linkcode CPACE_ISK_BYTES} bytes. */
  readonly isk: Uint8Array<ArrayBuffer>;
  /** The session identifier the run was bound to. */
  readonly sid: Uint8Array;
  /** The initiator's message (Ya, ADa). */
  readonly initiator: CpaceMessage;
  /** The responder's message (Yb, ADb). */
  readonly responder: CpaceMessage;
}

/** What the responder has after answering: its message to send, and the result. */
export interface CpaceResponse extends CpaceResult {
  /** The message to send to the initiator: the same as {@linkcode CpaceResult.responder}. */
  readonly message: CpaceMessage;
}

/**
 * Options of the high-level functions. Only known-answer tests set them:
 * a scalar that is not fresh and secret breaks the protocol's security.
 */
export interface CpaceOptions {
  /** The secret scalar to use instead of a fresh one, little-endian. */
  readonly scalar?: Uint8Array;
}

/** `prepend_len`: `data` with its length in front, encoded as LEB128. */
export function prependLen(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const length: number[] = [];
  let rest = data.length;
  do {
    const low = rest & 0x7f;
    rest = Math.floor(rest / 128);
    length.push(rest === 0 ? low : low | 0x80);
  } while (rest !== 0);
  const out = new Uint8Array(length.length + data.length);
  out.set(length);
  out.set(data, length.length);
  return out;
}

/** `lv_cat`: each part with its length in front ({@linkcode prependLen}), concatenated. */
export function lvCat(...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  return concat(...parts.map(prependLen));
}

/**
 * `generator_string`: `lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid)`,
 * where the zero padding makes DSI and PRS fill the hash's first input
 * block of `blockBytes` bytes.
 */
export function generatorString(
  dsi: Uint8Array,
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  blockBytes: number,
): Uint8Array<ArrayBuffer> {
  const padding = Math.max(0, blockBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return lvCat(dsi, prs, new Uint8Array(padding), ci, sid);
}

/**
 * `calculate_generator` of G_Ristretto255: the generator string hashed with
 * SHA-512 to 64 bytes, mapped to the group with the element derivation of
 * RFC 9496 (section 4.3.4).
 */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): RistrettoPoint {
  const hash = sha512(generatorString(CPACE_DSI, prs, ci, sid, SHA512_BLOCK_BYTES));
  const derive = ristretto255_hasher.deriveToCurve;
  if (derive === undefined) throw new Error("@noble/curves offers no ristretto255 element derivation");
  return derive(hash);
}

/**
 * `sample_scalar` as the draft recommends for ristretto255: 32 random bytes
 * with the bits above bit 251 cleared, read as a little-endian integer (so
 * below the group order). Zero, with a chance of 2^-252, is drawn again.
 */
export function sampleScalar(): Uint8Array<ArrayBuffer> {
  const scalar = new Uint8Array(CPACE_SCALAR_BYTES);
  do {
    crypto.getRandomValues(scalar);
    scalar[CPACE_SCALAR_BYTES - 1] &= 0x0f;
  } while (scalar.every((byte) => byte === 0));
  return scalar;
}

/** `scalar_mult`: the encoding of `scalar` times the element `point`. */
export function scalarMult(scalar: Uint8Array, point: RistrettoPoint): Uint8Array<ArrayBuffer> {
  return new Uint8Array(point.multiply(scalarValue(scalar)).toBytes());
}

/**
 * `scalar_mult_vfy`: the encoding of `scalar` times the element encoded by
 * `encoded`, or `G.I` (32 zero bytes) when `encoded` is not a valid
 * encoding. The result is also `G.I` when `encoded` is the neutral element;
 * the caller must abort on `G.I` ({@linkcode isIdentity}).
 */
export function scalarMultVfy(scalar: Uint8Array, encoded: Uint8Array): Uint8Array<ArrayBuffer> {
  let point: RistrettoPoint;
  try {
    point = ristretto255.Point.fromBytes(encoded);
  } catch {
    return IDENTITY.slice();
  }
  return scalarMult(scalar, point);
}

/** True when `encoded` is `G.I`, the encoding of the neutral element. Not constant-time: for public values. */
export function isIdentity(encoded: Uint8Array): boolean {
  return encoded.length === CPACE_SHARE_BYTES && encoded.every((byte) => byte === 0);
}

/** `transcript_ir`: `lv_cat(Ya, ADa) || lv_cat(Yb, ADb)`, the initiator's message first. */
export function transcriptIr(initiator: CpaceMessage, responder: CpaceMessage): Uint8Array<ArrayBuffer> {
  return concat(lvCat(initiator.share, initiator.ad), lvCat(responder.share, responder.ad));
}

/** The ISK: `SHA-512(lv_cat(G.DSI || "_ISK", sid, K) || transcript)`. */
export function intermediateSessionKey(
  sid: Uint8Array,
  k: Uint8Array,
  transcript: Uint8Array,
): Uint8Array<ArrayBuffer> {
  return new Uint8Array(sha512(concat(lvCat(ISK_DSI, sid, k), transcript)));
}

/** The initiator's state between its message and the responder's answer. */
export class CpaceInitiator {
  /** The message to send to the responder: (Ya, ADa). */
  readonly message: CpaceMessage;
  #scalar: Uint8Array | undefined;
  #sid: Uint8Array;

  /** Holds a started run (and takes `scalar` over): use {@linkcode cpaceInitiatorStart} to make one. */
  constructor(message: CpaceMessage, scalar: Uint8Array, sid: Uint8Array) {
    this.message = message;
    this.#scalar = scalar;
    this.#sid = sid;
  }

  /**
   * Finishes the run with the responder's message and derives the ISK, as
   * {@linkcode cpaceInitiatorFinish} does. A run finishes once: its secret
   * scalar is wiped, never used for a second answer.
   *
   * @throws {CpaceError} as {@linkcode cpaceInitiatorFinish} does.
   */
  finish(responder: CpaceMessage): CpaceResult {
    const scalar = this.#scalar;
    if (scalar === undefined) throw new Error("this CPace run has already finished");
    this.#scalar = undefined;
    try {
      const k = peerProduct(scalar, responder.share, this.message.share);
      const isk = intermediateSessionKey(this.#sid, k, transcriptIr(this.message, responder));
      k.fill(0);
      return { isk, sid: this.#sid, initiator: this.message, responder };
    } finally {
      scalar.fill(0);
    }
  }

  /** The session identifier this run is bound to. */
  get sid(): Uint8Array {
    return this.#sid;
  }
}

/**
 * Starts a run as the initiator (A): computes the generator from `prs`,
 * `ci` and `sid`, draws a fresh secret scalar, and returns the state whose
 * `message` (Ya, ADa = `ad`) goes to the responder.
 */
export function cpaceInitiatorStart(
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  ad: Uint8Array,
  options: CpaceOptions = {},
): CpaceInitiator {
  const scalar = options.scalar?.slice() ?? sampleScalar();
  const share = scalarMult(scalar, calculateGenerator(prs, ci, sid));
  return new CpaceInitiator({ share, ad }, scalar, sid);
}

/**
 * Answers the initiator's message as the responder (B): computes its own
 * share Yb, checks the initiator's share, and derives the ISK. The returned
 * `message` (Yb, ADb = `ad`) goes back to the initiator.
 *
 * @throws {CpaceError} when the initiator's share is not a valid encoding,
 *   is the neutral element, or equals our own share.
 */
export function cpaceResponderRespond(
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  initiator: CpaceMessage,
  ad: Uint8Array,
  options: CpaceOptions = {},
): CpaceResponse {
  const scalar = options.scalar?.slice() ?? sampleScalar();
  try {
    const share = scalarMult(scalar, calculateGenerator(prs, ci, sid));
    const responder: CpaceMessage = { share, ad };
    const k = peerProduct(scalar, initiator.share, share);
    const isk = intermediateSessionKey(sid, k, transcriptIr(initiator, responder));
    k.fill(0);
    return { isk, sid, initiator, responder, message: responder };
  } finally {
    scalar.fill(0);
  }
}

/**
 * Finishes a run as the initiator with the responder's message, and
 * derives the ISK. A started run finishes once.
 *
 * @throws {CpaceError} when the responder's share is not a valid encoding,
 *   is the neutral element, or is our own share reflected back.
 */
export function cpaceInitiatorFinish(state: CpaceInitiator, responder: CpaceMessage): CpaceResult {
  return state.finish(responder);
}

/**
 * K = `scalar_mult_vfy(scalar, peerShare)`, aborting as the draft requires
 * when it is `G.I`. A peer share equal to our own is refused too: it can
 * only be our message reflected back (the draft's key confirmation would
 * then accept our own tag as the peer's).
 */
function peerProduct(scalar: Uint8Array, peerShare: Uint8Array, ownShare: Uint8Array): Uint8Array<ArrayBuffer> {
  if (peerShare.length !== CPACE_SHARE_BYTES) {
    throw new CpaceError(
      `The peer's CPace share is not valid: expected ${CPACE_SHARE_BYTES} bytes, got ${peerShare.length}`,
    );
  }
  if (equalBytes(peerShare, ownShare)) throw new CpaceError("The peer's CPace share is our own, reflected back");
  const k = scalarMultVfy(scalar, peerShare);
  if (isIdentity(k)) {
    throw new CpaceError("The peer's CPace share is not valid: not a ristretto255 element, or the neutral element");
  }
  return k;
}

/** A scalar's bytes (little-endian) as an integer modulo the group order, never zero. */
function scalarValue(scalar: Uint8Array): bigint {
  let value = 0n;
  for (let i = scalar.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(scalar[i]);
  value %= GROUP_ORDER;
  if (value === 0n) throw new RangeError("a CPace scalar must not be zero modulo the group order");
  return value;
}

/** Whether two byte strings are equal. Not constant-time: for public values. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The parts one after another. */
function concat(...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
