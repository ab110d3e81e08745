/**
 * Hostile input from everywhere but the peer, against the real programs:
 * certificates whose names hold escape sequences, files named on the command
 * line that are anything but a small regular file, command lines full of
 * control characters, and a standard input that is a directory.
 *
 * Each must give one clear line on stderr with the right exit code (2 for a
 * bad command line, 1 for anything else), promptly, with no stack trace and
 * no raw control character on either output; what came from outside shows
 * in its escaped form.
 */

import assert from "node:assert/strict";
import { MAX_SECRET_BYTES } from "../../lib/security/secret.ts";
import { MAX_PEM_BYTES } from "../../lib/security/tls.ts";
import { haveOpenssl, makeCertificates, type TestCertificates } from "../support/certs.ts";
import { assertCleanExit, assertCleanOutput } from "../support/clean.ts";
import { shown } from "../support/escaped.ts";
import { closedPort } from "../support/net.ts";
import {
  compileFlags,
  type ProgramName,
  ROOT,
  type RunningProgram,
  spawnCommand,
  spawnProgram,
  startServer,
} from "../support/process.ts";

const NO_OPENSSL = " (skipped: openssl is not installed; .ci/run installs it)";
const opensslMissing = !haveOpenssl();
const certs: TestCertificates | undefined = opensslMissing ? undefined : makeCertificates();

/** A test that needs openssl: skipped, and saying so in its name, when it is missing. */
function opensslTest(name: string, fn: (certs: TestCertificates) => Promise<void>): void {
  Deno.test({ name: name + (opensslMissing ? NO_OPENSSL : ""), ignore: opensslMissing, fn: () => fn(certs!) });
}

