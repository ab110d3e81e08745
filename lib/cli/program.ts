/**
 * What the server and the client share as programs: standard streams, help
 * and version, Ctrl+C and SIGTERM, and one-line errors with exit codes.
 *
 * The entry points pass in the process's streams; nothing here touches
 * `Deno.stdout` or calls `Deno.exit`.
 *
 * @module
 */

import { writeAll } from "../io/buffered_writer.ts";
import { CloseableSource } from "../io/closeable_source.ts";
import { ExitCode, OutputClosedError, ParleyError, RefusedLinesError, UsageError } from "../io/errors.ts";
import { type Deadline, deadline } from "../io/time.ts";
import type { Closer, Reader, TerminalAware, Writer } from "../io/types.ts";
import type { SessionResult } from "../session.ts";
import { InputQueue } from "../session/input_queue.ts";
import { PlainUi } from "../ui/plain_view.ts";
import { StatusWriter } from "../ui/status_writer.ts";
import type { Terminal, TerminalStreams } from "../ui/terminal.ts";
import { openTranscript, type Transcript } from "../ui/transcript.ts";
import type { Ui } from "../ui/ui.ts";
import type { WebServer } from "../web/server.ts";
import { defaultInvocation, type Invocation, readInvocation } from "./invocation.ts";
import type { CommonOptions } from "./options.ts";
import { VERSION } from "./version.ts";

/** The process's standard streams, as `Deno.stdin`, `Deno.stdout`, `Deno.stderr`. */
export interface StdStreams {
  /** Our input: the lines to send. Closing it ends a pending read. */
  stdin: Reader & Closer & TerminalAware;
  /** The peer's lines. */
  stdout: Writer & TerminalAware;
  /** Prompts, status and errors. */
  stderr: Writer & TerminalAware;
  /**
   * The same terminal as Node streams, for line editing, when stdin and
   * stdout are both terminals (as `process.stdin` and `process.stdout`).
   * Asked for only then, so that nothing else pays for loading them.
   */
  terminal?: () => Promise<TerminalStreams>;
}

/** What a program runs with. */
export interface ProgramContext {
  /** The program's name, as in messages: `server`, `client`, `parley-client`… */
  name: string;
  /** How the person ran it, for hints that name it or its sibling. */
  invocation: Invocation;
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
  /** The `--help` text, for the program run as `command`. */
  help(command: string): string;
  /**
   * Reads the command line.
   *
   * @throws {UsageError} when it is wrong.
   */
  parse(args: string[]): O;
  /** Does the work; resolves to the exit code. */
  run(options: O, context: ProgramContext): Promise<number>;
}

/**
 * How long a program may take to finish after Ctrl+C or SIGTERM before it
 * stops waiting for what is still pending (a write a peer or a pipe never
 * takes): the session's own leave-taking takes up to a second of it.
 */
export const WIND_DOWN_MS = 1500;
/** How long status lines may take to reach stderr at the very end, once the program has given up waiting. */
const LAST_WORDS_MS = 200;

/** The environment variable that asks for the details of an internal error. */
export const DEBUG_ENV = "PARLEY_DEBUG";

/**
 * Runs `program` with `args` on `streams`; resolves to the exit code.
 *
 * Whatever happens, the program ends with one line on stderr at most for
 * what went wrong: a {@linkcode ParleyError} as its message, anything else
 * (a bug) as one "internal error" line, with details only when
 * `PARLEY_DEBUG` is set. After Ctrl+C or SIGTERM it ends within
 * {@linkcode WIND_DOWN_MS} even if a write is blocked (a second signal ends
 * it at once): the promise resolves, and what was still pending is left to
 * the caller, which should exit the process rather than wait for it.
 */
