import assert from "node:assert/strict";
import { parseClientArgs } from "../../lib/cli/client_program.ts";
import { UsageError } from "../../lib/io/errors.ts";
import { parseDuration, parseSize } from "../../lib/cli/options.ts";
import { parseServerArgs } from "../../lib/cli/server_program.ts";

Deno.test("options read sizes with K and M suffixes", () => {
  assert.equal(parseSize("--max-line", "65536", 1, 1 << 24), 65536);
  assert.equal(parseSize("--max-line", "64K", 1, 1 << 24), 65536);
  assert.equal(parseSize("--max-line", "64KiB", 1, 1 << 24), 65536);
  assert.equal(parseSize("--max-line", "1m", 1, 1 << 24), 1 << 20);
  for (const text of ["0", "17M", "abc", "1.5K", "-1", ""]) {
    assert.throws(() => parseSize("--max-line", text, 1, 1 << 24), UsageError, text);
  }
});

Deno.test("options read durations in seconds by default", () => {
  assert.equal(parseDuration("--connect-timeout", "10"), 10_000);
  assert.equal(parseDuration("--connect-timeout", "2.5"), 2500);
  assert.equal(parseDuration("--connect-timeout", "500ms"), 500);
  assert.equal(parseDuration("--connect-timeout", "2m"), 120_000);
  for (const text of ["0", "-1", "ten", "1h", ""]) {
    assert.throws(() => parseDuration("--connect-timeout", text), UsageError, text);
  }
});

Deno.test("server options have defaults and take positional or named host and port", () => {
  const defaults = parseServerArgs([]);
  assert.equal(defaults.host, undefined);
  assert.equal(defaults.port, 4747);
  assert.equal(defaults.keepOpen, false);
  assert.equal(defaults.maxLineBytes, 65536);
  const named = parseServerArgs(["--host", "::1", "-p", "0", "-k", "--max-line", "1K"]);
  assert.deepEqual([named.host, named.port, named.keepOpen, named.maxLineBytes], ["::1", 0, true, 1024]);
  const positional = parseServerArgs(["127.0.0.1", "5000"]);
  assert.deepEqual([positional.host, positional.port], ["127.0.0.1", 5000]);
});

Deno.test("client options default to localhost and a 10 s connect timeout", () => {
  const defaults = parseClientArgs([]);
  assert.deepEqual([defaults.host, defaults.port, defaults.connectTimeoutMs], ["localhost", 4747, 10_000]);
  const given = parseClientArgs(["[::1]:5000", "--connect-timeout", "500ms"]);
  assert.deepEqual([given.host, given.port, given.connectTimeoutMs], ["::1", 5000, 500]);
  assert.throws(() => parseClientArgs(["localhost", "0"]), /Invalid port "0"/);
});

Deno.test("options turn command-line mistakes into one-line usage errors", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /^Unknown option --bogus$/],
    [["-x"], /^Unknown option -x$/],
    [["--port"], /^Option --port needs a value/],
    [["-p"], /^Option --port needs a value/],
    [["--keep-open=yes"], /^Option --keep-open takes no value$/],
    [["--port", "--keep-open"], /^Option --port needs a value/],
    [["--host", "a", "b"], /^Host given twice/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseServerArgs(args), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  }
});
