/**
 * Canaries: one test for each place where parley works around the way the
 * runtime behaves (docs/design.md#workarounds). Each asserts that Deno still
 * behaves that way, and fails, naming the workaround, once it no longer does.
 * A failing canary is news, not a bug in parley: read the section it names,
 * measure again, then remove the workaround or update the canary.
 *
 * Where only the absence of something can be seen (an end of stream that
 * does not come, a process that does not exit), the canary looks for a
 * bounded while: a slow machine can then only make it pass, never fail.
 */

import assert from "node:assert/strict";
import readline from "node:readline";
import { PassThrough, Writable } from "node:stream";
import { haveOpenssl, makeCertificates } from "./support/certs.ts";
import { quietFor, waitFor } from "./support/wait.ts";

const DESIGN = "docs/design.md";

/** The message of a canary that fails: what Deno no longer does, and where to look. */
function news(behaviour: string, workaround: string, anchor: string): string {
  return `Deno no longer ${behaviour}: the workaround in ${workaround} may be removable; see ${DESIGN}#${anchor}`;
}

/** Runs `code` with `deno eval` in a fresh process; resolves to its stderr, where lazy loads are logged. */
async function evalLoggingLazyLoads(code: string): Promise<string> {
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-lock", code],
    env: { DENO_LOG_LAZY_LOAD: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.ok(success, `deno eval failed:\n${text}`);
  return text;
}

/** The modules a process loaded on first use, from the lines `DENO_LOG_LAZY_LOAD=1` writes. */
function lazyLoads(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("[lazy]"));
}

const noOpenssl = haveOpenssl() ? "" : " (skipped: openssl is not installed)";

Deno.test({
  name: "canary: closing a Deno.listenTls connection before its handshake leaves its socket open" + noOpenssl,
  ignore: noOpenssl !== "",
  async fn() {
    const { good } = makeCertificates();
    const [cert, key] = await Promise.all([Deno.readTextFile(good.cert), Deno.readTextFile(good.key)]);
    using listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    let reading: Promise<void> | undefined;
    try {
      // A client that starts a TLS record and stalls, as an attacker would.
      await client.write(new Uint8Array([0x16, 0x03]));
      const conn = await listener.accept();
      conn.close();
      let ended = false;
      const end = () => {
        ended = true;
      };
      reading = client.read(new Uint8Array(64)).then(end, end);
      await quietFor(500, "a closed connection's FIN reaches a loopback client within a millisecond");
      assert.equal(
        ended,
        false,
        news(
          "keeps the socket of a Deno.listenTls connection closed before its handshake open",
          "lib/security/tls_terminator.ts",
          "tls-relay",
        ),
      );
    } finally {
      // The client leaving is what ends the socket Deno kept.
      client.close();
      await reading;
    }
  },
});

Deno.test("canary: the global setTimeout is Node's and loads node:timers on first use", async () => {
  const timer = setTimeout(() => {}, 0);
  clearTimeout(timer);
  assert.equal(
    typeof timer,
    "object",
    news("uses Node's timers for the global setTimeout", "lib/io/time.ts", "deadlines"),
  );
  const first = lazyLoads(await evalLoggingLazyLoads("clearTimeout(setTimeout(() => {}, 1000));"));
  assert.ok(
    first.some((line) => line.includes("node:timers")),
    news(
      "loads node:timers on the first setTimeout (or no longer logs lazy loads under DENO_LOG_LAZY_LOAD)",
      "lib/io/time.ts",
      "deadlines",
    ),
  );
  // What the workaround uses instead must still load nothing, or it saves nothing.
  const instead = lazyLoads(
    await evalLoggingLazyLoads(
      "const cell = new Int32Array(new SharedArrayBuffer(4)); Atomics.waitAsync(cell, 0, 0, 1000); " +
        "Atomics.notify(cell, 0); AbortSignal.timeout(1000);",
    ),
  );
  assert.deepEqual(
    instead,
    [],
    `Atomics.waitAsync or AbortSignal.timeout now loads modules too: the workaround in lib/io/time.ts saves ` +
      `nothing any more; see ${DESIGN}#deadlines`,
  );
});

Deno.test("canary: a Deno peer that closes with bytes unread reaches read as an end of stream", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using conn = await listener.accept();
  const reading = conn.read(new Uint8Array(64)).catch((error: unknown) => error);
  // Bytes the peer never reads: its close makes a reset (after a FIN, as Deno closes).
  await conn.write(new TextEncoder().encode("a line the peer never reads\n"));
  peer.close();
  const read = await reading;
  assert.equal(
    read,
    null,
    news(
      "reports a peer's close with bytes unread as a plain end of stream (it sends a FIN before the reset)",
      "lib/io/channel.ts",
      "reset-probe",
    ) + ` (read gave ${read})`,
  );
  // The probe itself must still tell the two apart: an empty write fails once the reset is in.
  let probe: unknown;
  await waitFor(async () => {
    probe = await conn.write(new Uint8Array(0)).then(() => undefined, (error: unknown) => error);
    return probe !== undefined;
  }, { what: "the empty write to fail after the peer's reset", timeoutMs: 2000 });
  assert.ok(
    probe instanceof Deno.errors.BrokenPipe || probe instanceof Deno.errors.ConnectionReset,
    `the empty write failed with ${probe}`,
  );
});

