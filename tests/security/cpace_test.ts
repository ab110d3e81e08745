import assert from "node:assert/strict";
import {
  calculateGenerator,
  CPACE_DSI,
  CPACE_ISK_BYTES,
  CPACE_SHARE_BYTES,
  CpaceError,
  cpaceInitiatorFinish,
  cpaceInitiatorStart,
  type CpaceMessage,
  cpaceResponderRespond,
  generatorString,
  intermediateSessionKey,
  isIdentity,
  lvCat,
  prependLen,
  sampleScalar,
  scalarMult,
  scalarMultVfy,
  SHA512_BLOCK_BYTES,
  transcriptIr,
} from "../../lib/security/cpace.ts";
import { ProtocolError } from "../../lib/io/errors.ts";

const encoder = new TextEncoder();
const text = (value: string) => encoder.encode(value);

/** Bytes from hex, spaces allowed (as the draft lays vectors out). */
function hex(value: string): Uint8Array<ArrayBuffer> {
  const digits = value.replace(/\s+/g, "");
  return new Uint8Array(digits.match(/../g)?.map((pair) => parseInt(pair, 16)) ?? []);
}

/** Hex of bytes, to compare with a vector and see the difference when it fails. */
function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function assertHex(actual: Uint8Array, expected: string): void {
  assert.equal(toHex(actual), expected.replace(/\s+/g, ""));
}

/** `bytes(range(n))` in the draft's Python. */
const range = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

// Test vectors from draft-irtf-cfrg-cpace-21 (github.com/cfrg/draft-irtf-cfrg-cpace, tag
// draft-irtf-cfrg-cpace-21, commit 8fb4056e1b9201927d9f651b9970d9d5660c7892), file
// draft-irtf-cfrg-cpace.md: appendix "CPace function definitions" (prepend_len, lv_cat,
// transcript_ir) and "Test vector for CPace using group ristretto255 and hash SHA-512".
const V = {
  prs: "50617373776f7264", // b'Password'
  ci: "0b415f696e69746961746f720b425f726573706f6e646572", // b'\x0bA_initiator\x0bB_responder'
  sid: "7e4b4791d6a8ef019b936c79fb7f2c57",
  generatorString: `
    11435061636552697374726574746f3235350850617373776f726464
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000180b415f696e69746961746f
    720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f
    2c57`,
  generatorHash: `
    da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288
    b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772
    05f90851a657ee27`,
  g: "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56",
  ada: "414461", // b'ADa'
  ya: "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08",
  Ya: "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157",
  adb: "414462", // b'ADb'
  yb: "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d",
  Yb: "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258",
  K: "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f",
  transcriptIr: `
    20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e
    ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa
    8232b5ebe63324e2d9e7433f725803414462`,
  dsiIsk: "435061636552697374726574746f3235355f49534b", // b'CPaceRistretto255_ISK'
  iskInput: `
    15435061636552697374726574746f3235355f49534b107e4b4791d6
    a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55
    a2f80ac19c333f917a05fc9887c8b40f20d6bac480f2c386c394efc7
    c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7
    e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f
    725803414462`,
  iskIr: `
    b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc
    ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c
    3fa2068af7900447`,
  // "Test case for scalar_mult with valid inputs"
  s: "7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05",
  X: "2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c",
  sX: "7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e",
  // "Invalid inputs for scalar_mult_vfy": not an encoding, and G.I
  invalidY1: "2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c",
  invalidY2: "0000000000000000000000000000000000000000000000000000000000000000",
} as const;

Deno.test("cpace: prepend_len matches the draft's vectors", () => {
  assertHex(prependLen(new Uint8Array()), "00");
  assertHex(prependLen(text("1234")), "0431323334");
  assertHex(prependLen(range(127)), "7f" + toHex(range(127)));
  assertHex(prependLen(range(128)), "8001" + toHex(range(128)));
});

Deno.test("cpace: prepend_len encodes longer lengths in LEB128", () => {
  assert.deepEqual(Array.from(prependLen(new Uint8Array(300)).subarray(0, 2)), [0xac, 0x02]);
  assert.deepEqual(Array.from(prependLen(new Uint8Array(16384)).subarray(0, 3)), [0x80, 0x80, 0x01]);
});

Deno.test("cpace: lv_cat matches the draft's vector", () => {
  assertHex(lvCat(text("1234"), text("5"), text(""), text("678")), "043132333401350003363738");
  assertHex(lvCat(), "");
});

