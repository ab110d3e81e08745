/**
 * The secure handshake's cost: the time from starting the client to its
 * first line arriving at the server, on loopback, with and without `--code`.
 *
 * For each run a parley server is started and left listening (so its own
 * start-up is not counted); then the clock starts, the client is launched
 * with a line on its stdin, and the benchmark notes when the client says
 * `connected to` on stderr and when the line comes out of the server's
 * stdout. Plain and `--code` runs take turns, after one run of each that is
 * not counted (it warms the module cache); the difference of the medians is
 * what the handshake adds (CPace, key confirmation, the first record).
 *
 * @module
 */

import { LineReader } from "../lib/wire/line_reader.ts";
import { StreamSource } from "../tests/support/stream_source.ts";
import { CODE, kill, median, OutputLog, parley, watchdog } from "./support.ts";

/** The times to the first line, plain or with `--code`. */
export interface HandshakeRow {
  /** What was measured. */
  name: string;
  /** Plain, or encrypted (`--code`). */
  parley: "plain" | "encrypted";
  /** Median time from starting the client to its `connected to` line (ms). */
  connectedMs: number;
  /** Median time from starting the client to its first line on the server's stdout (ms). */
  firstLineMs: number;
  /** How many runs were counted. */
  runs: number;
}

/** The longest one run may take before both programs are killed (ms). */
const RUN_LIMIT_MS = 30_000;

const LINE = "hello from the bench";

/** One run: the times (ms) from launching the client to `connected to` and to the first line at the server. */
async function once(code: boolean): Promise<{ connected: number; firstLine: number }> {
  const secure = code ? [`--code=${CODE}`] : [];
  const [serverProgram, ...serverArgs] = parley("server", [...secure, "127.0.0.1", "0"]);
  const server = new Deno.Command(serverProgram, {
    args: serverArgs,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const children = [server];
  using limit = watchdog(children, RUN_LIMIT_MS);
  const serverErr = new OutputLog(server.stderr);
  const source = new StreamSource(server.stdout);
  const serverOut = new LineReader(source, { maxLineBytes: 4096 });
  let client: Deno.ChildProcess | undefined;
  let clientErr: OutputLog | undefined;
  const failed = (what: string) =>
    new Error(
      `${code ? "--code" : "plain"} handshake: ${what}${limit.expired ? ` (killed after ${RUN_LIMIT_MS} ms)` : ""}` +
        `; server's stderr:\n${serverErr.text.slice(0, 1000)}\nclient's stderr:\n${clientErr?.text.slice(0, 1000)}`,
    );
  try {
    const port = Number((await serverErr.match(/^listening on \S+:(\d+)/m))?.[1] ?? 0);
    if (port === 0) throw failed("the server did not start listening");
    const started = performance.now();
    const [clientProgram, ...clientArgs] = parley("client", [
      ...(code ? ["--code", CODE] : []),
      "127.0.0.1",
      `${port}`,
    ]);
    client = new Deno.Command(clientProgram, { args: clientArgs, stdin: "piped", stdout: "null", stderr: "piped" })
      .spawn();
    children.push(client);
    clientErr = new OutputLog(client.stderr);
    const stdin = client.stdin.getWriter();
    await stdin.write(new TextEncoder().encode(LINE + "\n"));
    await stdin.close();
    // Whichever fails first ends both programs, so the other wait ends too.
    const stop = (error: unknown): never => {
      children.forEach(kill);
      throw error;
    };
    const results = await Promise.allSettled([
      clientErr.match(/^connected to /m).then((match) => {
        if (match === null) throw failed("the client never said it was connected");
        return performance.now() - started;
      }).catch(stop),
      serverOut.readLine().then((line) => {
        if (line !== LINE) throw failed(`the server showed ${JSON.stringify(line)}, not the client's line`);
        return performance.now() - started;
      }).catch(stop),
    ]);
    const failure = results.find((result) => result.status === "rejected");
    if (failure !== undefined) throw failure.reason;
    const [connected, firstLine] = results.map((result) => (result as PromiseFulfilledResult<number>).value);
    return { connected, firstLine };
  } finally {
    for (const child of children) kill(child);
    await Promise.all(children.map((child) => child.status));
    await Promise.all([source.cancel().catch(() => {}), serverErr.done, clientErr?.done]);
  }
}

/** Measures `runs` plain and `runs` `--code` starts, taking turns, after one uncounted run of each. */
export async function handshake(runs: number): Promise<HandshakeRow[]> {
  const plain: { connected: number; firstLine: number }[] = [];
  const encrypted: { connected: number; firstLine: number }[] = [];
  await once(false);
  await once(true);
  for (let run = 0; run < runs; run++) {
    plain.push(await once(false));
    encrypted.push(await once(true));
  }
  const row = (name: string, kind: HandshakeRow["parley"], times: typeof plain): HandshakeRow => ({
    name,
    parley: kind,
    connectedMs: median(times.map((time) => time.connected)),
    firstLineMs: median(times.map((time) => time.firstLine)),
    runs: times.length,
  });
  return [row("parley client", "plain", plain), row("parley client --code", "encrypted", encrypted)];
}