/** A folder for this file's odd files, removed when the tests end. */
const dir = Deno.makeTempDirSync({ prefix: "parley-hostile-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** The escape sequences an attacker would plant: set the window title, clear the screen, ring the bell. */
const OSC_TITLE = "\x1b]0;PWNED\x07";
const CLEAR = "\x1b[2J";

/** True when `program` has not exited (its status would have settled by now if it had). */
async function isRunning(program: RunningProgram): Promise<boolean> {
  const state = await Promise.race([program.child.status.then(() => "exited"), Promise.resolve("running")]);
  return state === "running";
}

/** A pattern for a line that starts with `text`. */
function startsWith(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
}

/** Checks that `program` wrote exactly one line on stderr and nothing on stdout. */
function assertOneLine(program: RunningProgram): void {
  assert.equal(program.stderr.lines.length, 1, `one line on stderr expected:\n${program.stderr.text}`);
  assert.deepEqual(program.stdout.lines, []);
}

function openssl(...args: string[]): void {
  const { success, stderr } = new Deno.Command("openssl", { args, cwd: dir, stdout: "null" }).outputSync();
  if (!success) throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

// ---------------------------------------------------------------------------
// 1. Certificates whose names hold escape sequences.

/** A self-signed server certificate with hostile names, and what the client must show of them. */
interface HostileCertificate {
  cert: string;
  key: string;
  /** The names as the client's error must show them, escaped; none when the names are not shown. */
  shownNames: string[];
}

/**
 * Makes a self-signed, non-CA certificate from an openssl config holding
 * `subject` as its CN and `altNames` as its DNS names (raw bytes: an
 * IA5String takes 0x00-0x7F, and openssl copies other bytes as they are).
 */
function hostileCertificate(name: string, certFile: string, subject: string, altNames: string[]): HostileCertificate {
  const config = [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "x509_extensions = ext",
    "[dn]",
    `CN = ${subject}`,
    "[ext]",
    "basicConstraints = critical,CA:FALSE",
    ...(altNames.length > 0 ? [`subjectAltName = ${altNames.map((alt) => `DNS:${alt}`).join(",")}`] : []),
    "",
  ].join("\n");
  Deno.writeTextFileSync(`${dir}/${name}.cnf`, config);
  const cert = `${dir}/${certFile}`;
  const key = `${dir}/${name}.key`;
  openssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "30",
    "-config",
    `${name}.cnf`,
    "-keyout",
    key,
    "-out",
    cert,
  );
  return { cert, key, shownNames: altNames.map(shown) };
}

const hostileCerts: [string, () => HostileCertificate][] = [
  [
    "DNS names and a CN holding ESC ] 0 ; PWNED BEL, ESC [ 2 J and DEL (in a file whose name holds them too)",
    () =>
      hostileCertificate("escapes", `evil${OSC_TITLE}${CLEAR}.pem`, `evil${OSC_TITLE}${CLEAR}\x7f`, [
        `a${OSC_TITLE}.example`,
        `b${CLEAR}.example`,
        "c\x7f.example",
      ]),
  ],
  [
    "DNS names holding a C1 CSI (U+009B) and a right-to-left override (U+202E)",
    () => hostileCertificate("c1-bidi", "c1-bidi.pem", "c1 and bidi", ["d\u009b2J.example", "e\u202eexe.txt"]),
  ],
  [
    "only a CN holding ESC sequences (no subjectAltName)",
    () => ({ ...hostileCertificate("cn-only", "cn-only.pem", `cn${OSC_TITLE}${CLEAR}`, []), shownNames: [] }),
  ],
];

for (const [what, make] of hostileCerts) {
  opensslTest(`a server certificate with ${what}: the client's one line shows them escaped`, async () => {
    const { cert, key, shownNames } = make();
    const { server, port } = await startServer(["127.0.0.1", "0", "--tls-cert", cert, "--tls-key", key, "-k"]);
    await using _server = server;
    // The hint names the certificate file as the client's --ca, escaped.
    await server.stderr.waitFor(/^connect with: /);
    assert.ok(server.stderr.text.includes(`--ca ${shown(cert)} 127.0.0.1 ${port}`), server.stderr.text);
    let handshakes = 0;
    // Twice: the server logs the first failure and keeps serving.
    for (let attempt = 0; attempt < 2; attempt++) {
      await using client = spawnProgram("client", ["127.0.0.1", String(port), "--tls", "--ca", cert]);
      const prefix = `client: Cannot connect to 127.0.0.1:${port} with TLS: the certificate is not valid for 127.0.0.1`;
      await assertCleanExit(client, 1, startsWith(prefix));
      assertOneLine(client);
      const line = client.stderr.lines[0];
      if (shownNames.length === 0) {
        assert.equal(line, prefix);
      } else {
        const names = /\(it is for (.*)\)$/.exec(line.slice(prefix.length))?.[1];
        assert.ok(names !== undefined, line);
        for (const name of shownNames) assert.ok(names.includes(name), `${JSON.stringify(name)} not in ${line}`);
      }
      const { index } = await server.stderr.waitFor(/^TLS handshake with 127\.0\.0\.1:\d+ failed: /, handshakes);
      handshakes = index + 1;
    }
    assert.ok(await isRunning(server), "the server ended after a failed handshake");
    assertCleanOutput(server);
  });
}

// ---------------------------------------------------------------------------
// 2. Files named on the command line that are not small regular files.

const fifo = `${dir}/fifo`;
const mkfifo = new Deno.Command("mkfifo", { args: [fifo], stderr: "piped" }).outputSync();
if (!mkfifo.success) throw new Error(`mkfifo: ${new TextDecoder().decode(mkfifo.stderr)}`);
Deno.writeTextFileSync(`${dir}/regular`, "a regular file\n");
Deno.symlinkSync(`${dir}/loop-b`, `${dir}/loop-a`);
Deno.symlinkSync(`${dir}/loop-a`, `${dir}/loop-b`);
Deno.mkdirSync(`${dir}/a-directory`);
const BIG_BYTES = 2 * 1024 * 1024;
Deno.writeFileSync(`${dir}/big`, new Uint8Array(0));
Deno.truncateSync(`${dir}/big`, BIG_BYTES);
const escName = `${dir}/evil${OSC_TITLE}${CLEAR}name`;
Deno.writeFileSync(escName, new Uint8Array(0));
const notPem = `${dir}/not-pem.txt`;
Deno.writeTextFileSync(notPem, "hello, this is not PEM\n");
const binary = `${dir}/binary`;
Deno.writeFileSync(binary, new Uint8Array([0xff, 0xfe, 0x00, 0x9b, 0xc3, 0x28]));
// Armour is all that is checked before the other file is read: a key that is
// only armour is enough to stand for a PEM of the wrong kind.
const keyPem = `${dir}/key.pem`;
Deno.writeTextFileSync(keyPem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");

/** An option that names a file, and the command line around it. */
interface FileOption {
  program: ProgramName;
  option: string;
  /** The arguments with `value` given to the option. */
  args: (value: string) => string[];
  /** The most the program reads of it. */
  cap: number;
  /** What a PEM file for it must hold, or undefined for the secret file. */
  pem?: "certificate" | "private key";
  /** The file of the other PEM kind. */
  wrongKind?: () => string;
  /** True when the test needs openssl (for a good companion file). */
  needsOpenssl: boolean;
}

const fileOptions: FileOption[] = [
  {
    program: "server",
    option: "--secret-file",
    args: (value) => ["127.0.0.1", "0", `--secret-file=${value}`],
    cap: MAX_SECRET_BYTES,
    needsOpenssl: false,
  },
  {
    program: "client",
    option: "--secret-file",
    args: (value) => ["127.0.0.1", String(closedPort()), `--secret-file=${value}`],
    cap: MAX_SECRET_BYTES,
    needsOpenssl: false,
  },
  {
    program: "server",
    option: "--tls-cert",
    args: (value) => ["127.0.0.1", "0", `--tls-cert=${value}`, "--tls-key", certs!.good.key],
    cap: MAX_PEM_BYTES,
    pem: "certificate",
    wrongKind: () => certs!.good.key,
    needsOpenssl: true,
  },
  {
    program: "server",
    option: "--tls-key",
    args: (value) => ["127.0.0.1", "0", "--tls-cert", certs!.good.cert, `--tls-key=${value}`],
    cap: MAX_PEM_BYTES,
    pem: "private key",
    wrongKind: () => certs!.good.cert,
    needsOpenssl: true,
  },
  {
    program: "client",
    option: "--ca",
    args: (value) => ["127.0.0.1", String(closedPort()), "--tls", `--ca=${value}`],
    cap: MAX_PEM_BYTES,
    pem: "certificate",
    wrongKind: () => keyPem,
    needsOpenssl: false,
  },
];

/** An odd file, and the one line the program must print for it. */
interface OddFile {
  what: string;
  /** The path given, or undefined when the case is not for this option. */
  path: (option: FileOption) => string | undefined;
  /** The message after the program's name. */
  message: (option: FileOption, path: string) => string;
}

const NOT_PEM = 'not a PEM file (expected "-----BEGIN …-----")';
const cannotRead = (reason: string) => (o: FileOption, path: string) =>
  `Cannot read ${o.option} ${shown(path)}: ${reason}`;

const oddFiles: OddFile[] = [
  { what: "an empty name", path: () => "", message: (o) => `Cannot read ${o.option}: the file name is empty` },
  {
    what: "a path through a regular file",
    path: () => `${dir}/regular/inside`,
    message: cannotRead("a part of the path is not a directory"),
  },
  { what: "a symlink loop", path: () => `${dir}/loop-a`, message: cannotRead("too many levels of symbolic links") },
  {
    what: "a 300-character name",
    path: () => `${dir}/${"n".repeat(300)}`,
    message: cannotRead("the file name is too long"),
  },
  { what: "a FIFO", path: () => fifo, message: cannotRead("it is a named pipe (FIFO), not a regular file") },
  { what: "/dev/zero", path: () => "/dev/zero", message: cannotRead("it is a device, not a regular file") },
  { what: "a directory", path: () => `${dir}/a-directory`, message: cannotRead("it is a directory") },
  {
    what: "a sparse 2 MiB file",
    path: () => `${dir}/big`,
    message: (o, path) => cannotRead(`it is too large (${BIG_BYTES} bytes; at most ${o.cap})`)(o, path),
  },
  {
    what: "an empty file whose name holds ESC and BEL",
    path: () => escName,
    message: (o, path) => `Cannot use ${o.option} ${shown(path)}: ${o.pem === undefined ? "it is empty" : NOT_PEM}`,
  },
  {
    what: "a missing file whose name holds a C1 control and a right-to-left override",
    path: () => `${dir}/missing\u009b\u202etxt.pem`,
    message: cannotRead("no such file"),
  },
  {
    what: "a text file that is not PEM",
    path: (o) => o.pem && notPem,
    message: (o, path) => `Cannot use ${o.option} ${shown(path)}: ${NOT_PEM}`,
  },
  {
    what: "a file that is not text",
    path: (o) => o.pem && binary,
    message: cannotRead("not a text file"),
  },
  {
    what: "a PEM of the wrong kind",
    path: (o) => o.wrongKind?.(),
    message: (o, path) => `Cannot use ${o.option} ${shown(path)}: it holds no ${o.pem}`,
  },
];

for (const fileOption of fileOptions) {
  for (const odd of oddFiles) {
    const skip = fileOption.needsOpenssl && opensslMissing;
    // Paths that need the certificates are asked for only when the test runs.
    const probe = skip ? "" : odd.path(fileOption);
    if (probe === undefined) continue;
    const name = `${fileOption.program} ${fileOption.option} naming ${odd.what}: exit 1 with one line, promptly`;
    Deno.test({
      name: name + (skip ? NO_OPENSSL : ""),
      ignore: skip,
      async fn() {
        const path = odd.path(fileOption)!;
        await using program = spawnProgram(fileOption.program, fileOption.args(path));
        // The default time limit of the wait catches a program blocked in open (a FIFO) or reading for ever.
        await assertCleanExit(program, 1, `${fileOption.program}: ${odd.message(fileOption, path)}`);
        assertOneLine(program);
      },
    });
  }
}

opensslTest("a --ca whose PEM armour holds a body that is not a certificate: one line at connect", async (c) => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--tls-cert", c.good.cert, "--tls-key", c.good.key]);
  await using _server = server;
  // Valid base64, but what it decodes to is no DER certificate.
  const corrupt = `${dir}/corrupt-der.pem`;
  const body = btoa("this is no certificate at all, only words made to look like one.");
  await Deno.writeTextFile(corrupt, `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`);
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--tls", "--ca", corrupt]);
  await assertCleanExit(client, 1, /^client: Cannot use .*--ca/);
  assertOneLine(client);
  assert.doesNotMatch(client.stderr.text, /internal error/);
  assert.ok(await isRunning(server));
});

// A --ca whose armour holds bytes that are not base64 once made Deno.startTls throw InvalidData (an internal error).
Deno.test({
  name: "a --ca whose PEM armour holds bytes that are not base64: one line naming --ca, not an internal error" +
    (opensslMissing ? NO_OPENSSL : ""),
  ignore: opensslMissing,
  fn: () => corruptCaTest(certs!),
});

async function corruptCaTest(c: TestCertificates): Promise<void> {
  const { server, port } = await startServer(["127.0.0.1", "0", "--tls-cert", c.good.cert, "--tls-key", c.good.key]);
  await using _server = server;
  const corrupt = `${dir}/corrupt-base64.pem`;
  await Deno.writeTextFile(corrupt, "-----BEGIN CERTIFICATE-----\n!!!! not base64 ####\n-----END CERTIFICATE-----\n");
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--tls", "--ca", corrupt]);
  await assertCleanExit(client, 1, /^client: Cannot use .*--ca/);
  assertOneLine(client);
}

// A --tls-cert or --tls-key whose armour holds a body that is not a
// certificate or key once made Deno.listenTls throw messages that
// describeKeyPairError did not know (an internal error).
const corruptPems: [string, string, (c: TestCertificates, file: string) => string[]][] = [
  [
    "--tls-cert whose armour holds base64 that is no certificate",
    `-----BEGIN CERTIFICATE-----\n${
      btoa("no certificate, only words made to look like one")
    }\n-----END CERTIFICATE-----\n`,
    (c, file) => ["--tls-cert", file, "--tls-key", c.good.key],
  ],
  [
    "--tls-cert whose armour holds bytes that are not base64",
    "-----BEGIN CERTIFICATE-----\n!!!! not base64 ####\n-----END CERTIFICATE-----\n",
    (c, file) => ["--tls-cert", file, "--tls-key", c.good.key],
  ],
  [
    "--tls-key whose armour holds bytes that are not base64",
    "-----BEGIN PRIVATE KEY-----\n!!!! not base64 ####\n-----END PRIVATE KEY-----\n",
    (c, file) => ["--tls-cert", c.good.cert, "--tls-key", file],
  ],
];
for (const [what, text, args] of corruptPems) {
  Deno.test({
    name: `server ${what}: one line naming the option, not an internal error` + (opensslMissing ? NO_OPENSSL : ""),
    ignore: opensslMissing,
    async fn() {
      const file = `${dir}/corrupt-${what.length}.pem`;
      Deno.writeTextFileSync(file, text);
      await using server = spawnProgram("server", ["127.0.0.1", "0", ...args(certs!, file)]);
      await assertCleanExit(server, 1, /^server: Cannot use --tls-(cert|key) /);
      assertOneLine(server);
    },
  });
}

// ---------------------------------------------------------------------------
// 3. Command lines full of control characters.

const hostileValues: [string, string][] = [
  ["ESC sequences and a BEL", `${OSC_TITLE}${CLEAR}\x1b[31mred`],
  ["a BEL", "ding\x07dong"],
  ["a DEL", "rub\x7fout"],
  ["a C1 control (U+009B)", "c1\u009b2J"],
  ["a right-to-left override (U+202E)", "name\u202etxt.exe"],
  ["100 KB", "a".repeat(100_000)],
];

/** How a value reaches the program, and how the line that echoes it starts. */
const usageForms: [string, ProgramName[], (value: string) => string[], string][] = [
  ["an unknown option", ["server", "client"], (value) => [`--${value}`], "Unknown option --"],
  ["an unknown option with a value", ["server", "client"], (value) => [`--x${value}=1`], "Unknown option --x"],
  ["--name", ["server", "client"], (value) => ["--name", value], 'Invalid --name "'],
  ["--host", ["server", "client"], (value) => ["--host", value], 'Invalid host "'],
  ["a positional host", ["server", "client"], (value) => [value], 'Invalid host "'],
  ["--port", ["server", "client"], (value) => ["--port", value], 'Invalid port "'],
  ["--max-line", ["server", "client"], (value) => [`--max-line=${value}`], 'Invalid --max-line "'],
  ["--idle-timeout", ["server", "client"], (value) => ["--idle-timeout", value], 'Invalid --idle-timeout "'],
  [
    "--handshake-timeout",
    ["server", "client"],
    (value) => ["--handshake-timeout", value],
    'Invalid --handshake-timeout "',
  ],
  ["--connect-timeout", ["client"], (value) => ["--connect-timeout", value], 'Invalid --connect-timeout "'],
];

/** Checks one bad command line: exit 2, one clean line that starts as expected and shows `value` escaped. */
async function assertBadUsage(program: ProgramName, args: string[], start: string, value: string): Promise<void> {
  await using running = spawnProgram(program, args);
  await assertCleanExit(running, 2, startsWith(`${program}: ${start}`));
  assertOneLine(running);
  const line = running.stderr.lines[0];
  assert.ok(line.endsWith(` (see deno run -N ${program}.ts --help)`), line);
  if (Array.from(value).length > 100) {
    // A long value is shown by its start and its length, so the line stays readable.
    assert.match(line, /… \(\d+ characters\)/);
    assert.ok(line.length < 1000, `a line of ${line.length} characters`);
    return;
  }
  // Shown escaped as it is, or as a JSON string (whose \u escapes are visible too).
  const json = JSON.stringify(value).slice(1, -1);
  assert.ok(line.includes(shown(value)) || line.includes(shown(json)), `value not shown escaped in ${line}`);
}

for (const [form, programs, args, start] of usageForms) {
  for (const program of programs) {
    Deno.test(`${program} with ${form} holding control characters or 100 KB: exit 2, one escaped line`, async () => {
      for (const [what, value] of hostileValues) {
        try {
          await assertBadUsage(program, args(value), start, value);
        } catch (error) {
          throw new Error(`${form} holding ${what}: ${(error as Error).message}`, { cause: error });
        }
      }
    });
  }
}

// An error line longer than 256 KiB once escaped was dropped without a
// trace (exit 2, nothing on stderr). Values from outside are now shortened
// in messages, and the status writer always lets a write through when
// nothing else waits.
const oversizedEchoes: [ProgramName, string, string[], string, string][] = [
  ["server", "--name holding 100,000 ESC", ["--name", "\x1b".repeat(100_000)], 'Invalid --name "', "\x1b"],
  ["client", "--max-line holding 100,000 ESC", ["--max-line", "\x1b".repeat(100_000)], 'Invalid --max-line "', "\x1b"],
  ["server", "an unknown option of 50,000 U+009B", [`--${"\u009b".repeat(50_000)}`], "Unknown option --", "\u009b"],
];
for (const [program, what, args, start] of oversizedEchoes) {
  Deno.test({
    name: `${program} with ${what}: exit 2 with one line (not an empty stderr)`,
    async fn() {
      await using running = spawnProgram(program, args);
      await assertCleanExit(running, 2, startsWith(`${program}: ${start}`));
      assertOneLine(running);
    },
  });
}

for (const program of ["server", "client"] as const) {
  Deno.test(`${program} with PARLEY_SECRET set but empty: exit 1 with one line`, async () => {
    const args = program === "server" ? ["127.0.0.1", "0"] : ["127.0.0.1", String(closedPort())];
    await using running = spawnProgram(program, args, { env: { PARLEY_SECRET: "" } });
    await assertCleanExit(running, 1, `${program}: Cannot use PARLEY_SECRET: it is empty`);
    assertOneLine(running);
  });
}

// ---------------------------------------------------------------------------
// 4. A standard input that is a directory.

/** Runs `program` with `args` and its stdin read from the directory `/`, through sh. */
function spawnWithDirectoryStdin(program: ProgramName, args: string[]): RunningProgram {
  const command = [Deno.execPath(), "run", ...compileFlags(program), "--no-prompt", `${ROOT}${program}.ts`, ...args];
  return spawnCommand(["sh", "-c", 'exec "$@" < /', "sh", ...command]);
}

Deno.test("server whose stdin is a directory: exit 1, saying so in its last line", async () => {
  await using server = spawnWithDirectoryStdin("server", ["127.0.0.1", "0"]);
  await assertCleanExit(server, 1, "server: Cannot read standard input: it is a directory");
});

Deno.test("client whose stdin is a directory, with a server listening: exit 1, saying so in its last line", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k"]);
  await using _server = server;
  await using client = spawnWithDirectoryStdin("client", ["127.0.0.1", String(port)]);
  await assertCleanExit(client, 1, "client: Cannot read standard input: it is a directory");
  assert.ok(await isRunning(server));
  assertCleanOutput(server);
});
