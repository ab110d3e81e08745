/**
 * Start-up: the time from launching the server to its "listening on" line,
 * for `deno run`, for the compiled binary when a runtime for `deno compile`
 * is here, and for the Deno relay as the runtime's floor.
 *
 * @module
 */

import { compileFlags } from "../tests/support/process.ts";
import { DENO, denoBaseline, median, parley, ROOT } from "./support.ts";

/** One start-up measurement. */
export interface StartupRow {
  /** What was started. */
  name: string;
  /** Median time to "listening on" (ms). */
  ms?: number;
  /** Why it was not measured. */
  missing?: string;
}

/** Starts `command` `runs` times; returns the median time (ms) to its "listening on" line. */
async function timeToListen(command: string[], runs: number): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const [program, ...args] = command;
    const child = new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    const reader = child.stderr.getReader();
    let text = "";
    while (!text.includes("listening on")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${command.join(" ")} did not start`);
      text += new TextDecoder().decode(value);
    }
    times.push(performance.now() - started);
    child.kill("SIGKILL");
    await reader.cancel();
    await child.status;
  }
  return median(times);
}

/** Builds the compiled server in `dir`, or says why it cannot be built here. */
async function compiledServer(dir: string): Promise<string | { missing: string }> {
  const output = `${dir}/server`;
  const { success, stderr } = await new Deno.Command(DENO, {
    args: ["compile", ...compileFlags("server"), "-o", output, `${ROOT}server.ts`],
    stdout: "null",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(120_000),
  }).output();
  if (success) return output;
  const message = new TextDecoder().decode(stderr);
  const reason = /dns error|download|denort|lookup address/i.test(message)
    ? "deno compile could not download its runtime (denort)"
    : message.split("\n").find((line) => /^error/i.test(line)) ?? "deno compile failed";
  return { missing: `${reason}; set DENORT_BIN=/path/to/denort` };
}

/** Measures start-up times. */
export async function startup(runs: number): Promise<StartupRow[]> {
  const rows: StartupRow[] = [
    { name: "parley server (deno run)", ms: await timeToListen(parley("server", ["127.0.0.1", "0"]), runs) },
    {
      name: "Deno relay (deno run; the runtime's floor)",
      ms: await timeToListen(denoBaseline("relay.ts", ["0"]), runs),
    },
  ];
  const dir = await Deno.makeTempDir({ prefix: "parley-startup-" });
  try {
    const binary = await compiledServer(dir);
    rows.push(
      typeof binary === "string"
        ? { name: "parley server (compiled binary)", ms: await timeToListen([binary, "127.0.0.1", "0"], runs) }
        : { name: "parley server (compiled binary)", missing: binary.missing },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}
