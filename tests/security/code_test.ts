import assert from "node:assert/strict";
import {
  CODE_ENTROPY_BITS,
  CODE_NUMBER_RANGE,
  CODE_WORD_COUNT,
  CodeError,
  codePassword,
  generateCode,
  MAX_CODE_LENGTH,
  parseCode,
} from "../../lib/security/code.ts";
import { CODE_WORDS } from "../../lib/security/code_words.ts";
import { ExitCode, UsageError } from "../../lib/io/errors.ts";

Deno.test("code: the word list is BIP-39 English, byte for byte", async () => {
  const file = new TextEncoder().encode(CODE_WORDS.join("\n") + "\n");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", file));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
  assert.equal(hex, "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda");
});

Deno.test("code: the words are 2048 distinct lower-case words, told apart by their first four letters", () => {
  assert.equal(CODE_WORDS.length, 2048);
  assert.equal(new Set(CODE_WORDS).size, 2048);
  assert.equal(new Set(CODE_WORDS.map((word) => word.slice(0, 4))).size, 2048);
  for (const word of CODE_WORDS) assert.match(word, /^[a-z]{3,8}$/);
  assert.ok(Object.isFrozen(CODE_WORDS));
});

Deno.test("code: the entropy follows from the list's size, and is at least 32 bits", () => {
  const expected = Math.log2(CODE_NUMBER_RANGE) + CODE_WORD_COUNT * Math.log2(CODE_WORDS.length);
  assert.equal(CODE_ENTROPY_BITS, expected);
  assert.ok(Math.abs(CODE_ENTROPY_BITS - 39.64) < 0.01, String(CODE_ENTROPY_BITS));
  assert.ok(CODE_ENTROPY_BITS >= 32);
});

Deno.test("code: a generated code is a number and three list words, and parses to itself", () => {
  for (let i = 0; i < 200; i++) {
    const code = generateCode();
    const [number, ...words] = code.split("-");
    assert.match(number, /^(0|[1-9][0-9]?)$/);
    assert.ok(Number(number) < CODE_NUMBER_RANGE);
    assert.equal(words.length, CODE_WORD_COUNT);
    for (const word of words) assert.ok(CODE_WORDS.includes(word), word);
    assert.equal(parseCode(code), code);
  }
});

Deno.test("code: generated codes spread over the numbers and words", () => {
  const numbers = new Set<string>();
  const codes = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const code = generateCode();
    codes.add(code);
    numbers.add(code.split("-")[0]);
  }
  // 2000 draws of 100 numbers: each one missing has a chance of about e^-20.
  assert.equal(numbers.size, CODE_NUMBER_RANGE);
  assert.equal(codes.size, 2000);
});

Deno.test("code: parseCode normalises case, blanks and runs of -", () => {
  const cases: [string, string][] = [
    ["7-orbit-meadow-silver", "7-orbit-meadow-silver"],
    ["  7-orbit-meadow-silver\t", "7-orbit-meadow-silver"],
    ["7 Orbit MEADOW silver", "7-orbit-meadow-silver"],
    ["7--orbit---meadow-silver", "7-orbit-meadow-silver"],
    ["7 - orbit -\tmeadow  silver", "7-orbit-meadow-silver"],
    ["-7-orbit-meadow-silver-", "7-orbit-meadow-silver"],
    ["one two three", "one-two-three"],
    ["correct-horse-battery-staple", "correct-horse-battery-staple"],
    ["12-34-56", "12-34-56"],
  ];
  for (const [typed, expected] of cases) assert.equal(parseCode(typed), expected, typed);
});

Deno.test("code: codePassword is the UTF-8 of the normalised code", () => {
  assert.deepEqual(codePassword(" 7 Orbit  meadow-SILVER "), new TextEncoder().encode("7-orbit-meadow-silver"));
  assert.deepEqual(codePassword("7-orbit-meadow-silver"), codePassword("7 orbit meadow silver"));
  assert.throws(() => codePassword("nope"), CodeError);
});

Deno.test("code: parseCode rejects what is not a code, with a one-line usage error", () => {
  const bad = [
    "",
    "   ",
    "---",
    "orbit",
    "orbit-meadow",
    "7 orbit",
    "7-orbit-meadow_silver",
    "7.orbit.meadow.silver",
    "7-orbit-méadow-silver",
    "7-orbit-meadow-silver\n",
    "7-orbit-\u001b[31mmeadow-silver",
    "7-orbit-meadow-\u009bsilver",
    "7-orbit-\u202emeadow-silver",
    "7-orbit-meadow-silver\u200b",
    "7-\u212aelvin-orbit", // the Kelvin sign, which toLowerCase would make a plain k
    "7-orbit-meadow-silver-" + "x".repeat(MAX_CODE_LENGTH),
  ];
  for (const text of bad) {
    assert.throws(
      () => parseCode(text),
      (error: unknown) => {
        assert.ok(error instanceof CodeError && error instanceof UsageError, text);
        assert.equal(error.exitCode, ExitCode.Usage);
        assert.match(error.message, /^Invalid code /);
        // Nothing but printable ASCII reaches the message: no control character, raw.
        assert.match(error.message, /^[\x20-\x7e]+$/);
        return true;
      },
      JSON.stringify(text),
    );
  }
});

Deno.test("code: the message names the value quoted and says what a code looks like", () => {
  assert.throws(
    () => parseCode("7-orbit"),
    { message: 'Invalid code "7-orbit": expected at least 3 parts separated by -, such as 7-orbit-meadow-silver' },
  );
  assert.throws(
    () => parseCode("7-or\u009bbit-\u{1f600}"),
    {
      message:
        'Invalid code "7-or\\u009bbit-\\ud83d\\ude00": expected letters and digits in parts separated by -, such as 7-orbit-meadow-silver',
    },
  );
  assert.throws(
    () => parseCode("bad\u001b[2Jcode-x-y"),
    {
      message:
        'Invalid code "bad\\u001b[2Jcode-x-y": expected letters and digits in parts separated by -, such as 7-orbit-meadow-silver',
    },
  );
});
