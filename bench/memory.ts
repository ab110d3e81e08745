/**
 * Memory: the peak resident size of the receiving side while a peer floods
 * it and its stdout is read slowly, and while a peer sends one enormous line.
 * Target: bounded, under 100 MiB, whatever the input.
 *
 * @module
 */

import { writeAll } from "../lib/io/buffered_writer.ts";
import { parley, peakRssMiB } from "./support.ts";

/** One memory measurement. */
export interface MemoryRow {
  /** What was measured. */
  name: string;
  /** How much the peer sent (MB). */
  sentMegabytes: number;
  /** Peak resident size of the receiving parley server (MiB). */
  peakMiB: number;
}

/** How big a run of the memory benchmark is. */
export interface MemoryOptions {
  /** How long the slow-reader flood lasts (ms). */
  floodMs: number;
  /** How much the peer sends without a newline (MB). */
  lineMegabytes: number;
}

/** Starts a parley server, connects to it, and samples its peak memory until `work` is done. */
async function measure(
  args: string[],
  readStdout: (stdout: ReadableStream<Uint8Array>) => Promise<void>,
  work: (conn: Deno.Conn) => Promise<number>,
): Promise<{ sent: number; peakMiB: number }> {
  const [program, ...rest] = parley("server", ["127.0.0.1", "0", ...args]);
  const child = new Deno.Command(program, { args: rest, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  const stderr = child.stderr.getReader();
  let text = "";
  while (!/listening on \S+:(\d+)/.test(text)) {
    const { value, done } = await stderr.read();
    if (done) throw new Error("the server did not start");
    text += new TextDecoder().decode(value);
  }
  const port = Number(/listening on \S+:(\d+)/.exec(text)![1]);
  const draining = (async () => {
    while (!(await stderr.read()).done);
  })();
  const reading = readStdout(child.stdout);
  let peakMiB = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakMiB = Math.max(peakMiB, (await peakRssMiB(child.pid)) ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let sent = 0;
  try {
    sent = await work(conn);
    peakMiB = Math.max(peakMiB, (await peakRssMiB(child.pid)) ?? 0);
  } finally {
    sampling = false;
    await sampler;
    try {
      conn.close();
    } catch {
      // The server closed it.
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await Promise.all([reading.catch(() => {}), draining]);
  }
  return { sent: sent / 1e6, peakMiB };
}

/** Writes as much of `chunk`, again and again, as the peer takes within `ms` (or until `limit` bytes). */
async function flood(conn: Deno.Conn, chunk: Uint8Array, ms: number, limit = Infinity): Promise<number> {
  let sent = 0;
  const deadline = performance.now() + ms;
  while (performance.now() < deadline && sent < limit) {
    const n = await Promise.race([
      writeAll(conn, chunk).then(() => chunk.length, () => -1),
      new Promise<number>((resolve) => setTimeout(() => resolve(0), Math.max(0, deadline - performance.now()))),
    ]);
    if (n < 0) break;
    sent += n;
  }
  return sent;
}

/** Runs the memory measurements. */
export async function memory(options: MemoryOptions): Promise<MemoryRow[]> {
  const lines = new TextEncoder().encode(
    Array.from({ length: 2000 }, (_, i) => `flooding line ${i} with some text\n`).join(""),
  );
  const noNewline = new Uint8Array(1 << 20).fill(0x78);
  const rows: MemoryRow[] = [];

  // stdout read at about 5 MB/s: the server must stop reading, not buffer.
  const slowly = async (stdout: ReadableStream<Uint8Array>) => {
    const reader = stdout.getReader({ mode: "byob" });
    let buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const { value, done } = await reader.read(buffer);
      if (done) return;
      buffer = new Uint8Array(value.buffer);
      await new Promise((resolve) => setTimeout(resolve, 12));
    }
  };
  const quickly = async (stdout: ReadableStream<Uint8Array>) => {
    for await (const _ of stdout);
  };
  const slow = await measure(["--duplex"], slowly, (conn) => flood(conn, lines, options.floodMs));
  rows.push({ name: "flood, stdout read slowly (--duplex)", sentMegabytes: slow.sent, peakMiB: slow.peakMiB });

  for (const limit of ["64K", "16M"]) {
    const long = await measure(
      ["--max-line", limit],
      quickly,
      (conn) => flood(conn, noNewline, 10_000, options.lineMegabytes * 1e6),
    );
    rows.push({ name: `one line without end (--max-line ${limit})`, sentMegabytes: long.sent, peakMiB: long.peakMiB });
  }
  return rows;
}
