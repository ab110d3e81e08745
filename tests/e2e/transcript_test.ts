/**
 * `--log FILE` against the real programs: both sides of the conversation and
 * where sessions begin and end, in both modes, on plain output and on a
 * terminal; a hostile peer's escape sequences written escaped; the file
 * created owner-only and appended to across `-k` sessions; and one clear
 * line for a path that cannot be a transcript or a missing permission.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { assertNoRawControls } from "../support/clean.ts";
import { shown } from "../support/escaped.ts";
import {
  assertExits,
  compileFlags,
  type ProgramName,
  ROOT,
  spawnCommand,
  spawnProgram,
  startServer,
} from "../support/process.ts";
import { rawConnect, RawListener } from "../support/raw_peer.ts";
import { terminalTest } from "../support/terminal.ts";
import { Tmux } from "../support/tmux.ts";
import { waitFor } from "../support/wait.ts";

const encoder = new TextEncoder();

/** A folder for this file's transcripts, removed when the tests end. */
const dir = Deno.makeTempDirSync({ prefix: "parley-transcript-e2e-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let files = 0;

/** A new transcript path in the folder, and the flag that lets the programs write it. */
function newLog(): { path: string; flags: string[] } {
  const path = `${dir}/chat-${++files}.log`;
  return { path, flags: [`--allow-write=${path}`] };
}

/** A transcript's line: the stamp, then `rest`. */
const STAMP = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}`;

/** The lines of the transcript at `path`, with their stamps checked and taken off. */
async function logLines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.endsWith("\n"), `the transcript ends with a line feed:\n${text}`);
  return text.slice(0, -1).split("\n").map((line) => {
    const match = new RegExp(`^${STAMP} (.*)$`).exec(line);
    assert.ok(match, `a transcript line starts with the date, time and offset: ${JSON.stringify(line)}`);
    return match[1];
  });
}

/** The transcript's lines about the conversation, without the server's notes on listening. */
function conversation(lines: string[]): string[] {
  return lines.filter((line) => !/^-- (listening on|connect with:|from another machine:|note:) /.test(line));
}

for (const mode of ["alternating", "duplex"] as const) {
  const modeArgs = mode === "duplex" ? ["--duplex"] : [];

  Deno.test(`${mode}: the server's transcript holds both sides and where the session began and ended`, async () => {
    const log = newLog();
    const { server, port } = await startServer(["127.0.0.1", "0", "--log", log.path, ...modeArgs], {
      flags: log.flags,
    });
    await using _server = server;
    await using peer = await rawConnect(port);
    const name = `127.0.0.1:${peer.localPort}`;
    await server.stderr.waitFor(/^connected: /);
    await peer.write(encoder.encode("hello from the peer\n"));
    await server.stdout.waitFor(/^hello from the peer$/);
    await server.write("hello from the server\n");
    await peer.waitForBytes("hello from the server\n".length);
    await peer.write(encoder.encode("ünïcödé ✓\tand a tab\n"));
    await server.stdout.waitFor(/^ünïcödé/);
    peer.end();
    if (mode === "duplex") {
      // The peer's direction is done; the session lasts until ours is too.
      await server.stderr.waitFor(/finished sending$/);
      await server.closeStdin();
    }
    await assertExits(server, 0, mode === "duplex" ? `end of input: left ${name}` : `${name} left`);
    const lines = await logLines(log.path);
    assert.equal(lines[0], "-- transcript opened by server (parley 0.1.0)");
    assert.equal(lines.at(-1), "-- transcript closed");
    const said = conversation(lines).filter((line) => !line.startsWith("-- transcript "));
    assert.deepEqual(said, [
      `-- connected: ${name}`,
      // What the client says is labelled by its address alone; its port shows where the session begins and ends.
      "127.0.0.1: hello from the peer",
      "you: hello from the server",
      "127.0.0.1: ünïcödé ✓\tand a tab",
      ...(mode === "duplex" ? [`-- 127.0.0.1 finished sending`, `-- end of input: left ${name}`] : [`-- ${name} left`]),
    ]);
  });

  Deno.test(`${mode}: the client's transcript holds both sides and where the session began and ended`, async () => {
    const log = newLog();
    await using listener = await RawListener.listen();
    await using client = spawnProgram("client", ["127.0.0.1", String(listener.port), "--log", log.path, ...modeArgs], {
      flags: log.flags,
    });
    await using peer = await listener.accept();
    const name = `127.0.0.1:${listener.port}`;
    await client.write("hello from the client\n");
    await peer.waitForBytes("hello from the client\n".length);
    await peer.write(encoder.encode("hello from the peer\n"));
    await client.stdout.waitFor(/^hello from the peer$/);
    await client.closeStdin();
    if (mode === "duplex") {
      // Our direction is done; the session lasts until the peer's is too.
      await client.stderr.waitFor(/^end of input: everything sent/);
      peer.end();
    }
    await assertExits(client, 0, mode === "duplex" ? `${name} left` : `end of input: left ${name}`);
    const lines = await logLines(log.path);
    assert.deepEqual(conversation(lines), [
      "-- transcript opened by client (parley 0.1.0)",
      `-- connected to ${name}`,
      "you: hello from the client",
      `${name}: hello from the peer`,
      ...(mode === "duplex" ? [`-- you finished sending; still receiving from ${name}`, `-- ${name} left`] : [
        `-- end of input: left ${name}`,
      ]),
      "-- transcript closed",
    ]);
  });
}

