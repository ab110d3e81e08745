/**
 * What the terminal tests share: a test that says in its name when tmux is
 * missing, the programs' command lines as the tests run them everywhere, a
 * client typed into a real shell and connected to a raw TCP peer, and the
 * shell's view of how the program ended.
 *
 * @module
 */

import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { compileFlags, type ProgramName, ROOT } from "./process.ts";
import { haveTmux, type Tmux } from "./tmux.ts";

const encoder = new TextEncoder();

/** Empty where tmux is installed; otherwise the note a skipped test carries in its name. */
export const TMUX_SKIP: string = haveTmux() ? "" : " (skipped: tmux is not installed; .ci/run installs it)";

/** A test that needs tmux: skipped, and saying so in its name, where tmux is missing. */
export function terminalTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: name + TMUX_SKIP, ignore: TMUX_SKIP !== "", fn });
}

/** The command line of a program, as the tests run it everywhere. */
export function command(name: ProgramName, args: string[]): string[] {
  return [Deno.execPath(), "run", ...compileFlags(name), "--no-prompt", `${ROOT}${name}.ts`, ...args];
}

/** {@linkcode command} as one line for a shell. */
export function commandLine(name: ProgramName, args: string[]): string {
  return command(name, args).join(" ");
}

/** A raw TCP peer on loopback that a client in tmux is connected to. */
export interface RawPeer extends Disposable {
  /** The peer's port. */
  readonly port: number;
  /** The peer's end of the connection. */
  readonly conn: Deno.Conn;
  /** Reads the client's lines. */
  readonly reader: LineReader;
  /** Writes `text` as it is. */
  send(text: string): Promise<void>;
}

/**
 * Types a client command into the shell already running in pane `pane`,
 * connected to a new raw peer; resolves once the client shows its prompt.
 */
export async function clientInShell(tmux: Tmux, args: string[], pane: string = "shell"): Promise<RawPeer> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await tmux.type(pane, commandLine("client", ["127.0.0.1", String(port), ...args]));
  await tmux.keys(pane, "Enter");
  const conn = await listener.accept();
  listener.close();
  await tmux.waitFor(pane, /\] >$/);
  return {
    port,
    conn,
    reader: new LineReader(conn, { maxLineBytes: 1024 }),
    send: (text: string) => writeAll(conn, encoder.encode(text)),
    [Symbol.dispose]: () => {
      try {
        conn.close();
      } catch {
        // Closed by the test already.
      }
    },
  };
}

/** The exit status of the last command in the shell of pane `name`, which must be at its prompt. */
export async function lastStatus(tmux: Tmux, name: string): Promise<number> {
  await tmux.type(name, `echo "STATUS=$?"`);
  await tmux.keys(name, "Enter");
  const screen = await tmux.waitFor(name, /^STATUS=\d+$/);
  return Number(screen.findLast((row) => row.startsWith("STATUS="))!.slice("STATUS=".length));
}
