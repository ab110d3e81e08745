/**
 * Line scanning behind one small interface, {@linkcode LineScanner}: a byte
 * buffer that finds the run of complete lines made only of a
 * {@linkcode ByteClass} at the start of a range. That is the fast path for
 * bulk traffic: JavaScript looking at every byte was most of the cost of
 * moving a large file.
 *
 * Two implementations, side by side:
 *
 * - {@linkcode ReferenceScanBuffer}, plain JavaScript, one byte at a time:
 *   the documented meaning of a scan. Read it to know what a scan returns.
 * - {@linkcode ScanBuffer}, the one parley uses: its buffer lives in
 *   WebAssembly memory, where the SIMD scanner of `plain_scan.wat` (built
 *   into `plain_scan_wasm.ts` by `deno task build:wasm`) looks at the bytes
 *   where they were read, sixteen at a time, without a copy. It must return
 *   exactly what the reference returns; tests/wire/scan_buffer_test.ts checks
 *   that for every class, input and place in the buffer, and
 *   docs/performance.md gives what it gains (3.2× end to end on bulk input).
 *
 * @module
 */

import type { ByteClass } from "./byte_class.ts";
import { PLAIN_SCAN_WASM_BASE64 } from "./plain_scan_wasm.ts";

const LF = 0x0a;
/** Where the scanner's memory holds its tables, and where buffers start. */
const TABLES_OFFSET = 0;
const BUFFER_OFFSET = 64;
const PAGE_BYTES = 64 * 1024;

/** What a scan found at the start of a range. */
export interface LineScan {
  /** Offset, from the range's start, just after the last `\n` of the run of complete lines; 0 when there is none. */
  end: number;
  /** How many lines the run holds. */
  lines: number;
  /** True when the scan stopped at a byte outside the class (in the line after the run). */
  stopped: boolean;
}

/** A byte buffer that scans itself for runs of plain lines. */
export interface LineScanner {
  /** The buffer: read into it as into any `Uint8Array`; the view stays valid for the scanner's life. */
  readonly bytes: Uint8Array;
  /**
   * Finds the run of complete lines, each of bytes in `plain` and ending in
   * `\n`, at the start of `bytes[from, to)`.
   *
   * @throws {RangeError} when the range is not inside the buffer.
   */
  scanLines(plain: ByteClass, from: number, to: number): LineScan;
}

/**
 * The meaning of a scan, in plain JavaScript: walks the range one byte at a
 * time, counting lines, until a byte outside `plain` (other than `\n`).
 */
export class ReferenceScanBuffer implements LineScanner {
  /** The buffer. */
  readonly bytes: Uint8Array;

  /** Creates a buffer of `size` bytes. */
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  /** Finds the run of complete plain lines at the start of `bytes[from, to)`. */
  scanLines(plain: ByteClass, from: number, to: number): LineScan {
    checkRange(from, to, this.bytes.length);
    let end = 0;
    let lines = 0;
    for (let i = from; i < to; i++) {
      const byte = this.bytes[i];
      if (byte === LF) {
        lines++;
        end = i + 1 - from;
      } else if (!plain.has(byte)) {
        return { end, lines, stopped: true };
      }
    }
    return { end, lines, stopped: false };
  }
}

function checkRange(from: number, to: number, length: number): void {
  if (!(0 <= from && from <= to && to <= length)) {
    throw new RangeError(`cannot scan [${from}, ${to}) of a ${length}-byte buffer`);
  }
}

interface ScannerExports {
  memory: WebAssembly.Memory;
  scan(block: number, length: number): number;
  lines: WebAssembly.Global;
}

let compiled: WebAssembly.Module | undefined;

function scannerModule(): WebAssembly.Module {
  // fromBase64, not atob: the first atob in a process costs over a millisecond.
  compiled ??= new WebAssembly.Module(Uint8Array.fromBase64(PLAIN_SCAN_WASM_BASE64));
  return compiled;
}

/**
 * A fixed-size byte buffer in WebAssembly memory, scanned by SIMD: the same
 * results as {@linkcode ReferenceScanBuffer}, many times faster.
 */
export class ScanBuffer implements LineScanner {
  /** The buffer. */
  readonly bytes: Uint8Array;
  #scanner: ScannerExports;
  #memory: Uint8Array;
  #loaded: ByteClass | undefined;

  /** Creates a buffer of `size` bytes. */
  constructor(size: number) {
    this.#scanner = new WebAssembly.Instance(scannerModule()).exports as unknown as ScannerExports;
    const memory = this.#scanner.memory;
    const pages = Math.ceil((BUFFER_OFFSET + size) / PAGE_BYTES);
    // Grown once, now: growing later would detach every view of the memory.
    if (pages > memory.buffer.byteLength / PAGE_BYTES) memory.grow(pages - memory.buffer.byteLength / PAGE_BYTES);
    this.#memory = new Uint8Array(memory.buffer);
    this.bytes = this.#memory.subarray(BUFFER_OFFSET, BUFFER_OFFSET + size);
  }

  /**
   * Finds the run of complete lines, each of bytes in `plain` and ending in
   * `\n`, at the start of `bytes[from, to)`.
   */
  scanLines(plain: ByteClass, from: number, to: number): LineScan {
    checkRange(from, to, this.bytes.length);
    if (this.#loaded !== plain) {
      this.#memory.set(plain.scannerTables, TABLES_OFFSET);
      this.#loaded = plain;
    }
    // The scanner finds where the class ends and counts the lines before;
    // the run ends at the last of those lines.
    const stop = this.#scanner.scan(BUFFER_OFFSET + from, to - from);
    const lines = this.#scanner.lines.value as number;
    const end = lines === 0 ? 0 : this.bytes.lastIndexOf(LF, from + stop - 1) + 1 - from;
    return { end, lines, stopped: stop < to - from };
  }
}
