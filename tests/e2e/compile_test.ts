/**
 * The standalone binaries built by `deno task compile`.
 *
 * Building needs a `denort` runtime: from `DENORT_BIN`, or cached by an
 * earlier `deno compile` that could download it. Where neither exists the
 * conversation test is skipped and says so in its name.
 */

import assert from "node:assert/strict";
import { compileFlags, ROOT, spawnProgram, taskFlags, WAIT_MS } from "../support/process.ts";

/** Where a `denort` for this deno can be found, or why none can. */
function findRuntime(): { path: string } | { missing: string } {
  const fromEnv = Deno.env.get("DENORT_BIN");
  if (fromEnv) {
    return existsFile(fromEnv) ? { path: fromEnv } : { missing: `DENORT_BIN=${fromEnv} does not exist` };
  }
  const { stdout } = new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).outputSync();
  const { denoDir } = JSON.parse(new TextDecoder().decode(stdout));
  const cached = `${denoDir}/dl/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  return existsFile(cached)
    ? { path: cached }
    : { missing: "no denort runtime here; set DENORT_BIN=/path/to/denort to build offline" };
}

function existsFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

Deno.test("compiled binaries get network, file reading, PARLEY_SECRET, PARLEY_DEBUG and the network interfaces, nothing else", () => {
  for (const name of ["server", "client"] as const) {
    // Written once, as a permission set, for the run and compile tasks alike.
    assert.deepEqual(taskFlags(name), ["-P=parley"]);
    assert.deepEqual(compileFlags(name), [
      "--allow-net",
      "--allow-read",
      "--allow-env=PARLEY_SECRET,PARLEY_DEBUG",
      "--allow-sys=networkInterfaces",
    ]);
  }
});

const runtime = findRuntime();

Deno.test({
  name: "compiled server and client hold a conversation" +
    ("missing" in runtime ? ` (skipped: ${runtime.missing})` : ""),
  ignore: "missing" in runtime,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-build-" });
    try {
      for (const name of ["server", "client"] as const) {
        const { code, stderr } = await new Deno.Command(Deno.execPath(), {
          // As the compile task does it: with the permission set.
          args: ["compile", ...taskFlags(name), "-o", `${dir}/${name}`, `${ROOT}${name}.ts`],
          stdout: "null",
          signal: AbortSignal.timeout(6 * WAIT_MS),
        }).output();
        assert.equal(code, 0, new TextDecoder().decode(stderr));
      }
      await using server = spawnProgram("server", ["127.0.0.1", "0"], { executable: `${dir}/server` });
      const { match } = await server.stderr.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/);
      await server.stderr.waitFor(new RegExp(`^connect with: ${dir}/client 127\\.0\\.0\\.1 ${match[1]}$`));
      await using client = spawnProgram("client", ["127.0.0.1", match[1]], { executable: `${dir}/client` });
      await client.write("from the compiled client\n");
      await server.stdout.waitFor(/^from the compiled client$/);
      await server.write("from the compiled server\n");
      await client.stdout.waitFor(/^from the compiled server$/);
      await client.closeStdin();
      assert.equal((await client.exit()).code, 0);
      assert.equal((await server.exit()).code, 0);

      await using version = spawnProgram("client", ["--version"], { executable: `${dir}/client` });
      assert.equal((await version.exit()).code, 0);
      assert.match(version.stdout.text, /^client \(parley\) \d+\.\d+\.\d+$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The permissions `deno compile` wrote into a binary's metadata. */
async function bakedPermissions(binary: string): Promise<Record<string, unknown>> {
  const bytes = await Deno.readFile(binary);
  const key = new TextEncoder().encode('"permissions":{');
  const start = findLast(bytes, key);
  assert.ok(start >= 0, `no permissions in the metadata of ${binary}: has deno compile's format changed?`);
  let depth = 0;
  let end = start + key.length - 1;
  for (; end < bytes.length; end++) {
    if (bytes[end] === 0x7b) depth++;
    if (bytes[end] === 0x7d && --depth === 0) break;
  }
  return JSON.parse(new TextDecoder().decode(bytes.subarray(start + key.length - 1, end + 1)));
}

function findLast(bytes: Uint8Array, pattern: Uint8Array): number {
  for (let at = bytes.lastIndexOf(pattern[0]); at >= 0; at = bytes.lastIndexOf(pattern[0], at - 1)) {
    if (pattern.every((byte, i) => bytes[at + i] === byte)) return at;
  }
  return -1;
}

Deno.test("the compile tasks bake exactly network, file reading, PARLEY_SECRET, PARLEY_DEBUG and the network interfaces", async () => {
  // The binary is written, with its metadata, on top of this deno itself
  // (which cannot run it standalone, but shows what compile would bake in).
  const dir = await Deno.makeTempDir({ prefix: "parley-permissions-" });
  try {
    for (const name of ["server", "client"] as const) {
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["compile", ...taskFlags(name), "-o", `${dir}/${name}`, `${ROOT}${name}.ts`],
        cwd: ROOT,
        env: { DENORT_BIN: Deno.execPath() },
        stdout: "null",
        signal: AbortSignal.timeout(6 * WAIT_MS),
      }).output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      const baked = await bakedPermissions(`${dir}/${name}`);
      assert.deepEqual(
        Object.fromEntries(Object.entries(baked).filter(([key, value]) => key.startsWith("allow_") && value !== null)),
        {
          allow_net: [],
          allow_read: [],
          allow_env: ["PARLEY_SECRET", "PARLEY_DEBUG"],
          allow_sys: ["networkInterfaces"],
          // Deno's default for compiled programs: imports from these hosts, which parley never makes.
          allow_import: baked.allow_import,
        },
        name,
      );
      for (const kind of ["write", "run", "ffi"]) assert.equal(baked[`allow_${kind}`], null, `${name}: ${kind}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
