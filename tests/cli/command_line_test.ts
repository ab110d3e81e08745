import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/command_line.ts";
import { UsageError } from "../../lib/io/errors.ts";

const SPECS = {
  port: { type: "string", short: "p" },
  "keep-open": { type: "boolean", short: "k" },
  version: { type: "boolean", short: "V" },
  allow: { type: "string", multiple: true },
} as const;

Deno.test("command line: long and short options, joined values, grouped flags, positionals", () => {
  const { values, positionals } = parseCommandLine(
    ["host", "--port", "80", "-kV", "--allow=10.0.0.0/8", "--allow", "::1", "-p81", "last"],
    SPECS,
  );
  assert.deepEqual(values, { port: "81", "keep-open": true, version: true, allow: ["10.0.0.0/8", "::1"] });
  assert.deepEqual(positionals, ["host", "last"]);
});

Deno.test("command line: defaults, -- and a lone -", () => {
  const { values, positionals } = parseCommandLine(["-", "--", "--port", "-k"], SPECS);
  assert.deepEqual(values, { port: undefined, "keep-open": false, version: false, allow: undefined });
  assert.deepEqual(positionals, ["-", "--port", "-k"]);
  assert.deepEqual(parseCommandLine(["--port=-1"], SPECS).values.port, "-1");
});

Deno.test("command line: mistakes are one-line usage errors", () => {
  const cases: [string[], string][] = [
    [["--nope"], "Unknown option --nope"],
    [["-x"], "Unknown option -x"],
    [["-kx"], "Unknown option -x"],
    [["--port"], "Option --port needs a value (write --port=VALUE if it starts with -)"],
    [["-p"], "Option --port needs a value (write --port=VALUE if it starts with -)"],
    [["--port", "-k"], "Option --port needs a value (write --port=VALUE if it starts with -)"],
    [["--keep-open=yes"], "Option --keep-open takes no value"],
    [["--constructor"], "Unknown option --constructor"],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCommandLine(args, SPECS), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, message);
      return true;
    });
  }
});
