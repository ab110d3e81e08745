/**
 * The shared secret: from `--secret-file`, or from the `PARLEY_SECRET`
 * environment variable — never from the command line, which other users of
 * the machine can read in the process list.
 *
 * @module
 */

import { FileError } from "../io/errors.ts";
import { readOptionFile } from "../io/files.ts";

/** The environment variable that may hold the secret. */
export const SECRET_ENV = "PARLEY_SECRET";

/** Largest secret file read: a passphrase or a key file, not a document. */
export const MAX_SECRET_BYTES = 64 * 1024;

/**
 * True when this program may read {@linkcode SECRET_ENV}. Without that
 * permission parley never looks (asking would prompt), so a secret set there
 * goes unseen: messages say so.
 */
export function secretEnvReadable(): boolean {
  return Deno.permissions.querySync({ name: "env", variable: SECRET_ENV }).state === "granted";
}

/**
 * Reads the secret from `path` (one final newline is dropped), or else from
 * `PARLEY_SECRET` when access to it is granted. Returns `undefined` when
 * there is none.
 *
 * @throws {FileError} when the file cannot be read, is not a regular file or
 *   is over {@linkcode MAX_SECRET_BYTES}, or the secret is empty.
 */
export function loadSecret(path: string | undefined): Uint8Array<ArrayBuffer> | undefined {
  if (path !== undefined) {
    const bytes = readOptionFile("--secret-file", path, MAX_SECRET_BYTES);
    const end = bytes.at(-1) === 0x0a ? (bytes.at(-2) === 0x0d ? bytes.length - 2 : bytes.length - 1) : bytes.length;
    if (end === 0) throw new FileError(`Cannot use --secret-file ${path}: it is empty`);
    return bytes.slice(0, end);
  }
  // Asking for access that was not granted would prompt the user: look only if granted.
  if (!secretEnvReadable()) return undefined;
  const value = Deno.env.get(SECRET_ENV);
  if (value === undefined) return undefined;
  if (value === "") throw new FileError(`Cannot use ${SECRET_ENV}: it is empty`);
  return new TextEncoder().encode(value);
}