export async function runProgram<O extends CommonOptions>(
  program: Program<O>,
  args: string[],
  streams: StdStreams,
): Promise<number> {
  const status = new StatusWriter(streams.stderr);
  using strays = catchStrayFailures();
  let abandoned = false;
  let transcript: Transcript | undefined;
  let web: WebServer | undefined;
  let invocation = defaultInvocation(program.name);
  try {
    const read = readInvocation(program.name, args);
    invocation = read.invocation;
    const options = program.parse(read.args);
    if (options.help || options.version) {
      const text = options.help ? program.help(invocation.command) : `${invocation.name} (parley) ${VERSION}\n`;
      await writeAll(streams.stdout, new TextEncoder().encode(text));
      return ExitCode.Ok;
    }
    using interrupt = listenForInterrupt();
    strays.onFailure(() => interrupt.abort());
    // Opened first, so that a wrong path fails at once; a failed write ends the program as Ctrl+C does, and says why.
    transcript = options.log === undefined ? undefined : await openTranscript(options.log, {
      onFailure: () => interrupt.abort(),
    });
    transcript?.event(`transcript opened by ${invocation.name} (parley ${VERSION})`);
    if (transcript?.failure !== undefined) throw transcript.failure;
    const opened = await openInterface(streams, options, status, program.name);
    web = opened.web;
    const { input, terminal } = opened;
    const ui = transcript?.wrap(opened.ui, options.name) ?? opened.ui;
    terminal?.onInterrupt(() => interrupt.abort());
    input.subscribe((event) => {
      if (event.kind === "refused") {
        ui.status.line(`${invocation.name}: line not sent: longer than ${event.limit} bytes (see --max-line)`);
      } else if (event.kind === "failed") {
        // Our own input is broken: end, as Ctrl+C would, and say why below.
        interrupt.abort();
      }
    });
    input.start();
    try {
      const running = program.run(options, { name: invocation.name, invocation, input, ui, signal: interrupt.signal });
      const outcome = await Promise.race([running, interrupt.gaveUp]);
      if (outcome === GAVE_UP) {
        abandoned = true;
        running.catch(() => {});
        ui.status.line(
          `${invocation.name}: interrupted: stopped waiting for a blocked write (the connection or the output took no more data)`,
        );
      }
      strays.check();
      if (transcript?.failure !== undefined) throw transcript.failure;
      if (input.failure !== undefined) throw input.failure;
      const code = outcome === GAVE_UP ? ExitCode.Ok : outcome;
      if (input.refused > 0 && code === ExitCode.Ok) {
        throw new RefusedLinesError(
          `${plural(input.refused, "line")} over the ${options.maxLineBytes}-byte limit not sent`,
        );
      }
      return code;
    } finally {
      // Closing the input also gives a terminal back in the state it was in.
      const ending = Promise.all([input.close(), ui.status.flushed()]);
      await (abandoned ? within(ending, LAST_WORDS_MS) : Promise.race([ending, interrupt.gaveUp]));
    }
  } catch (error) {
    const failure = strays.failure ?? error;
    if (failure instanceof ParleyError) {
      const hint = failure instanceof UsageError ? ` (see ${invocation.command} --help)` : "";
      // A reader that closed our stdout wanted no more: end quietly, as a filter does.
      if (!(failure instanceof OutputClosedError)) status.line(`${invocation.name}: ${failure.message}${hint}`);
      transcript?.event(`${invocation.name}: ${failure.message}`);
      return failure.exitCode;
    }
    // With PARLEY_DEBUG, the stack follows, a line at a time.
    const [first, ...stack] = describeInternalError(failure).split("\n");
    status.line(`${invocation.name}: ${first}`);
    transcript?.event(`${invocation.name}: ${first}`);
    for (const line of stack) status.line(line);
    return ExitCode.Failure;
  } finally {
    // The page is told the program ended, and its server stops.
    await web?.close();
    transcript?.close("transcript closed");
    await within(status.flushed(), abandoned ? LAST_WORDS_MS : WIND_DOWN_MS);
  }
}

/**
 * One line for an error that should never happen (a bug): what it is, and
 * how to see where it came from. With `PARLEY_DEBUG` set, the stack follows.
 */
export function describeInternalError(error: unknown, debug: boolean = debugRequested()): string {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const firstLine = what.split("\n", 1)[0].slice(0, 300);
  if (debug) {
    const stack = error instanceof Error && error.stack !== undefined ? `\n${error.stack}` : "";
    return `internal error (a bug in parley): ${firstLine}${stack}`;
  }
  return `internal error (a bug in parley): ${firstLine} (set ${DEBUG_ENV}=1 for details)`;
}

