/**
 * Runs `server.ts` and `client.ts` as real subprocesses, with exactly the
 * permissions that `deno task compile` bakes into the binaries (the
 * permission set of deno.json, spelled out as flags, so that Deno's notice
 * about permission sets does not join the programs' stderr), plus
 * `--no-prompt` (a compiled binary cannot ask for more either).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import config from "../../deno.json" with { type: "json" };
import { LineReader } from "../../lib/wire/line_reader.ts";
import { StreamSource } from "./stream_source.ts";

/** The programs parley ships. */
export type ProgramName = "server" | "client";

/** Root of the repository. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** Default time any single wait in a test may take. */
export const WAIT_MS = 10_000;

/**
 * The permission flags of `deno task compile:NAME`: every flag between
 * `deno compile` and the output option, with a permission set (`-P=SET`)
 * spelled out as the flags it stands for.
 */
export function compileFlags(name: ProgramName): string[] {
  return taskFlags(name).flatMap((flag) => {
    const set = /^(?:-P|--permission-set)=(.+)$/.exec(flag)?.[1];
    return set === undefined ? [flag] : permissionSetFlags(set);
  });
}

/** The flags of `deno task compile:NAME` as written in deno.json. */
export function taskFlags(name: ProgramName): string[] {
  const task: string = config.tasks[`compile:${name}`];
  const words = task.split(/\s+/);
  const flags: string[] = [];
  for (let i = words.indexOf("compile") + 1; i < words.length; i++) {
    const word = words[i];
    if (word === "-o" || word === "--output") {
      i++;
      continue;
    }
    if (!word.startsWith("-")) break;
    flags.push(word);
  }
  return flags;
}

/** The flags that the permission set `name` of deno.json stands for. */
function permissionSetFlags(name: string): string[] {
  const sets: Record<string, Record<string, boolean | string[]>> = config.permissions;
  const set = sets[name];
  if (set === undefined) throw new Error(`deno.json has no permission set ${name}`);
  return Object.entries(set).flatMap(([kind, value]) => {
    if (value === true) return [`--allow-${kind}`];
    if (Array.isArray(value)) return [`--allow-${kind}=${value.join(",")}`];
    if (value === false) return [];
    throw new Error(`permission set ${name}: cannot spell out ${kind} as flags`);
  });
}

/** Lines read from one output stream of a process, as they arrive. */
export class LineLog {
  #lines: string[] = [];
  #changed = Promise.withResolvers<void>();
  #done: Promise<void>;
  #ended = false;

  #source: StreamSource;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#source = new StreamSource(stream);
    this.#done = this.#collect();
  }

  /** Stops reading and closes our end of the pipe, as `| head -1` does. */
  async cancel(): Promise<void> {
    await this.#source.cancel();
    await this.#done;
  }

  /** Every line so far. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Every line so far, joined with newlines. */
  get text(): string {
    return this.#lines.join("\n");
  }

  /**
   * Waits for a line that matches `pattern`, searching from line `from`, and
   * returns its index and the match.
   */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = WAIT_MS): Promise<{ index: number; match: RegExpExecArray }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.#lines.length; i++) {
        const match = pattern.exec(this.#lines[i]);
        if (match) return { index: i, match };
      }
      if (this.#ended) throw new Error(`stream ended without a line matching ${pattern}:\n${this.text}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a line matching ${pattern}:\n${this.text}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#changed.promise,
        new Promise((resolve) => timer = setTimeout(resolve, left)),
      ]);
      clearTimeout(timer);
    }
  }

  /** Waits until there are at least `count` lines and returns the first `count`. */
  async waitForCount(count: number, timeoutMs = WAIT_MS): Promise<string[]> {
    if (count > 0) await this.waitFor(/(?:)/, count - 1, timeoutMs);
    return this.#lines.slice(0, count);
  }

  /** Resolves once the stream has ended. */
  ended(): Promise<void> {
    return this.#done;
  }

  async #collect(): Promise<void> {
    const reader = new LineReader(this.#source, { maxLineBytes: 16 * 1024 * 1024 });
    try {
      for (let line = await reader.readLine(); line !== null; line = await reader.readLine()) {
        this.#lines.push(line);
        this.#wake();
      }
    } finally {
      this.#ended = true;
      this.#wake();
    }
  }

  #wake(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers();
  }
}

