/**
 * `deno task install`, as a user runs it: the commands parley-server and
 * parley-client, with the programs' permissions baked in, named as
 * installed in their help, hints and errors, holding a conversation.
 */

import assert from "node:assert/strict";
import { assertExits, compileFlags, ROOT, spawnCommand, WAIT_MS } from "../support/process.ts";

Deno.test("deno task install makes parley-server and parley-client, which chat and call themselves by name", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-install-" });
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "install"],
      cwd: ROOT,
      env: { DENO_INSTALL_ROOT: root, NO_COLOR: "1" },
      stdout: "null",
      signal: AbortSignal.timeout(6 * WAIT_MS),
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    for (const name of ["server", "client"] as const) {
      // The same permissions as the compiled programs, no more.
      const shim = await Deno.readTextFile(`${root}/bin/parley-${name}`);
      const run = shim.split("\n").find((line) => line.startsWith("exec deno run "))!;
      const flags = run.split(" ").filter((word) => word.startsWith("--allow-"));
      assert.deepEqual(flags.toSorted(), compileFlags(name).toSorted(), shim);
      assert.ok(run.includes(` --program-name parley-${name} "$@"`), shim);
    }
    // The shims run `deno` from PATH.
    const env = { PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? ""}` };
    await using server = spawnCommand([`${root}/bin/parley-server`, "127.0.0.1", "0"], { env });
    const { match } = await server.stderr.waitFor(/^connect with: (parley-client 127\.0\.0\.1 \d+)$/, 0, 6 * WAIT_MS);
    const [, ...args] = match[1].split(" ");
    await using client = spawnCommand([`${root}/bin/parley-client`, ...args], { env });
    await client.write("from the installed client\n");
    await server.stdout.waitFor(/^from the installed client$/, 0, 6 * WAIT_MS);
    await client.closeStdin();
    await server.write("and back\n");
    await client.stdout.waitFor(/^and back$/);
    assert.equal((await client.exit()).code, 0);
    assert.equal((await server.exit()).code, 0);

    await using wrong = spawnCommand([`${root}/bin/parley-client`, "--bogus"], { env });
    await assertExits(wrong, 2, "parley-client: Unknown option --bogus (see parley-client --help)");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
