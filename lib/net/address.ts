/**
 * Host names, IP literals and ports as users type them and as we show them.
 *
 * Accepted forms: `HOST PORT`, `HOST`, `PORT`, `HOST:PORT`, `[IPV6]:PORT`,
 * `[IPV6]`, and bare IPv6 literals such as `::1`.
 *
 * @module
 */

import { quote, UsageError } from "../io/errors.ts";

/** The port both programs use when none is given. */
export const DEFAULT_PORT = 4747;

/** A host and a port, either of which may be left to the default. */
export interface Endpoint {
  /** Host name or IP literal, without brackets. */
  host?: string;
  /** Port number. */
  port?: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const LABEL = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`);

/** True when `host` is an IPv6 literal (without brackets). */
export function isIpv6(host: string): boolean {
  if (!host.includes(":")) return false;
  try {
    new URL(`http://[${host}]/`);
    return true;
  } catch {
    return false;
  }
}

/** True when `host` is a dotted-quad IPv4 literal. */
export function isIpv4(host: string): boolean {
  const parts = IPV4.exec(host);
  return parts !== null && parts.slice(1).every((part) => Number(part) <= 255);
}

/**
 * Checks a host as typed: a name, an IPv4 literal, or an IPv6 literal with or
 * without brackets. Returns it without brackets.
 *
 * @throws {UsageError} when it is none of those.
 */
export function parseHost(text: string): string {
  const bracketed = /^\[(.*)\]$/.exec(text);
  const host = bracketed ? bracketed[1] : text;
  const valid = bracketed ? isIpv6(host) : isIpv6(host) || isIpv4(host) ||
    (HOST_NAME.test(host) && host.length <= 253 && !/^[\d.]+$/.test(host));
  if (!valid) {
    throw new UsageError(
      `Invalid host ${quote(text)}: expected a host name, an IPv4 address or an IPv6 address`,
    );
  }
  return host;
}

/**
 * Checks a port as typed.
 *
 * @throws {UsageError} when it is not a number in range.
 */
export function parsePort(text: string, options: { allowZero: boolean }): number {
  const min = options.allowZero ? 0 : 1;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= min && port <= 65535)) {
    throw new UsageError(
      `Invalid port ${quote(text)}: expected a number from ${min} to 65535`,
    );
  }
  return port;
}

/**
 * Reads the positional arguments `[HOST] [PORT]`. A single argument may be a
 * port, a host, `HOST:PORT` or `[IPV6]:PORT`.
 *
 * @throws {UsageError} on too many arguments or a bad host or port.
 */
export function parseEndpointArgs(args: readonly string[], options: { allowZeroPort: boolean }): Endpoint {
  const port = (text: string) => parsePort(text, { allowZero: options.allowZeroPort });
  if (args.length > 2) {
    throw new UsageError(`Too many arguments: expected at most HOST and PORT, got ${args.length}`);
  }
  if (args.length === 2) return { host: parseHost(args[0]), port: port(args[1]) };
  if (args.length === 0) return {};
  const [text] = args;
  if (/^\d+$/.test(text)) return { port: port(text) };
  const bracketed = /^(\[.*\]):(.*)$/.exec(text);
  if (bracketed) return { host: parseHost(bracketed[1]), port: port(bracketed[2]) };
  const colon = text.indexOf(":");
  if (colon >= 0 && colon === text.lastIndexOf(":")) {
    return { host: parseHost(text.slice(0, colon)), port: port(text.slice(colon + 1)) };
  }
  // No colon: a host name or IPv4 literal. Several: a bare IPv6 literal.
  return { host: parseHost(text) };
}

/** Shows an IP address the way people read it: IPv4-mapped IPv6 as plain IPv4. */
export function displayHost(host: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped ? mapped[1] : host;
}

/** Formats `HOST:PORT`, with IPv6 literals in brackets: `[::1]:4747`. */
export function formatAddress(host: string, port: number): string {
  const shown = displayHost(host);
  return shown.includes(":") ? `[${shown}]:${port}` : `${shown}:${port}`;
}

/** Formats the remote or local address of a connection or listener. */
export function formatNetAddr(addr: Deno.Addr): string {
  return "hostname" in addr ? formatAddress(addr.hostname, addr.port) : String(addr.transport);
}

/**
 * Combines an endpoint from positional arguments with one from options.
 *
 * @throws {UsageError} when both give the host, or both give the port.
 */
export function mergeEndpoint(positional: Endpoint, fromOptions: Endpoint): Endpoint {
  if (positional.host !== undefined && fromOptions.host !== undefined) {
    throw new UsageError("Host given twice: as an argument and with --host");
  }
  if (positional.port !== undefined && fromOptions.port !== undefined) {
    throw new UsageError("Port given twice: as an argument and with --port");
  }
  return { host: positional.host ?? fromOptions.host, port: positional.port ?? fromOptions.port };
}

/**
 * Reads host and port from positional arguments and `--host` / `--port`.
 *
 * @throws {UsageError} when one is bad or given twice.
 */
export function endpointFromArgs(
  positionals: readonly string[],
  values: { host?: string; port?: string },
  options: { allowZeroPort: boolean },
): Endpoint {
  return mergeEndpoint(parseEndpointArgs(positionals, options), {
    host: values.host === undefined ? undefined : parseHost(values.host),
    port: values.port === undefined ? undefined : parsePort(values.port, { allowZero: options.allowZeroPort }),
  });
}

/** An IP address as bytes: 4 for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

/**
 * Parses an IP literal to bytes. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes
 * the IPv4 address. Returns `undefined` for anything else.
 */
export function parseIp(text: string): IpBytes | undefined {
  if (isIpv4(text)) return new Uint8Array(text.split(".").map(Number));
  if (!isIpv6(text) || text.includes("%")) return undefined;
  const bytes = ipv6Bytes(text);
  const mapped = bytes.subarray(0, 12).every((byte, i) => byte === (i < 10 ? 0 : 0xff));
  return mapped ? bytes.slice(12) : bytes;
}

function ipv6Bytes(text: string): Uint8Array {
  // Let the URL parser do the hard part: it prints the canonical form.
  const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const [head, tail] = canonical.includes("::") ? canonical.split("::") : [canonical, undefined];
  const groups = (part: string) => part === "" ? [] : part.split(":").map((group) => parseInt(group, 16));
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}
