/**
 * A private session (`--code`) in the chat window, driven through tmux: the
 * check words, a line shown as said only once the other side confirmed it,
 * the prompt counting lines on their way, and the end when some never were.
 */

import assert from "node:assert/strict";
import { pakeServerSide } from "../../lib/security/secure_handshake.ts";
import { codePassword } from "../../lib/security/code.ts";
import { startServer } from "../support/process.ts";
import { command, terminalTest } from "../support/terminal.ts";
import { Tmux } from "../support/tmux.ts";

const CODE = "7-anvil-orbit-meadow";

terminalTest(
  "code: a line shows as said once the other side confirmed it; both sides show the same check words",
  async () => {
    await using tmux = new Tmux();
    const { server, port } = await startServer(["127.0.0.1", "0", `--code=${CODE}`]);
    await using _server = server;
    await tmux.start("client", command("client", ["127.0.0.1", String(port), "--code", CODE]), {
      env: { NO_COLOR: "1" },
    });
    const screen = await tmux.waitFor("client", /^connected to 127\.0\.0\.1:\d+ \(private, check: ([a-z]+-[a-z]+)\)$/);
    const check = /check: ([a-z]+-[a-z]+)/.exec(screen.join("\n"))![1];
    await server.stderr.waitFor(new RegExp(`^connected: 127\\.0\\.0\\.1:\\d+ \\(private, check: ${check}\\)$`));
    await tmux.waitFor("client", /^\[your turn\] >$/);
    await tmux.type("client", "hello privately");
    await tmux.keys("client", "Enter");
    await server.stdout.waitFor(/^hello privately$/);
    await tmux.waitFor("client", [/^you: hello privately$/, /^\[waiting for 127\.0\.0\.1:\d+\] >$/]);
    await server.write("and back\n");
    await tmux.waitFor("client", [/: and back$/, /^\[your turn\] >$/]);
    await server.closeStdin();
  },
);

terminalTest(
  "code: lines never confirmed are counted in the prompt, shown as not sent, and the exit is 1",
  async () => {
    await using tmux = new Tmux();
    // A peer that completes the handshake but never reads, so never confirms; then it leaves.
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await tmux.shell("shell");
    await tmux.type("shell", command("client", ["127.0.0.1", String(listener.addr.port), "--code", CODE]).join(" "));
    await tmux.keys("shell", "Enter");
    using conn = await listener.accept();
    const session = await pakeServerSide(conn, conn, {
      password: codePassword(CODE),
      mode: "duplex",
      peerName: "test",
    });
    await tmux.waitFor("shell", /^the server uses duplex: this session is duplex$/);
    await tmux.type("shell", "first");
    await tmux.keys("shell", "Enter");
    await tmux.type("shell", "second");
    await tmux.keys("shell", "Enter");
    await tmux.waitFor("shell", /^\[127\.0\.0\.1:\d+, 2 unconfirmed\] >$/);
    const before = await tmux.screen("shell");
    assert.ok(!before.some((row) => row.startsWith("you: ")), before.join("\n"));
    await session.channel.leave();
    await tmux.waitFor("shell", /^client: 127\.0\.0\.1:\d+ left; 2 lines not confirmed$/);
    // The lines not sent follow the end line a moment later, as the view goes.
    const after = await tmux.waitFor("shell", /^not sent: second$/);
    const end = after.findIndex((row) => row.endsWith("2 lines not confirmed"));
    assert.deepEqual(after.slice(end + 1, end + 3), ["not sent: first", "not sent: second"], after.join("\n"));
    session.channel.close();
    await tmux.type("shell", `echo "STATUS=$?"`);
    await tmux.keys("shell", "Enter");
    await tmux.waitFor("shell", /^STATUS=1$/);
  },
);
