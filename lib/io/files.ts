/**
 * Reading files named on the command line, with one clear line when that
 * fails: which option, which file, and why.
 *
 * Only regular files are read, and only up to a size that fits what they
 * hold: a FIFO would block the program in `open` (deaf even to Ctrl+C, since
 * reading is synchronous), and `/dev/zero` would never end. So the file is
 * looked at before it is opened, and read with a cap.
 *
 * @module
 */

import { describeIoError, FileError, isIoError } from "./errors.ts";

/**
 * Reads the file `path` given to `option`, as bytes: a regular file of at
 * most `maxBytes` bytes.
 *
 * @throws {FileError} naming the option, the file and the reason.
 */
export function readOptionFile(option: string, path: string, maxBytes: number): Uint8Array<ArrayBuffer> {
  if (path === "") throw new FileError(`Cannot read ${option}: the file name is empty`);
  const fail = (reason: string, cause?: unknown) =>
    new FileError(`Cannot read ${option} ${path}: ${reason}`, { cause });
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) throw fail(notARegularFile(info));
    if (info.size > maxBytes) throw fail(`it is too large (${info.size} bytes; at most ${maxBytes})`);
    using file = Deno.openSync(path, { read: true });
    // The size was only a hint: a file may grow, and some (in /proc) say 0.
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = file.readSync(buffer.subarray(length));
      if (n === null) break;
      length += n;
    }
    if (length > maxBytes) throw fail(`it is too large (more than ${maxBytes} bytes)`);
    return buffer.slice(0, length);
  } catch (error) {
    if (error instanceof FileError) throw error;
    if (error instanceof Deno.errors.NotCapable) {
      // Deno keeps some paths (/proc, /dev…) for --allow-all; it says so in its message.
      const advice = /\ball access\b/.test(error.message)
        ? "Deno lets a program read it only with --allow-all"
        : `run with -R, or --allow-read=${path}`;
      throw fail(`read access not granted (${advice})`, error);
    }
    if (!isIoError(error)) throw error;
    throw fail(describeIoError(error), error);
  }
}

/**
 * Reads the file `path` given to `option`, as UTF-8 text: a regular file of
 * at most `maxBytes` bytes.
 *
 * @throws {FileError} naming the option, the file and the reason.
 */
export function readOptionText(option: string, path: string, maxBytes: number): string {
  const bytes = readOptionFile(option, path, maxBytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new FileError(`Cannot read ${option} ${path}: not a text file`, { cause: error });
  }
}

/** What a file that is not a regular one is, in a few words. */
function notARegularFile(info: Deno.FileInfo): string {
  if (info.isDirectory) return "it is a directory";
  if (info.isFifo) return "it is a named pipe (FIFO), not a regular file";
  if (info.isCharDevice || info.isBlockDevice) return "it is a device, not a regular file";
  if (info.isSocket) return "it is a socket, not a regular file";
  return "not a regular file";
}
