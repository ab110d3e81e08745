/**
 * Every error a user can meet: one clear line on stderr, the right exit code,
 * and never a stack trace.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { closedPort } from "../support/net.ts";
import { assertExits, hasStackTrace, spawnProgram, startServer } from "../support/process.ts";

const encoder = new TextEncoder();

const usageCases: [string, string[], RegExp][] = [
  [
    "server",
    ["--port", "99999"],
    /^server: Invalid port "99999": expected a number from 0 to 65535 \(see deno run -N server\.ts --help\)$/,
  ],
  ["server", ["no such host!"], /^server: Invalid host "no such host!": /],
  ["server", ["--bogus"], /^server: Unknown option --bogus \(see deno run -N server\.ts --help\)$/],
  ["server", ["--max-line", "0"], /^server: Invalid --max-line "0": /],
  ["server", ["a", "1", "2"], /^server: Too many arguments/],
  ["client", ["localhost", "0"], /^client: Invalid port "0": expected a number from 1 to 65535/],
  ["client", ["localhost:http"], /^client: Invalid port "http"/],
  ["client", ["[::1"], /^client: Invalid host "\[::1"/],
  ["client", ["--connect-timeout", "soon"], /^client: Invalid --connect-timeout "soon": /],
  ["client", ["--port"], /^client: Option --port needs a value/],
];

for (const [name, args, message] of usageCases) {
  Deno.test(`${name} ${args.join(" ")} is bad usage: exit 2 with one line`, async () => {
    await using program = spawnProgram(name as "server" | "client", args);
    await assertExits(program, 2, message);
    assert.equal(program.stderr.lines.length, 1);
    assert.deepEqual(program.stdout.lines, []);
  });
}

Deno.test("server reports a port already in use", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = taken.addr.port;
  await using server = spawnProgram("server", ["127.0.0.1", String(port)]);
  await assertExits(server, 1, `server: Cannot listen on 127.0.0.1:${port}: address already in use`);
});

/** How to run the server as a user who may not bind low ports, if there is one. */
function unprivileged(): { wrapper: string[]; env: Record<string, string> } | undefined {
  // Deno asks for full access to read /proc/sys; cat needs none.
  const { stdout } = new Deno.Command("cat", { args: ["/proc/sys/net/ipv4/ip_unprivileged_port_start"] }).outputSync();
  const start = Number(new TextDecoder().decode(stdout).trim());
  if (start <= 80) return undefined;
  if (Deno.uid() !== 0) return { wrapper: [], env: {} };
  // As root, drop to nobody; deno then needs a cache directory it may write.
  const denoDir = Deno.makeTempDirSync({ prefix: "parley-nobody-" });
  Deno.chmodSync(denoDir, 0o777);
  return {
    wrapper: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"],
    env: { DENO_DIR: denoDir },
  };
}

const lowPort = Deno.build.os === "linux" ? unprivileged() : undefined;
Deno.test({
  name: "server reports permission denied on a low port" +
    (lowPort ? "" : " (skipped: this host lets every user bind port 80)"),
  ignore: lowPort === undefined,
  async fn() {
    await using server = spawnProgram("server", ["127.0.0.1", "80"], lowPort);
    try {
      await assertExits(server, 1, "server: Cannot listen on 127.0.0.1:80: permission denied");
    } finally {
      if (lowPort?.env.DENO_DIR) await Deno.remove(lowPort.env.DENO_DIR, { recursive: true });
    }
  },
});

Deno.test("client reports connection refused", async () => {
  const port = closedPort();
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await assertExits(client, 1, `client: Cannot connect to 127.0.0.1:${port}: connection refused`);
  assert.equal(client.stderr.lines.length, 1);
});

Deno.test("client reports an unreachable network", async () => {
  // The kernel refuses TCP to the broadcast address without sending a packet.
  await using client = spawnProgram("client", ["255.255.255.255", "4747"]);
  await assertExits(client, 1, "client: Cannot connect to 255.255.255.255:4747: network is unreachable");
});

