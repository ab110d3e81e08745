#!/usr/bin/env -S deno run -N
/**
 * parley client: connects to a parley server and chats line by line.
 *
 * ```sh
 * deno run -N client.ts [HOST] [PORT]
 * ```
 *
 * @module
 */

import { clientProgram } from "./lib/cli/client_program.ts";
import { runProgram } from "./lib/cli/program.ts";

/** Runs the client with `args`; resolves to the exit code. */
export function main(args: string[]): Promise<number> {
  return runProgram(clientProgram, args, {
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