Deno.test("cpace: transcript_ir matches the draft's vectors", () => {
  assertHex(
    transcriptIr({ share: text("123"), ad: text("PartyA") }, { share: text("234"), ad: text("PartyB") }),
    "03313233065061727479410332333406506172747942",
  );
  assertHex(
    transcriptIr({ share: text("3456"), ad: text("PartyA") }, { share: text("2345"), ad: text("PartyB") }),
    "043334353606506172747941043233343506506172747942",
  );
});

Deno.test("cpace: generator_string, its hash and the generator match the draft's ristretto255 vectors", async () => {
  assertHex(CPACE_DSI, "435061636552697374726574746f323535"); // b'CPaceRistretto255'
  const generator = generatorString(CPACE_DSI, hex(V.prs), hex(V.ci), hex(V.sid), SHA512_BLOCK_BYTES);
  assert.equal(generator.length, 170);
  assertHex(generator, V.generatorString);
  assertHex(new Uint8Array(await crypto.subtle.digest("SHA-512", generator)), V.generatorHash);
  assertHex(calculateGenerator(hex(V.prs), hex(V.ci), hex(V.sid)).toBytes(), V.g);
});

Deno.test("cpace: generator_string pads only while DSI and PRS fit in the first block", () => {
  // 18 (DSI with its length) + 101 (PRS with its length) + 1 (the padding's length) = 120:
  // 8 zero bytes fill the 128-byte block; then CI and sid, empty, with their lengths.
  const short = generatorString(CPACE_DSI, new Uint8Array(100), text(""), text(""), SHA512_BLOCK_BYTES);
  assert.equal(short.length, 128 + 1 + 1);
  assert.deepEqual(Array.from(short.subarray(119, 128)), [8, 0, 0, 0, 0, 0, 0, 0, 0]);
  const long = generatorString(CPACE_DSI, new Uint8Array(200), text(""), text(""), SHA512_BLOCK_BYTES);
  assert.equal(long.length, 18 + 202 + 1 + 1 + 1);
});

Deno.test("cpace: Ya, Yb and K match the draft's ristretto255 vectors", () => {
  const g = calculateGenerator(hex(V.prs), hex(V.ci), hex(V.sid));
  assertHex(scalarMult(hex(V.ya), g), V.Ya);
  assertHex(scalarMult(hex(V.yb), g), V.Yb);
  assertHex(scalarMultVfy(hex(V.ya), hex(V.Yb)), V.K);
  assertHex(scalarMultVfy(hex(V.yb), hex(V.Ya)), V.K);
});

Deno.test("cpace: the transcript and the ISK match the draft's initiator-responder vectors", () => {
  const initiator: CpaceMessage = { share: hex(V.Ya), ad: hex(V.ada) };
  const responder: CpaceMessage = { share: hex(V.Yb), ad: hex(V.adb) };
  const transcript = transcriptIr(initiator, responder);
  assert.equal(transcript.length, 74);
  assertHex(transcript, V.transcriptIr);
  const iskInput = new Uint8Array([...lvCat(hex(V.dsiIsk), hex(V.sid), hex(V.K)), ...transcript]);
  assertHex(iskInput, V.iskInput);
  assertHex(intermediateSessionKey(hex(V.sid), hex(V.K), transcript), V.iskIr);
});

Deno.test("cpace: the high-level API with the draft's scalars gives the draft's messages and ISK", () => {
  const [prs, ci, sid] = [hex(V.prs), hex(V.ci), hex(V.sid)];
  const initiator = cpaceInitiatorStart(prs, ci, sid, hex(V.ada), { scalar: hex(V.ya) });
  assertHex(initiator.message.share, V.Ya);
  const response = cpaceResponderRespond(prs, ci, sid, initiator.message, hex(V.adb), { scalar: hex(V.yb) });
  assertHex(response.message.share, V.Yb);
  assertHex(response.isk, V.iskIr);
  const result = cpaceInitiatorFinish(initiator, response.message);
  assertHex(result.isk, V.iskIr);
  assert.equal(result.isk.length, CPACE_ISK_BYTES);
});

Deno.test("cpace: scalar_mult and scalar_mult_vfy match the draft's valid-input vector", () => {
  assertHex(scalarMultVfy(hex(V.s), hex(V.X)), V.sX);
});

Deno.test("cpace: scalar_mult_vfy gives G.I for the draft's invalid inputs", () => {
  for (const invalid of [V.invalidY1, V.invalidY2]) {
    const result = scalarMultVfy(hex(V.s), hex(invalid));
    assert.ok(isIdentity(result), invalid);
  }
  // Wrong lengths are not encodings either.
  assert.ok(isIdentity(scalarMultVfy(hex(V.s), hex(V.X).subarray(0, 31))));
  assert.ok(isIdentity(scalarMultVfy(hex(V.s), new Uint8Array([...hex(V.X), 0]))));
});

