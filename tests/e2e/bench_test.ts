/**
 * The benchmarks, run briefly, so that they keep working. They measure
 * nothing here: speed never fails a test.
 */

import assert from "node:assert/strict";
import { DENO, ROOT } from "../../bench/support.ts";

Deno.test("the benchmarks run in quick mode and report every measurement", async () => {
  const { code, stdout, stderr } = await new Deno.Command(DENO, {
    args: ["task", "bench", "--quick"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const report = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  for (
    const row of [
      "| parley server (alternating) |",
      "| Deno relay (the runtime's floor) |",
      "| parley --duplex |",
      "| parley --duplex --code (encrypted) |",
      "| parley client --code (alternating), secure peer |",
      "| parley client --code |",
      "| to an interactive page |",
      "| Deno socket pipe, 64 KiB buffer (the runtime's floor) |",
      "| Deno socket pipe, 1 MiB buffer (as parley's) |",
      "| flood, stdout read slowly (--duplex) |",
      "| one line without end (--max-line 64K) |",
      "| parley server (deno run) |",
      "| parley server (compiled binary) |",
    ]
  ) {
    assert.ok(report.includes(row), `${row} is not in the report:\n${report}`);
  }
  // Every peak is within the target.
  for (const match of report.matchAll(/^\| (flood|one line)[^|]*\| [\d.]+ \| (\d+) \|$/gm)) {
    assert.ok(Number(match[2]) < 100, match[0]);
  }
});

Deno.test("the hostile-network figures run in quick mode and report their tables", async () => {
  const { code, stdout, stderr } = await new Deno.Command(DENO, {
    args: ["task", "bench:hostile", "--quick"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const report = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  for (const row of ["| none (TLS server) |", "| stalled TLS ClientHellos, 3 addresses × 16 |", "| duplex server, "]) {
    assert.ok(report.includes(row), `${row} is not in the report:\n${report}`);
  }
  // Whatever the attack, the real client got in, and the program ended on SIGTERM.
  assert.doesNotMatch(report, /\| 0 of \d+ \||did not end/);
});
