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
const tripFloor = trips.find((row) => row.name.startsWith("Deno relay"))!.p50!;
report.push(
  "**Round trip**, alternating mode: one line out over TCP and back through stdin/stdout, on loopback " +
    `(${trips[0].samples ?? 0} round trips each). Target: parley's median within 1.2× the Deno floor.`,
  "",
  "| program | median (µs) | p99 (µs) | median vs Deno floor |",
  "| --- | --: | --: | --: |",
  ...trips.map((row) =>
    row.missing
      ? `| ${row.name} | missing: ${row.missing} | | |`
      : `| ${row.name} | ${fixed(row.p50!, 0)} | ${fixed(row.p99!, 0)} | ${fixed(row.p50! / tripFloor)}× |`
  ),
  "",
);

log("throughput…");
const bulk = await throughput(quick ? { megabytes: 5, rounds: 1 } : { megabytes: 110, rounds: 11 });
const bulkFloor = bulk.rows.find((row) => row.floor)!.seconds!;
const bulkMatched = bulk.rows.find((row) => row.matched)!.seconds!;
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
