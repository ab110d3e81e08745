/**
 * The wire strings: written once, in lib/wire/protocol.ts, and each one
 * named with its value in docs/protocol.md.
 */

import assert from "node:assert/strict";
import * as protocol from "../../lib/wire/protocol.ts";

const DOC = await Deno.readTextFile(new URL("../../docs/protocol.md", import.meta.url));

/** How a value is written in the doc: as it is, with a NUL byte as `\0`. */
function written(value: string | number): string {
  return String(value).replaceAll("\0", "\\0");
}

Deno.test("docs/protocol.md names every constant of lib/wire/protocol.ts, with its value", () => {
  const missing: string[] = [];
  for (const [name, value] of Object.entries(protocol)) {
    const named = typeof value === "function" ? `\`${name}(` : `\`${name}\``;
    if (!DOC.includes(named)) missing.push(`${name} is not named`);
    if (typeof value === "string" || typeof value === "number") {
      // A long line may be split in the doc at the end of its prefix: its own text must be there.
      const prefix = Object.entries(protocol).find(([other, text]) =>
        other !== name && typeof text === "string" && typeof value === "string" && value.startsWith(text)
      );
      const own = typeof value === "string" && prefix !== undefined ? value.slice(String(prefix[1]).length) : value;
      if (!DOC.includes(written(own))) missing.push(`${name}'s value is not given: ${written(value)}`);
    }
  }
  assert.deepEqual(missing, []);
});

Deno.test("the doc check would notice a constant the doc does not name", () => {
  assert.ok(!DOC.includes("`NOT_A_PARLEY_CONSTANT`"));
  assert.ok(Object.keys(protocol).length >= 15, "the protocol module lost its constants");
});

Deno.test("a client recognises every line that turns it away within its first CHECKED_BYTES bytes", () => {
  const prefixes = [protocol.BUSY_PREFIX, protocol.DENIED_PREFIX, protocol.OVERLOADED_PREFIX, protocol.RATE_PREFIX];
  const others = [protocol.NEEDS_CODE_PREFIX, protocol.TLS_SERVER_REPLY, protocol.PLAIN_SERVER_REPLY];
  for (const prefix of [...prefixes, ...others]) {
    assert.ok(new TextEncoder().encode(prefix).length < protocol.CHECKED_BYTES, prefix);
  }
  // A server without a code recognises the secure handshake by its first words, within the same start.
  assert.ok(new TextEncoder().encode(protocol.PAKE_PREFIX).length < protocol.CHECKED_BYTES);
  assert.ok(protocol.NEEDS_CODE_LINE.startsWith(protocol.NEEDS_CODE_PREFIX));
  assert.ok(protocol.busyLine("[::]:4747").startsWith(protocol.BUSY_PREFIX));
  assert.ok(protocol.DENIED_LINE.startsWith(protocol.DENIED_PREFIX));
  assert.ok(protocol.OVERLOADED_LINE.startsWith(protocol.OVERLOADED_PREFIX));
  assert.ok(protocol.RATE_LINE.startsWith(protocol.RATE_PREFIX));
  // No prefix is the start of another that means something else.
  for (const a of prefixes) {
    for (const b of prefixes) if (a !== b) assert.ok(!b.startsWith(a), `${a} / ${b}`);
  }
});
