/**
 * The figures of docs/security.md, measured against the real server on
 * loopback: how real clients fare while strangers hold handshakes open from
 * several addresses, how much memory that costs the server, and how long the
 * programs take to end on SIGTERM while a write is blocked.
 *
 * ```sh
 * deno task bench:hostile                # a full run (about two minutes)
 * deno task bench:hostile --quick        # a short run, to see that it all works
 * deno task bench:hostile --update-docs  # also put the report in docs/security.md
 * deno task bench:hostile --only "40 addresses" --tries 40   # one attack (and its baseline), for longer
 * ```
 *
 * Timings are medians of the runs, and a real client's time to connect under
 * attack is also given as a ratio to the same client's time without one,
 * measured in the same run.
 *
 * @module
 */

import { parseCommandLine } from "../lib/cli/command_line.ts";
import { makeCertificates } from "../tests/support/certs.ts";
import { LineLog } from "../tests/support/process.ts";
import { PARTIAL_CLIENT_HELLO, rudeConnect, StallingCrowd } from "../tests/support/raw_peer.ts";
import { fixed, machine, median, parley, peakRssMiB, ROOT } from "./support.ts";

const { values } = parseCommandLine(Deno.args, {
  quick: { type: "boolean" },
  only: { type: "string" },
  tries: { type: "string" },
  "update-docs": { type: "boolean" },
});
const quick = values.quick;
const log = (text: string) => console.error(text);
const encoder = new TextEncoder();
const certs = makeCertificates();
const secretPath = Deno.makeTempFileSync({ prefix: "parley-bench-secret-" });
Deno.writeTextFileSync(secretPath, "bench secret\n");
globalThis.addEventListener("unload", () => Deno.removeSync(secretPath));

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves to `undefined` after `ms`, unless cancelled first. */
function timeout(ms: number): { promise: Promise<undefined>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms));
  return { promise, cancel: () => clearTimeout(timer) };
}

/** A running program, its stderr as lines, and a way to end it. */
interface Running extends AsyncDisposable {
  child: Deno.ChildProcess;
  stderr: LineLog;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
}

function spawn(command: string[], stdout: "null" | "piped" = "null"): Running {
  const [program, ...args] = command;
  const child = new Deno.Command(program, { args, stdin: "piped", stdout, stderr: "piped", env: { NO_COLOR: "1" } })
    .spawn();
  const stderr = new LineLog(child.stderr);
  const stdin = child.stdin.getWriter();
  return {
    child,
    stderr,
    stdin,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already ended.
      }
      await stdin.close().catch(() => {});
      if (stdout === "piped") await child.stdout.cancel();
      await child.status;
      await stderr.ended();
    },
  };
}

async function startServer(args: string[]): Promise<{ server: Running; port: number }> {
  const server = spawn(parley("server", ["127.0.0.1", "0", "-k", ...args]));
  const { match } = await server.stderr.waitFor(/^listening on \S*:(\d+)/);
  return { server, port: Number(match[1]) };
}

/** Connects a real client, has it say one line and leave; resolves to the time it took to connect (ms), or undefined. */
async function realClient(port: number, args: string[]): Promise<number | undefined> {
  const started = performance.now();
  const client = spawn(parley("client", ["127.0.0.1", String(port), "--duplex", ...args]));
  await using _client = client;
  try {
    await client.stderr.waitFor(/^connected to /);
  } catch {
    return undefined;
  }
  const took = performance.now() - started;
  await client.stdin.write(encoder.encode("hello\n"));
  await client.stdin.close();
  const status = await client.child.status;
  return status.code === 0 ? took : undefined;
}

/** One attack on the handshake places, as the table shows it. */
interface Attack {
  name: string;
  /** The attack-free row this one is compared with (none for a baseline itself). */
  baseline?: string;
  server: string[];
  client: string[];
  sources: string[];
  perSource: number;
  send?: Uint8Array;
}

const tls = ["--tls-cert", certs.good.cert, "--tls-key", certs.good.key];
const tlsClient = ["--tls", "--ca", certs.ca];
const addresses = (count: number) => Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);

