/**
 * The keys of one session, derived from the ISK of a CPace run
 * (`cpace.ts`) with Web Crypto alone.
 *
 * - **Traffic keys**: for each direction, a 32-byte ChaCha20-Poly1305 key
 *   and a 12-byte IV, from HKDF-SHA-512 with the ISK as input
 *   key material, the sid as salt and a label per purpose as info
 *   (`parley/1 client->server key`, …). The ISK already hashes the whole
 *   CPace transcript (both shares and both associated data), so no separate
 *   transcript hash goes in.
 * - **Key confirmation**, as the draft (draft-irtf-cfrg-cpace-21, "Key
 *   confirmation") suggests: `mac_key = SHA-512("CPaceMac" || sid || ISK)`;
 *   each side sends `Ta = HMAC-SHA-512(mac_key, lv_cat(Ya, ADa))`,
 *   respectively `Tb = HMAC-SHA-512(mac_key, lv_cat(Yb, ADb))`, a tag over
 *   the message it sent itself, and checks the other's. One key serves both
 *   tags because the messages differ: the shares are fresh random elements
 *   (and `cpace.ts` refuses a share reflected back), and parley's ADa and ADb
 *   name the side that sends them.
 * - **Check string**: two words of the code word list, which both people
 *   may compare aloud. Equal strings mean the same ISK. Words rather than
 *   four digits: two words of 2048 carry 22 bits (an attacker in the middle
 *   who somehow had the code would still be caught with probability
 *   1 - 2^-22, against 1 - 10^-4 for four digits), and words are easier to
 *   say and hear than digit strings. 2048² is 2^22, so the words come from
 *   22 derived bits without bias.
 *
 * @module
 */

import { CODE_WORDS } from "./code_words.ts";
import { type CpaceMessage, lvCat } from "./cpace.ts";

/** The key and IV of one direction of traffic. */
export interface DirectionKeys {
  /** The 32-byte ChaCha20-Poly1305 key (RFC 8439). */
  key: Uint8Array<ArrayBuffer>;
  /**
   * The 12-byte base IV. It must never repeat under `key`: a record layer
   * combines it with a sequence number (as TLS 1.3 does), never uses it as is
   * twice.
   */
  iv: Uint8Array<ArrayBuffer>;
}

/** Everything one session needs, equal on both sides when the ISKs are. */
export interface SessionKeys {
  /** What the client (the CPace initiator) sends with, and the server reads with. */
  clientToServer: DirectionKeys;
  /** What the server (the CPace responder) sends with, and the client reads with. */
  serverToClient: DirectionKeys;
  /** The draft's `mac_key`, as an HMAC-SHA-512 key (not extractable) for both confirmation tags. */
  confirmationKey: CryptoKey;
  /** Two words joined by `-`, for the two people to compare. */
  check: string;
}

/** Bytes of a nonce of ChaCha20-Poly1305 (RFC 8439). */
export const IV_BYTES = 12;
/** Bytes of a key of ChaCha20-Poly1305. */
export const KEY_BYTES = 32;

/** Bytes of a key confirmation tag (HMAC-SHA-512). */
export const CONFIRMATION_TAG_BYTES = 64;

/** The HKDF info labels, one per derived value. */
const LABELS = {
  clientToServerKey: "parley/1 client->server key",
  clientToServerIv: "parley/1 client->server iv",
  serverToClientKey: "parley/1 server->client key",
  serverToClientIv: "parley/1 server->client iv",
  check: "parley/1 check words",
} as const;

/** The prefix of the draft's `mac_key`. */
const MAC_KEY_LABEL: Uint8Array<ArrayBuffer> = new TextEncoder().encode("CPaceMac");

/** Bits of derived output the check string is taken from: two words of 11 bits. */
const CHECK_BITS = 22;

/**
 * Derives a session's keys from the `isk` and `sid` of a CPace run. Both
 * sides get equal keys, and the same check string, exactly when their ISKs
 * and sids are equal.
 */
