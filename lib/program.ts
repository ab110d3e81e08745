/**
 * What the server and the client share as programs: standard streams, help
 * and version, Ctrl+C and SIGTERM, and one-line errors with exit codes.
 *
 * The entry points pass in the process's streams; nothing here touches
 * `Deno.stdout` or calls `Deno.exit`.
 *
 * @module
 */

import { type ByteSink, writeAll } from "./buffered_writer.ts";
import { ExitCode, ParleyError, RefusedLinesError, UsageError } from "./errors.ts";
import { InputQueue } from "./input_queue.ts";
import type { CommonOptions } from "./options.ts";
import type { SessionResult } from "./session.ts";
import { StatusWriter } from "./status_writer.ts";
import { StreamSource } from "./stream_source.ts";
import { VERSION } from "./version.ts";

/** The process's standard streams, as `Deno.stdin`, `Deno.stdout`, `Deno.stderr`. */
export interface StdStreams {
  /** Our input: the lines to send. */
  stdin: { readonly readable: ReadableStream<Uint8Array>; isTerminal(): boolean };
  /** The peer's lines. */
  stdout: ByteSink & { isTerminal(): boolean };
  /** Prompts, status and errors. */
  stderr: ByteSink & { isTerminal(): boolean };
}

/** What a program runs with. */
export interface ProgramContext {
  /** The program's name, as in messages: `server` or `client`. */
  name: string;
  /** Lines to send, read from stdin. */
  input: InputQueue;
  /** Where the peer's lines go. */
  stdout: ByteSink;
  /** Prompts, status and errors. */
  status: StatusWriter;
  /** Aborts on Ctrl+C or SIGTERM. */
  signal: AbortSignal;
  /** True when a person types at a terminal. */
  interactive: boolean;
}

/** A program: how it reads its command line and what it does. */
export interface Program<O extends CommonOptions> {
  /** `server` or `client`. */
  name: string;
  /** The `--help` text. */
  help: string;
  /**
   * Reads the command line.
   *
   * @throws {UsageError} when it is wrong.
   */
  parse(args: string[]): O;
  /** Does the work; resolves to the exit code. */
  run(options: O, context: ProgramContext): Promise<number>;
}

/** Runs `program` with `args` on `streams`; resolves to the exit code. */
export async function runProgram<O extends CommonOptions>(
  program: Program<O>,
  args: string[],
  streams: StdStreams,
): Promise<number> {
  const status = new StatusWriter(streams.stderr);
  try {
    const options = program.parse(args);
    if (options.help || options.version) {
      const text = options.help ? program.help : `${program.name} (parley) ${VERSION}\n`;
      await writeAll(streams.stdout, new TextEncoder().encode(text));
      return ExitCode.Ok;
    }
    using interrupt = listenForInterrupt();
    const input = new InputQueue(new StreamSource(streams.stdin.readable), { maxLineBytes: options.maxLineBytes });
    input.subscribe((event) => {
      if (event.kind === "refused") {
        status.line(`${program.name}: line not sent: longer than ${event.limit} bytes (see --max-line)`);
      }
    });
    input.start();
    try {
      const code = await program.run(options, {
        name: program.name,
        input,
        stdout: streams.stdout,
        status,
        signal: interrupt.signal,
        interactive: streams.stdin.isTerminal() && streams.stderr.isTerminal(),
      });
      if (input.refused > 0 && code === ExitCode.Ok) {
        throw new RefusedLinesError(
          `${plural(input.refused, "line")} over the ${options.maxLineBytes}-byte limit not sent`,
        );
      }
      return code;
    } finally {
      await input.close();
    }
  } catch (error) {
    if (!(error instanceof ParleyError)) throw error;
    const hint = error instanceof UsageError ? ` (see ${program.name} --help)` : "";
    status.line(`${program.name}: ${error.message}${hint}`);
    return error.exitCode;
  } finally {
    await status.flushed();
  }
}

/** Describes how a session ended, in one line for the status stream. */
export function describeSessionEnd(result: SessionResult, peerName: string): string {
  const unsent = result.unsent > 0 ? `; ${plural(result.unsent, "line")} not sent` : "";
  switch (result.end) {
    case "peer-left":
      return `${peerName} left${unsent}`;
    case "input-ended":
      return `end of input: left ${peerName}${unsent}`;
    case "interrupted":
      return `interrupted: left ${peerName}${unsent}`;
  }
}

/** `1 line`, `2 lines`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Aborts a signal on SIGINT or SIGTERM until disposed. */
function listenForInterrupt(): { signal: AbortSignal } & Disposable {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const name of signals) Deno.addSignalListener(name, onSignal);
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    },
  };
}
