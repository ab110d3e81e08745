/**
 * Round trip in alternating mode: one line out, one line back, on loopback.
 *
 * The benchmark is the person at both ends. With a server under test, it
 * sends a line over TCP to the program, reads that line from the program's
 * stdout, types the reply into its stdin, and reads the reply back over
 * TCP. The programs: the parley server; a minimal Deno relay doing the same
 * copying with no framing or checks (the runtime's floor); the same relay
 * in Python.
 *
 * With a client under test the benchmark is the server: it listens, and the
 * client (who speaks first in alternating mode) is typed a line on its stdin,
 * which the benchmark reads over the connection and answers; the reply is
 * read from the client's stdout. So each round trip still crosses the
 * program once each way, stdin to connection and connection to stdout. The
 * plain client meets a plain TCP peer; `client --code` meets a peer built
 * here from the library's own secure session (`pakeServerSide`, then lines
 * over its {@linkcode SecureChannel}), so the encrypted round trip is
 * measured beside the plain one in the same run.
 *
 * @module
 */

import { writeAll } from "../lib/io/buffered_writer.ts";
import { codePassword } from "../lib/security/code.ts";
import { pakeServerSide } from "../lib/security/secure_handshake.ts";
import type { SecureChannel } from "../lib/security/secure_channel.ts";
import { LineReader } from "../lib/wire/line_reader.ts";
import { StreamSource } from "../tests/support/stream_source.ts";
import {
  CODE,
  denoBaseline,
  ensureTool,
  kill,
  OutputLog,
  parley,
  percentile,
  PYTHON,
  ROOT,
  watchdog,
} from "./support.ts";

/** The results for one program. */
export interface RoundTripRow {
  /** What was measured. */
  name: string;
  /** Median round trip (µs), or why it could not be measured. */
  p50?: number;
  /** 99th percentile (µs). */
  p99?: number;
  /** Why this program was not measured. */
  missing?: string;
  /** How many round trips were measured. */
  samples?: number;
  /** Set when the program stalled (a bug): where, and that it was killed; the figures are from before. */
  stalled?: string;
  /** The runtime's floor, the row the others are compared with. */
  floor?: boolean;
  /** Which parley this is: plain or encrypted (`--code`), as a server or as a client. */
  parley?: "server" | "client" | "client --code";
}

/** How long a run of the round-trip benchmark is. */
export interface RoundTripOptions {
  /** Round trips measured per program per round. */
  iterations: number;
  /** Round trips before measuring, per program per round. */
  warmup: number;
  /** Rounds; the programs take turns within each round. */
  rounds: number;
}

/** A program under test: a server the benchmark connects to, or a client that connects to the benchmark. */
type Candidate =
  & { name: string; missing?: string; floor?: boolean; parley?: RoundTripRow["parley"] }
  & (
    | { server: string[] }
    | { client: (port: number) => string[]; secure: boolean }
  );

/** The benchmark's end of the connection with the program under test. */
interface Peer {
  lines: LineReader;
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
}

const encoder = new TextEncoder();

function fail(error: Error): never {
  throw error;
}

/** The longest one program's share of a run may take before it is killed (ms). */
const RUN_LIMIT_MS = 60_000;

function plainPeer(conn: Deno.TcpConn): Peer {
  conn.setNoDelay(true);
  return {
    lines: new LineReader(conn, { maxLineBytes: 4096 }),
    write: (bytes) => writeAll(conn, bytes),
    close: () => conn.close(),
  };
}

function securePeer(channel: SecureChannel): Peer {
  return {
    lines: new LineReader(channel, { maxLineBytes: 4096 }),
    write: (bytes) => writeAll(channel, bytes),
    close: () => channel.close(),
  };
}