export async function deriveSessionKeys(isk: Uint8Array, sid: Uint8Array): Promise<SessionKeys> {
  const secret = await crypto.subtle.importKey("raw", copy(isk), "HKDF", false, ["deriveKey", "deriveBits"]);
  const salt = copy(sid);
  const [clientToServer, serverToClient, checkBytes, confirmationKey] = await Promise.all([
    directionKeys(secret, salt, LABELS.clientToServerKey, LABELS.clientToServerIv),
    directionKeys(secret, salt, LABELS.serverToClientKey, LABELS.serverToClientIv),
    hkdfBits(secret, salt, LABELS.check, 3),
    macKey(isk, sid),
  ]);
  return { clientToServer, serverToClient, confirmationKey, check: checkWords(checkBytes) };
}

/**
 * The key confirmation tag of the message a side sent itself: `Ta` over
 * (Ya, ADa) for the initiator, `Tb` over (Yb, ADb) for the responder.
 */
export async function confirmationTag(keys: SessionKeys, sent: CpaceMessage): Promise<Uint8Array<ArrayBuffer>> {
  const tag = await crypto.subtle.sign("HMAC", keys.confirmationKey, lvCat(sent.share, sent.ad));
  return new Uint8Array(tag);
}

/**
 * Whether `tag` is the peer's correct confirmation tag for the message the
 * peer sent (`received`), compared in constant time by Web Crypto. False
 * for a tag of the wrong length.
 */
export async function verifyConfirmation(
  keys: SessionKeys,
  received: CpaceMessage,
  tag: Uint8Array,
): Promise<boolean> {
  if (tag.length !== CONFIRMATION_TAG_BYTES) return false;
  return await crypto.subtle.verify("HMAC", keys.confirmationKey, copy(tag), lvCat(received.share, received.ad));
}

/** One direction's ChaCha20-Poly1305 key and IV. */
async function directionKeys(
  secret: CryptoKey,
  salt: Uint8Array<ArrayBuffer>,
  keyLabel: string,
  ivLabel: string,
): Promise<DirectionKeys> {
  const [key, iv] = await Promise.all([
    hkdfBits(secret, salt, keyLabel, KEY_BYTES),
    hkdfBits(secret, salt, ivLabel, IV_BYTES),
  ]);
  return { key, iv };
}

/** The draft's `mac_key = SHA-512("CPaceMac" || sid || ISK)`, as an HMAC-SHA-512 key. */
async function macKey(isk: Uint8Array, sid: Uint8Array): Promise<CryptoKey> {
  const input = new Uint8Array(MAC_KEY_LABEL.length + sid.length + isk.length);
  input.set(MAC_KEY_LABEL);
  input.set(sid, MAC_KEY_LABEL.length);
  input.set(isk, MAC_KEY_LABEL.length + sid.length);
  const raw = new Uint8Array(await crypto.subtle.digest("SHA-512", input));
  input.fill(0);
  try {
    return await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-512" }, false, ["sign", "verify"]);
  } finally {
    raw.fill(0);
  }
}

/** `bytes` bytes of HKDF-SHA-512 output for `label`. */
async function hkdfBits(
  secret: CryptoKey,
  salt: Uint8Array<ArrayBuffer>,
  label: string,
  bytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.deriveBits(hkdf(salt, label), secret, bytes * 8));
}

/** The HKDF-SHA-512 parameters for one label. */
function hkdf(salt: Uint8Array<ArrayBuffer>, label: string): HkdfParams {
  return { name: "HKDF", hash: "SHA-512", salt, info: new TextEncoder().encode(label) };
}

/** Two words from the first 22 bits of `bytes` (big-endian), 11 bits each. */
function checkWords(bytes: Uint8Array): string {
  const value = ((bytes[0] << 16) | (bytes[1] << 8) | bytes[2]) >>> (24 - CHECK_BITS);
  return `${CODE_WORDS[value >>> 11]}-${CODE_WORDS[value & 0x7ff]}`;
}

/** A copy of `bytes` on an `ArrayBuffer` of its own, as Web Crypto takes. */
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}