Deno.test("client gives up after its connect timeout", async () => {
  // A listener whose backlog is full drops further SYNs: connecting hangs.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0, tcpBacklog: 0 });
  const port = listener.addr.port;
  const queued: Deno.Conn[] = [];
  try {
    // Fill the accept queue until a connection attempt hangs.
    for (let i = 0; i < 4; i++) {
      const attempt = await Deno.connect({ hostname: "127.0.0.1", port, signal: AbortSignal.timeout(300) })
        .catch(() => null);
      if (attempt === null) break;
      queued.push(attempt);
    }
    await using client = spawnProgram("client", ["127.0.0.1", String(port), "--connect-timeout", "0.5"]);
    await assertExits(client, 1, `client: Cannot connect to 127.0.0.1:${port}: timed out after 0.5 s`);
  } finally {
    for (const conn of queued) conn.close();
  }
});

Deno.test("client reports a connection reset in the middle of a session", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port)]);
  const conn = await listener.accept();
  await client.write("this line is never read\n");
  // Closing with unread data makes the kernel reset the connection.
  await conn.read(new Uint8Array(1));
  conn.close();
  await assertExits(
    client,
    1,
    `client: Connection with 127.0.0.1:${listener.addr.port} lost: connection reset by peer`,
  );
});

Deno.test("client ends with an error when the server sends a line over the limit", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  using conn = await listener.accept();
  await writeAll(conn, encoder.encode("a fine line\n" + "x".repeat(70_000) + "\n"));
  await assertExits(client, 1, `client: 127.0.0.1:${port} sent a line longer than 65536 bytes (see --max-line)`);
  assert.deepEqual(client.stdout.lines, ["a fine line"]);
});

Deno.test("server honours --max-line for what it receives", async () => {
  await using server = spawnProgram("server", ["127.0.0.1", "0", "--max-line", "8"]);
  const { match } = await server.stderr.waitFor(/^listening on \S+:(\d+)$/);
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(match[1]) });
  await writeAll(conn, encoder.encode("12345678\n123456789\n"));
  await assertExits(server, 1, /^server: 127\.0\.0\.1:\d+ sent a line longer than 8 bytes \(see --max-line\)$/);
  assert.deepEqual(server.stdout.lines, ["12345678"]);
});

Deno.test("client refuses to send a line over the limit, sends the rest, and exits 1", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port), "--max-line", "10"]);
  using conn = await listener.accept();
  const reader = new LineReader(conn, { maxLineBytes: 100 });
  await client.write("short\nthis one is far too long\nalso ok\n");
  assert.equal(await reader.readLine(), "short");
  await client.stderr.waitFor(/^client: line not sent: longer than 10 bytes \(see --max-line\)$/);
  await writeAll(conn, encoder.encode("reply\n"));
  assert.equal(await reader.readLine(), "also ok");
  await client.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await writeAll(conn, encoder.encode("ok\n"));
  await assertExits(client, 1, "client: 1 line over the 10-byte limit not sent");
  assert.equal(await reader.readLine(), null);
});

Deno.test("a client whose stdout reader leaves (| head -1) ends quietly, exit 0, as a filter does", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port)]);
  using conn = await listener.accept();
  await client.stdout.cancel();
  const flood = encoder.encode("flood\n".repeat(10_000));
  for (let i = 0; i < 50; i++) {
    const sent = await writeAll(conn, flood).then(() => true, () => false);
    if (!sent) break;
  }
  await assertExits(client, 0, /^connected to 127\.0\.0\.1:\d+$/);
  assert.ok(!client.stderr.text.includes("broken pipe"), client.stderr.text);
  // The peer sees us leave.
  assert.equal(await conn.read(new Uint8Array(1)), null);
});

Deno.test("a server whose stdout reader leaves ends quietly too, even with -k", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k"]);
  await using _server = server;
  await server.stdout.cancel();
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const flood = encoder.encode("flood\n".repeat(10_000));
  for (let i = 0; i < 50; i++) {
    const sent = await writeAll(conn, flood).then(() => true, () => false);
    if (!sent) break;
  }
  assert.equal((await server.exit()).code, 0);
  assert.ok(!server.stderr.text.includes("broken pipe"), server.stderr.text);
  assert.ok(!hasStackTrace(server.stderr.text));
});
