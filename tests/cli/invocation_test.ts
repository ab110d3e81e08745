import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import { defaultInvocation, readInvocation, scriptPath } from "../../lib/cli/invocation.ts";
import { clientCommand } from "../../lib/cli/server_program.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** client.ts as a person in the working directory types it. */
const CLIENT = relative(`${ROOT}client.ts`);

function relative(path: string): string {
  const cwd = Deno.cwd() + "/";
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

Deno.test("scriptPath is an entry point as a path a person can type: relative inside the working directory", () => {
  assert.equal(scriptPath("client.ts"), CLIENT);
  assert.ok(Deno.statSync(scriptPath("client.ts")).isFile);
  const cwd = Deno.cwd();
  try {
    Deno.chdir("/");
    assert.equal(scriptPath("client.ts"), `${ROOT}client.ts`);
    Deno.chdir(`${ROOT}lib`);
    assert.equal(scriptPath("client.ts"), `${ROOT}client.ts`);
    Deno.chdir(ROOT);
    assert.equal(scriptPath("client.ts"), "client.ts");
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("scriptPath holds for a checkout whose path has spaces and percent signs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley checkout %41 " });
  try {
    for (const name of ["client.ts", "deno.json"]) await Deno.copyFile(`${ROOT}${name}`, `${dir}/${name}`);
    await copyTree(`${ROOT}lib`, `${dir}/lib`);
    const moved = await import(pathToFileURL(`${dir}/lib/cli/invocation.ts`).href);
    assert.equal(moved.scriptPath("client.ts"), `${dir}/client.ts`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a program run from its script is `deno run -N` and the script; an installed one its name", () => {
  assert.deepEqual(defaultInvocation("server"), {
    name: "server",
    command: `deno run -N ${relative(`${ROOT}server.ts`)}`,
  });
  const installed = readInvocation("client", ["--program-name", "parley-client", "example.org"]);
  assert.deepEqual(installed, {
    invocation: { name: "parley-client", command: "parley-client" },
    args: ["example.org"],
  });
  assert.deepEqual(readInvocation("client", ["example.org"]).args, ["example.org"]);
});

Deno.test("clientCommand names the host, the port and what the client needs, as the server was run", () => {
  assert.equal(clientCommand(undefined, 4747), `deno run -N ${CLIENT} localhost 4747`);
  assert.equal(clientCommand("::", 5000), `deno run -N ${CLIENT} localhost 5000`);
  assert.equal(
    clientCommand("example.org", 4747, { tls: { caFile: "ca.pem" }, secretFile: "s" }),
    `deno run -N -R ${CLIENT} --tls --ca ca.pem --secret-file s example.org 4747`,
  );
  assert.equal(clientCommand("h", 1, { duplex: true }), `deno run -N ${CLIENT} --duplex h 1`);
  assert.equal(
    clientCommand("h", 1, { secretFromEnv: true }),
    `PARLEY_SECRET=… deno run -N --allow-env=PARLEY_SECRET ${CLIENT} h 1`,
  );
  const installed = { name: "parley-server", command: "parley-server" };
  assert.equal(clientCommand("h", 1, { duplex: true }, installed), "parley-client --duplex h 1");
  assert.equal(
    clientCommand("h", 1, { secretFile: "s" }, { name: "chat-server", command: "chat-server" }),
    "chat-client --secret-file s h 1",
  );
});

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
