/**
 * TLS with the real programs: conversations over IPv4 and IPv6, every way a
 * certificate can fail to verify, and plain and TLS sides that meet.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { isSelfSigned } from "../../lib/security/tls.ts";
import { haveOpenssl, makeCertificates, type TestCertificates } from "../support/certs.ts";
import { LOOPBACKS } from "../support/net.ts";
import { assertExits, ROOT, spawnCommand, spawnProgram, startServer } from "../support/process.ts";

const skip = haveOpenssl() ? "" : " (skipped: openssl is not installed; .ci/run installs it)";
const certs: TestCertificates | undefined = skip ? undefined : makeCertificates();

function tlsTest(name: string, fn: (certs: TestCertificates) => Promise<void>): void {
  Deno.test({ name: name + skip, ignore: certs === undefined, fn: () => fn(certs!) });
}

for (const hostname of LOOPBACKS) {
  tlsTest(`a conversation over TLS on ${hostname}`, async ({ good, ca }) => {
    const { server, port } = await startServer([hostname, "0", "--tls-cert", good.cert, "--tls-key", good.key]);
    await using _server = server;
    assert.match(server.stderr.lines[0], / with TLS$/);
    // A CA signed this certificate: the hint cannot know if the CA is private.
    await server.stderr.waitFor(/^connect with: deno run -N \S+ --tls \S+ \d+$/);
    await using client = spawnProgram("client", [hostname, String(port), "--tls", "--ca", ca]);
    await client.stderr.waitFor(/^connected to .* \(TLS, certificate verified\)$/);
    await server.stderr.waitFor(/^connected: .* \(TLS\)$/);
    await client.write("over tls\n");
    await server.stdout.waitFor(/^over tls$/);
    await server.write("and back\n");
    await client.stdout.waitFor(/^and back$/);
    await client.closeStdin();
    assert.equal((await client.exit()).code, 0);
    assert.equal((await server.exit()).code, 0);
  });
}

tlsTest("the README's self-signed certificate works as its own --ca", async ({ selfSigned }) => {
  const { server, port } = await startServer([
    "127.0.0.1",
    "0",
    "--tls-cert",
    selfSigned.cert,
    "--tls-key",
    selfSigned.key,
  ]);
  await using _server = server;
  // The server's hint names the certificate as the client's --ca.
  const hint = `--tls --ca ${selfSigned.cert} 127.0.0.1 ${port}`;
  await server.stderr.waitFor(new RegExp(`^connect with: deno run -N -R \\S+ ${hint.replaceAll(".", "\\.")}$`));
  await using client = spawnProgram("client", ["localhost", String(port), "--tls", "--ca", selfSigned.cert]);
  await client.write("hello\n");
  await server.stdout.waitFor(/^hello$/);
  await client.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  assert.equal((await client.exit()).code, 0);
});

tlsTest("a self-signed certificate is told from one a CA signed", ({ ca, good, selfSigned }) => {
  const read = (path: string) => Deno.readTextFileSync(path);
  assert.equal(isSelfSigned(read(selfSigned.cert)), true);
  assert.equal(isSelfSigned(read(ca)), true);
  assert.equal(isSelfSigned(read(good.cert)), false);
  // A chain starts with the server's own certificate.
  assert.equal(isSelfSigned(read(good.cert) + read(ca)), false);
  const pem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
  const caBody = read(ca).split("\n").filter((line) => !line.startsWith("-----")).join("");
  // Not PEM, not base64, and a certificate cut short: none is self-signed.
  for (const broken of ["", "no pem", pem("!!"), pem(caBody.slice(0, 200))]) {
    assert.equal(isSelfSigned(broken), false);
  }
  return Promise.resolve();
});

const failures: [string, keyof TestCertificates, (c: TestCertificates) => string[], RegExp][] = [
  [
    "a certificate from another CA",
    "good",
    (c) => ["--ca", c.otherCa],
    /the certificate is not trusted: unknown issuer \(for a private or self-signed certificate, use --ca FILE\)$/,
  ],
  ["a private certificate without --ca", "good", () => [], /the certificate is not trusted: unknown issuer/],
  [
    "a certificate for another name",
    "wrongName",
    (c) => ["--ca", c.ca],
    /the certificate is not valid for 127\.0\.0\.1 \(it is for other\.example\)$/,
  ],
  ["an expired certificate", "expired", (c) => ["--ca", c.ca], /the certificate has expired$/],
];

for (const [what, pair, extra, message] of failures) {
  tlsTest(`the client refuses ${what}, and the server keeps waiting`, async (c) => {
    const files = c[pair] as { cert: string; key: string };
    const { server, port } = await startServer(["127.0.0.1", "0", "--tls-cert", files.cert, "--tls-key", files.key]);
    await using _server = server;
    await using client = spawnProgram("client", ["127.0.0.1", String(port), "--tls", ...extra(c)]);
    await assertExits(
      client,
      1,
      new RegExp(`^client: Cannot connect to 127\\.0\\.0\\.1:${port} with TLS: ${message.source}`),
    );
    const { index } = await server.stderr.waitFor(/TLS handshake with 127\.0\.0\.1:\d+ failed: /);
    // The server's log speaks to its operator: it may say what the client needs, never "use --ca" as if it could.
    assert.doesNotMatch(server.stderr.lines[index], /use --ca FILE/);
    assert.equal(
      server.child.pid > 0 && (await Promise.race([server.child.status, Promise.resolve("running")])),
      "running",
    );
  });
}

tlsTest("a plain client that reaches a TLS server is told at its first line", async ({ good }) => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--tls-cert", good.cert, "--tls-key", good.key]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await client.write("hello?\n");
  await assertExits(client, 1, new RegExp(`^client: 127\\.0\\.0\\.1:${port} speaks TLS: connect with --tls$`));
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ did not start TLS \(a plain client\?\): told it to use --tls$/);
});

tlsTest("a plain client that says nothing to a TLS server is told within seconds", async ({ good }) => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--tls-cert", good.cert, "--tls-key", good.key]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await assertExits(client, 1, new RegExp(`^client: 127\\.0\\.0\\.1:${port} speaks TLS: connect with --tls$`));
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ did not start TLS \(a plain client\?\): told it to use --tls$/);
});

tlsTest("a TLS client that reaches a plain server is told at once; the server keeps waiting", async ({ ca }) => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--tls", "--ca", ca]);
  await assertExits(
    client,
    1,
    new RegExp(`^client: Cannot connect to 127\\.0\\.0\\.1:${port} with TLS: the other side does not speak TLS$`),
  );
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ tried to start TLS, but this server does not use it/);
  // Not a session: the server is still there for a real client.
  await using plain = spawnProgram("client", ["127.0.0.1", String(port)]);
  await plain.write("a real chat\n");
  await server.stdout.waitFor(/^a real chat$/);
  await plain.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  assert.equal((await plain.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
});

tlsTest("a client that never starts TLS is dropped after the handshake time limit", async ({ good }) => {
  const { server, port } = await startServer([
    "127.0.0.1",
    "0",
    "--tls-cert",
    good.cert,
    "--tls-key",
    good.key,
    "--handshake-timeout",
    "0.5",
  ]);
  await using _server = server;
  using silent = await Deno.connect({ hostname: "127.0.0.1", port });
  assert.equal(await new LineReader(silent, { maxLineBytes: 100 }).readLine(), null);
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ dropped: no handshake within 0\.5 s \(--handshake-timeout\)$/);
});

tlsTest("busy clients of a TLS server get their busy line over TLS", async ({ good, ca }) => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--tls-cert", good.cert, "--tls-key", good.key]);
  await using _server = server;
  await using first = spawnProgram("client", ["127.0.0.1", String(port), "--tls", "--ca", ca]);
  await first.write("first\n");
  await server.stdout.waitFor(/^first$/);
  await using second = spawnProgram("client", ["127.0.0.1", String(port), "--tls", "--ca", ca]);
  await assertExits(second, 1, /is busy with another session; try again later$/);
});

tlsTest("bad certificate files and options are reported in one line", async ({ good, wrongName }) => {
  const cases: [string[], number, RegExp][] = [
    [["--tls-cert", good.cert], 2, /^server: --tls-cert and --tls-key go together/],
    [
      ["--tls-cert", "/no/such.pem", "--tls-key", good.key],
      1,
      /^server: Cannot read --tls-cert \/no\/such\.pem: no such file$/,
    ],
    [["--tls-cert", `${ROOT}README.md`, "--tls-key", good.key], 1, /^server: Cannot use --tls-cert .*: not a PEM file/],
    [
      ["--tls-cert", good.cert, "--tls-key", wrongName.key],
      1,
      /^server: Cannot use --tls-cert .*good\.pem with --tls-key .*wrong\.key: the key does not belong to the certificate$/,
    ],
  ];
  for (const [args, code, message] of cases) {
    await using server = spawnProgram("server", ["127.0.0.1", "0", ...args]);
    await assertExits(server, code, message);
  }
  await using client = spawnProgram("client", ["--ca", good.cert]);
  await assertExits(client, 2, /^client: --ca needs --tls/);
});

tlsTest("without read permission, the certificate error says how to grant it", async ({ good }) => {
  await using server = spawnCommand([
    Deno.execPath(),
    "run",
    "-N",
    "--no-prompt",
    `${ROOT}server.ts`,
    "127.0.0.1",
    "0",
    "--tls-cert",
    good.cert,
    "--tls-key",
    good.key,
  ]);
  await assertExits(server, 1, /^server: Cannot read --tls-cert .*: read access not granted \(run with -R/);
});

tlsTest("a raw TLS peer can talk to a TLS server like openssl s_client would", async ({ good, ca }) => {
  const { server, port } = await startServer(["::1", "0", "--tls-cert", good.cert, "--tls-key", good.key, "--duplex"]);
  await using _server = server;
  using conn = await Deno.connectTls({ hostname: "::1", port, caCerts: [await Deno.readTextFile(ca)] });
  await writeAll(conn, new TextEncoder().encode("raw tls line\n"));
  await server.stdout.waitFor(/^raw tls line$/);
  await server.write("to the raw peer\n");
  assert.equal(await new LineReader(conn, { maxLineBytes: 100 }).readLine(), "to the raw peer");
});

tlsTest("when a raw TLS peer leaves, the server ends its side with a proper TLS close", async ({ good, ca }) => {
  const { server, port } = await startServer(["::1", "0", "--tls-cert", good.cert, "--tls-key", good.key]);
  await using _server = server;
  using conn = await Deno.connectTls({ hostname: "::1", port, caCerts: [await Deno.readTextFile(ca)] });
  await writeAll(conn, new TextEncoder().encode("one line and goodbye\n"));
  await server.stdout.waitFor(/^one line and goodbye$/);
  await conn.closeWrite();
  // Without close_notify from the server this read fails with UnexpectedEof.
  assert.equal(await new LineReader(conn, { maxLineBytes: 100 }).readLine(), null);
  assert.equal((await server.exit()).code, 0);
});

tlsTest(
  "a TLS server that dies mid-session is reported as a lost connection, not an error trace",
  async ({ good, ca }) => {
    const { server, port } = await startServer(["127.0.0.1", "0", "--tls-cert", good.cert, "--tls-key", good.key]);
    await using _server = server;
    await using client = spawnProgram("client", ["127.0.0.1", String(port), "--tls", "--ca", ca]);
    await client.write("are you there?\n");
    await server.stdout.waitFor(/^are you there\?$/);
    server.child.kill("SIGKILL");
    await assertExits(
      client,
      1,
      new RegExp(
        `^client: Connection with 127\\.0\\.0\\.1:${port} lost: the connection ended without a proper TLS close`,
      ),
    );
  },
);
