import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv } from "node:crypto";
import {
  CONFIRMATION_TAG_BYTES,
  confirmationTag,
  deriveSessionKeys,
  type DirectionKeys,
  IV_BYTES,
  KEY_BYTES,
  type SessionKeys,
  verifyConfirmation,
} from "../../lib/security/session_keys.ts";
import {
  cpaceInitiatorFinish,
  cpaceInitiatorStart,
  cpaceResponderRespond,
  type CpaceResult,
} from "../../lib/security/cpace.ts";
import { CODE_WORDS } from "../../lib/security/code_words.ts";

const encoder = new TextEncoder();

/** A whole CPace run between a client knowing `clientCode` and a server knowing `serverCode`. */
function exchange(clientCode: string, serverCode: string): { client: CpaceResult; server: CpaceResult } {
  const sid = crypto.getRandomValues(new Uint8Array(16));
  const ci = encoder.encode("parley test");
  const initiator = cpaceInitiatorStart(encoder.encode(clientCode), ci, sid, encoder.encode("parley/1 client"));
  const server = cpaceResponderRespond(
    encoder.encode(serverCode),
    ci,
    sid,
    initiator.message,
    encoder.encode("parley/1 server"),
  );
  return { client: cpaceInitiatorFinish(initiator, server.message), server };
}

async function keysOf(result: CpaceResult): Promise<SessionKeys> {
  return await deriveSessionKeys(result.isk, result.sid);
}

