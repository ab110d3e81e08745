/**
 * How the person ran this program, so that help, hints and errors name it
 * as it was typed: `parley-client` once installed as a command (see
 * `deno task install`), `build/client` when compiled, `deno run -N
 * client.ts` when run from the checkout.
 *
 * An installed command knows its name because the install task bakes
 * `--program-name NAME` in front of the arguments (a `deno install` shim
 * runs `deno run … client.ts --program-name parley-client "$@"`); it is
 * taken off before the command line is read, and only there.
 *
 * @module
 */

import { UsageError } from "../io/errors.ts";

/** How a program is named in messages and how a person runs it. */
export interface Invocation {
  /** The name that begins its messages, such as `client` or `parley-client`. */
  name: string;
  /** What a person types to run it, such as `deno run -N client.ts` or `parley-client`. */
  command: string;
}

/** The option the install task bakes into a command; only as the first argument. */
export const PROGRAM_NAME_OPTION = "--program-name";

/** A command name the install task may give: a plain file name. */
const COMMAND_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Takes the baked `--program-name NAME` off the front of `args`; resolves
 * the invocation of `program` (`server` or `client`) and the arguments left.
 *
 * @throws {UsageError} when the name is missing or not a plain file name.
 */
export function readInvocation(program: string, args: string[]): { invocation: Invocation; args: string[] } {
  if (args[0] !== PROGRAM_NAME_OPTION) return { invocation: defaultInvocation(program), args };
  const name = args[1];
  if (name === undefined || !COMMAND_NAME.test(name)) {
    throw new UsageError(`${PROGRAM_NAME_OPTION} needs a command name (letters, digits, ".", "_", "-")`);
  }
  return { invocation: { name, command: name }, args: args.slice(2) };
}

/**
 * The invocation when nothing was baked in: a compiled program is its file
 * name; a script is `deno run -N` and its path (relative to the working
 * directory when it lies inside it, as a person would type it).
 */
export function defaultInvocation(program: string): Invocation {
  if (Deno.build.standalone) {
    const name = Deno.execPath().split(/[\\/]/).pop() ?? program;
    return { name, command: name };
  }
  return { name: program, command: `deno run -N ${scriptPath(`${program}.ts`)}` };
}

/**
 * The command that runs the other program of the pair (the client, for
 * the server's `connect with:` line), with `permissions` for `deno run`.
 */
export function siblingCommand(invocation: Invocation, sibling: string, permissions: string[]): string {
  const self = sibling === "client" ? "server" : "client";
  if (Deno.build.standalone) {
    return Deno.execPath().replace(new RegExp(`${self}(\\.exe)?$`), `${sibling}$1`);
  }
  // An installed command named after its role (parley-server): its sibling is named the same way.
  if (!invocation.command.startsWith("deno ") && invocation.command.includes(self)) {
    return invocation.command.replace(self, sibling);
  }
  return `deno run ${permissions.join(" ")} ${scriptPath(`${sibling}.ts`)}`;
}

/**
 * Where the entry point `file` is, as a person types it: relative to the
 * working directory when inside it, else the full path in the platform's
 * form; its URL when parley runs from the web.
 */
export function scriptPath(file: string): string {
  const dir = import.meta.dirname; // lib/cli, in the platform's form; undefined for a remote module
  if (dir === undefined) return new URL(`../../${file}`, import.meta.url).href;
  const separator = Deno.build.os === "windows" ? "\\" : "/";
  const parts = dir.split(separator);
  parts.splice(-2, 2, file);
  const path = parts.join(separator);
  let cwd: string | undefined;
  try {
    cwd = Deno.cwd();
  } catch {
    // No read permission, or the directory is gone: the full path is true anyway.
  }
  return cwd !== undefined && path.startsWith(cwd + separator) ? path.slice(cwd.length + 1) : path;
}
