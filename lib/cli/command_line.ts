/**
 * Strict command-line parsing: long options (`--port 80`, `--port=80`),
 * short ones (`-p 80`, `-p80`, `-kV`), `--` to end options, and positional
 * arguments. Every mistake is a one-line {@linkcode UsageError}.
 *
 * (`node:util`'s `parseArgs` would do, but loading it costs about 5 ms at
 * every start, and its errors would have to be re-worded.)
 * Workaround for no upstream issue yet: see docs/design.md#option-parser and the canary in tests/workarounds_test.ts.
 *
 * @module
 */

import { shorten, UsageError } from "../io/errors.ts";

/** How one option is written. */
export interface OptionSpec {
  /** A flag (`boolean`) or an option with a value (`string`). */
  readonly type: "boolean" | "string";
  /** A one-letter form, such as `p` for `-p`. */
  readonly short?: string;
  /** May be given more than once; all values are kept. */
  readonly multiple?: boolean;
  /**
   * The value may be left out (`--code` alone is `""`); then it can only be
   * given inline (`--code=VALUE`), and the next argument stays positional.
   */
  readonly optionalValue?: boolean;
}

/** The options a program takes, by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The values found for `T`: flags are booleans; options with values are strings (or lists). */
export type OptionValues<T extends OptionSpecs> = {
  [K in keyof T]: T[K]["type"] extends "boolean" ? boolean
    : T[K]["multiple"] extends true ? string[] | undefined
    : string | undefined;
};

/** Options and positional arguments, as found. */
export interface ParsedCommandLine<T extends OptionSpecs> {
  /** The value of each option. */
  values: OptionValues<T>;
  /** The other arguments, in order. */
  positionals: string[];
}

/**
 * Parses `args` strictly against `specs`.
 *
 * @throws {UsageError} for an unknown option, a missing value, or a value given to a flag.
 */
export function parseCommandLine<T extends OptionSpecs>(args: readonly string[], specs: T): ParsedCommandLine<T> {
  const values: Record<string, boolean | string | string[] | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.type === "boolean" ? false : undefined;
  const byShort = new Map(Object.entries(specs).flatMap(([name, spec]) => spec.short ? [[spec.short, name]] : []));
  const positionals: string[] = [];

  const set = (name: string, value: string | true) => {
    const spec = specs[name];
    if (spec.type === "boolean") values[name] = true;
    else if (spec.multiple) values[name] = [...(values[name] as string[] | undefined ?? []), value as string];
    else values[name] = value as string;
  };
  let i = 0;
  /** The value of option `name`: `inline`, or else the next argument. */
  const valueOf = (name: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const next = args[i + 1];
    if (next === undefined || (next.startsWith("-") && next !== "-")) {
      throw new UsageError(`Option --${name} needs a value (write --${name}=VALUE if it starts with -)`);
    }
    i++;
    return next;
  };

  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const [name, inline] = arg.includes("=") ? [arg.slice(2, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [
        arg.slice(2),
        undefined,
      ];
      const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
      if (spec === undefined) throw new UsageError(`Unknown option --${shorten(name)}`);
      if (spec.type === "boolean" && inline !== undefined) throw new UsageError(`Option --${name} takes no value`);
      if (spec.type === "boolean") set(name, true);
      else set(name, spec.optionalValue && inline === undefined ? "" : valueOf(name, inline));
    } else if (arg.startsWith("-") && arg.length > 1) {
      // Short options: flags may be grouped (-kV); one with a value may be joined (-p80).
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]);
        if (name === undefined) throw new UsageError(`Unknown option -${arg[j]}`);
        if (specs[name].type === "boolean") {
          set(name, true);
          continue;
        }
        set(name, valueOf(name, j + 1 < arg.length ? arg.slice(j + 1) : undefined));
        break;
      }
    } else {
      positionals.push(arg);
    }
  }
  return { values: values as OptionValues<T>, positionals };
}
