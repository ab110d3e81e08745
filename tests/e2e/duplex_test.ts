/**
 * --duplex with the real programs: both directions at once, half-close, and
 * backpressure against a slow reader.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { PLAIN_TEXT } from "../../lib/ui/render.ts";
import { hasStackTrace, spawnProgram, startServer } from "../support/process.ts";
import { waitForSteady } from "../support/wait.ts";

const encoder = new TextEncoder();

function numberedText(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, i) => `${prefix} ${i}\n`).join("");
}

Deno.test("client --duplex < file > reply: the reply sent after the client's end of input arrives", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--duplex"]);
  await client.write(numberedText("question", 100));
  await client.closeStdin();
  await server.stderr.waitFor(/^127\.0\.0\.1 finished sending$/);
  // stdout and stderr are separate pipes: the lines may be read after the notice.
  await server.stdout.waitForCount(100);
  await client.stderr.waitFor(/^end of input: everything sent; still receiving from /);
  // Only now does the server answer, long after the client's input ended.
  await server.write("the answer\nand more\n");
  await server.closeStdin();
  assert.equal((await client.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
  assert.deepEqual(client.stdout.lines, ["the answer", "and more"]);
  assert.equal(server.stdout.text, numberedText("question", 100).trimEnd());
  assert.ok(!hasStackTrace(client.stderr.text + server.stderr.text));
});

Deno.test("a --duplex server's connect hint asks for --duplex, so that the client does not wait for turns", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex"]);
  await using _server = server;
  const { match } = await server.stderr.waitFor(/^connect with: deno run -N \S+ (.*)$/);
  assert.equal(match[1], `--duplex 127.0.0.1 ${port}`);
});

Deno.test("both sides --duplex send many lines at the same time, interleaved", async () => {
  const { server, port } = await startServer(["::1", "0", "--duplex"]);
  await using _server = server;
  await using client = spawnProgram("client", ["::1", String(port), "--duplex"]);
  await server.stderr.waitFor(/^connected: /);
  const fromClient = numberedText("c", 50_000);
  const fromServer = numberedText("s", 40_000);
  // Each writes in slices while the other does the same.
  const write = async (program: typeof client, text: string) => {
    for (let i = 0; i < text.length; i += 100_000) await program.write(text.slice(i, i + 100_000));
    await program.closeStdin();
  };
  await Promise.all([write(client, fromClient), write(server, fromServer)]);
  assert.equal((await client.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
  assert.equal(server.stdout.text, fromClient.trimEnd());
  assert.equal(client.stdout.text, fromServer.trimEnd());
});

/** Resident memory of a process, in KiB, from `ps`. */
async function rssKiB(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(stdout).trim());
}

Deno.test("a --duplex client facing a peer that does not read keeps its memory bounded", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port), "--duplex"]);
  using conn = await listener.accept();
  // 128 MiB of input; the peer reads none of it for now.
  const block = encoder.encode(numberedText("x", 100_000));
  const rounds = Math.ceil((128 * 1024 * 1024) / block.length);
  let fed = 0;
  const feeding = (async () => {
    for (let i = 0; i < rounds; i++, fed++) await client.write(block);
    await client.closeStdin();
  })();
  // The client stops taking its input once its queue and the connection are full (or, were it
  // unbounded, once it has taken all 128 MiB): only then does its memory say whether it is bounded.
  await waitForSteady(() => fed, { what: "the client to stop taking its input", quietMs: 500, timeoutMs: 30_000 });
  const rss = await rssKiB(client.child.pid);
  assert.ok(rss < 100 * 1024, `client uses ${rss} KiB while its peer reads nothing`);
  // Now read it all: every line arrives, in order.
  const reader = new LineReader(conn, { maxLineBytes: 100 });
  let lines = 0;
  for (;;) {
    const run = reader.tryReadPlainLines(PLAIN_TEXT);
    if (run !== undefined) {
      lines += run.lines;
      continue;
    }
    const line = reader.tryReadLineBytes();
    if (line === null) break;
    if (line === undefined) await reader.fill();
  }
  await feeding;
  assert.equal(lines, rounds * 100_000);
  await writeAll(conn, encoder.encode("done\n"));
  conn.close();
  assert.equal((await client.exit()).code, 0);
  assert.deepEqual(client.stdout.lines, ["done"]);
});

Deno.test("a --duplex side and an alternating side talk: the alternating side replies once per line", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--duplex"]);
  for (const n of [1, 2]) {
    await client.write(`question ${n}\n`);
    await server.stdout.waitFor(new RegExp(`^question ${n}$`));
    await server.write(`answer ${n}\n`);
    await client.stdout.waitFor(new RegExp(`^answer ${n}$`));
  }
  // The client's end of input closes its direction; the alternating server
  // takes that as the client leaving, and leaves too.
  await client.closeStdin();
  assert.equal((await server.exit()).code, 0);
  assert.equal((await client.exit()).code, 0);
  assert.match(server.stderr.lines.at(-1)!, /^127\.0\.0\.1:\d+ left$/);
});

Deno.test("duplex: a peer that left after its end is found at our next line, which is counted as not sent", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex"]);
  await using _server = server;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, encoder.encode("bye\n"));
  await server.stdout.waitFor(/^bye$/);
  // Gone for good, as a client does on Ctrl+C: the server sees only an end.
  conn.close();
  await server.stderr.waitFor(/^127\.0\.0\.1 finished sending$/);
  await server.write("still there?\n");
  assert.equal((await server.exit()).code, 0);
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ left; 1 line not sent$/);
  assert.ok(!hasStackTrace(server.stderr.text));
});

Deno.test("duplex: a peer that only finished sending still gets our lines", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex"]);
  await using _server = server;
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, encoder.encode("my last words\n"));
  await conn.closeWrite();
  await server.stderr.waitFor(/^127\.0\.0\.1 finished sending$/);
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  await server.write("still there?\n");
  assert.equal(await reader.readLine(), "still there?");
  await server.write("and again, after a while\n");
  assert.equal(await reader.readLine(), "and again, after a while");
  await server.closeStdin();
  assert.equal(await reader.readLine(), null);
  assert.equal((await server.exit()).code, 0);
});
