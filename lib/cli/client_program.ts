/**
 * The client: connects to a server and holds one session.
 *
 * @module
 */

import { ExitCode, UsageError } from "../io/errors.ts";
import { DEFAULT_PORT, endpointFromArgs, formatAddress, formatNetAddr } from "../net/address.ts";
import { connect } from "../net/connect.ts";
import { codePassword, parseCode } from "../security/code.ts";
import { loadSecureSession, readyClientSide } from "../security/handshake.ts";
import { loadSecret } from "../security/secret.ts";
import { readPemFile } from "../security/tls.ts";
import { type OptionSpecs, parseCommandLine } from "./command_line.ts";
import { COMMON_HELP, COMMON_OPTIONS, type CommonOptions, parseCommonOptions, parseDuration } from "./options.ts";
import { describeSecure, holdChat } from "./chat.ts";
import type { Program, ProgramContext } from "./program.ts";

/** The client's options. */
export interface ClientOptions extends CommonOptions {
  /** Server to connect to. */
  host: string;
  /** Port to connect to. */
  port: number;
  /** Give up connecting after this long (ms). */
  connectTimeoutMs: number;
  /** Connect with TLS, verifying the server's certificate. */
  tls: boolean;
  /** A CA certificate file trusted besides the system roots. */
  caFile: string | undefined;
  /** `--code`: the code of a secure session, normalised. */
  code: string | undefined;
}

/** Default time limit for connecting: 10 s. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const help = (command: string): string =>
  `\
parley client: connect to a parley server (or any line-based TCP peer) and chat.

Usage: ${command} [HOST] [PORT] [options]
       ${command} [HOST:PORT | [IPV6]:PORT] [options]

Connects to HOST (default: localhost) on PORT (default: ${DEFAULT_PORT}). HOST may
be a name, an IPv4 address or an IPv6 address. Lines you type go to the
server; its lines appear on stdout. Turns alternate and you speak first,
unless --duplex is given.

Options:
      --host HOST      server to connect to (default: localhost)
  -p, --port PORT      port to connect to (default: ${DEFAULT_PORT})
      --connect-timeout TIME
                       give up connecting after TIME (default: 10s)
      --tls            connect with TLS; the server's certificate and name
                       are verified against the system's roots and --ca
      --ca FILE        also trust this CA certificate (PEM), for a private
                       or self-signed server certificate
      --code CODE      a private session with the server's code (such as
                       7-anvil-orbit-meadow): encrypted end to end, each line
                       confirmed; the server prints its code
${COMMON_HELP}

Ctrl+C or SIGTERM leaves; so does end of input (Ctrl+D), which in --duplex
mode only ends what you send: the reply is still received.

Exit status: 0 the session ended normally, 1 a runtime failure (cannot
connect, server busy, connection lost, a line over the limit), 2 bad usage.
`;

const OPTIONS = {
  host: { type: "string" },
  port: { type: "string", short: "p" },
  "connect-timeout": { type: "string" },
  tls: { type: "boolean" },
  ca: { type: "string" },
  code: { type: "string" },
  ...COMMON_OPTIONS,
} as const satisfies OptionSpecs;

/**
 * Reads the client's command line.
 *
 * @throws {UsageError} when it is wrong.
 */
export function parseClientArgs(args: string[]): ClientOptions {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const endpoint = endpointFromArgs(positionals, values, { allowZeroPort: false });
  if (values.ca !== undefined && !values.tls) throw new UsageError("--ca needs --tls");
  if (values.code !== undefined && values["secret-file"] !== undefined) {
    throw new UsageError("--code and --secret-file each make a private session: give one of them");
  }
  return {
    ...parseCommonOptions(values),
    host: endpoint.host ?? "localhost",
    port: endpoint.port ?? DEFAULT_PORT,
    connectTimeoutMs: values["connect-timeout"] === undefined
      ? DEFAULT_CONNECT_TIMEOUT_MS
      : parseDuration("--connect-timeout", values["connect-timeout"]),
    tls: values.tls,
    caFile: values.ca,
    code: values.code === undefined ? undefined : parseCode(values.code),
  };
}

async function chat(options: ClientOptions, context: ProgramContext): Promise<number> {
  const { ui, signal } = context;
  const target = formatAddress(options.host, options.port);
  const caCerts = options.caFile === undefined ? [] : [readPemFile("--ca", options.caFile, "certificate")];
  const password = options.code === undefined ? loadSecret(options.secretFile) : codePassword(options.code);
  const mode = options.duplex ? "duplex" : "alternating";
  // The secure session loads while the connection is made (a failure shows in the handshake).
  if (password !== undefined) loadSecureSession().catch(() => {});
  ui.idle(`connecting to ${target}`);
  const tcp = await connect(options.host, options.port, { timeoutMs: options.connectTimeoutMs, signal });
  if (tcp === null) return ExitCode.Ok;
  const remote = formatNetAddr(tcp.remoteAddr);
  const ready = await readyClientSide(tcp, {
    tls: options.tls ? { hostname: options.host, caCerts, caFile: options.caFile } : undefined,
    password,
    passwordName: options.code === undefined ? "secret" : "code",
    mode,
    peerName: target,
    timeoutMs: options.handshakeTimeoutMs,
    signal,
  });
  if (ready === null) return ExitCode.Ok;
  const secured = `${options.tls ? " (TLS, certificate verified)" : ""}${describeSecure(ready)}`;
  ui.status.line(`connected to ${target}${remote === target ? "" : ` (${remote})`}${secured}`);
  if (ready.secure !== undefined && ready.secure.mode !== mode) {
    ui.status.line(`the server uses ${ready.secure.mode}: this session is ${ready.secure.mode}`);
  }
  const role = { speaksFirst: true, peerName: target, label: target };
  const { unconfirmed } = await holdChat(ready, context, options, role, (result) => {
    if (result.end !== "peer-left" || result.received > 0 || result.sent > 0 || ready.secure) return "";
    return options.tls ? " before anything was said" : " before anything was said (if it uses TLS, connect with --tls)";
  });
  // Lines the other side never confirmed may be lost: as with any failure, exit 1.
  return unconfirmed > 0 ? ExitCode.Failure : ExitCode.Ok;
}

/** The client program. */
export const clientProgram: Program<ClientOptions> = {
  name: "client",
  help,
  parse: parseClientArgs,
  run: chat,
};