/** True when `PARLEY_DEBUG` is set and may be read (it is never asked for). */
function debugRequested(): boolean {
  if (Deno.permissions.querySync({ name: "env", variable: DEBUG_ENV }).state !== "granted") return false;
  const value = Deno.env.get(DEBUG_ENV);
  return value !== undefined && value !== "" && value !== "0";
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  using limit = deadline(ms);
  await Promise.race([promise.catch(() => {}), limit.promise]);
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
 *
 * On a terminal, Ctrl+D while the server waits for a client ends the wait:
 * the server says so and leaves (exit 0), as Ctrl+C would; nobody would
 * hear what is typed. (From a pipe or `/dev/null`, the end of input does not
 * stop a server from waiting.)
 */
async function openInterface(
  streams: StdStreams,
  options: CommonOptions,
  status: StatusWriter,
  name: string,
): Promise<{ input: InputQueue; ui: Ui; terminal?: Terminal; web?: WebServer }> {
  const queueOptions = { maxLineBytes: options.maxLineBytes };
  const mode = options.duplex ? "duplex" : "alternating";
  if (options.webPort !== undefined) {
    // Loaded only here: the page and its server cost nothing to a program without --web.
    const [{ WebHub }, { startWebServer }, { WebUi }] = await Promise.all([
      import("../web/hub.ts"),
      import("../web/server.ts"),
      import("../web/web_ui.ts"),
    ]);
    const hub = new WebHub(mode);
    const web = startWebServer(hub, options.webPort);
    const input = new InputQueue(hub.input, queueOptions);
    status.line(`open in a browser: ${web.url}`);
    return { input, ui: new WebUi(hub, status, input, mode, options.name), web };
  }
  if (streams.terminal && streams.stdin.isTerminal() && streams.stdout.isTerminal()) {
    // Loaded only here: node:readline and node:process cost every start.
    const [{ Terminal }, { TerminalUi }, { Style }] = await Promise.all([
      import("../ui/terminal.ts"),
      import("../ui/terminal_view.ts"),
      import("../ui/style.ts"),
    ]);
    const terminal = new Terminal(await streams.terminal(), { bell: options.bell });
    const input = new InputQueue(terminal, queueOptions);
    const look = { style: new Style(!Deno.noColor), timestamps: options.timestamps, label: options.name };
    const idleEnd = name === "server"
      ? { line: "no client came; leaving", leave: () => terminal.interrupt() }
      : undefined;
    return { input, ui: new TerminalUi(terminal, input, mode, look, idleEnd), terminal };
  }
  const input = new InputQueue(new CloseableSource(streams.stdin), queueOptions);
  const interactive = streams.stdin.isTerminal() && streams.stderr.isTerminal();
  return { input, ui: new PlainUi(streams.stdout, status, interactive) };
}

/** What {@linkcode Interrupt.gaveUp} resolves to. */
const GAVE_UP = Symbol("gave up");

/** Ctrl+C and SIGTERM, as a signal for the program and a limit on how long it may take to end. */
interface Interrupt extends Disposable {
  /** Aborts on the first SIGINT, SIGTERM or SIGHUP, or {@linkcode Interrupt.abort}. */
  signal: AbortSignal;
  /** Resolves {@linkcode WIND_DOWN_MS} after the first interrupt, or at once on a second one. */
  gaveUp: Promise<typeof GAVE_UP>;
  /** Interrupts, as a signal does. */
  abort(): void;
}

/** Aborts a signal on SIGINT, SIGTERM or SIGHUP, or when told to, until disposed. */
function listenForInterrupt(): Interrupt {
  const controller = new AbortController();
  const gaveUp = Promise.withResolvers<typeof GAVE_UP>();
  let windDown: Deadline | undefined;
  const onSignal = () => {
    if (!controller.signal.aborted) {
      controller.abort();
      // A deadline holds nothing open: if nothing is pending, the program simply ends.
      windDown = deadline(WIND_DOWN_MS, () => gaveUp.resolve(GAVE_UP));
    } else {
      gaveUp.resolve(GAVE_UP);
    }
  };
  // SIGHUP: the terminal went away, which is leaving too.
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const name of signals) Deno.addSignalListener(name, onSignal);
  return {
    signal: controller.signal,
    gaveUp: gaveUp.promise,
    abort: onSignal,
    [Symbol.dispose]() {
      windDown?.cancel();
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    },
  };
}

/** Failures that no caller awaited: kept, so that the program can end with them. */
interface StrayFailures extends Disposable {
  /** The first stray failure, if any. */
  readonly failure: unknown;
  /** Calls `handler` at the first stray failure. */
  onFailure(handler: () => void): void;
  /** Throws the first stray failure, if any. */
  check(): void;
}

/**
 * Catches promise rejections nobody handled and errors thrown from event
 * handlers, which would otherwise end the process with a stack trace: the
 * first is kept for the program to report as an internal error.
 */
function catchStrayFailures(): StrayFailures {
  let failure: { error: unknown } | undefined;
  let handler: (() => void) | undefined;
  const record = (error: unknown) => {
    if (failure !== undefined) return;
    failure = { error };
    handler?.();
  };
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    record(event.reason);
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    record(event.error);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return {
    get failure() {
      return failure?.error;
    },
    onFailure(h) {
      handler = h;
      if (failure !== undefined) h();
    },
    check() {
      if (failure !== undefined) throw failure.error;
    },
    [Symbol.dispose]() {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
    },
  };
}