/** Takes the client's connection (or its death, or the listener's close) and readies the benchmark's end. */
async function acceptPeer(listener: Deno.TcpListener, child: Deno.ChildProcess, secure: boolean): Promise<Peer> {
  const accepting = listener.accept();
  const conn = await Promise.race([accepting, child.status.then(() => undefined)]);
  if (conn === undefined) {
    accepting.then((late) => late.close(), () => {});
    throw new Error("the client ended before connecting");
  }
  conn.setNoDelay(true);
  if (!secure) return plainPeer(conn);
  try {
    const session = await pakeServerSide(conn, conn, {
      password: codePassword(CODE),
      mode: "alternating",
      peerName: "the client",
    });
    return securePeer(session.channel);
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** What one run of a program gave: round-trip times (µs), and where it stalled, if it did. */
interface Measured {
  times: number[];
  stalled?: string;
}

/**
 * Runs the candidate, holds `warmup + iterations` round trips with it, and
 * returns their times (µs). A program that stalls (no answer until the run's
 * time limit, when it is killed) is reported with the times before; a wrong
 * line fails the benchmark.
 */
async function measure(candidate: Candidate, iterations: number, warmup: number): Promise<Measured> {
  const listener = "client" in candidate ? Deno.listen({ hostname: "127.0.0.1", port: 0 }) : undefined;
  const [program, ...args] = "client" in candidate ? candidate.client(listener!.addr.port) : candidate.server;
  const child = new Deno.Command(program, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  using limit = watchdog([child], RUN_LIMIT_MS);
  const stderr = new OutputLog(child.stderr);
  const source = new StreamSource(child.stdout);
  const stdout = new LineReader(source, { maxLineBytes: 4096 });
  const stdin = child.stdin.getWriter();
  let peer: Peer | undefined;
  const failed = (what: string) =>
    new Error(
      `${candidate.name}: ${what}${limit.expired ? " (killed after " + RUN_LIMIT_MS + " ms)" : ""}; its stderr:\n` +
        stderr.text.slice(0, 2000),
    );
  try {
    if ("client" in candidate) {
      peer = await acceptPeer(listener!, child, candidate.secure);
      listener!.close();
    } else {
      const port = Number((await stderr.match(/^listening on \S+:(\d+)/m))?.[1] ?? 0);
      if (port === 0) throw failed("did not start listening");
      peer = plainPeer(await Deno.connect({ hostname: "127.0.0.1", port }));
    }
    const times: number[] = [];
    const stalled = (i: number, what: string): Measured | undefined =>
      limit.expired
        ? { times, stalled: `stalled at round trip ${i + 1} of ${warmup + iterations} (${what}), killed` }
        : undefined;
    for (let i = 0; i < warmup + iterations; i++) {
      const started = performance.now();
      if ("client" in candidate) {
        // The client speaks first: typed in, read over the connection, answered, shown on its stdout.
        await stdin.write(encoder.encode(`ping ${i}\n`));
        const line = await peer.lines.readLine().catch((error) => limit.expired ? null : Promise.reject(error));
        if (line !== `ping ${i}`) return stalled(i, "its line never came") ?? fail(failed(`lost line ${i}`));
        await peer.write(encoder.encode(`pong ${i}\n`));
        if ((await stdout.readLine()) !== `pong ${i}`) {
          return stalled(i, "the reply never showed") ?? fail(failed(`lost reply ${i}`));
        }
      } else {
        await peer.write(encoder.encode(`ping ${i}\n`));
        if ((await stdout.readLine()) !== `ping ${i}`) {
          return stalled(i, "the line never showed") ?? fail(failed(`lost line ${i}`));
        }
        await stdin.write(encoder.encode(`pong ${i}\n`));
        const reply = await peer.lines.readLine().catch((error) => limit.expired ? null : Promise.reject(error));
        if (reply !== `pong ${i}`) return stalled(i, "its reply never came") ?? fail(failed(`lost reply ${i}`));
      }
      if (i >= warmup) times.push((performance.now() - started) * 1000);
    }
    return { times };
  } finally {
    try {
      listener?.close();
    } catch {
      // Closed once the client connected.
    }
    kill(child);
    await child.status;
    peer?.close();
    await stdin.close().catch(() => {});
    await Promise.all([source.cancel().catch(() => {}), stderr.done]);
  }
}

/** Measures every program, in interleaved rounds, and summarises each. */
export async function roundTrip(options: RoundTripOptions): Promise<RoundTripRow[]> {
  const python = ensureTool(PYTHON);
  const candidates: Candidate[] = [
    { name: "parley server (alternating)", server: parley("server", ["127.0.0.1", "0"]), parley: "server" },
    {
      name: "parley client (alternating), plain peer",
      client: (port) => parley("client", ["127.0.0.1", String(port)]),
      secure: false,
      parley: "client",
    },
    {
      name: "parley client --code (alternating), secure peer",
      client: (port) => parley("client", ["--code", CODE, "127.0.0.1", String(port)]),
      secure: true,
      parley: "client --code",
    },
    { name: "Deno relay (the runtime's floor)", server: denoBaseline("relay.ts", ["0"]), floor: true },
    { name: "Python relay", server: ["python3", `${ROOT}bench/baselines/relay.py`, "0"], missing: python },
  ];
  const samples = new Map<Candidate, number[]>(candidates.map((candidate) => [candidate, []]));
  const stalls = new Map<Candidate, string>();
  for (let round = 0; round < options.rounds; round++) {
    for (const candidate of candidates) {
      if (candidate.missing) continue;
      const { times, stalled } = await measure(candidate, options.iterations, options.warmup);
      samples.get(candidate)!.push(...times);
      if (stalled !== undefined) stalls.set(candidate, `round ${round + 1}: ${stalled}`);
    }
  }
  return candidates.map((candidate) => {
    const times = samples.get(candidate)!;
    const { name, floor } = candidate;
    if (candidate.missing) return { name, missing: candidate.missing, floor, parley: candidate.parley };
    if (times.length === 0) return { name, missing: stalls.get(candidate), floor, parley: candidate.parley };
    return {
      name,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      samples: times.length,
      floor,
      parley: candidate.parley,
      stalled: stalls.get(candidate),
    };
  });
}
