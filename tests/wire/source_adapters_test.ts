import assert from "node:assert/strict";
import { CHECKED_BYTES } from "../../lib/wire/protocol.ts";
import { CheckedSource, PrefixedSource } from "../../lib/wire/source_adapters.ts";
import { ChunkSource } from "../support/net.ts";

const encoder = new TextEncoder();

async function readAll(source: { read(p: Uint8Array): Promise<number | null> }): Promise<string> {
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(7);
  for (let n = await source.read(buffer); n !== null; n = await source.read(buffer)) parts.push(buffer.slice(0, n));
  return new TextDecoder().decode(new Uint8Array(parts.flatMap((part) => [...part])));
}

Deno.test("checked source sees the whole first line even when it arrives a byte at a time", async () => {
  const text = "busy: the parley server is busy\nmore after it\n";
  const seen: string[] = [];
  const source = new CheckedSource(
    new ChunkSource(Array.from(encoder.encode(text), (b) => new Uint8Array([b]))),
    (start) => {
      seen.push(new TextDecoder().decode(start));
      return Promise.resolve();
    },
  );
  assert.equal(await readAll(source), text);
  assert.deepEqual(seen, ["busy: the parley server is busy\n"]);
});

Deno.test("checked source looks at no more than its limit when there is no newline", async () => {
  const text = "x".repeat(200);
  let seen = 0;
  const source = new CheckedSource(new ChunkSource([text.slice(0, 10), text.slice(10)]), (start) => {
    seen = start.length;
    return Promise.resolve();
  });
  assert.equal(await readAll(source), text);
  assert.equal(seen, CHECKED_BYTES);
});

Deno.test("checked source fails the read when the check throws, and checks nothing for an empty stream", async () => {
  const refusing = new CheckedSource(new ChunkSource(["no thanks\n"]), () => Promise.reject(new Error("refused")));
  await assert.rejects(refusing.read(new Uint8Array(10)), /refused/);
  let checked = false;
  const empty = new CheckedSource(new ChunkSource([]), () => {
    checked = true;
    return Promise.resolve();
  });
  assert.equal(await empty.read(new Uint8Array(10)), null);
  assert.equal(checked, false);
});

Deno.test("prefixed source hands out the prefix, then the source", async () => {
  assert.equal(
    await readAll(new PrefixedSource(encoder.encode("left over, "), new ChunkSource(["then the rest"]))),
    "left over, then the rest",
  );
});

Deno.test("checked source stops gathering as soon as the start decides, with no line end and the stream open", async () => {
  // Two bytes, then a read that would wait for ever: the check must not need it.
  const start = new Uint8Array([0x15, 0x03]);
  let reads = 0;
  const source = new CheckedSource(
    {
      read(p: Uint8Array): Promise<number | null> {
        reads++;
        if (reads > 1) return new Promise(() => {});
        p.set(start);
        return Promise.resolve(start.length);
      },
    },
    (first) => Promise.reject(new Error(`decided on ${first.length} bytes`)),
    (first) => first.length >= 2 && first[1] === 0x03,
  );
  await assert.rejects(source.read(new Uint8Array(16)), /decided on 2 bytes/);
  assert.equal(reads, 1);
});
