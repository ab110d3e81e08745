/**
 * Reading files named on the command line, with one clear line when that
 * fails: which option, which file, and why.
 *
 * @module
 */

import { FileError } from "./errors.ts";

/**
 * Reads the file `path` given to `option`, as bytes.
 *
 * @throws {FileError} naming the option, the file and the reason.
 */
export function readOptionFile(option: string, path: string): Uint8Array<ArrayBuffer> {
  try {
    return Deno.readFileSync(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.NotCapable
      ? `read access not granted (run with -R, or --allow-read=${path})`
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : undefined;
    if (reason === undefined) throw error;
    throw new FileError(`Cannot read ${option} ${path}: ${reason}`, { cause: error });
  }
}

/**
 * Reads the file `path` given to `option`, as UTF-8 text.
 *
 * @throws {FileError} naming the option, the file and the reason.
 */
export function readOptionText(option: string, path: string): string {
  const bytes = readOptionFile(option, path);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new FileError(`Cannot read ${option} ${path}: not a text file`, { cause: error });
  }
}
