/**
 * Real loopback connections for tests, and small in-memory byte sources.
 *
 * @module
 */

import type { Reader, Writer } from "../../lib/io/types.ts";
import { waitFor } from "./wait.ts";

/** Loopback addresses every test host has. */
export const LOOPBACKS = ["127.0.0.1", "::1"] as const;

/** Two ends of one TCP connection over loopback, closed on disposal. */
export interface ConnPair extends Disposable {
  /** The end that connected. */
  client: Deno.TcpConn;
  /** The end that was accepted. */
  server: Deno.TcpConn;
}

/** Opens a TCP connection to ourselves on `hostname`. */
export async function connectedPair(hostname: string): Promise<ConnPair> {
  using listener = Deno.listen({ hostname, port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname, port: listener.addr.port }),
    listener.accept(),
  ]);
  return {
    client,
    server,
    [Symbol.dispose]() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch {
          // Already closed by the code under test.
        }
      }
    },
  };
}

/** A port on `hostname` that nothing listens on (it was free a moment ago). */
export function closedPort(hostname = "127.0.0.1"): number {
  using listener = Deno.listen({ hostname, port: 0 });
  return listener.addr.port;
}

/** A byte source that hands out the given chunks, one per read, then ends. */
export class ChunkSource implements Reader {
  #chunks: Uint8Array[];
  /** Every buffer the reader passed to `read`, to check that it is reused. */
  readonly buffers: ArrayBufferLike[] = [];
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(chunks: Iterable<Uint8Array | string>) {
    const encoder = new TextEncoder();
    this.#chunks = [...chunks].map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk);
  }

  read(p: Uint8Array): Promise<number | null> {
    this.buffers.push(p.buffer);
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return Promise.resolve(null);
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#chunks.unshift(chunk.subarray(n));
    this.consumed += n;
    return Promise.resolve(n);
  }
}

/** A byte source whose lines are pushed by the test, and which ends on request. */
export class PushSource implements Reader {
  #pending: Uint8Array[] = [];
  #ended = false;
  #waiter: PromiseWithResolvers<void> | undefined;
  #encoder = new TextEncoder();

  /** Makes `text` available to the next read. */
  push(text: string): void {
    this.#pending.push(this.#encoder.encode(text));
    this.#waiter?.resolve();
  }

  /** Ends the source after what was pushed. */
  end(): void {
    this.#ended = true;
    this.#waiter?.resolve();
  }

  /** Ends the source, as a cancelled stdin does. */
  cancel(): Promise<void> {
    this.end();
    return Promise.resolve();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#pending.length === 0) {
      if (this.#ended) return null;
      this.#waiter = Promise.withResolvers();
      await this.#waiter.promise;
    }
    const chunk = this.#pending.shift()!;
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#pending.unshift(chunk.subarray(n));
    return n;
  }
}

/** A sink that keeps what it is given, taking at most `maxPerWrite` bytes a call. */
export class MemorySink implements Writer {
  #parts: Uint8Array[] = [];
  #maxPerWrite: number;
  /** How many times `write` was called. */
  writes = 0;

  constructor(maxPerWrite = Infinity) {
    this.#maxPerWrite = maxPerWrite;
  }

