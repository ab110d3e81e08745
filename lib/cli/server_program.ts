/**
 * The server: listens, holds one session at a time, turns others away.
 *
 * @module
 */

import {
  describeIoError,
  ExitCode,
  FileError,
  InputError,
  OutputError,
  ParleyError,
  UsageError,
  WrongProtocolError,
} from "../io/errors.ts";
import { Acceptor } from "../net/acceptor.ts";
import { DEFAULT_PORT, endpointFromArgs, formatAddress, formatNetAddr } from "../net/address.ts";
import { listen } from "../net/listen.ts";
import { AccessList } from "../security/access_list.ts";
import { codePassword, generateCode, parseCode } from "../security/code.ts";
import { FailureThrottle } from "../security/failure_throttle.ts";
import {
  preloadSecureSession,
  type ReadyConnection,
  readyServerSide,
  secureServerSide,
} from "../security/handshake.ts";
import { loadSecret, SECRET_ENV } from "../security/secret.ts";
import { describeKeyPairError, isSelfSigned, readPemFile } from "../security/tls.ts";
import { TlsTerminator } from "../security/tls_terminator.ts";
import { busyLine, DENIED_LINE } from "../wire/protocol.ts";
import { type OptionSpecs, parseCommandLine } from "./command_line.ts";
import { defaultInvocation, type Invocation, siblingCommand } from "./invocation.ts";
import { LogLimiter } from "./log_limiter.ts";
import { COMMON_HELP, COMMON_OPTIONS, type CommonOptions, parseCommonOptions } from "./options.ts";
import { describeSecure, holdChat } from "./chat.ts";
import { describeInternalError, type Program, type ProgramContext } from "./program.ts";

/** The server's options. */
export interface ServerOptions extends CommonOptions {
  /** Address to listen on; every interface when undefined. */
  host: string | undefined;
  /** Port to listen on; 0 takes a free one. */
  port: number;
  /** Accept the next client after a session ends. */
  keepOpen: boolean;
  /** Certificate and key files for TLS, or undefined for plain TCP. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Which client addresses may connect. */
  access: AccessList;
  /** `--code`: `""` to make a fresh code, a code to use it, undefined for none. */
  code: string | undefined;
}

/** Failed tries a code survives; then the server makes a new one and says why. */
export const MAX_CODE_FAILURES = 3;

