/**
 * Runs every benchmark and prints a report in Markdown: parley beside its
 * baselines, measured in the same run, as ratios. Benchmarks never fail on
 * speed; they say plainly which baselines were missing.
 *
 * ```sh
 * deno task bench                  # the full run (a few minutes)
 * deno task bench --quick          # a short run, to see that it all works
 * deno task bench --update-readme  # also put the report in docs/performance.md
 * ```
 *
 * @module
 */

import { parseCommandLine } from "../lib/cli/command_line.ts";
import { memory } from "./memory.ts";
import { roundTrip } from "./round_trip.ts";
import { startup } from "./startup.ts";
import { handshake } from "./handshake.ts";
import { webLoad, webLoadMissing } from "./web.ts";
import { fixed, machine, ROOT } from "./support.ts";
import { throughput } from "./throughput.ts";
import { BULK_BUFFER_BYTES } from "../lib/wire/line_reader.ts";

const { values } = parseCommandLine(Deno.args, {
  quick: { type: "boolean" },
  "update-readme": { type: "boolean" },
});
const quick = values.quick;

const report: string[] = [`Measured ${machine()}.`, ""];
const log = (text: string) => console.error(text);

log("round trip…");
const trips = await roundTrip(
  quick ? { iterations: 100, warmup: 20, rounds: 1 } : { iterations: 2000, warmup: 300, rounds: 3 },
);
const tripFloor = trips.find((row) => row.floor)!.p50!;
const tripPlain = trips.find((row) => row.parley === "client")!;
const tripServer = trips.find((row) => row.parley === "server")!;
const tripSecure = trips.find((row) => row.parley === "client --code")!;
report.push(
  "**Round trip**, alternating mode: one line out over TCP and back through stdin/stdout, on loopback " +
    `(${trips[0].samples ?? 0} round trips each). Target: the parley server's median within 1.2× the Deno floor. ` +
    "A client under test is typed the line and the reply comes over TCP (it speaks first); `client --code` meets a " +
    "peer speaking the secure session, built in the benchmark from parley's own library.",
  "",
  "| program | median (µs) | p99 (µs) | median vs Deno floor |",
  "| --- | --: | --: | --: |",
  ...trips.map((row) =>
    row.missing
      ? `| ${row.name} | missing: ${row.missing} | | |`
      : `| ${row.name}${row.stalled ? ` (${row.stalled}; ${row.samples} round trips measured)` : ""} | ${
        fixed(row.p50!, 0)
      } | ${fixed(row.p99!, 0)} | ${fixed(row.p50! / tripFloor)}× |`
  ),
  "",
  tripSecure.p50 === undefined || tripPlain.p50 === undefined || tripServer.p50 === undefined
    ? "**Encrypted round trip**: not measured (see the table)."
    : `**Encrypted round trip**: the median of \`client --code\` is ${fixed(tripSecure.p50, 0)} µs, against ` +
      `${fixed(tripPlain.p50, 0)} µs for the plain client: ${fixed(tripSecure.p50 / tripPlain.p50)}× ` +
      `(${fixed(tripSecure.p50 / tripServer.p50)}× the plain server's). Target: at most 1.3× plain parley's.`,
  "",
);

log("throughput…");
const bulk = await throughput(quick ? { megabytes: 5, rounds: 1 } : { megabytes: 110, rounds: 11 });
const bulkFloor = bulk.rows.find((row) => row.floor)!.seconds!;
const bulkMatched = bulk.rows.find((row) => row.matched)!.seconds!;
const bulkPlain = bulk.rows.find((row) => row.parley === "plain")!;
const bulkSecure = bulk.rows.find((row) => row.parley === "encrypted")!;
report.push(
  `**Bulk throughput**, duplex mode: ${fixed(bulk.bytes / 1e6, 0)} MB of short lines from client to server, ` +
    "output to /dev/null, start-up included (median of the runs). Target: parley at least 0.8× the speed of the " +
    `Deno pipe. parley reads in blocks of ${BULK_BUFFER_BYTES / 2 ** 20} MiB; the last column compares with a pipe ` +
    "that does too.",
  "",
  "| programs | time (s) | MB/s | speed vs Deno pipe | speed vs pipe with parley's buffer |",
  "| --- | --: | --: | --: | --: |",
  ...bulk.rows.map((row) =>
    row.missing
      ? `| ${row.name} | missing: ${row.missing} | | | |`
      : `| ${row.name} | ${fixed(row.seconds!, 3)} | ${fixed(row.megabytesPerSecond!, 0)} | ${
        fixed(bulkFloor / row.seconds!)
      }× | ${fixed(bulkMatched / row.seconds!)}× |`
  ),
  "",
  `**Encrypted bulk throughput**: \`--duplex --code\` on both sides (handshake included) moves the file at ` +
    `${fixed(bulkSecure.megabytesPerSecond!, 0)} MB/s, against ${fixed(bulkPlain.megabytesPerSecond!, 0)} MB/s for ` +
    `plain parley: ${fixed(bulkPlain.seconds! / bulkSecure.seconds!)}× its speed, every byte delivered. ` +
    "Target: at least 0.5× plain parley's speed.",
  "",
);

