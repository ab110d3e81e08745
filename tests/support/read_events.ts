/**
 * Reading a whole input with a {@linkcode LineReader} into a list of events,
 * line by line or in runs as the session does, checking on the way that the
 * reader never holds more than its buffer.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ByteClass } from "../../lib/wire/byte_class.ts";
import { LineReader, LineTooLongError } from "../../lib/wire/line_reader.ts";
import { ChunkSource } from "./net.ts";

/** What reading yields: a line, a line over the limit, or a last line cut off by the end. */
export type LineEvent = string | { tooLong: number } | { unterminated: string };

/** How to read: the limit, and the class of plain bytes to read runs of (line by line when absent). */
export interface ReadOptions {
  /** The reader's limit, in bytes. */
  maxLineBytes: number;
  /** Read runs of lines of this class first, as the session does. */
  runs?: ByteClass;
  /** The reader's smallest buffer; the smallest the limit allows when absent. */
  minBufferBytes?: number;
}

/** Reads all of `chunks` and returns what came out. */
export async function readEvents(chunks: Iterable<Uint8Array | string>, options: ReadOptions): Promise<LineEvent[]> {
  const reader = new LineReader(new ChunkSource(chunks), {
    maxLineBytes: options.maxLineBytes,
    minBufferBytes: options.minBufferBytes ?? 1,
  });
  const events: LineEvent[] = [];
  for (;;) {
    assert.ok(reader.bufferedBytes <= reader.capacity, "buffer over capacity");
    const run = options.runs && reader.tryReadPlainLines(options.runs);
    if (run !== undefined) {
      const lines = new TextDecoder().decode(run.bytes).split("\n");
      assert.equal(lines.pop(), "", "a run ends with a newline");
      assert.equal(lines.length, run.lines, "a run counts its lines");
      events.push(...lines);
      continue;
    }
    let line: Uint8Array | null | undefined;
    try {
      line = reader.tryReadLineBytes();
    } catch (error) {
      if (!(error instanceof LineTooLongError)) throw error;
      events.push({ tooLong: error.limit });
      continue;
    }
    if (line === undefined) {
      await reader.fill();
      continue;
    }
    if (line === null) return events;
    const text = reader.decode(line);
    events.push(reader.terminated ? text : { unterminated: text });
  }
}