/** Seals `text` with one side's direction keys (ChaCha20-Poly1305, nonce = IV), opens it with the other's. */
// deno-lint-ignore require-await
async function roundTrip(from: DirectionKeys, to: DirectionKeys): Promise<string> {
  const sealed = sealWith(from, "hello");
  const decipher = createDecipheriv("chacha20-poly1305", to.key, to.iv, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = decipher.update(sealed.subarray(0, sealed.length - 16));
  decipher.final(); // throws when it does not authenticate
  return new TextDecoder().decode(plain);
}

function sealWith(keys: DirectionKeys, text: string): Uint8Array {
  const cipher = createCipheriv("chacha20-poly1305", keys.key, keys.iv, { authTagLength: 16 });
  const body = cipher.update(encoder.encode(text));
  cipher.final();
  const tag = cipher.getAuthTag();
  const sealed = new Uint8Array(body.length + tag.length);
  sealed.set(body);
  sealed.set(tag, body.length);
  return sealed;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

Deno.test("session keys: both sides derive the same keys, IVs and check string", async () => {
  const { client, server } = exchange("7-orbit-meadow-silver", "7-orbit-meadow-silver");
  const [a, b] = await Promise.all([keysOf(client), keysOf(server)]);
  assert.equal(a.check, b.check);
  assert.equal(hex(a.clientToServer.iv), hex(b.clientToServer.iv));
  assert.equal(hex(a.serverToClient.iv), hex(b.serverToClient.iv));
  assert.equal(await roundTrip(a.clientToServer, b.clientToServer), "hello");
  assert.equal(await roundTrip(b.serverToClient, a.serverToClient), "hello");
});

Deno.test("session keys: the two directions have different keys and IVs", async () => {
  const { client } = exchange("1-two-three", "1-two-three");
  const keys = await keysOf(client);
  assert.equal(keys.clientToServer.iv.length, IV_BYTES);
  assert.equal(keys.serverToClient.iv.length, IV_BYTES);
  assert.notEqual(hex(keys.clientToServer.iv), hex(keys.serverToClient.iv));
  assert.equal(keys.clientToServer.key.length, KEY_BYTES);
  assert.notEqual(hex(keys.clientToServer.key), hex(keys.serverToClient.key));
  // Same IV, so only a different key explains the failure to open.
  await assert.rejects(roundTrip(keys.clientToServer, { key: keys.serverToClient.key, iv: keys.clientToServer.iv }));
});

Deno.test("session keys: the confirmation key cannot be exported", async () => {
  const { client } = exchange("1-two-three", "1-two-three");
  const keys = await keysOf(client);
  assert.equal(keys.confirmationKey.extractable, false);
  await assert.rejects(crypto.subtle.exportKey("raw", keys.confirmationKey));
});

Deno.test("session keys: each side's confirmation tag verifies on the other side", async () => {
  const { client, server } = exchange("7-orbit-meadow-silver", "7-orbit-meadow-silver");
  const [a, b] = await Promise.all([keysOf(client), keysOf(server)]);
  const ta = await confirmationTag(a, client.initiator);
  const tb = await confirmationTag(b, server.responder);
  assert.equal(ta.length, CONFIRMATION_TAG_BYTES);
  assert.ok(await verifyConfirmation(b, server.initiator, ta));
  assert.ok(await verifyConfirmation(a, client.responder, tb));
  // Ta and Tb differ, and neither passes for the other.
  assert.notEqual(hex(ta), hex(tb));
  assert.equal(await verifyConfirmation(a, client.responder, ta), false);
  assert.equal(await verifyConfirmation(b, server.initiator, tb), false);
});

Deno.test("session keys: a confirmation tag with any one bit flipped fails", async () => {
  const { client, server } = exchange("1-two-three", "1-two-three");
  const [a, b] = await Promise.all([keysOf(client), keysOf(server)]);
  const ta = await confirmationTag(a, client.initiator);
  for (let bit = 0; bit < ta.length * 8; bit++) {
    const flipped = ta.slice();
    flipped[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(await verifyConfirmation(b, server.initiator, flipped), false, `bit ${bit}`);
  }
  assert.equal(await verifyConfirmation(b, server.initiator, ta.subarray(0, 32)), false);
  assert.equal(await verifyConfirmation(b, server.initiator, new Uint8Array()), false);
  assert.equal(await verifyConfirmation(b, server.initiator, new Uint8Array([...ta, 0])), false);
});

Deno.test("session keys: a confirmation tag over a changed message fails", async () => {
  const { client, server } = exchange("1-two-three", "1-two-three");
  const [a, b] = await Promise.all([keysOf(client), keysOf(server)]);
  const ta = await confirmationTag(a, client.initiator);
  const ad = encoder.encode("parley/1 clienT");
  assert.equal(await verifyConfirmation(b, { ...server.initiator, ad }, ta), false);
});

Deno.test("session keys: a wrong code gives different keys, and confirmation fails both ways", async () => {
  const { client, server } = exchange("7-orbit-meadow-silver", "7-orbit-meadow-silvex");
  const [a, b] = await Promise.all([keysOf(client), keysOf(server)]);
  assert.notEqual(hex(a.clientToServer.iv), hex(b.clientToServer.iv));
  assert.equal(await verifyConfirmation(b, server.initiator, await confirmationTag(a, client.initiator)), false);
  assert.equal(await verifyConfirmation(a, client.responder, await confirmationTag(b, server.responder)), false);
  await assert.rejects(roundTrip(a.clientToServer, b.clientToServer));
});

Deno.test("session keys: the check string is two code words and changes with the ISK", async () => {
  const sid = new Uint8Array(16);
  const checks = new Set<string>();
  for (let i = 0; i < 32; i++) {
    const isk = crypto.getRandomValues(new Uint8Array(64));
    const { check } = await deriveSessionKeys(isk, sid);
    const words = check.split("-");
    assert.equal(words.length, 2);
    for (const word of words) assert.ok(CODE_WORDS.includes(word), word);
    checks.add(check);
  }
  // 32 draws from 2^22 strings: a repeat has a chance of about 2^-12.
  assert.ok(checks.size >= 31);
});

Deno.test("session keys: the same ISK with another sid gives other keys", async () => {
  const isk = crypto.getRandomValues(new Uint8Array(64));
  const a = await deriveSessionKeys(isk, new Uint8Array(16));
  const b = await deriveSessionKeys(isk, new Uint8Array(16).fill(1));
  assert.notEqual(hex(a.clientToServer.iv), hex(b.clientToServer.iv));
  const message = { share: new Uint8Array(32).fill(7), ad: new Uint8Array() };
  assert.equal(await verifyConfirmation(b, message, await confirmationTag(a, message)), false);
});