/** Options for {@linkcode spawnProgram}. */
export interface SpawnOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Run this executable instead of `deno run … NAME.ts` (a compiled binary). */
  executable?: string;
  /** Run the command through this wrapper, for example `["setpriv", …]`. */
  wrapper?: string[];
  /** More flags for `deno run`, after the compile task's, for example `["--allow-write=FILE"]`. */
  flags?: string[];
}

/** A running server or client with piped stdin, stdout and stderr. */
export class RunningProgram implements AsyncDisposable {
  /** The child process. */
  readonly child: Deno.ChildProcess;
  /** Lines the program wrote to stdout. */
  readonly stdout: LineLog;
  /** Lines the program wrote to stderr. */
  readonly stderr: LineLog;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  #encoder = new TextEncoder();

  constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.stdout = new LineLog(child.stdout);
    this.stderr = new LineLog(child.stderr);
    this.#stdin = child.stdin.getWriter();
  }

  /** Writes `text` to the program's stdin. */
  async write(text: string | Uint8Array): Promise<void> {
    await this.#stdin.write(typeof text === "string" ? this.#encoder.encode(text) : text);
  }

  /** Closes the program's stdin: end of input, as Ctrl+D. */
  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#stdin.close();
    } catch {
      // The program has already exited and closed its end.
    }
  }

  /** Waits for the program to exit, then for all of its output. */
  async exit(timeoutMs = WAIT_MS): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`program still running after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const status = await Promise.race([this.child.status, timedOut]);
      await Promise.all([this.stdout.ended(), this.stderr.ended()]);
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the program if it still runs and releases every stream. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.closeStdin();
    await this.child.status;
    await Promise.all([this.stdout.ended(), this.stderr.ended()]);
  }
}

/** Starts `NAME.ts` (or a compiled binary) with `args`. */
export function spawnProgram(name: ProgramName, args: string[], options: SpawnOptions = {}): RunningProgram {
  const flags = [...compileFlags(name), ...(options.flags ?? [])];
  const command = options.executable !== undefined
    ? [options.executable, ...args]
    : [Deno.execPath(), "run", ...flags, "--no-prompt", `${ROOT}${name}.ts`, ...args];
  return spawnCommand([...(options.wrapper ?? []), ...command], options);
}

/** Starts `command` (program and arguments) with piped stdin, stdout and stderr. */
export function spawnCommand(command: string[], options: Pick<SpawnOptions, "env"> = {}): RunningProgram {
  const [program, ...args] = command;
  // The tests decide the secret: none leaks in from the environment running them.
  const { PARLEY_SECRET: _, ...inherited } = Deno.env.toObject();
  const child = new Deno.Command(program, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { ...inherited, NO_COLOR: "1", ...options.env },
  }).spawn();
  return new RunningProgram(child);
}

/** Starts a server and waits until it listens; returns it and its port. */
export async function startServer(
  args: string[],
  options: SpawnOptions = {},
): Promise<{ server: RunningProgram; port: number }> {
  const server = spawnProgram("server", args, options);
  try {
    const { match } = await server.stderr.waitFor(/^listening on \S*:(\d+)/);
    return { server, port: Number(match[1]) };
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Waits for `program` to exit and checks its exit code and its last line on
 * stderr, and that it printed no stack trace.
 */
export async function assertExits(program: RunningProgram, code: number, lastLine: string | RegExp): Promise<void> {
  const status = await program.exit();
  const stderr = program.stderr.text;
  if (status.code !== code) throw new Error(`exit code ${status.code}, expected ${code}:\n${stderr}`);
  if (hasStackTrace(stderr)) throw new Error(`stack trace on stderr:\n${stderr}`);
  const last = program.stderr.lines.at(-1) ?? "";
  const matches = typeof lastLine === "string" ? last === lastLine : lastLine.test(last);
  if (!matches) throw new Error(`last line on stderr ${JSON.stringify(last)} is not ${lastLine}:\n${stderr}`);
}

/** True when `text` looks like it holds a stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text) || /\berror: Uncaught\b/.test(text);
}