const attacks: Attack[] = [
  {
    name: "none (TLS server)",
    server: tls,
    client: tlsClient,
    sources: [],
    perSource: 0,
  },
  {
    name: "none (secret server)",
    server: ["--secret-file", secretPath],
    client: ["--secret-file", secretPath],
    sources: [],
    perSource: 0,
  },
  {
    name: "stalled TLS ClientHellos, 3 addresses × 16",
    baseline: "none (TLS server)",
    server: tls,
    client: tlsClient,
    sources: addresses(3),
    perSource: 16,
    send: PARTIAL_CLIENT_HELLO,
  },
  {
    name: "stalled TLS ClientHellos, 8 addresses × 8",
    baseline: "none (TLS server)",
    server: tls,
    client: tlsClient,
    sources: addresses(8),
    perSource: 8,
    send: PARTIAL_CLIENT_HELLO,
  },
  {
    name: "unanswered secret challenges, 3 addresses × 16",
    baseline: "none (secret server)",
    server: ["--secret-file", secretPath],
    client: ["--secret-file", secretPath],
    sources: addresses(3),
    perSource: 16,
  },
  {
    name: "stalled TLS ClientHellos, 40 addresses × 1 (more addresses than places)",
    baseline: "none (TLS server)",
    server: tls,
    client: tlsClient,
    sources: addresses(40),
    perSource: 1,
    send: PARTIAL_CLIENT_HELLO,
  },
];

interface AttackRow {
  name: string;
  baseline?: string;
  held: number;
  opened: number;
  logLines: number;
  tries: number;
  gotIn: number;
  connectMs?: number;
  peakMiB?: number;
}

async function attack(spec: Attack, tries: number): Promise<AttackRow> {
  const { server, port } = await startServer(spec.server);
  await using _server = server;
  const crowd = new StallingCrowd(port, {
    sources: spec.sources,
    perSource: spec.perSource,
    send: spec.send,
    maxOpened: 100_000,
  });
  try {
    const held = spec.sources.length * spec.perSource;
    for (let waited = 0; crowd.opened < held && waited < 5000; waited += 20) await delay(20);
    await delay(500);
    const times: number[] = [];
    for (let i = 0; i < tries; i++) {
      const took = await realClient(port, spec.client);
      if (took !== undefined) times.push(took);
    }
    const peakMiB = await peakRssMiB(server.child.pid);
    return {
      name: spec.name,
      baseline: spec.baseline,
      held,
      opened: crowd.opened,
      logLines: server.stderr.lines.length,
      tries,
      gotIn: times.length,
      connectMs: times.length > 0 ? median(times) : undefined,
      peakMiB,
    };
  } finally {
    await crowd[Symbol.asyncDispose]();
  }
}

/** How long `command` takes to exit after SIGTERM once `block` has made its writes block (ms). */
async function windDown(
  command: string[],
  block: (running: Running) => Promise<() => Promise<void>>,
  stdout: "null" | "piped",
): Promise<number | undefined> {
  const running = spawn(command, stdout);
  await using _running = running;
  const release = await block(running);
  try {
    await delay(1000);
    const sent = performance.now();
    running.child.kill("SIGTERM");
    const limit = timeout(30_000);
    const status = await Promise.race([running.child.status, limit.promise]);
    limit.cancel();
    return status === undefined ? undefined : performance.now() - sent;
  } finally {
    await release();
  }
}

/** 1 MB of 100-byte lines. */
const block = encoder.encode(("x".repeat(99) + "\n").repeat(10_000));
/** Writes 40 MB to the program's stdin, or as much as it takes before it ends. */
async function feed(running: Running): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if (!(await running.stdin.write(block).then(() => true, () => false))) return;
  }
}

