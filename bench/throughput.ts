/**
 * Bulk throughput in duplex mode: a large file of short lines sent from a
 * client to a server whose output goes to /dev/null, start-up included.
 *
 * Each pair is timed from starting the server until both programs have
 * exited: parley (`--duplex` on both sides), parley's secure session
 * (`--duplex --code` on both sides: the handshake, then encrypted records), a minimal Deno socket pipe
 * that reads into a 64 KiB buffer and writes it out (the runtime's floor),
 * the same pipe with a buffer as large as parley's, and OpenBSD netcat.
 * Every pair first moves the file once into a real file, to check that it
 * arrives whole.
 *
 * @module
 */

import { closedPort, waitListening } from "../tests/support/net.ts";
import { BULK_BUFFER_BYTES } from "../lib/wire/line_reader.ts";
import { CODE, denoBaseline, ensureTool, kill, median, NC, parley, watchdog } from "./support.ts";

/** The results for one pair of programs. */
export interface ThroughputRow {
  /** What was measured. */
  name: string;
  /** Median time for the whole file (s). */
  seconds?: number;
  /** Megabytes (10^6 bytes) per second, from the median time. */
  megabytesPerSecond?: number;
  /** Why this pair was not measured. */
  missing?: string;
  /** True for the row the others are compared with. */
  floor?: boolean;
  /** True for the floor given parley's buffer size. */
  matched?: boolean;
  /** Which parley this is: plain, or encrypted (`--code`). */
  parley?: "plain" | "encrypted";
}

/** How big a run of the throughput benchmark is. */
export interface ThroughputOptions {
  /** Size of the file of short lines, in megabytes. */
  megabytes: number;
  /** Timed runs per pair; the pairs take turns. */
  rounds: number;
}

interface Pair {
  name: string;
  server: (port: number) => string[];
  client: (port: number) => string[];
  missing?: string;
  floor?: boolean;
  matched?: boolean;
  parley?: "plain" | "encrypted";
}

/** The longest one transfer may take before both programs are killed (ms). */
const TRANSFER_LIMIT_MS = 180_000;

/** Writes a file of numbered short lines of about `megabytes` MB; returns its path and size. */
function makeFile(dir: string, megabytes: number): { path: string; bytes: number } {
  const path = `${dir}/lines.txt`;
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let bytes = 0;
  for (let line = 0; bytes < megabytes * 1e6;) {
    const block: string[] = [];
    for (let i = 0; i < 10_000; i++, line++) block.push(`message ${String(line).padStart(8, "0")} from the bench\n`);
    const chunk = encoder.encode(block.join(""));
    for (let offset = 0; offset < chunk.length;) offset += file.writeSync(chunk.subarray(offset));
    bytes += chunk.length;
  }
  file.close();
  return { path, bytes };
}

function quote(words: string[]): string {
  return words.map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
}

/** Runs a server and a client with the given redirections; resolves to the wall time (s). */
async function transfer(pair: Pair, file: string, output: string): Promise<number> {
  const port = closedPort();
  const started = performance.now();
  const server = new Deno.Command("sh", {
    args: ["-c", `exec ${quote(pair.server(port))} < /dev/null > ${output} 2> /dev/null`],
  }).spawn();
  try {
    await waitListening(port);
  } catch (error) {
    kill(server);
    await server.status;
    throw error;
  }
  const client = new Deno.Command("sh", {
    args: ["-c", `exec ${quote(pair.client(port))} < ${file} > /dev/null 2> /dev/null`],
  }).spawn();
  {
    // The two programs are the shells' exec'd commands: killing them ends the pair. When one fails, so does the other.
    using limit = watchdog([server, client], TRANSFER_LIMIT_MS);
    const ended = (child: Deno.ChildProcess) =>
      child.status.then((status) => {
        if (!status.success) [server, client].forEach(kill);
        return status;
      });
    const statuses = await Promise.all([ended(server), ended(client)]);
    const failed = statuses.findIndex((status) => !status.success);
    if (failed >= 0) {
      const killed = limit.expired ? ` (killed after ${TRANSFER_LIMIT_MS} ms)` : "";
      throw new Error(
        `${pair.name} ${failed === 0 ? "server" : "client"} exited with ${statuses[failed].code}${killed}`,
      );
    }
  }
  return (performance.now() - started) / 1000;
}

/** Measures every pair on one file, in interleaved rounds. */
export async function throughput(options: ThroughputOptions): Promise<{ rows: ThroughputRow[]; bytes: number }> {
  const dir = await Deno.makeTempDir({ prefix: "parley-bench-" });
  try {
    const file = makeFile(dir, options.megabytes);
    const pairs: Pair[] = [
      {
        name: "parley --duplex",
        server: (port) => parley("server", ["--duplex", "127.0.0.1", String(port)]),
        client: (port) => parley("client", ["--duplex", "127.0.0.1", String(port)]),
        parley: "plain",
      },
      {
        name: "parley --duplex --code (encrypted)",
        server: (port) => parley("server", ["--duplex", `--code=${CODE}`, "127.0.0.1", String(port)]),
        client: (port) => parley("client", ["--duplex", "--code", CODE, "127.0.0.1", String(port)]),
        parley: "encrypted",
      },
      {
        name: "Deno socket pipe, 64 KiB buffer (the runtime's floor)",
        server: (port) => denoBaseline("pipe_server.ts", [String(port), "64"]),
        client: (port) => denoBaseline("pipe_client.ts", [String(port), "64"]),
        floor: true,
      },
      {
        name: `Deno socket pipe, ${BULK_BUFFER_BYTES / 2 ** 20} MiB buffer (as parley's)`,
        server: (port) => denoBaseline("pipe_server.ts", [String(port), String(BULK_BUFFER_BYTES / 2 ** 10)]),
        client: (port) => denoBaseline("pipe_client.ts", [String(port), String(BULK_BUFFER_BYTES / 2 ** 10)]),
        matched: true,
      },
      {
        name: "nc (OpenBSD netcat)",
        server: (port) => ["nc", "-l", "127.0.0.1", String(port)],
        client: (port) => ["nc", "-N", "127.0.0.1", String(port)],
        missing: ensureTool(NC),
      },
    ];
    const times = new Map<Pair, number[]>(pairs.map((pair) => [pair, []]));
    for (const pair of pairs) {
      if (pair.missing) continue;
      // Once into a real file: everything must arrive, byte for byte.
      const copy = `${dir}/received.txt`;
      await transfer(pair, file.path, copy);
      const received = (await Deno.stat(copy)).size;
      if (received !== file.bytes) throw new Error(`${pair.name} delivered ${received} of ${file.bytes} bytes`);
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const pair of pairs) {
        if (!pair.missing) times.get(pair)!.push(await transfer(pair, file.path, "/dev/null"));
      }
    }
    const rows = pairs.map((pair): ThroughputRow => {
      if (pair.missing) return { name: pair.name, missing: pair.missing, parley: pair.parley };
      const seconds = median(times.get(pair)!);
      const { name, floor, matched } = pair;
      return { name, seconds, megabytesPerSecond: file.bytes / 1e6 / seconds, floor, matched, parley: pair.parley };
    });
    return { rows, bytes: file.bytes };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
