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
import { CloseableSource } from "./closeable_source.ts";
import { PlainUi } from "./plain_view.ts";
import type { SessionResult } from "./session.ts";
import { StatusWriter } from "./status_writer.ts";
import type { Terminal, TerminalStreams } from "./terminal.ts";
import type { Ui } from "./ui.ts";
import { VERSION } from "./version.ts";

/** The process's standard streams, as `Deno.stdin`, `Deno.stdout`, `Deno.stderr`. */
export interface StdStreams {
  /** Our input: the lines to send. Closing it ends a pending read. */
  stdin: { read(p: Uint8Array): Promise<number | null>; close(): void; isTerminal(): boolean };
  /** The peer's lines. */
  stdout: ByteSink & { isTerminal(): boolean };
  /** Prompts, status and errors. */
  stderr: ByteSink & { isTerminal(): boolean };
  /**
   * The same terminal as Node streams, for line editing, when stdin and
   * stdout are both terminals (as `process.stdin` and `process.stdout`).
   * Asked for only then, so that nothing else pays for loading them.
   */
  terminal?: () => Promise<TerminalStreams>;
}

/** What a program runs with. */
export interface ProgramContext {
  /** The program's name, as in messages: `server` or `client`. */
  name: string;
  /** Lines to send, read from stdin or typed at the terminal. */
  input: InputQueue;
  /** What the person at this end sees. */
  ui: Ui;
  /** Aborts on Ctrl+C or SIGTERM. */
  signal: AbortSignal;
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
    const { input, ui, terminal } = await openInterface(streams, options, status);
    terminal?.onInterrupt(() => interrupt.abort());
    input.subscribe((event) => {
      if (event.kind === "refused") {
        ui.status.line(`${program.name}: line not sent: longer than ${event.limit} bytes (see --max-line)`);
      }
    });
    input.start();
    try {
      const code = await program.run(options, { name: program.name, input, ui, signal: interrupt.signal });
      if (input.refused > 0 && code === ExitCode.Ok) {
        throw new RefusedLinesError(
          `${plural(input.refused, "line")} over the ${options.maxLineBytes}-byte limit not sent`,
        );
      }
      return code;
    } finally {
      // Closing the input also gives a terminal back in the state it was in.
      await input.close();
      await ui.status.flushed();
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

/**
 * Opens the interface: a terminal chat window when stdin and stdout are both
 * terminals, otherwise plain lines on stdout and status on stderr.
 */
async function openInterface(
  streams: StdStreams,
  options: CommonOptions,
  status: StatusWriter,
): Promise<{ input: InputQueue; ui: Ui; terminal?: Terminal }> {
  const queueOptions = { maxLineBytes: options.maxLineBytes };
  const mode = options.duplex ? "duplex" : "alternating";
  if (streams.terminal && streams.stdin.isTerminal() && streams.stdout.isTerminal()) {
    // Loaded only here: node:readline and node:process cost every start.
    const [{ Terminal }, { TerminalUi }, { Style }] = await Promise.all([
      import("./terminal.ts"),
      import("./terminal_view.ts"),
      import("./style.ts"),
    ]);
    const terminal = new Terminal(await streams.terminal());
    const input = new InputQueue(terminal, queueOptions);
    const look = { style: new Style(!Deno.noColor), timestamps: options.timestamps, label: options.name };
    return { input, ui: new TerminalUi(terminal, input, mode, look), terminal };
  }
  const input = new InputQueue(new CloseableSource(streams.stdin), queueOptions);
  const interactive = streams.stdin.isTerminal() && streams.stderr.isTerminal();
  return { input, ui: new PlainUi(streams.stdout, status, interactive) };
}

/** Aborts a signal on SIGINT or SIGTERM, or when told to, until disposed. */
function listenForInterrupt(): { signal: AbortSignal; abort(): void } & Disposable {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const name of signals) Deno.addSignalListener(name, onSignal);
  return {
    signal: controller.signal,
    abort: onSignal,
    [Symbol.dispose]() {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    },
  };
}