  write(p: Uint8Array): Promise<number> {
    this.writes++;
    const n = Math.min(p.length, this.#maxPerWrite);
    this.#parts.push(p.slice(0, n));
    return Promise.resolve(n);
  }

  /** Everything written, as bytes. */
  get bytes(): Uint8Array {
    const out = new Uint8Array(this.#parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /** Everything written, as text. */
  get text(): string {
    return new TextDecoder().decode(this.bytes);
  }
}

/** A source of `count` numbered lines (`0\n`, `1\n`, …), made as they are read. */
export class NumberedLinesSource implements Reader {
  #next = 0;
  #count: number;
  #pending = new Uint8Array(0);
  #encoder = new TextEncoder();
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(count: number) {
    this.#count = count;
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#pending.length === 0) {
      if (this.#next >= this.#count) return Promise.resolve(null);
      const lines: string[] = [];
      for (let i = 0; i < 4096 && this.#next < this.#count; i++) lines.push(`${this.#next++}\n`);
      this.#pending = this.#encoder.encode(lines.join(""));
    }
    const n = Math.min(p.length, this.#pending.length);
    p.set(this.#pending.subarray(0, n));
    this.#pending = this.#pending.subarray(n);
    this.consumed += n;
    return Promise.resolve(n);
  }
}

/** Waits until something listens on `port` (read from /proc/net, so as not to use up its one connection). */
export async function waitListening(port: number, timeoutMs = 10_000): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  await waitFor(async () => {
    const { stdout } = await new Deno.Command("cat", { args: ["/proc/net/tcp", "/proc/net/tcp6"] }).output();
    return new TextDecoder().decode(stdout).split("\n").some((row) => {
      const fields = row.trim().split(/\s+/);
      return fields[1]?.endsWith(hex) && fields[3] === "0A";
    });
  }, { what: `something to listen on port ${port}`, timeoutMs, intervalMs: 20 });
}

/** One end of a TCP connection on this host, as the kernel sees it (Linux: /proc/net/tcp and tcp6). */
export interface TcpEnd {
  /** The state as /proc/net writes it: "01" established, "05" FIN_WAIT2 (our FIN was taken), "08" CLOSE_WAIT (theirs came), … */
  state: string;
  /** Bytes written on this end and not yet acknowledged by the other. */
  sendQueue: number;
  /** Bytes received on this end and not yet read by its program. */
  receiveQueue: number;
}

/** TCP states that are not one end of a live connection: TIME_WAIT, CLOSE, LISTEN. */
const NOT_LIVE = new Set(["06", "07", "0A"]);

/** Every live TCP connection end on this host, by `localPort>remotePort` (ports alone tell loopback connections apart). */
async function liveTcpEnds(): Promise<Map<string, TcpEnd>> {
  // Deno reads /proc/net only with every permission: cat reads it for us.
  const { stdout } = await new Deno.Command("cat", { args: ["/proc/net/tcp", "/proc/net/tcp6"] }).output();
  const ends = new Map<string, TcpEnd>();
  for (const row of new TextDecoder().decode(stdout).split("\n")) {
    const fields = row.trim().split(/\s+/);
    if (fields.length < 5 || NOT_LIVE.has(fields[3]) || !fields[1].includes(":")) continue;
    const [local, remote] = [fields[1], fields[2]].map((address) => parseInt(address.split(":").at(-1)!, 16));
    const [sendQueue, receiveQueue] = fields[4].split(":").map((hex) => parseInt(hex, 16));
    ends.set(`${local}>${remote}`, { state: fields[3], sendQueue, receiveQueue });
  }
  return ends;
}

/** The end of a live TCP connection on this host whose own port is `localPort` and whose peer's is `remotePort`. */
export async function tcpEnd(localPort: number, remotePort: number): Promise<TcpEnd | undefined> {
  return (await liveTcpEnds()).get(`${localPort}>${remotePort}`);
}

/** The ports of a connection's two ends, from this side. */
export interface PortPair {
  /** Our end's port. */
  localPort: number;
  /** The other end's port. */
  remotePort: number;
}

/** The ports of `conn`, a Deno TCP connection. */
export function portsOf(conn: Deno.Conn): PortPair {
  return { localPort: (conn.localAddr as Deno.NetAddr).port, remotePort: (conn.remoteAddr as Deno.NetAddr).port };
}

/**
 * Bytes in flight each way on a loopback connection (both ends on this
 * host): `toUs`, written by the other end's program and not yet read by
 * ours; `toThem`, the reverse. Throws when either end is not found.
 */
export async function tcpBacklog(ports: PortPair): Promise<{ toUs: number; toThem: number }> {
  const ends = await liveTcpEnds();
  const ours = ends.get(`${ports.localPort}>${ports.remotePort}`);
  const theirs = ends.get(`${ports.remotePort}>${ports.localPort}`);
  if (ours === undefined || theirs === undefined) {
    throw new Error(`no live TCP connection between ports ${ports.localPort} and ${ports.remotePort}`);
  }
  return { toUs: theirs.sendQueue + ours.receiveQueue, toThem: ours.sendQueue + theirs.receiveQueue };
}
