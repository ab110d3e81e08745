/**
 * The program shell, in process: whatever a program does, it ends with the
 * right exit code and at most one line on stderr, and leaves no listener
 * behind.
 */

import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { ConnectionLostError, ParleyError, UsageError } from "../../lib/io/errors.ts";
import { COMMON_OPTIONS, type CommonOptions, parseCommonOptions } from "../../lib/cli/options.ts";
import {
  DEBUG_ENV,
  describeInternalError,
  type Program,
  type ProgramContext,
  runProgram,
  type StdStreams,
} from "../../lib/cli/program.ts";
import { clientProgram } from "../../lib/cli/client_program.ts";
import { VERSION } from "../../lib/cli/version.ts";
import { hasStackTrace } from "../support/process.ts";
import { MemorySink } from "../support/net.ts";

/** A sink that is not a terminal. */
class OutputSink extends MemorySink {
  isTerminal(): boolean {
    return false;
  }
}

interface FakeStreams extends StdStreams {
  stdout: OutputSink;
  stderr: OutputSink;
  /** True once stdin was closed. */
  readonly stdinClosed: boolean;
}

/** Standard streams with an empty stdin and in-memory outputs, none a terminal. */
function fakeStreams(): FakeStreams {
  let closed = false;
  return {
    stdin: {
      read: () => Promise.resolve(null),
      close: () => {
        closed = true;
      },
      isTerminal: () => false,
    },
    stdout: new OutputSink(),
    stderr: new OutputSink(),
    get stdinClosed() {
      return closed;
    },
  };
}

function parse(args: string[]): CommonOptions {
  const { values } = parseArgs({ args, options: COMMON_OPTIONS, strict: true });
  return parseCommonOptions({
    ...values,
    duplex: values.duplex ?? false,
    timestamps: values.timestamps ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  });
}

type Run = (options: CommonOptions, context: ProgramContext) => Promise<number>;

function program(run: Run): Program<CommonOptions> {
  return { name: "tester", help: (command) => `usage: ${command} [options]\n`, parse, run };
}

/** Waits one turn of the event loop. */
function macrotask(): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}

type AddListener = typeof globalThis.addEventListener;
type RemoveListener = typeof globalThis.removeEventListener;

/**
 * Runs `program` with `args` on fresh fake streams, with PARLEY_DEBUG set to
 * `debug` (or unset), and checks that every global event listener and signal
 * listener it added was removed by the time it ended.
 */
async function runChecked(
  prog: Program<CommonOptions>,
  args: string[] = [],
  debug?: string,
): Promise<{ code: number; streams: FakeStreams }> {
  const streams = fakeStreams();
  const saved = Deno.env.get(DEBUG_ENV);
  if (debug === undefined) Deno.env.delete(DEBUG_ENV);
  else Deno.env.set(DEBUG_ENV, debug);
  const live = new Set<string>();
  const keys = new Map<unknown, number>();
  const key = (kind: string, listener: unknown): string => {
    if (!keys.has(listener)) keys.set(listener, keys.size);
    return `${kind} #${keys.get(listener)}`;
  };
  const add: AddListener = globalThis.addEventListener;
  const remove: RemoveListener = globalThis.removeEventListener;
  const { addSignalListener, removeSignalListener } = Deno;
  globalThis.addEventListener = ((
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ) => {
    live.add(key(type, listener));
    add.call(globalThis, type, listener, options);
  }) as AddListener;
  globalThis.removeEventListener = ((
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ) => {
    live.delete(key(type, listener));
    remove.call(globalThis, type, listener, options);
  }) as RemoveListener;
  Deno.addSignalListener = (signal: Deno.Signal, handler: () => void) => {
    live.add(key(signal, handler));
    addSignalListener(signal, handler);
  };
  Deno.removeSignalListener = (signal: Deno.Signal, handler: () => void) => {
    live.delete(key(signal, handler));
    removeSignalListener(signal, handler);
  };
  let code: number;
  try {
    code = await runProgram(prog, args, streams);
  } finally {
    // Own properties shadowed the inherited methods: deleting them restores those.
    Reflect.deleteProperty(globalThis, "addEventListener");
    Reflect.deleteProperty(globalThis, "removeEventListener");
    Deno.addSignalListener = addSignalListener;
    Deno.removeSignalListener = removeSignalListener;
    if (saved === undefined) Deno.env.delete(DEBUG_ENV);
    else Deno.env.set(DEBUG_ENV, saved);
  }
  assert.equal(globalThis.addEventListener, add);
  assert.deepEqual([...live], [], "listeners left behind");
  assert.ok(keys.size > 0, "no listener was watched");
  return { code, streams };
}

