/**
 * A real terminal for tests: programs run in tmux panes, keys are typed with
 * `send-keys`, and the screen is read with `capture-pane`. Each instance
 * runs its own tmux server on a private socket.
 *
 * @module
 */

import { WAIT_MS } from "./process.ts";
import { waitFor } from "./wait.ts";

/** True when tmux can be run here. */
export function haveTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** A private tmux server; dispose of it to kill every pane. */
export class Tmux implements AsyncDisposable {
  #socket = `parley-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  #marks = 0;

  /** Runs tmux with `args` on this server; resolves to its stdout. */
  async run(...args: string[]): Promise<string> {
    const { success, stdout, stderr } = await new Deno.Command("tmux", { args: ["-L", this.#socket, ...args] })
      .output();
    if (!success) throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
    return new TextDecoder().decode(stdout);
  }

  /**
   * Starts `command` in a new window `name`, `width` columns wide (80) and
   * `height` rows high (20), with
   * `env` set. When the command exits, a shell prints `[exit N]` below it
   * (tmux itself may notice a dead pane late), and the pane stays.
   */
  async start(
    name: string,
    command: string[],
    options: { env?: Record<string, string>; width?: number; height?: number } = {},
  ) {
    // The tmux server inherits our environment: NO_COLOR is set only when asked.
    const env = Object.entries({ TERM: "xterm-256color", ...options.env }).map(([key, value]) => `${key}=${value}`);
    const first = (await this.run("list-sessions").catch(() => "")) === "";
    await this.run(
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      String(options.width ?? 80),
      "-y",
      String(options.height ?? 20),
      "env",
      "-u",
      "NO_COLOR",
      "-u",
      "PARLEY_SECRET",
      ...env,
      "sh",
      "-c",
      '"$@"; echo "[exit $?]"',
      "sh",
      ...command,
    );
    if (first) await this.run("set-option", "-g", "remain-on-exit", "on");
    await this.run("set-option", "-t", name, "remain-on-exit", "on");
  }

  /**
   * Starts a real shell (`bash --norc`, prompt `$ `) in a new window `name`,
   * to run programs from as a person does: with job control, and reading
   * whatever a program leaves in the terminal.
   */
  async shell(name: string, options: { env?: Record<string, string>; width?: number } = {}): Promise<void> {
    await this.start(name, ["bash", "--norc", "--noprofile"], { ...options, env: { PS1: "$ ", ...options.env } });
    await this.waitFor(name, /^\$$/);
  }

  /**
   * Runs `stty -g` in the shell of pane `name` (which must be at its
   * prompt) and returns the terminal's modes as it prints them.
   */
  async stty(name: string): Promise<string> {
    const mark = `STTY${++this.#marks}`;
    await this.type(name, `echo "${mark}=$(stty -g)"`);
    await this.keys(name, "Enter");
    const screen = await this.waitFor(name, new RegExp(`^${mark}=\\S+$`));
    return screen.findLast((row) => row.startsWith(`${mark}=`))!.slice(mark.length + 1);
  }

  /** Types `text` literally into pane `name`. */
  async type(name: string, text: string): Promise<void> {
    await this.run("send-keys", "-t", name, "-l", text);
  }

  /** Presses keys in pane `name`: `Enter`, `Left`, `Up`, `C-c`, … */
  async keys(name: string, ...keys: string[]): Promise<void> {
    await this.run("send-keys", "-t", name, ...keys);
  }

  /** Sends `bytes` to pane `name` as they are, as a terminal sends them (`send-keys -H`). */
  async bytes(name: string, ...bytes: number[]): Promise<void> {
    await this.run("send-keys", "-t", name, "-H", ...bytes.map((byte) => byte.toString(16).padStart(2, "0")));
  }

  /** Waits until the tmux format `format` of pane `name` (such as `#{pane_title}`) matches `pattern`; returns it. */
  async waitForFormat(name: string, format: string, pattern: RegExp, timeoutMs = WAIT_MS): Promise<string> {
    let value = "";
    await waitFor(async () => pattern.test(value = await this.format(name, format)), {
      what: `${format} matching ${pattern}`,
      timeoutMs,
      intervalMs: 50,
      detail: () => value,
    });
    return value;
  }

  /** Pastes `text` into pane `name` as a terminal paste (newlines become Enter). */
  async paste(name: string, text: string): Promise<void> {
    await this.run("set-buffer", "-b", "parley", text);
    await this.run("paste-buffer", "-b", "parley", "-t", name);
  }

  /**
   * The screen of pane `name`, one string per line: rows that wrap are joined
   * (keeping their spaces), trailing spaces and empty rows are dropped. With
   * `history`, the rows scrolled off the top come first.
   */
  async screen(name: string, options: { escapes?: boolean; history?: boolean } = {}): Promise<string[]> {
    const text = await this.run(
      "capture-pane",
      "-p",
      "-J",
      ...(options.escapes ? ["-e"] : []),
      ...(options.history ? ["-S", "-"] : []),
      "-t",
      name,
    );
    const rows = text.split("\n").map((row) => row.trimEnd());
    while (rows.length > 0 && rows.at(-1) === "") rows.pop();
    return rows;
  }

  /** Cursor position in pane `name`. */
  async cursor(name: string): Promise<{ x: number; y: number }> {
    const [x, y] = (await this.run("display-message", "-p", "-t", name, "#{cursor_x} #{cursor_y}")).trim().split(" ");
    return { x: Number(x), y: Number(y) };
  }

  /** A tmux format for pane `name`, such as `#{pane_title}`. */
  async format(name: string, format: string): Promise<string> {
    return (await this.run("display-message", "-p", "-t", name, format)).trim();
  }

  /**
   * Waits until the screen of pane `name` has a row matching `pattern`, or
   * ends with rows matching `pattern`, one each, when it is a list (a
   * screen caught in the middle of a redraw does not); returns the screen.
   */
  async waitFor(name: string, pattern: RegExp | RegExp[], timeoutMs = WAIT_MS): Promise<string[]> {
    const matches = Array.isArray(pattern)
      ? (screen: string[]) => pattern.every((p, i) => p.test(screen.at(i - pattern.length) ?? ""))
      : (screen: string[]) => screen.some((row) => pattern.test(row));
    let screen: string[] = [];
    await waitFor(async () => matches(screen = await this.screen(name)), {
      what: `rows matching ${pattern} on screen`,
      timeoutMs,
      intervalMs: 50,
      detail: () => screen.join("\n"),
    });
    return screen;
  }

  /** Waits until the program in pane `name` has exited; returns its exit status. */
  async exitStatus(name: string, timeoutMs = WAIT_MS): Promise<number> {
    const screen = await this.waitFor(name, /^\[exit \d+\]$/, timeoutMs);
    return Number(/^\[exit (\d+)\]$/.exec(screen.findLast((row) => row.startsWith("[exit "))!)![1]);
  }

  /**
   * Resizes the window of pane `name` to `width` columns, as dragging its
   * edge does; resolves once the program in it can know (tmux redraws its
   * screen at once but tells the terminal device, and so the program, later).
   */
  async resize(name: string, width: number): Promise<void> {
    await this.run("resize-window", "-t", name, "-x", String(width));
    const tty = await this.format(name, "#{pane_tty}");
    let size = "";
    await waitFor(async () => {
      const { stdout } = await new Deno.Command("stty", { args: ["-F", tty, "size"] }).output();
      size = new TextDecoder().decode(stdout).trim();
      return size.endsWith(` ${width}`);
    }, { what: `${tty} to be ${width} columns wide`, intervalMs: 10, detail: () => size });
  }

  /** Kills the tmux server and everything in it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.run("kill-server").catch(() => {});
  }
}
