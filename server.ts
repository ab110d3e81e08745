#!/usr/bin/env -S deno run -N
/**
 * parley server: waits for a client, then two people chat line by line.
 *
 * ```sh
 * deno run -N server.ts [HOST] [PORT]
 * ```
 *
 * @module
 */

import { runProgram } from "./lib/cli/program.ts";
import { serverProgram } from "./lib/cli/server_program.ts";

/** Runs the server with `args`; resolves to the exit code. */
export function main(args: string[]): Promise<number> {
  return runProgram(serverProgram, args, {
    stdin: Deno.stdin,
    stdout: Deno.stdout,
    stderr: Deno.stderr,
    terminal: async () => {
      const { default: process } = await import("node:process");
      return { input: process.stdin, output: process.stdout };
    },
  });
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
  // A write that a peer or a pipe never takes must not keep the process
  // alive once the program is done (see runProgram).
  Deno.exit();
}