Deno.test("a hostile peer's escape sequences are written escaped, as on the screen: the transcript is safe to cat", async () => {
  const log = newLog();
  const { server, port } = await startServer(["127.0.0.1", "0", "--log", log.path], { flags: log.flags });
  await using _server = server;
  await using peer = await rawConnect(port);
  const name = `127.0.0.1:${peer.localPort}`;
  const hostile = "\x1b]0;PWNED\x07\x1b[2J\u202Etxt.exe \x9b31m red\x7f";
  await peer.write(encoder.encode(`${hostile}\n`));
  await server.stdout.waitFor(/PWNED/);
  peer.end();
  await assertExits(server, 0, `${name} left`);
  const text = await Deno.readTextFile(log.path);
  assertNoRawControls(text.replaceAll("\n", ""), "the transcript");
  assert.ok((await logLines(log.path)).includes(`127.0.0.1: ${shown(hostile)}`), text);
  // As the plain view showed it on stdout.
  assert.equal(server.stdout.lines[0], shown(hostile));
});

Deno.test("the transcript is created readable by its owner only; an existing one keeps its mode", {
  ignore: Deno.build.os === "windows",
}, async () => {
  for (const existing of [false, true]) {
    const log = newLog();
    if (existing) {
      await Deno.writeTextFile(log.path, "an older line\n", { mode: 0o640 });
      await Deno.chmod(log.path, 0o640);
    }
    const { server } = await startServer(["127.0.0.1", "0", "--log", log.path], { flags: log.flags });
    await using _server = server;
    await server.closeStdin();
    server.child.kill("SIGTERM");
    await server.exit();
    assert.equal((await Deno.stat(log.path)).mode! & 0o777, existing ? 0o640 : 0o600);
    const text = await Deno.readTextFile(log.path);
    assert.equal(text.startsWith("an older line\n"), existing);
  }
});

Deno.test("with -k, every session is appended to the same transcript, after what it already held", async () => {
  const log = newLog();
  await Deno.writeTextFile(log.path, "2026-01-01 00:00:00 +0000 -- an earlier run\n");
  const { server, port } = await startServer(["127.0.0.1", "0", "-k", "--log", log.path], { flags: log.flags });
  await using _server = server;
  const names: string[] = [];
  for (const word of ["first", "second"]) {
    await using peer = await rawConnect(port);
    names.push(`127.0.0.1:${peer.localPort}`);
    await peer.write(encoder.encode(`${word} session\n`));
    await server.stdout.waitFor(new RegExp(`^${word} session$`));
    await server.write(`reply to the ${word}\n`);
    await peer.waitForBytes(`reply to the ${word}\n`.length);
    peer.end();
    await server.stderr.waitFor(new RegExp(`^${names.at(-1)} left$`));
  }
  server.child.kill("SIGTERM");
  await assertExits(server, 0, /.*/);
  const lines = conversation(await logLines(log.path));
  assert.deepEqual(lines.slice(0, 2), ["-- an earlier run", "-- transcript opened by server (parley 0.1.0)"]);
  const sessions = lines.slice(2).filter((line) => !/^-- waiting for the next client/.test(line));
  assert.deepEqual(sessions, [
    `-- connected: ${names[0]}`,
    "127.0.0.1: first session",
    "you: reply to the first",
    `-- ${names[0]} left`,
    `-- connected: ${names[1]}`,
    "127.0.0.1: second session",
    "you: reply to the second",
    `-- ${names[1]} left`,
    "-- transcript closed",
  ]);
});