log("memory…");
const memoryRows = await memory(quick ? { floodMs: 500, lineMegabytes: 20 } : { floodMs: 5000, lineMegabytes: 512 });
report.push(
  "**Memory**: peak resident size of the receiving server. Target: under 100 MiB whatever the input.",
  "",
  "| situation | sent by the peer (MB) | peak (MiB) |",
  "| --- | --: | --: |",
  ...memoryRows.map((row) => `| ${row.name} | ${fixed(row.sentMegabytes, 1)} | ${fixed(row.peakMiB, 0)} |`),
  "",
);

log("start-up…");
const starts = await startup(quick ? 2 : 10);
report.push(
  "**Start-up**: from launch to `listening on` (median).",
  "",
  "| program | time (ms) |",
  "| --- | --: |",
  ...starts.map((row) => `| ${row.name} | ${row.missing ? `missing: ${row.missing}` : fixed(row.ms!, 0)} |`),
  "",
);

log("handshake…");
const shakes = await handshake(quick ? 3 : 15);
const shakePlain = shakes.find((row) => row.parley === "plain")!;
const shakeSecure = shakes.find((row) => row.parley === "encrypted")!;
report.push(
  "**Handshake**: from launching the client (its server already listening) to `connected to` on its stderr and to " +
    `its first line on the server's stdout, on loopback (median of ${shakePlain.runs} runs each, taking turns).`,
  "",
  "| client | to `connected to` (ms) | to the first line at the server (ms) |",
  "| --- | --: | --: |",
  ...shakes.map((row) => `| ${row.name} | ${fixed(row.connectedMs, 0)} | ${fixed(row.firstLineMs, 0)} |`),
  "",
  `The secure handshake adds ${fixed(shakeSecure.firstLineMs - shakePlain.firstLineMs, 0)} ms to the first line ` +
    `(${fixed(shakeSecure.connectedMs - shakePlain.connectedMs, 0)} ms to \`connected to\`).`,
  "",
);

log("chat page…");
const webRuns = quick ? 1 : 5;
const webMissing = webLoadMissing();
const web = webMissing === undefined ? await webLoad(webRuns) : undefined;
report.push(
  "**Chat page** (`--web`): from launching `server --web` to its page being interactive in headless chromium (the " +
    "Message box enabled, the peer shown) and to the peer's first line shown in the conversation, on loopback. A raw " +
    "peer connects as soon as the server listens and sends its line once the page is interactive; the browser, " +
    `already running, opens the printed address at once (median of ${webRuns} run${webRuns === 1 ? "" : "s"}). ` +
    "Target: interactive within 1 s on loopback.",
  "",
  "| from launching the server | time (ms) |",
  "| --- | --: |",
  ...(web === undefined ? [`| chat page in chromium | missing: ${webMissing} |`] : [
    `| to an interactive page | ${fixed(web.pageMs, 0)} |`,
    `| to the peer's first line shown | ${fixed(web.firstMessageMs, 0)} |`,
  ]),
);

const text = report.join("\n");
console.log(text);

// The flag keeps its old name; the tables moved from the README to docs/performance.md.
if (values["update-readme"]) {
  const path = `${ROOT}docs/performance.md`;
  const doc = Deno.readTextFileSync(path);
  const section = /<!-- bench:start -->\n[\s\S]*?<!-- bench:end -->/;
  if (!section.test(doc)) {
    throw new Error("docs/performance.md has no <!-- bench:start --> … <!-- bench:end --> section");
  }
  Deno.writeTextFileSync(path, doc.replace(section, () => `<!-- bench:start -->\n${text}\n<!-- bench:end -->`));
  // The tables as deno fmt lays them out, so that the check stays clean.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
  log("docs/performance.md updated");
}
