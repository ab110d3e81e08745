/**
 * Round trip in alternating mode: one line out, one line back, on loopback.
 *
 * The benchmark is the person at both ends. Over TCP it sends a line to the
 * program under test, reads that line from the program's stdout, types the
 * reply into its stdin, and reads the reply back over TCP. The programs:
 * the parley server; a minimal Deno relay doing the same copying with no
 * framing or checks (the runtime's floor); the same relay in Python.
 *
 * @module
 */

import { writeAll } from "../lib/io/buffered_writer.ts";
import { LineReader } from "../lib/wire/line_reader.ts";
import { StreamSource } from "../tests/support/stream_source.ts";
import { denoBaseline, ensureTool, parley, percentile, PYTHON, ROOT } from "./support.ts";

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

interface Candidate {
  name: string;
  command: string[];
  missing?: string;
}

const encoder = new TextEncoder();

/** Runs `command`, holds `warmup + iterations` round trips with it, and returns their times (µs). */
async function measure(command: string[], iterations: number, warmup: number): Promise<number[]> {
  const [program, ...args] = command;
  const child = new Deno.Command(program, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const stderr = new LineReader(new StreamSource(child.stderr), { maxLineBytes: 4096 });
  const stdout = new LineReader(new StreamSource(child.stdout), { maxLineBytes: 4096 });
  const stdin = child.stdin.getWriter();
  let conn: Deno.TcpConn | undefined;
  try {
    let port = 0;
    while (port === 0) {
      const line = await stderr.readLine();
      if (line === null) throw new Error(`${program} did not start listening`);
      port = Number(/^listening on \S+:(\d+)/.exec(line)?.[1] ?? 0);
    }
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const peer = new LineReader(conn, { maxLineBytes: 4096 });
    const times: number[] = [];
    for (let i = 0; i < warmup + iterations; i++) {
      const started = performance.now();
      await writeAll(conn, encoder.encode(`ping ${i}\n`));
      if ((await stdout.readLine()) !== `ping ${i}`) throw new Error(`${program} lost a line`);
      await stdin.write(encoder.encode(`pong ${i}\n`));
      if ((await peer.readLine()) !== `pong ${i}`) throw new Error(`${program} lost a reply`);
      if (i >= warmup) times.push((performance.now() - started) * 1000);
    }
    return times;
  } finally {
    conn?.close();
    await stdin.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await Promise.all([child.stdout.cancel().catch(() => {}), child.stderr.cancel().catch(() => {})]);
  }
}

/** Measures every program, in interleaved rounds, and summarises each. */
export async function roundTrip(options: RoundTripOptions): Promise<RoundTripRow[]> {
  const python = ensureTool(PYTHON);
  const candidates: Candidate[] = [
    { name: "parley server (alternating)", command: parley("server", ["127.0.0.1", "0"]) },
    { name: "Deno relay (the runtime's floor)", command: denoBaseline("relay.ts", ["0"]) },
    { name: "Python relay", command: ["python3", `${ROOT}bench/baselines/relay.py`, "0"], missing: python },
  ];
  const samples = new Map<Candidate, number[]>(candidates.map((candidate) => [candidate, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const candidate of candidates) {
      if (candidate.missing) continue;
      samples.get(candidate)!.push(...await measure(candidate.command, options.iterations, options.warmup));
    }
  }
  return candidates.map((candidate) => {
    const times = samples.get(candidate)!;
    if (candidate.missing) return { name: candidate.name, missing: candidate.missing };
    return { name: candidate.name, p50: percentile(times, 50), p99: percentile(times, 99), samples: times.length };
  });
}
