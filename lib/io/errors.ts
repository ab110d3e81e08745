/**
 * The errors parley reports to its user, and how each maps to an exit code.
 *
 * Every error a user can cause or meet is one of these classes; its message is
 * one line that names the action and the value, for example
 * `Cannot listen on [::]:80: permission denied`. Anything else is a bug and is
 * left to propagate.
 *
 * @module
 */

/** Exit status of both programs. */
export const ExitCode = {
  /** The session ended normally: either side left, input ended, Ctrl+C. */
  Ok: 0,
  /** A runtime failure: cannot listen or connect, connection lost, a limit broken. */
  Failure: 1,
  /** Bad usage: unknown option, bad port or host. */
  Usage: 2,
} as const;

/** Base class for every error that is reported to the user as one line. */
export class ParleyError extends Error {
  /** The exit status the program ends with when this error ends it. */
  readonly exitCode: number = ExitCode.Failure;

  /** Creates an error whose message is shown to the user as is. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The command line is wrong: exit status 2. */
export class UsageError extends ParleyError {
  /** Always {@linkcode ExitCode.Usage}. */
  override readonly exitCode: number = ExitCode.Usage;
}

/** A file named on the command line cannot be read or used. */
export class FileError extends ParleyError {}

/** The server cannot listen on the address it was given. */
export class ListenError extends ParleyError {}

/** The client cannot reach the server. */
export class ConnectError extends ParleyError {}

/** An established connection failed (reset, aborted, broken). */
export class ConnectionLostError extends ParleyError {}

/** The peer broke the protocol, for example with a line over the limit. */
export class ProtocolError extends ParleyError {}

/** No message went either way for longer than `--idle-timeout`. */
export class IdleTimeoutError extends ParleyError {}

/**
 * The peer turned out not to be a chat peer at all (for example a TLS client
 * on a plain server): not a session, just a connection to drop.
 */
export class WrongProtocolError extends ProtocolError {}

/** The server refused us because it is busy with another session. */
export class BusyError extends ParleyError {}

/** The server does not let our address in (`--allow`, `--deny`). */
export class RefusedError extends ParleyError {}

/** Our own standard output cannot be written (for example a closed pipe). */
export class OutputError extends ParleyError {}

/**
 * Standard output is a pipe whose reader closed it (`client ... | head -1`):
 * it wants no more. The program ends quietly with exit 0, as Unix filters
 * do; the message is for logs.
 */
export class OutputClosedError extends OutputError {
  /** Always {@linkcode ExitCode.Ok}. */
  override readonly exitCode: number = ExitCode.Ok;
}

/** Some lines read from our input were refused because they were too long. */
export class RefusedLinesError extends ParleyError {}

/** Our own standard input cannot be read (for example it is a directory). */
export class InputError extends ParleyError {}

/** Most characters of a value from outside shown in a message. */
const MAX_SHOWN_CHARACTERS = 100;

/**
 * A value from outside (an argument, say) as a message shows it: whole when
 * it is short, else its start and how long it was, so that a message stays
 * one readable line whatever was given.
 */
export function shorten(text: string): string {
  const characters = Array.from(text);
  if (characters.length <= MAX_SHOWN_CHARACTERS) return text;
  return `${characters.slice(0, MAX_SHOWN_CHARACTERS).join("")}… (${characters.length} characters)`;
}

/** A value from outside in double quotes, as JSON writes a string, shortened as {@linkcode shorten} does. */
export function quote(text: string): string {
  const characters = Array.from(text);
  if (characters.length <= MAX_SHOWN_CHARACTERS) return JSON.stringify(text);
  return `${JSON.stringify(characters.slice(0, MAX_SHOWN_CHARACTERS).join(""))}… (${characters.length} characters)`;
}

/** Short descriptions of operating system error codes, as users read them. */
const OS_ERROR_TEXT: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this host",
  EAFNOSUPPORT: "address family not supported on this host",
  ECONNABORTED: "connection aborted",
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EHOSTUNREACH: "host is unreachable",
  EIO: "input/output error",
  EISDIR: "it is a directory",
  ELOOP: "too many levels of symbolic links",
  EMFILE: "too many open files",
  ENAMETOOLONG: "the file name is too long",
  ENETDOWN: "network is down",
  ENETUNREACH: "network is unreachable",
  ENFILE: "too many open files in the system",
  ENOENT: "no such file",
  ENOTCONN: "not connected",
  ENOTDIR: "a part of the path is not a directory",
  ENXIO: "no such device",
  EPERM: "operation not permitted",
  EPIPE: "broken pipe",
  ETIMEDOUT: "timed out",
};

/** What the runtime's own errors without an OS code mean, as users read them. */
const DENO_ERROR_TEXT: ReadonlyArray<readonly [new (...args: never[]) => Error, string]> = [
  [Deno.errors.ConnectionReset, "connection reset by peer"],
  [Deno.errors.ConnectionAborted, "connection aborted"],
  [Deno.errors.BrokenPipe, "broken pipe"],
  [Deno.errors.NotConnected, "not connected"],
  [Deno.errors.TimedOut, "timed out"],
  // A pending read or write ended because the connection was closed under it.
  [Deno.errors.Interrupted, "the connection was closed"],
  [Deno.errors.BadResource, "the connection was closed"],
];

/**
 * Describes an operating system error (or a name-resolution failure) in a few
 * words, or returns `undefined` when the error is not one we expect from the
 * network, so that the caller can rethrow it.
 */
export function describeOsError(error: unknown): string | undefined {
  if (error instanceof Deno.errors.NotCapable) {
    return "network access not granted (run with -N)";
  }
  if (error instanceof Deno.errors.UnexpectedEof) {
    return "the connection ended without a proper TLS close (it may have been cut short)";
  }
  if (!(error instanceof Error)) return undefined;
  const code = "code" in error ? error.code : undefined;
  if (typeof code === "string" && code in OS_ERROR_TEXT) {
    return OS_ERROR_TEXT[code];
  }
  // getaddrinfo failures carry no code, only this message.
  if (/failed to lookup address information/i.test(error.message)) {
    return "host name not found";
  }
  return undefined;
}

/**
 * Describes an error in a few words, for an I/O error (see
 * {@linkcode isIoError}) above all: as {@linkcode describeOsError} does when
 * it knows the error, otherwise by the runtime's own message without its
 * error number.
 */
export function describeIoError(error: Error): string {
  const known = describeOsError(error);
  if (known !== undefined) return known;
  for (const [type, text] of DENO_ERROR_TEXT) if (error instanceof type) return text;
  const message = error.message.replace(/\s*\(os error \d+\).*$/s, "").trim();
  return message === "" ? error.name : message.charAt(0).toLowerCase() + message.slice(1);
}

/**
 * True for errors raised by I/O on a stream or socket: one of `Deno.errors`
 * or an error that carries an operating system error code.
 */
export function isIoError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if (Object.values(Deno.errors).some((type) => error instanceof type)) return true;
  return "code" in error && typeof error.code === "string";
}