const help = (command: string): string =>
  `\
parley server: wait for someone to connect, then chat line by line.

Usage: ${command} [HOST] [PORT] [options]
       ${command} [HOST:PORT | [IPV6]:PORT] [options]

Listens on HOST and PORT: by default on every interface, IPv6 and IPv4
(dual-stack [::]), on port ${DEFAULT_PORT}. Lines you type go to the client; the
client's lines appear on stdout. Turns alternate and the client speaks
first, unless --duplex is given.

Options:
      --host HOST      address to listen on (default: every interface)
  -p, --port PORT      port to listen on (default: ${DEFAULT_PORT}; 0 picks a free port)
  -k, --keep-open      after a session ends, wait for the next client
      --tls-cert FILE  listen with TLS, with this certificate chain (PEM)
      --tls-key FILE   and this private key (PEM)
      --allow CIDR,…   let only these client addresses in (IPv4, IPv6)
      --deny CIDR,…    keep these client addresses out
      --code[=CODE]    a private session: encrypted end to end, each line
                       confirmed; makes a code (or uses CODE) for the client's
                       --code, and replaces it after 3 failed tries
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
  "keep-open": { type: "boolean", short: "k" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  allow: { type: "string", multiple: true },
  deny: { type: "string", multiple: true },
  code: { type: "string", optionalValue: true },
  ...COMMON_OPTIONS,
} as const satisfies OptionSpecs;

/**
 * Reads the server's command line.
 *
 * @throws {UsageError} when it is wrong.
 */
export function parseServerArgs(args: string[]): ServerOptions {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  const endpoint = endpointFromArgs(positionals, values, { allowZeroPort: true });
  if (values.code !== undefined && values["secret-file"] !== undefined) {
    throw new UsageError("--code and --secret-file each make a private session: give one of them");
  }
  return {
    ...parseCommonOptions(values),
    host: endpoint.host,
    port: endpoint.port ?? DEFAULT_PORT,
    keepOpen: values["keep-open"],
    tls: tlsFiles(values["tls-cert"], values["tls-key"]),
    access: AccessList.parse(values.allow ?? [], values.deny ?? []),
    code: values.code === undefined || values.code === "" ? values.code : parseCode(values.code),
  };
}

function tlsFiles(certFile: string | undefined, keyFile: string | undefined): ServerOptions["tls"] {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new UsageError("--tls-cert and --tls-key go together: give both for TLS, or neither");
  }
  return { certFile, keyFile };
}

/** How a client must connect to this server. */
export interface ClientHints {
  /** Present when the server uses TLS; `caFile` is its certificate when self-signed (the client's --ca). */
  tls?: { caFile?: string };
  /** The secret file, when the server uses one. */
  secretFile?: string;
  /** True when the secret came from PARLEY_SECRET. */
  secretFromEnv?: boolean;
  /** True when the server runs in duplex mode: a client in the other mode would wait for turns that never come. */
  duplex?: boolean;
  /** The code of a private session. */
  code?: string;
}

/**
 * The command that connects a client to a server listening on `host` and
 * `port`, for a server run as `invocation`: the client named the same way
 * (`parley-client` beside `parley-server`, `deno run -N client.ts` beside
 * `deno run -N server.ts`, the compiled `client` beside `server`).
 */
export function clientCommand(
  host: string | undefined,
  port: number,
  hints: ClientHints = {},
  invocation: Invocation = defaultInvocation("server"),
): string {
  const target = isWildcard(host) ? "localhost" : host;
  const args: string[] = [];
  const files: string[] = [];
  if (hints.duplex) args.push("--duplex");
  if (hints.tls) args.push("--tls");
  if (hints.tls?.caFile !== undefined) files.push("--ca", hints.tls.caFile);
  if (hints.secretFile !== undefined) files.push("--secret-file", hints.secretFile);
  args.push(...files);
  if (hints.code !== undefined) args.push("--code", hints.code);
  const permissions = ["-N"];
  if (files.length > 0) permissions.push("-R");
  if (hints.secretFromEnv) permissions.push(`--allow-env=${SECRET_ENV}`);
  const program = siblingCommand(invocation, "client", permissions);
  const env = hints.secretFromEnv ? `${SECRET_ENV}=… ` : "";
  return `${env}${[program, ...args, target, port].join(" ")}`;
}

/** True for a host that means every interface (and so `localhost` in the hint). */
function isWildcard(host: string | undefined): boolean {
  return host === undefined || host === "::" || host === "0.0.0.0";
}

/**
 * How another machine reaches this one: the `connect with:` line says
 * `localhost`, right only here. With `--allow-sys=networkInterfaces` (the
 * compiled and installed programs have it) the addresses are listed, those
 * other machines can use (not loopback, not IPv6 link-local); with `-N`
 * alone, the line says where to look.
 */
export function reachFromElsewhere(): string {
  const query = { name: "sys", kind: "networkInterfaces" } as const;
  if (Deno.permissions.querySync(query).state !== "granted") {
    return "from another machine: put this machine's address for localhost (`ip addr` or `ipconfig` shows it; " +
      "with --allow-sys=networkInterfaces it is listed here)";
  }
  const addresses = [
    ...new Set(
      Deno.networkInterfaces()
        .map((face) => face.address)
        .filter((address) => !/^(127\.|::1$|fe[89ab][0-9a-f]:)/i.test(address)),
    ),
  ];
  return addresses.length === 0
    ? "from another machine: none can reach this one (it has loopback addresses only)"
    : `from another machine: put one of this machine's addresses for localhost: ${addresses.join(", ")}`;
}

async function serve(options: ServerOptions, context: ProgramContext): Promise<number> {
  const tls = options.tls && openTls(options.tls.certFile, options.tls.keyFile);
  try {
    return await serveWith(options, context, tls);
  } finally {
    await tls?.terminator.close();
  }
}

/** What terminates TLS, and how clients must connect to it. */
interface ServerTls {
  terminator: TlsTerminator;
  hint: NonNullable<ClientHints["tls"]>;
}

/**
 * Reads the certificate and key, and opens what terminates TLS with them.
 * A self-signed certificate is what clients must trust with --ca; one
 * signed by a CA is verified through that CA.
 *
 * @throws {FileError} when they cannot be read or do not go together.
 */
function openTls(certFile: string, keyFile: string): ServerTls {
  const keyPair = {
    cert: readPemFile("--tls-cert", certFile, "certificate"),
    key: readPemFile("--tls-key", keyFile, "private key"),
  };
  try {
    const terminator = new TlsTerminator(keyPair);
    return { terminator, hint: isSelfSigned(keyPair.cert) ? { caFile: certFile } : {} };
  } catch (error) {
    // Whatever TLS makes of them, it is these two files it could not use.
    if (!(error instanceof Error)) throw error;
    const reason = describeKeyPairError(error) ?? describeIoError(error);
    throw new FileError(`Cannot use --tls-cert ${certFile} with --tls-key ${keyFile}: ${reason}`, { cause: error });
  }
}

