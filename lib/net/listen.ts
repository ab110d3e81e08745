/**
 * Opening the server's listening sockets.
 *
 * With no host given, the server listens on every interface, IPv6 and IPv4:
 * on `[::]`, which also takes IPv4 clients on a dual-stack host; plus
 * `0.0.0.0` on the same port where `[::]` is IPv6-only (Windows, or Linux
 * with `bindv6only`); or on `0.0.0.0` alone where the host has no IPv6.
 *
 * @module
 */

import { describeOsError, ListenError } from "../io/errors.ts";
import { formatAddress } from "./address.ts";

/** A listener for TCP connections. */
export type Listener = Deno.TcpListener;

/** The wildcard addresses, in the order they are tried. */
const ANY_IPV6 = "::";
const ANY_IPV4 = "0.0.0.0";

/** Error codes that mean "this host has no IPv6". */
const NO_IPV6 = new Set(["EAFNOSUPPORT", "EADDRNOTAVAIL", "EPROTONOSUPPORT"]);

/**
 * Listens on `host` and `port`, or on every interface when `host` is
 * undefined. Port 0 takes a free port. Returns one or two listeners that
 * share a port. (TLS, when used, is started on each accepted connection.)
 *
 * @throws {ListenError} naming the address and the reason.
 */
export function listen(host: string | undefined, port: number): Listener[] {
  if (host !== undefined) return [listenOn(host, port)];
  let v6: Listener;
  try {
    v6 = listenOn(ANY_IPV6, port);
  } catch (error) {
    if (!(error instanceof ListenError) || !NO_IPV6.has(errorCode(error.cause))) throw error;
    return [listenOn(ANY_IPV4, port)];
  }
  try {
    // Succeeds only where [::] does not already take IPv4 clients.
    return [v6, listenOn(ANY_IPV4, v6.addr.port)];
  } catch (error) {
    if (error instanceof ListenError && errorCode(error.cause) === "EADDRINUSE") return [v6];
    v6.close();
    throw error;
  }
}

function listenOn(hostname: string, port: number): Listener {
  try {
    return Deno.listen({ hostname, port, transport: "tcp" });
  } catch (error) {
    const reason = describeOsError(error);
    if (reason === undefined) throw error;
    throw new ListenError(`Cannot listen on ${formatAddress(hostname, port)}: ${reason}`, { cause: error });
  }
}

function errorCode(error: unknown): string {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : "";
}