Deno.test("runProgram reports an exception from run as one internal error line, exit code 1", async () => {
  const { code, streams } = await runChecked(program(() => Promise.reject(new TypeError("boom"))));
  assert.equal(code, 1);
  assert.equal(
    streams.stderr.text,
    "tester: internal error (a bug in parley): TypeError: boom (set PARLEY_DEBUG=1 for details)\n",
  );
  assert.equal(streams.stdout.text, "");
  assert.ok(streams.stdinClosed);
});

Deno.test("runProgram shows the stack of an internal error when PARLEY_DEBUG is set", async () => {
  const { code, streams } = await runChecked(program(() => Promise.reject(new TypeError("boom"))), [], "1");
  assert.equal(code, 1);
  assert.match(streams.stderr.text, /^tester: internal error \(a bug in parley\): TypeError: boom\nTypeError: boom\n/);
  assert.ok(hasStackTrace(streams.stderr.text));
  // "0" asks for nothing.
  const quiet = await runChecked(program(() => Promise.reject(new TypeError("boom"))), [], "0");
  assert.equal(quiet.streams.stderr.text.split("\n").length, 2);
});

Deno.test("runProgram reports a promise rejection nobody handled, though run returned 0", async () => {
  const { code, streams } = await runChecked(program(async () => {
    Promise.reject(new RangeError("stray"));
    await macrotask();
    return 0;
  }));
  assert.equal(code, 1);
  assert.equal(
    streams.stderr.text,
    "tester: internal error (a bug in parley): RangeError: stray (set PARLEY_DEBUG=1 for details)\n",
  );
  assert.equal(streams.stdout.text, "");
});

Deno.test("runProgram interrupts the program at a stray failure, and reports it rather than what followed", async () => {
  let aborted = false;
  const { code, streams } = await runChecked(program(async (_options, { signal }) => {
    Promise.reject(new RangeError("stray"));
    const { promise, resolve } = Promise.withResolvers<void>();
    signal.addEventListener("abort", () => resolve(), { once: true });
    const timer = setTimeout(resolve, 2000);
    await promise;
    clearTimeout(timer);
    aborted = signal.aborted;
    throw new ConnectionLostError("Connection to peer lost: connection reset by peer");
  }));
  assert.ok(aborted, "the program's signal was not aborted");
  assert.equal(code, 1);
  assert.equal(
    streams.stderr.text,
    "tester: internal error (a bug in parley): RangeError: stray (set PARLEY_DEBUG=1 for details)\n",
  );
});

Deno.test("runProgram reports an error thrown from an event handler as an internal error", async () => {
  const { code, streams } = await runChecked(program(async () => {
    setTimeout(() => {
      throw new SyntaxError("from a timer");
    }, 0);
    await macrotask();
    await macrotask();
    return 0;
  }));
  assert.equal(code, 1);
  assert.equal(
    streams.stderr.text,
    "tester: internal error (a bug in parley): SyntaxError: from a timer (set PARLEY_DEBUG=1 for details)\n",
  );
});

class OddError extends ParleyError {
  override readonly exitCode: number = 7;
}

Deno.test("runProgram reports a ParleyError from run as its message, with its exit code", async () => {
  const lost = await runChecked(program(() => {
    throw new ConnectionLostError("Connection to 192.0.2.1:7000 lost: connection reset by peer");
  }));
  assert.equal(lost.code, 1);
  assert.equal(lost.streams.stderr.text, "tester: Connection to 192.0.2.1:7000 lost: connection reset by peer\n");
  const odd = await runChecked(program(() => Promise.reject(new OddError("Something odd"))));
  assert.equal(odd.code, 7);
  assert.equal(odd.streams.stderr.text, "tester: Something odd\n");
});

