/**
 * The server: listens, holds one session at a time, turns others away.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { Acceptor } from "./acceptor.ts";
import { DEFAULT_PORT, endpointFromArgs, formatAddress, formatNetAddr } from "./address.ts";
import { ConnectionLostError, ExitCode, ProtocolError } from "./errors.ts";
import { listen } from "./listen.ts";
import { COMMON_HELP, COMMON_OPTIONS, type CommonOptions, parseCommandLine, parseCommonOptions } from "./options.ts";
import { describeSessionEnd, type Program, type ProgramContext } from "./program.ts";
import { runSession } from "./session.ts";

/** The server's options. */
export interface ServerOptions extends CommonOptions {
  /** Address to listen on; every interface when undefined. */
  host: string | undefined;
  /** Port to listen on; 0 takes a free one. */
  port: number;
  /** Accept the next client after a session ends. */
  keepOpen: boolean;
}

const HELP = `\
parley server: wait for someone to connect, then chat line by line.

Usage: server [HOST] [PORT] [options]
       server [HOST:PORT | [IPV6]:PORT] [options]

Listens on HOST and PORT: by default on every interface, IPv6 and IPv4
(dual-stack [::]), on port ${DEFAULT_PORT}. Lines you type go to the client; the
client's lines appear on stdout. Turns alternate and the client speaks
first, unless --duplex is given.

Options:
      --host HOST      address to listen on (default: every interface)
  -p, --port PORT      port to listen on (default: ${DEFAULT_PORT}; 0 picks a free port)
  -k, --keep-open      after a session ends, wait for the next client
${COMMON_HELP}

While a session runs, other clients get a line starting with "busy" and
are disconnected. Ctrl+C or SIGTERM leaves; so does end of input (Ctrl+D),
which in --duplex mode only ends what you send.

Exit status: 0 the session ended normally, 1 a runtime failure (cannot
listen, connection lost, a line over the limit), 2 bad usage.
`;

const OPTIONS = {
  host: { type: "string" },
  port: { type: "string", short: "p" },
  "keep-open": { type: "boolean", short: "k", default: false },
  ...COMMON_OPTIONS,
} as const;

/**
 * Reads the server's command line.
 *
 * @throws {UsageError} when it is wrong.
 */
export function parseServerArgs(args: string[]): ServerOptions {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const endpoint = endpointFromArgs(positionals, values, { allowZeroPort: true });
  return {
    ...parseCommonOptions(values),
    host: endpoint.host,
    port: endpoint.port ?? DEFAULT_PORT,
    keepOpen: values["keep-open"],
  };
}

/** The command that connects a client to a server listening on `host` and `port`. */
export function clientCommand(host: string | undefined, port: number): string {
  const target = host === undefined || host === "::" || host === "0.0.0.0" ? "localhost" : host;
  const program = Deno.build.standalone
    ? Deno.execPath().replace(/server(\.exe)?$/, "client$1")
    : `deno run -N ${fileURLToPath(new URL("../client.ts", import.meta.url))}`;
  return `${program} ${target} ${port}`;
}

async function serve(options: ServerOptions, context: ProgramContext): Promise<number> {
  const { input, ui, signal } = context;
  const listeners = listen(options.host, options.port);
  const port = listeners[0].addr.port;
  const addresses = listeners.map((listener) => formatNetAddr(listener.addr));
  ui.status.line(`listening on ${addresses.join(" and ")}`);
  ui.status.line(`connect with: ${clientCommand(options.host, port)}`);
  const waiting = `waiting for a client on ${formatAddress(listeners[0].addr.hostname, port)}`;
  ui.idle(waiting);

  const acceptor = new Acceptor(listeners, {
    busyLine: `busy: the parley server on ${addresses[0]} is in a session with someone else; try again later`,
  });
  const stop = () => acceptor.stop();
  signal.addEventListener("abort", stop, { once: true });
  try {
    for (;;) {
      const conn = await acceptor.next();
      if (conn === null) return ExitCode.Ok;
      const peerName = formatNetAddr(conn.remoteAddr);
      ui.status.line(`connected: ${peerName}`);
      try {
        using view = ui.view(peerName);
        const result = await runSession(conn, input, view, {
          speaksFirst: false,
          mode: options.duplex ? "duplex" : "alternating",
          maxLineBytes: options.maxLineBytes,
          peerName,
          signal,
        });
        ui.status.line(describeSessionEnd(result, peerName));
      } catch (error) {
        // With --keep-open, one client's failure does not end the server.
        const clientFailed = error instanceof ConnectionLostError || error instanceof ProtocolError;
        if (!options.keepOpen || !clientFailed) throw error;
        ui.status.line(`${context.name}: ${error.message}`);
      } finally {
        acceptor.release();
      }
      if (!options.keepOpen || signal.aborted) return ExitCode.Ok;
      if (input.ended) {
        ui.status.line("input has ended: not waiting for another client");
        return ExitCode.Ok;
      }
      ui.status.line(waiting.replace("a client", "the next client"));
      ui.idle(waiting);
    }
  } finally {
    signal.removeEventListener("abort", stop);
    await acceptor.close();
  }
}

/** The server program. */
export const serverProgram: Program<ServerOptions> = {
  name: "server",
  help: HELP,
  parse: parseServerArgs,
  run: serve,
};
