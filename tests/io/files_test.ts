/**
 * Files named on the command line: only regular files, with a size cap, and
 * one line naming the option, the file and the reason for every failure.
 * (A FIFO is tested elsewhere, in a subprocess: reading is synchronous, and a
 * regression would hang the suite.)
 */

import assert from "node:assert/strict";
import { FileError } from "../../lib/io/errors.ts";
import { readOptionFile, readOptionText } from "../../lib/io/files.ts";
import { readPemFile } from "../../lib/security/tls.ts";

const MiB = 1024 * 1024;

/** A temporary folder, removed on disposal. */
function tempDir(): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: "parley-files-" });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}

/** Asserts that `read` throws a one-line FileError whose message is exactly `message`. */
function assertFileError(read: () => unknown, message: string): void {
  assert.throws(read, (error: unknown) => {
    assert.ok(error instanceof FileError, `not a FileError: ${error}`);
    assert.equal(error.message, message);
    assert.ok(!error.message.includes("\n"));
    assert.equal(error.exitCode, 1);
    return true;
  });
}

Deno.test("readOptionFile refuses an empty file name", () => {
  assertFileError(() => readOptionFile("--secret-file", "", 1024), "Cannot read --secret-file: the file name is empty");
  assertFileError(() => readOptionText("--ca", "", 1024), "Cannot read --ca: the file name is empty");
});

Deno.test("readOptionFile names a missing file, a path through a file, a symlink loop and a long name", () => {
  using dir = tempDir();
  const file = `${dir.path}/secret`;
  Deno.writeTextFileSync(file, "s3cret");
  Deno.symlinkSync(`${dir.path}/loop-b`, `${dir.path}/loop-a`);
  Deno.symlinkSync(`${dir.path}/loop-a`, `${dir.path}/loop-b`);
  const long = `${dir.path}/${"n".repeat(300)}`;
  const cases: [string, string][] = [
    [`${dir.path}/missing`, "no such file"],
    [`${file}/inside`, "a part of the path is not a directory"],
    [`${dir.path}/loop-a`, "too many levels of symbolic links"],
    [long, "the file name is too long"],
  ];
  for (const [path, reason] of cases) {
    assertFileError(() => readOptionFile("--secret-file", path, 1024), `Cannot read --secret-file ${path}: ${reason}`);
  }
});

Deno.test("readOptionFile reads only regular files: not a directory, not a device", () => {
  using dir = tempDir();
  assertFileError(
    () => readOptionFile("--secret-file", dir.path, 1024),
    `Cannot read --secret-file ${dir.path}: it is a directory`,
  );
  assertFileError(
    () => readOptionFile("--cert", "/dev/zero", 1024),
    "Cannot read --cert /dev/zero: it is a device, not a regular file",
  );
  assertFileError(
    () => readOptionText("--cert", "/dev/null", 1024),
    "Cannot read --cert /dev/null: it is a device, not a regular file",
  );
});

Deno.test("readOptionFile refuses a file over the cap by its size, without reading it", () => {
  using dir = tempDir();
  const path = `${dir.path}/big`;
  Deno.writeFileSync(path, new Uint8Array(0));
  Deno.truncateSync(path, 2 * MiB);
  assertFileError(
    () => readOptionFile("--key", path, MiB),
    `Cannot read --key ${path}: it is too large (${2 * MiB} bytes; at most ${MiB})`,
  );
  // One byte over the cap is too large; exactly the cap is not.
  Deno.truncateSync(path, 101);
  assertFileError(
    () => readOptionFile("--key", path, 100),
    `Cannot read --key ${path}: it is too large (101 bytes; at most 100)`,
  );
  Deno.truncateSync(path, 100);
  assert.deepEqual(readOptionFile("--key", path, 100), new Uint8Array(100));
});

/**
 * A file whose stat size is 0 though it holds more than 10 bytes. Deno lets
 * `-R` read only a few files under /proc (most need `--allow-all`, which the
 * tests do not have): the pressure files are among them, where the kernel has them.
 */
const ZERO_SIZED = ["/proc/pressure/cpu", "/proc/pressure/io", "/proc/pressure/memory"].find((path) => {
  try {
    return Deno.statSync(path).size === 0 && Deno.readFileSync(path).length > 10;
  } catch {
    return false;
  }
});

Deno.test({
  name: "readOptionFile caps what it reads from a file whose size says 0",
  ignore: ZERO_SIZED === undefined,
  fn() {
    const path = ZERO_SIZED!;
    assertFileError(
      () => readOptionFile("--secret-file", path, 10),
      `Cannot read --secret-file ${path}: it is too large (more than 10 bytes)`,
    );
    // With room enough, all of it is read, though its size said 0.
    const text = readOptionText("--secret-file", path, MiB);
    assert.match(text, /^some avg10=[\d.]+ avg60=[\d.]+ avg300=[\d.]+ total=\d+\n/);
  },
});

Deno.test("readOptionFile gives the advice Deno needs for a path it keeps for --allow-all", () => {
  // The tests may read files, but Deno keeps /proc/self for --allow-all.
  assertFileError(
    () => readOptionFile("--secret-file", "/proc/self/status", 4096),
    "Cannot read --secret-file /proc/self/status: read access not granted " +
      "(Deno lets a program read it only with --allow-all)",
  );
});