Deno.test("canary: importing node:util (for parseArgs) loads modules on first use", async () => {
  const loads = lazyLoads(
    await evalLoggingLazyLoads(
      'import { parseArgs } from "node:util"; ' +
        'parseArgs({ args: ["--port", "80"], options: { port: { type: "string" } } });',
    ),
  );
  assert.ok(
    loads.length > 0,
    news(
      "loads node:util's modules on first import (or no longer logs lazy loads under DENO_LOG_LAZY_LOAD)",
      "lib/cli/command_line.ts",
      "option-parser",
    ),
  );
});

Deno.test("canary: a write to a stdout pipe nobody reads survives closing stdout and holds the process", async () => {
  // The child starts a write larger than any pipe holds, closes stdout, and has nothing left to do.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--no-config",
      "--no-lock",
      "const settled = () => console.error('write settled');" +
      "Deno.stdout.write(new Uint8Array(8 << 20)).then(settled, settled);" +
      "Deno.stdout.close(); console.error('stdout closed');",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  try {
    await waitFor(async () => {
      const { value, done } = await stderr.read();
      said += value ?? "";
      return done || said.includes("stdout closed");
    }, { what: "the child to close its stdout", timeoutMs: 10_000, intervalMs: 0 });
    await quietFor(500, "a process with nothing left to do exits within a few milliseconds");
    assert.equal(
      exited || said.includes("write settled"),
      false,
      news(
        "keeps a process alive for a write to a stdout pipe that nobody reads once stdout is closed",
        "server.ts and client.ts (Deno.exit() after main)",
        "exit-after-main",
      ) + `\n(child said: ${said.trim()})`,
    );
  } finally {
    if (!exited) child.kill("SIGKILL");
    await status;
    await child.stdout.cancel();
    await stderr.cancel();
  }
});

/** Keyboard and screen for readline without a terminal: a TTY-like input, and an output `columns` wide that drops what it gets. */
function fakeTerminal(columns: number) {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode(this: PassThrough) {
      return this;
    },
  });
  const output = Object.assign(new Writable({ write: (_chunk, _encoding, done) => done() }), { isTTY: true, columns });
  return { input, output };
}

Deno.test("canary: node:readline measures the whole line for every pasted character", async () => {
  const paste = "x".repeat(200);
  const { input, output } = fakeTerminal(80);
  const rl = readline.createInterface({ input, output, terminal: true, prompt: "" });
  try {
    let measured = 0;
    const getCursorPos = rl.getCursorPos;
    rl.getCursorPos = () => {
      measured++;
      return getCursorPos.call(rl);
    };
    let keys = 0;
    const typed = new Promise<void>((resolve) =>
      input.on("keypress", () => {
        if (++keys === paste.length) resolve();
      })
    );
    input.write(paste);
    await typed;
    assert.equal(rl.line, paste);
    // Node's readline writes a paste straight out (two measures in all); Deno's measures the line per key.
    assert.ok(
      measured >= paste.length,
      news(
        `measures the whole input line for every pasted character (${measured} measures for ${paste.length})`,
        "lib/ui/paced_input.ts",
        "paced-terminal-input",
      ),
    );
  } finally {
    rl.close();
  }
});

Deno.test("canary: node:readline loses count of its rows when a wide character wraps", async () => {
  const { input, output } = fakeTerminal(21);
  // 14 columns of prompt and three wide characters leave one column: the fourth wraps, that blank left behind.
  const rl = readline.createInterface({ input, output, terminal: true, prompt: "[your turn] > " });
  try {
    rl.prompt();
    for (const char of "漢字漢字") {
      const typed = new Promise<void>((resolve) => input.once("keypress", () => resolve()));
      input.write(char);
      await typed;
    }
    const { rows } = rl.getCursorPos();
    assert.equal(rows, 1);
    // Node redraws when typing moves the cursor to a new row, and counts it; Deno's readline only at the right edge.
    const counted = (rl as unknown as { prevRows?: number }).prevRows ?? 0;
    assert.ok(
      counted < rows,
      news(
        `loses count of its rows when a wide character wraps (counts ${counted} of ${rows})`,
        "Terminal.#countWrappedRows in lib/ui/terminal.ts",
        "wrapped-input-rows",
      ),
    );
  } finally {
    rl.close();
  }
});