Deno.test("a session that ends in an error: the transcript ends with the line the program ends with", async () => {
  const log = newLog();
  const { server, port } = await startServer(["127.0.0.1", "0", "--max-line", "10", "--log", log.path], {
    flags: log.flags,
  });
  await using _server = server;
  await using peer = await rawConnect(port);
  const name = `127.0.0.1:${peer.localPort}`;
  await peer.write(encoder.encode("short\nmuch longer than ten bytes\n"));
  const last = `server: ${name} sent a line longer than 10 bytes (see --max-line)`;
  await assertExits(server, 1, last);
  assert.deepEqual(conversation(await logLines(log.path)).slice(1), [
    `-- connected: ${name}`,
    "127.0.0.1: short",
    `-- ${last}`,
    "-- transcript closed",
  ]);
});

/** Starts `name` with `args` and checks that it ends at once with exit 1 and exactly `line` on stderr. */
async function assertRefused(name: ProgramName, args: string[], line: string, flags: string[] = []): Promise<void> {
  await using program = spawnProgram(name, args, { flags });
  await assertExits(program, 1, line);
  assert.deepEqual(program.stderr.lines, [line]);
  assert.deepEqual(program.stdout.lines, []);
}

for (const name of ["server", "client"] as const) {
  const target = name === "server" ? ["127.0.0.1", "0"] : ["127.0.0.1", "1"];

  Deno.test(`${name}: a transcript path that cannot be one is refused in one line, before anything else`, async () => {
    await assertRefused(
      name,
      [...target, "--log", dir],
      `${name}: Cannot open the transcript ${dir}: it is a directory`,
      [`--allow-write=${dir}`],
    );
    const missing = `${dir}/no/such/dir/chat.log`;
    await assertRefused(
      name,
      [...target, "--log", missing],
      `${name}: Cannot open the transcript ${missing}: no such directory: ${dir}/no/such/dir`,
      [`--allow-write=${dir}`],
    );
  });

  Deno.test(`${name}: without write permission, one line says which flag to add`, async () => {
    const log = newLog();
    await assertRefused(
      name,
      [...target, "--log", log.path],
      `${name}: Cannot open the transcript ${log.path}: write access not granted (run with --allow-write=${log.path})`,
    );
    await assert.rejects(Deno.stat(log.path), Deno.errors.NotFound);
  });
}

Deno.test("a transcript that cannot be written ends the program with one line and exit 1", {
  ignore: Deno.build.os !== "linux",
}, async () => {
  // /dev/full takes no byte (ENOSPC); Deno lets a program open it only with --allow-all.
  await using server = spawnCommand([
    Deno.execPath(),
    "run",
    "--allow-all",
    "--no-prompt",
    `${ROOT}server.ts`,
    "127.0.0.1",
    "0",
    "--log",
    "/dev/full",
  ]);
  const line = "server: Cannot write the transcript /dev/full: no space left on device";
  await assertExits(server, 1, line);
  assert.deepEqual(server.stderr.lines, [line]);
});

Deno.test("an empty --log is a usage error", async () => {
  await using program = spawnProgram("server", ["--log", ""]);
  await assertExits(program, 2, 'server: Invalid --log "": expected a file name (see deno run -N server.ts --help)');
});

// On a terminal: the same transcript, with the lines shown as `you:` when sent.

terminalTest("on a terminal, both sides are logged as the window shows them", async () => {
  const log = newLog();
  await using tmux = new Tmux();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const args = ["127.0.0.1", String(port), "--log", log.path, "--name", "Ann"];
  await tmux.start("client", [
    Deno.execPath(),
    "run",
    ...compileFlags("client"),
    ...log.flags,
    "--no-prompt",
    `${ROOT}client.ts`,
    ...args,
  ], { env: { NO_COLOR: "1" } });
  using conn = await listener.accept();
  listener.close();
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  await tmux.waitFor("client", /your turn\] >$/);
  await tmux.type("client", "typed at the terminal");
  await tmux.keys("client", "Enter");
  assert.equal(await reader.readLine(), "typed at the terminal");
  await writeAll(conn, encoder.encode("an answer \x1b[2J\n"));
  await tmux.waitFor("client", /^Ann: an answer \^\[\[2J$/);
  await waitFor(async () => (await Deno.readTextFile(log.path)).includes("Ann: an answer"), {
    what: "the answer in the transcript",
    detail: () => Deno.readTextFileSync(log.path),
  });
  const lines = conversation(await logLines(log.path));
  assert.deepEqual(lines.slice(1), [
    `-- connected to 127.0.0.1:${port}`,
    "you: typed at the terminal",
    "Ann: an answer ^[[2J",
  ]);
});