Deno.test("runProgram reports a UsageError from parse with a hint, exit code 2, and runs nothing", async () => {
  let ran = false;
  const { code, streams } = await runChecked(
    program(() => {
      ran = true;
      return Promise.resolve(0);
    }),
    ["--max-line", "0"],
  );
  assert.equal(code, 2);
  assert.ok(!ran);
  assert.equal(
    streams.stderr.text,
    'tester: Invalid --max-line "0": expected a size from 1 to 16777216 bytes (such as 64K or 1M) (see deno run -N tester.ts --help)\n',
  );
  // Thrown by run, it gets the hint too.
  const late = await runChecked(program(() => Promise.reject(new UsageError("Bad thing"))));
  assert.equal(late.code, 2);
  assert.equal(late.streams.stderr.text, "tester: Bad thing (see deno run -N tester.ts --help)\n");
});

Deno.test("runProgram passes on run's exit code, and shows help and version on stdout", async () => {
  const ok = await runChecked(program(() => Promise.resolve(0)));
  assert.equal(ok.code, 0);
  assert.equal(ok.streams.stderr.text + ok.streams.stdout.text, "");
  const three = await runChecked(program(() => Promise.resolve(3)));
  assert.equal(three.code, 3);
  assert.equal(three.streams.stderr.text, "");
  const help = await runChecked(program(() => Promise.reject(new Error("ran"))), ["--help"]);
  assert.equal(help.code, 0);
  assert.equal(help.streams.stdout.text, "usage: deno run -N tester.ts [options]\n");
  assert.equal(help.streams.stderr.text, "");
  const version = await runChecked(program(() => Promise.reject(new Error("ran"))), ["-V"]);
  assert.equal(version.code, 0);
  assert.equal(version.streams.stdout.text, `tester (parley) ${VERSION}\n`);
});

Deno.test("describeInternalError is one line, or the stack too when debugging", () => {
  const error = new Error("x");
  assert.equal(
    describeInternalError(error, false),
    "internal error (a bug in parley): Error: x (set PARLEY_DEBUG=1 for details)",
  );
  const debug = describeInternalError(error, true);
  assert.ok(debug.startsWith(`internal error (a bug in parley): Error: x\n${error.stack}`));
  assert.ok(hasStackTrace(debug));
  assert.ok(debug.includes("program_test.ts"));
  // Only the first line of a message, and at most 300 characters of it.
  assert.equal(
    describeInternalError(new TypeError("first\nsecond"), false),
    "internal error (a bug in parley): TypeError: first (set PARLEY_DEBUG=1 for details)",
  );
  const long = describeInternalError(new Error("y".repeat(1000)), false);
  assert.equal(long, `internal error (a bug in parley): Error: ${"y".repeat(293)} (set PARLEY_DEBUG=1 for details)`);
  assert.equal(
    describeInternalError("a string", false),
    "internal error (a bug in parley): a string (set PARLEY_DEBUG=1 for details)",
  );
  assert.equal(describeInternalError(42, true), "internal error (a bug in parley): 42");
});

Deno.test("an installed command is named as installed: help, version, errors and hints", async () => {
  const named = ["--program-name", "parley-tester"];
  const help = await runChecked(program(() => Promise.reject(new Error("ran"))), [...named, "--help"]);
  assert.equal(help.streams.stdout.text, "usage: parley-tester [options]\n");
  const version = await runChecked(program(() => Promise.reject(new Error("ran"))), [...named, "--version"]);
  assert.equal(version.streams.stdout.text, `parley-tester (parley) ${VERSION}\n`);
  const wrong = await runChecked(program(() => Promise.reject(new Error("ran"))), [...named, "--max-line", "0"]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.streams.stderr.text, /^parley-tester: Invalid --max-line "0": .* \(see parley-tester --help\)\n$/);
  // Only first, as the install task bakes it; anywhere else it is an unknown option.
  assert.throws(() => clientProgram.parse(["--help", ...named]), UsageError);
  for (const bad of [[], ["a b"], ["-x"], ["\u001b]0;x\u0007"]]) {
    const odd = await runChecked(program(() => Promise.reject(new Error("ran"))), ["--program-name", ...bad]);
    assert.equal(odd.code, 2);
    assert.match(odd.streams.stderr.text, /^tester: --program-name needs a command name/);
  }
});