/** The draft's inputs with the responder's, or initiator's, share replaced. */
const invalidShares: readonly [string, Uint8Array][] = [
  ["the draft's Y_i1 (not an encoding)", hex(V.invalidY1)],
  ["the draft's Y_i2 (G.I, the neutral element)", hex(V.invalidY2)],
  ["a non-canonical encoding (p + 1)", hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")],
  ["31 bytes", hex(V.Yb).subarray(1)],
  ["33 bytes", new Uint8Array([...hex(V.Yb), 0])],
  ["no bytes", new Uint8Array()],
];

for (const [name, share] of invalidShares) {
  Deno.test(`cpace: the initiator aborts with CpaceError on ${name} from the responder`, () => {
    const initiator = cpaceInitiatorStart(hex(V.prs), hex(V.ci), hex(V.sid), hex(V.ada));
    assert.throws(
      () => cpaceInitiatorFinish(initiator, { share, ad: hex(V.adb) }),
      (error: unknown) =>
        error instanceof CpaceError && error instanceof ProtocolError && !error.message.includes("\n"),
    );
  });

  Deno.test(`cpace: the responder aborts with CpaceError on ${name} from the initiator`, () => {
    assert.throws(
      () => cpaceResponderRespond(hex(V.prs), hex(V.ci), hex(V.sid), { share, ad: hex(V.ada) }, hex(V.adb)),
      CpaceError,
    );
  });
}

Deno.test("cpace: the initiator refuses its own share reflected back", () => {
  const initiator = cpaceInitiatorStart(hex(V.prs), hex(V.ci), hex(V.sid), hex(V.ada));
  assert.throws(() => cpaceInitiatorFinish(initiator, initiator.message), CpaceError);
});

Deno.test("cpace: a run finishes once", () => {
  const [prs, ci, sid] = [text("1-two-three"), text(""), sampleScalar()];
  const initiator = cpaceInitiatorStart(prs, ci, sid, text("client"));
  const response = cpaceResponderRespond(prs, ci, sid, initiator.message, text("server"));
  cpaceInitiatorFinish(initiator, response.message);
  assert.throws(() => cpaceInitiatorFinish(initiator, response.message), /already finished/);
});

Deno.test("cpace: the same code gives both sides the same ISK", () => {
  const sid = crypto.getRandomValues(new Uint8Array(16));
  const ci = text("parley test channel");
  const initiator = cpaceInitiatorStart(text("7-orbit-meadow-silver"), ci, sid, text("client"));
  assert.equal(initiator.message.share.length, CPACE_SHARE_BYTES);
  const response = cpaceResponderRespond(text("7-orbit-meadow-silver"), ci, sid, initiator.message, text("server"));
  const result = cpaceInitiatorFinish(initiator, response.message);
  assert.equal(toHex(result.isk), toHex(response.isk));
  assert.equal(result.isk.length, CPACE_ISK_BYTES);
  assert.deepEqual(result.initiator, response.initiator);
  assert.deepEqual(result.responder, response.responder);
});

Deno.test("cpace: a wrong code, CI, sid or associated data gives different ISKs, without an error", () => {
  const sid = crypto.getRandomValues(new Uint8Array(16));
  const run = (
    initiatorInputs: { prs: string; ci: string; sid: Uint8Array },
    responderInputs: { prs: string; ci: string; sid: Uint8Array },
    tamper: (message: CpaceMessage) => CpaceMessage = (message) => message,
  ) => {
    const initiator = cpaceInitiatorStart(
      text(initiatorInputs.prs),
      text(initiatorInputs.ci),
      initiatorInputs.sid,
      text("client"),
    );
    const response = cpaceResponderRespond(
      text(responderInputs.prs),
      text(responderInputs.ci),
      responderInputs.sid,
      tamper(initiator.message),
      text("server"),
    );
    return [toHex(cpaceInitiatorFinish(initiator, response.message).isk), toHex(response.isk)];
  };
  const base = { prs: "7-orbit-meadow-silver", ci: "channel", sid };
  for (
    const [a, b] of [
      run(base, { ...base, prs: "7-orbit-meadow-silven" }),
      run(base, { ...base, ci: "channel2" }),
      run(base, { ...base, sid: new Uint8Array(16) }),
      run(base, base, (message) => ({ ...message, ad: text("clienT") })),
    ]
  ) {
    assert.notEqual(a, b);
  }
});

Deno.test("cpace: sample_scalar gives 32 bytes below 2^252, fresh each time", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const scalar = sampleScalar();
    assert.equal(scalar.length, 32);
    assert.ok(scalar[31] < 0x10);
    seen.add(toHex(scalar));
  }
  assert.equal(seen.size, 64);
});
