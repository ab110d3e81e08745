/**
 * Connecting to a server, with a time limit and a clear reason on failure.
 *
 * @module
 */

import { ConnectError, describeOsError, isIoError } from "../io/errors.ts";
import { deadline } from "../io/time.ts";
import { formatAddress } from "./address.ts";

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Stops trying, as Ctrl+C does: `connect` then resolves to `null`. */
  signal?: AbortSignal;
}

/**
 * Connects to `host` and `port`, trying IPv6 and IPv4 addresses of a name
 * (Happy Eyeballs). Resolves to `null` when `signal` aborts first.
 *
 * @throws {ConnectError} naming the address and the reason.
 */
export async function connect(host: string, port: number, options: ConnectOptions): Promise<Deno.TcpConn | null> {
  const address = formatAddress(host, port);
  const timeout = new AbortController();
  using _limit = deadline(options.timeoutMs, () => timeout.abort());
  const signals = options.signal ? [timeout.signal, options.signal] : [timeout.signal];
  try {
    const conn = await Deno.connect({ hostname: host, port, transport: "tcp", signal: AbortSignal.any(signals) });
    try {
      conn.setNoDelay(true);
    } catch (error) {
      // Reset already: the session will find out, and say so as a lost connection.
      if (!isIoError(error)) throw error;
    }
    return conn;
  } catch (error) {
    if (options.signal?.aborted) return null;
    if (timeout.signal.aborted) {
      throw new ConnectError(`Cannot connect to ${address}: timed out after ${formatSeconds(options.timeoutMs)}`);
    }
    const reason = describeOsError(error);
    if (reason === undefined) throw error;
    throw new ConnectError(`Cannot connect to ${address}: ${reason}`, { cause: error });
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