Deno.test("readOptionFile returns the file's exact bytes", () => {
  using dir = tempDir();
  const path = `${dir.path}/bytes`;
  const bytes = new Uint8Array(3 * 256 + 7).map((_, i) => (i * 7) % 256);
  Deno.writeFileSync(path, bytes);
  const read = readOptionFile("--secret-file", path, bytes.length);
  assert.deepEqual(read, bytes);
  assert.equal(read.buffer.byteLength, bytes.length);
  Deno.writeFileSync(`${dir.path}/empty`, new Uint8Array(0));
  assert.deepEqual(readOptionFile("--secret-file", `${dir.path}/empty`, 10), new Uint8Array(0));
});

Deno.test("readOptionText returns UTF-8 text and refuses what is not", () => {
  using dir = tempDir();
  const good = `${dir.path}/good.txt`;
  Deno.writeTextFileSync(good, "héllo wörld ✓\n");
  assert.equal(readOptionText("--secret-file", good, 1024), "héllo wörld ✓\n");
  const bad = `${dir.path}/bad.bin`;
  Deno.writeFileSync(bad, new Uint8Array([0x68, 0x69, 0xff, 0xfe, 0x0a]));
  assertFileError(
    () => readOptionText("--secret-file", bad, 1024),
    `Cannot read --secret-file ${bad}: not a text file`,
  );
  // Cut in the middle of a character.
  Deno.writeFileSync(bad, new TextEncoder().encode("✓").subarray(0, 2));
  assertFileError(
    () => readOptionText("--secret-file", bad, 1024),
    `Cannot read --secret-file ${bad}: not a text file`,
  );
});

// Bodies are the smallest DER structure readPemFile accepts (SEQUENCE { INTEGER 1 }): what is inside is TLS's to judge.
const CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
const PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n";
const EC_PRIVATE_KEY = "-----BEGIN EC PRIVATE KEY-----\nMAMCAQE=\n-----END EC PRIVATE KEY-----\n";

Deno.test("readPemFile refuses a file that is not PEM, or that holds no block of the kind asked for", () => {
  using dir = tempDir();
  const text = `${dir.path}/notes.txt`;
  Deno.writeTextFileSync(text, "just some text\n");
  assertFileError(
    () => readPemFile("--cert", text, "certificate"),
    `Cannot use --cert ${text}: not a PEM file (expected "-----BEGIN …-----")`,
  );
  const key = `${dir.path}/key.pem`;
  Deno.writeTextFileSync(key, PRIVATE_KEY);
  assertFileError(() => readPemFile("--cert", key, "certificate"), `Cannot use --cert ${key}: it holds no certificate`);
  const cert = `${dir.path}/cert.pem`;
  Deno.writeTextFileSync(cert, CERTIFICATE);
  assertFileError(() => readPemFile("--key", cert, "private key"), `Cannot use --key ${cert}: it holds no private key`);
  // Reading failures come first, in readOptionFile's words.
  assertFileError(
    () => readPemFile("--key", dir.path, "private key"),
    `Cannot read --key ${dir.path}: it is a directory`,
  );
});

Deno.test("readPemFile refuses a block that is not base64, or not a whole DER structure", () => {
  using dir = tempDir();
  const bodies = [
    "!!!! not base64 ####", // not base64
    btoa("words, not DER"), // base64 of something that is no SEQUENCE
    "MAUCAQE=", // a SEQUENCE that claims 5 bytes and holds 3
    "MAMCAQEA", // a whole SEQUENCE, and a byte after it
  ];
  for (const [i, body] of bodies.entries()) {
    const path = `${dir.path}/damaged-${i}.pem`;
    Deno.writeTextFileSync(path, `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`);
    assertFileError(
      () => readPemFile("--ca", path, "certificate"),
      `Cannot use --ca ${path}: a certificate in it is damaged (not base64 of a DER structure)`,
    );
  }
});

Deno.test("readPemFile returns the text of a PEM file holding the kind asked for", () => {
  using dir = tempDir();
  const cert = `${dir.path}/cert.pem`;
  Deno.writeTextFileSync(cert, CERTIFICATE);
  assert.equal(readPemFile("--cert", cert, "certificate"), CERTIFICATE);
  const key = `${dir.path}/key.pem`;
  Deno.writeTextFileSync(key, PRIVATE_KEY);
  assert.equal(readPemFile("--key", key, "private key"), PRIVATE_KEY);
  const ecKey = `${dir.path}/ec.pem`;
  Deno.writeTextFileSync(ecKey, EC_PRIVATE_KEY);
  assert.equal(readPemFile("--key", ecKey, "private key"), EC_PRIVATE_KEY);
  const both = `${dir.path}/both.pem`;
  Deno.writeTextFileSync(both, CERTIFICATE + PRIVATE_KEY);
  assert.equal(readPemFile("--cert", both, "certificate"), CERTIFICATE + PRIVATE_KEY);
  assert.equal(readPemFile("--key", both, "private key"), CERTIFICATE + PRIVATE_KEY);
});