async function serveWith(
  options: ServerOptions,
  context: ProgramContext,
  tls: ServerTls | undefined,
): Promise<number> {
  const { input, ui, signal } = context;
  const terminator = tls?.terminator;
  const secret = options.code === undefined ? loadSecret(options.secretFile) : undefined;
  let code = options.code === "" ? generateCode() : options.code;
  let codeFailures = 0;
  const listeners = listen(options.host, options.port);
  const port = listeners[0].addr.port;
  const addresses = listeners.map((listener) => formatNetAddr(listener.addr));
  const connectWith = () =>
    `connect with: ${
      clientCommand(options.host, port, {
        tls: tls?.hint,
        secretFile: secret && options.secretFile,
        secretFromEnv: secret !== undefined && options.secretFile === undefined,
        duplex: options.duplex,
        code,
      }, context.invocation)
    }`;
  ui.status.line(`listening on ${addresses.join(" and ")}${terminator ? " with TLS" : ""}`);
  ui.status.line(connectWith());
  if (isWildcard(options.host)) ui.status.line(reachFromElsewhere());
  // Loaded now, not in the first client's handshake (a failure shows there).
  if (code !== undefined || secret !== undefined) preloadSecureSession();
  if (!terminator && code === undefined && secret === undefined && options.access.open) {
    ui.status.line("note: no code, TLS or --allow: anyone who can reach this port can join and read along");
  }
  /** A wrong guess at the code: after a few, the code changes, so that guessing gets nowhere. */
  const codeFailed = () => {
    if (code === undefined || ++codeFailures < MAX_CODE_FAILURES) return;
    code = generateCode();
    codeFailures = 0;
    ui.status.line(`${MAX_CODE_FAILURES} tries with the code failed (a typo, or someone guessing): it is replaced`);
    ui.status.line(connectWith());
  };
  const waiting = `waiting for a client on ${formatAddress(listeners[0].addr.hostname, port)}`;
  ui.idle(waiting);

  // Guessing the secret gets slower with each failure, but never so slow
  // that an honest client runs out of handshake time.
  const throttle = new FailureThrottle({ maxMs: Math.min(5000, options.handshakeTimeoutMs / 2) });
  using drops = new LogLimiter((line) => ui.status.line(line));
  const acceptor = new Acceptor<ReadyConnection>(listeners, {
    busyLine: busyLine(addresses[0]),
    screen: (conn) =>
      options.access.open ? undefined : options.access.refusal((conn.remoteAddr as Deno.NetAddr).hostname),
    // A plain line would look to a TLS client like a server without TLS: say nothing then.
    refusedLine: terminator ? undefined : DENIED_LINE,
    secure: terminator && ((conn) => secureServerSide(conn, terminator)),
    ready: async (channel, conn, signal) => {
      const password = code === undefined ? secret : codePassword(code);
      const mode = options.duplex ? "duplex" : "alternating";
      let answered = false;
      try {
        return await readyServerSide(channel, conn, {
          tls: terminator !== undefined,
          password,
          passwordName: code === undefined ? "secret" : "code",
          mode,
          throttle,
          signal,
          answered: () => answered = true,
        });
      } catch (error) {
        // A try that was answered and did not succeed (a mismatch, a close, a timeout) used up one of the code's.
        if (answered) codeFailed();
        throw error;
      }
    },
    readyMs: options.handshakeTimeoutMs,
    // A flood from one address is summed up, not logged line by line.
    onDrop: (message, source) => drops.log(source, message),
  });
  const stop = () => acceptor.stop();
  signal.addEventListener("abort", stop, { once: true });
  try {
    for (;;) {
      const ready = await acceptor.next();
      if (ready === null) return ExitCode.Ok;
      const { peerName, peerHost } = ready;
      ui.status.line(`connected: ${peerName}${terminator ? " (TLS)" : ""}${describeSecure(ready)}`);
      if (ready.secure !== undefined && ready.secure.peerMode !== ready.secure.mode) {
        ui.status.line(`${peerName} asked for ${ready.secure.peerMode}: this session is ${ready.secure.mode}, as here`);
      }
      try {
        // The client's port is a passing one: its address alone labels what it says.
        const role = { speaksFirst: false, peerName, label: peerHost };
        const { unconfirmed } = await holdChat(ready, context, options, role);
        if (unconfirmed > 0 && !options.keepOpen) return ExitCode.Failure;
      } catch (error) {
        // Not a chat peer at all (TLS on a plain server): not a session; keep waiting.
        if (error instanceof WrongProtocolError) {
          ui.status.line(error.message);
          ui.idle(waiting);
          continue;
        }
        // With --keep-open, a session that fails does not end the server —
        // even through a bug, which is still reported — unless our own
        // output or input is what failed.
        const ownSideFailed = error instanceof OutputError || error instanceof InputError;
        if (!options.keepOpen || ownSideFailed) throw error;
        const [first, ...stack] = error instanceof ParleyError
          ? [error.message]
          : describeInternalError(error).split("\n");
        ui.status.line(`${context.name}: ${first}`);
        for (const line of stack) ui.status.line(line);
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
  help,
  parse: parseServerArgs,
  run: serve,
};
