/**
 * Real netcat (OpenBSD) and socat as the other party, over IPv4 and IPv6, in
 * both directions: the wire is plain lines, so they need nothing special.
 */

import assert from "node:assert/strict";
import { closedPort, LOOPBACKS, waitListening } from "../support/net.ts";
import { assertExits, type RunningProgram, spawnCommand, spawnProgram, startServer } from "../support/process.ts";

/** True when `tool` is installed (for nc: the OpenBSD one, whose flags the tests use). */
function have(tool: string): boolean {
  const check = tool === "nc" ? "nc -h 2>&1 | grep -q OpenBSD" : `command -v ${tool}`;
  try {
    return new Deno.Command("sh", { args: ["-c", check], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** How each tool connects to, or listens on, HOST and PORT. */
const TOOLS = {
  nc: {
    connect: (
      host: string,
      port: number,
    ) => ["nc", "-N", ...(host.includes(":") ? ["-6"] : ["-4"]), host, String(port)],
    listen: (
      host: string,
      port: number,
    ) => ["nc", "-N", "-l", ...(host.includes(":") ? ["-6"] : ["-4"]), host, String(port)],
    package: "netcat-openbsd",
  },
  socat: {
    connect: (
      host: string,
      port: number,
    ) => ["socat", "-", host.includes(":") ? `TCP6:[${host}]:${port}` : `TCP4:${host}:${port}`],
    listen: (
      host: string,
      port: number,
    ) => ["socat", host.includes(":") ? `TCP6-LISTEN:${port},bind=[${host}]` : `TCP4-LISTEN:${port},bind=${host}`, "-"],
    package: "socat",
  },
} as const;

for (const [tool, how] of Object.entries(TOOLS)) {
  const a = tool === "nc" ? "an" : "a";
  const skip = have(tool) ? "" : ` (skipped: ${tool} is not installed; .ci/run installs ${how.package})`;
  for (const host of LOOPBACKS) {
    Deno.test({
      name: `interop: ${a} ${tool} client talks to a parley server over ${host}${skip}`,
      ignore: skip !== "",
      async fn() {
        const { server, port } = await startServer([host, "0"]);
        await using _server = server;
        await using peer = spawnCommand(how.connect(host, port));
        await peer.write(`hello from ${tool}\n`);
        await server.stdout.waitFor(new RegExp(`^hello from ${tool}$`));
        await server.write(`hello ${tool}, from parley\n`);
        await peer.stdout.waitFor(new RegExp(`^hello ${tool}, from parley$`));
        await peer.write("ü and \x1b[31m\n");
        await server.stdout.waitFor(/^ü and \^\[\[31m$/);
        await peer.closeStdin();
        await assertExits(server, 0, /left$/);
        assert.equal((await peer.exit()).code, 0);
      },
    });

    Deno.test({
      name: `interop: a parley client talks to ${a} ${tool} server over ${host}${skip}`,
      ignore: skip !== "",
      async fn() {
        const port = closedPort(host);
        await using peer = spawnCommand(how.listen(host, port));
        await waitListening(port);
        await using client: RunningProgram = spawnProgram("client", [host, String(port)]);
        await client.write(`hello ${tool}\n`);
        await peer.stdout.waitFor(new RegExp(`^hello ${tool}$`));
        await peer.write(`hello parley, from ${tool}\n`);
        await client.stdout.waitFor(new RegExp(`^hello parley, from ${tool}$`));
        await client.closeStdin();
        await assertExits(client, 0, /^end of input: left /);
        await peer.closeStdin();
        await peer.exit();
      },
    });
  }

  Deno.test({
    name: `interop: ${tool} and a --duplex parley server move many lines both ways${skip}`,
    ignore: skip !== "",
    async fn() {
      const { server, port } = await startServer(["127.0.0.1", "0", "--duplex"]);
      await using _server = server;
      await using peer = spawnCommand(how.connect("127.0.0.1", port));
      const fromPeer = Array.from({ length: 5000 }, (_, i) => `${tool} ${i}`);
      const fromServer = Array.from({ length: 5000 }, (_, i) => `parley ${i}`);
      await Promise.all([
        peer.write(fromPeer.join("\n") + "\n").then(() => peer.closeStdin()),
        server.write(fromServer.join("\n") + "\n").then(() => server.closeStdin()),
      ]);
      // Whichever ends first, the peer or the server's input, the session ends normally.
      await assertExits(server, 0, /^(127\.0\.0\.1:\d+ left|end of input: left 127\.0\.0\.1:\d+)$/);
      await peer.exit();
      assert.deepEqual(server.stdout.lines, fromPeer);
      assert.deepEqual(peer.stdout.lines, fromServer);
    },
  });
}
