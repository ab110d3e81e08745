/**
 * Command-line values shared by both programs: the options both take, sizes
 * and durations. Every mistake is a {@linkcode UsageError}.
 *
 * @module
 */

import { quote, UsageError } from "../io/errors.ts";
import type { OptionSpecs } from "./command_line.ts";

/** Default limit on a line's length: 64 KiB, as Redis caps an inline request. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** Highest `--max-line` accepted: each side holds one buffer of this size. */
export const MAX_MAX_LINE_BYTES = 16 * 1024 * 1024;

const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 * 1024 };
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, "": 1000 };

/**
 * Reads a size in bytes: `65536`, `64K`, `64KiB`, `1M`. K and M are 1024-based.
 *
 * @throws {UsageError} when it is malformed or not within `[min, max]`.
 */
export function parseSize(option: string, text: string, min: number, max: number): number {
  const match = /^(\d+)\s*(?:([kKmM])(?:i?B)?)?$/.exec(text);
  const bytes = match ? Number(match[1]) * SIZE_UNITS[(match[2] ?? "").toLowerCase()] : NaN;
  if (!(bytes >= min && bytes <= max)) {
    throw new UsageError(
      `Invalid ${option} ${quote(text)}: expected a size from ${min} to ${max} bytes (such as 64K or 1M)`,
    );
  }
  return bytes;
}

/** Options every program has. */
export interface CommonOptions {
  /** `--help`: print usage and exit. */
  help: boolean;
  /** `--version`: print the version and exit. */
  version: boolean;
  /** `--max-line`: longest line sent or accepted, in bytes. */
  maxLineBytes: number;
  /** `--duplex`: send and receive at any time instead of taking turns. */
  duplex: boolean;
  /** `--name`: how the other side is shown on a terminal, instead of its address. */
  name: string | undefined;
  /** `--timestamps`: show the time of each message on a terminal. */
  timestamps: boolean;
  /** `--secret-file`: where the shared secret is. */
  secretFile: string | undefined;
  /** `--handshake-timeout`: time allowed for the TLS and secret handshakes (ms). */
  handshakeTimeoutMs: number;
  /** `--idle-timeout`: end a session after this long without a message (ms). */
  idleTimeoutMs: number | undefined;
  /** `--log`: the file the conversation is appended to. */
  log: string | undefined;
  /** `--bell`: on a terminal, ring the bell for a message that comes while the window is not focused. */
  bell: boolean;
  /** `--web` (or `--web-port`): chat in a page served on 127.0.0.1, on this port (0: a free one). */
  webPort: number | undefined;
}

/** Default time allowed for the TLS and secret handshakes: 10 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The option specs behind {@linkcode CommonOptions}, for `parseArgs`. */
export const COMMON_OPTIONS = {
  "max-line": { type: "string" },
  duplex: { type: "boolean" },
  name: { type: "string" },
  timestamps: { type: "boolean" },
  "secret-file": { type: "string" },
  "handshake-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  log: { type: "string" },
  bell: { type: "boolean" },
  web: { type: "boolean" },
  "web-port": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const satisfies OptionSpecs;

/** The help lines for {@linkcode COMMON_OPTIONS}. */
export const COMMON_HELP = `\
      --duplex         send and receive at any time instead of taking turns
      --name LABEL     on a terminal, show the other side as LABEL (not sent)
      --timestamps     on a terminal, show the time of each message
      --secret-file FILE
                       a private session with the secret in FILE (or in the
                       PARLEY_SECRET environment variable) as its code; both
                       sides need the same; it is never sent
      --handshake-timeout TIME
                       time allowed for the TLS and code handshakes (10s)
      --idle-timeout TIME
                       end a session after TIME without a message either way
      --max-line SIZE  longest line sent or accepted (default: 64K; up to 16M)
      --log FILE       append the conversation to FILE, with the date and time
                       (created readable by you only; needs --allow-write=FILE)
      --bell           on a terminal, ring the bell for a message that comes
                       while the window is not focused
      --web            chat in a page in your browser: parley serves it on
                       127.0.0.1 and prints its address (with a token)
      --web-port PORT  the page's port (default: a free one; implies --web)
  -h, --help           show this help and exit
  -V, --version        show the version and exit`;

/**
 * Reads the values of {@linkcode COMMON_OPTIONS}.
 *
 * @throws {UsageError} when one is wrong.
 */
export function parseCommonOptions(values: {
  "max-line"?: string;
  duplex: boolean;
  name?: string;
  timestamps: boolean;
  "secret-file"?: string;
  "handshake-timeout"?: string;
  "idle-timeout"?: string;
  log?: string;
  bell?: boolean;
  web?: boolean;
  "web-port"?: string;
  help: boolean;
  version: boolean;
}): CommonOptions {
  if (values.name !== undefined && !/^[^\p{Cc}\p{Cf}]{1,64}$/u.test(values.name)) {
    throw new UsageError(`Invalid --name ${quote(values.name)}: expected 1 to 64 printable characters`);
  }
  if (values.log === "") throw new UsageError(`Invalid --log "": expected a file name`);
  return {
    help: values.help,
    version: values.version,
    maxLineBytes: parseMaxLine(values["max-line"]),
    duplex: values.duplex,
    name: values.name,
    timestamps: values.timestamps,
    secretFile: values["secret-file"],
    handshakeTimeoutMs: values["handshake-timeout"] === undefined
      ? DEFAULT_HANDSHAKE_TIMEOUT_MS
      : parseDuration("--handshake-timeout", values["handshake-timeout"]),
    idleTimeoutMs: values["idle-timeout"] === undefined
      ? undefined
      : parseDuration("--idle-timeout", values["idle-timeout"]),
    log: values.log,
    bell: values.bell ?? false,
    webPort: values["web-port"] !== undefined ? parseWebPort(values["web-port"]) : values.web ? 0 : undefined,
  };
}

/**
 * Reads `--web-port`: 0 to 65535.
 *
 * @throws {UsageError} when it is not.
 */
function parseWebPort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`Invalid --web-port ${quote(text)}: expected a number from 0 to 65535`);
  }
  return Number(text);
}

/**
 * Reads `--max-line`, or gives the default when it is absent.
 *
 * @throws {UsageError} when it is malformed or out of range.
 */
export function parseMaxLine(text: string | undefined): number {
  return text === undefined ? DEFAULT_MAX_LINE_BYTES : parseSize("--max-line", text, 1, MAX_MAX_LINE_BYTES);
}

/**
 * Reads a duration: seconds by default (`10`, `2.5`), or with a unit
 * (`500ms`, `10s`, `2m`). Returns milliseconds.
 *
 * @throws {UsageError} when it is malformed, not positive, or over a day.
 */
export function parseDuration(option: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text);
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2] ?? ""] : NaN;
  if (!(ms > 0 && ms <= 86_400_000)) {
    throw new UsageError(
      `Invalid ${option} ${quote(text)}: expected a duration such as 10, 2.5s or 500ms`,
    );
  }
  return Math.ceil(ms);
}
