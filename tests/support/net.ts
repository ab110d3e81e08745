import type { Reader, Writer } from "../../lib/io/types.ts";
/**
 * Real loopback connections for tests, and small in-memory byte sources.
 *
 * @module
 */

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
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { stdout } = await new Deno.Command("cat", { args: ["/proc/net/tcp", "/proc/net/tcp6"] }).output();
    const listening = new TextDecoder().decode(stdout).split("\n").some((row) => {
      const fields = row.trim().split(/\s+/);
      return fields[1]?.endsWith(hex.trim()) && fields[3] === "0A";
    });
    if (listening) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing listens on port ${port}`);
}