const windDowns: { name: string; run: () => Promise<number | undefined> }[] = [
  {
    name: "duplex server, 40 MB to send, the peer never reads",
    run: () =>
      windDown(parley("server", ["127.0.0.1", "0", "--duplex"]), async (server) => {
        const { match } = await server.stderr.waitFor(/^listening on \S*:(\d+)/);
        const peer = await Deno.connect({ hostname: "127.0.0.1", port: Number(match[1]) });
        const feeding = feed(server);
        return async () => {
          peer.close();
          await feeding;
        };
      }, "null"),
  },
  {
    name: "duplex client, 40 MB to send, the server never reads",
    run: async () => {
      using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const accepting = listener.accept();
      return await windDown(parley("client", ["127.0.0.1", String(listener.addr.port), "--duplex"]), async (client) => {
        const peer = await accepting;
        const feeding = feed(client);
        return async () => {
          peer.close();
          await feeding;
        };
      }, "null");
    },
  },
  {
    name: "server whose stdout nobody reads, while the peer floods",
    run: () =>
      windDown(parley("server", ["127.0.0.1", "0", "--duplex"]), async (server) => {
        const { match } = await server.stderr.waitFor(/^listening on \S*:(\d+)/);
        const peer = await rudeConnect(Number(match[1]));
        const flood = "flood\n".repeat(100_000);
        let stop = false;
        const flooding = (async () => {
          for (let i = 0; i < 200 && !stop; i++) {
            if (!peer.write(flood)) await new Promise((resolve) => peer.once("drain", resolve));
          }
        })();
        return async () => {
          stop = true;
          peer.destroy();
          await Promise.race([flooding, delay(100)]);
        };
      }, "piped"),
  },
];

const tries = quick ? 1 : Number(values.tries ?? 10);
const report: string[] = [`Measured ${machine()}.`, ""];

log("handshake attacks…");
const chosen = attacks.filter((spec) =>
  values.only === undefined || spec.name.includes(values.only) ||
  attacks.some((other) => other.baseline === spec.name && other.name.includes(values.only!))
);
const rows: AttackRow[] = [];
for (const spec of quick ? chosen.slice(0, 1).concat(chosen.filter((s) => s.baseline).slice(0, 1)) : chosen) {
  rows.push(await attack(spec, tries));
}
const against = (row: AttackRow) => rows.find((other) => other.name === (row.baseline ?? row.name))?.connectMs;
report.push(
  `**Handshakes held open by strangers** (32 places, 8 per address, 20 new connections per address at once and 10 ` +
    `a second; a real client from 127.0.0.1 tries ${tries} times, says one line and leaves; the attacker reopens ` +
    "every connection the server drops, for as long as the real clients try; times are to `connected`, start-up " +
    "included, and compared with the same server without an attack).",
  "",
  "| attack | held open | opened by the attacker | server log lines | real clients in | time to connect (ms) | vs no attack | server peak (MiB) |",
  "| --- | --: | --: | --: | --: | --: | --: | --: |",
  ...rows.map((row) => {
    const base = against(row);
    return `| ${row.name} | ${row.held} | ${row.opened} | ${row.logLines} | ${row.gotIn} of ${row.tries} | ${
      row.connectMs === undefined ? "–" : fixed(row.connectMs, 0)
    } | ${row.connectMs === undefined || base === undefined ? "–" : `${fixed(row.connectMs / base)}×`} | ${
      row.peakMiB === undefined ? "–" : fixed(row.peakMiB, 0)
    } |`;
  }),
  "",
);

log("wind-down…");
const rounds = quick ? 1 : 5;
report.push(
  `**Ending on SIGTERM while a write is blocked** (median of ${rounds}; the bound is 1.5 s).`,
  "",
  "| situation | time to exit (ms) |",
  "| --- | --: |",
);
for (const { name, run } of quick ? windDowns.slice(0, 1) : windDowns) {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const took = await run();
    if (took !== undefined) times.push(took);
  }
  report.push(`| ${name} | ${times.length === rounds ? fixed(median(times), 0) : "did not end"} |`);
}

const text = report.join("\n");
console.log(text);

if (values["update-docs"]) {
  const path = `${ROOT}docs/security.md`;
  const doc = Deno.readTextFileSync(path);
  const section = /<!-- hostile:start -->\n[\s\S]*?<!-- hostile:end -->/;
  if (!section.test(doc)) throw new Error("docs/security.md has no <!-- hostile:start --> … <!-- hostile:end -->");
  Deno.writeTextFileSync(path, doc.replace(section, () => `<!-- hostile:start -->\n${text}\n<!-- hostile:end -->`));
  // The tables as deno fmt lays them out, so that the check stays clean.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
  log("docs/security.md updated");
}
