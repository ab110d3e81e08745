/**
 * What the benchmarks share: how to run parley and its baselines, which
 * baselines are here, statistics, memory readings, and the machine.
 *
 * @module
 */

import { compileFlags, type ProgramName, ROOT } from "../tests/support/process.ts";

export { ROOT };

/** The deno running the benchmarks; also runs parley and the Deno baselines. */
export const DENO: string = Deno.execPath();

/** The command that runs `server.ts` or `client.ts` as the tests and the binaries do. */
export function parley(name: ProgramName, args: string[]): string[] {
  return [DENO, "run", ...compileFlags(name), "--no-prompt", `${ROOT}${name}.ts`, ...args];
}

/** The command that runs one of the Deno baselines in `bench/baselines`. */
export function denoBaseline(file: string, args: string[]): string[] {
  return [DENO, "run", "-N", `${ROOT}bench/baselines/${file}`, ...args];
}

/** A tool a baseline needs, and how to get it. */
export interface Tool {
  /** The command. */
  name: string;
  /** A shell test that succeeds when the right one is installed. */
  check: string;
  /** The Debian package to install it from. */
  debian: string;
}

/** OpenBSD netcat (the flags used differ from other netcats). */
export const NC: Tool = { name: "nc", check: "nc -h 2>&1 | grep -q OpenBSD", debian: "netcat-openbsd" };
/** Python 3, for the Python relay. */
export const PYTHON: Tool = { name: "python3", check: "command -v python3", debian: "python3" };

function shell(script: string): boolean {
  return new Deno.Command("sh", { args: ["-c", script], stdout: "null", stderr: "null" }).outputSync().success;
}

/**
 * Makes sure `tool` is here: installs it from Debian's packages when it is
 * missing and that is possible. Returns why it is missing, or `undefined`.
 */
export function ensureTool(tool: Tool): string | undefined {
  if (shell(tool.check)) return undefined;
  if (shell('command -v apt-get && [ "$(id -u)" = 0 ]')) {
    shell(`apt-get install -y -qq ${tool.debian} || (apt-get update -qq && apt-get install -y -qq ${tool.debian})`);
    if (shell(tool.check)) return undefined;
  }
  return `${tool.name} is not installed (Debian package ${tool.debian})`;
}

/** The value below which `p` percent of `values` fall (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The median of `values`. */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Peak resident memory of process `pid` so far, in MiB (`VmHWM`), or `undefined` once it has gone. */
export async function peakRssMiB(pid: number): Promise<number | undefined> {
  const { stdout, success } = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stderr: "null" }).output();
  if (!success) return undefined;
  const match = /VmHWM:\s+(\d+) kB/.exec(new TextDecoder().decode(stdout));
  return match ? Number(match[1]) / 1024 : undefined;
}

/** One line about this machine and this run, for the report. */
export function machine(): string {
  const cpu = (() => {
    try {
      const { stdout } = new Deno.Command("cat", { args: ["/proc/cpuinfo"] }).outputSync();
      return /model name\s*:\s*(.*)/.exec(new TextDecoder().decode(stdout))?.[1]?.trim() ?? "unknown CPU";
    } catch {
      return "unknown CPU";
    }
  })();
  const memory = `${Math.round(Deno.systemMemoryInfo().total / 2 ** 30)} GiB`;
  const date = new Date().toISOString().slice(0, 10);
  return `${date}; ${cpu}, ${navigator.hardwareConcurrency} cores, ${memory}; Linux ${Deno.osRelease()}; ` +
    `Deno ${Deno.version.deno}`;
}

/** Waits for `child` to end and fails when it did not end well. */
export async function succeeded(child: Deno.ChildProcess, what: string): Promise<void> {
  const status = await child.status;
  if (!status.success) throw new Error(`${what} exited with ${status.code}`);
}

/** Formats a number with `digits` decimals. */
export function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

/** The code both sides of the benchmarks' secure sessions use (`--code`). */
export const CODE = "7-anvil-orbit-meadow";

/** A limit on how long some processes may run, which kills them when it is up. */
export interface Watchdog extends Disposable {
  /** True once the time was up and the processes were killed. */
  readonly expired: boolean;
}

/**
 * Kills `children` (SIGKILL) if they are still running after `ms`
 * milliseconds, which ends every read from them and every wait for them:
 * it is what bounds the benchmarks' loops. Disposing it calls it off.
 */
export function watchdog(children: Deno.ChildProcess[], ms: number): Watchdog {
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    for (const child of children) kill(child);
  }, ms);
  return {
    get expired() {
      return expired;
    },
    [Symbol.dispose]() {
      clearTimeout(timer);
    },
  };
}

/** Kills `child` at once (SIGKILL), if it is still running. */
export function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * What a process writes on a stream (its stderr, say), read as it comes and
 * kept up to {@linkcode OutputLog.limit} characters: to wait for a line
 * such as `listening on`, and to quote when something went wrong.
 */
export class OutputLog {
  /** The most characters kept; the rest is read and dropped. */
  static readonly limit = 64 * 1024;
  #text = "";
  #ended = false;
  #changed = Promise.withResolvers<void>();
  /** Resolves once the stream has ended (when the process closed it or died). */
  readonly done: Promise<void>;

  /** Reads `stream` to its end. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#read(stream);
  }

  /** Everything kept so far. */
  get text(): string {
    return this.#text;
  }

  /** Waits for a match of `pattern` (tried on the whole text kept); `null` when the stream ends without one. */
  async match(pattern: RegExp): Promise<RegExpExecArray | null> {
    // Bounded: each turn waits for more output, and the stream ends when the process does.
    for (;;) {
      const match = pattern.exec(this.#text);
      if (match !== null) return match;
      if (this.#ended) return null;
      await this.#changed.promise;
    }
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        if (this.#text.length < OutputLog.limit) {
          this.#text = (this.#text + decoder.decode(chunk, { stream: true })).slice(0, OutputLog.limit);
        }
        this.#wake();
      }
    } catch {
      // The stream failed: it has ended all the same.
    } finally {
      this.#ended = true;
      this.#wake();
    }
  }

  #wake(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }
}
