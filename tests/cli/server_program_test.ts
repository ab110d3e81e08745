import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import { clientCommand, clientScript } from "../../lib/cli/server_program.ts";

const CLIENT = fileURLToPath(new URL("../../client.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("clientScript is client.ts as a path a person can type, not a URL", () => {
  assert.equal(clientScript(), CLIENT);
  assert.ok(Deno.statSync(clientScript()).isFile);
});

Deno.test("clientScript holds for a checkout whose path has spaces and percent signs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley checkout %41 " });
  try {
    for (const name of ["client.ts", "deno.json"]) await Deno.copyFile(`${ROOT}${name}`, `${dir}/${name}`);
    await copyTree(`${ROOT}lib`, `${dir}/lib`);
    const moved = await import(pathToFileURL(`${dir}/lib/cli/server_program.ts`).href);
    assert.equal(moved.clientScript(), `${dir}/client.ts`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("clientCommand names the host, the port and what the client needs", () => {
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
});

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
