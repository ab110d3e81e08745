/**
 * Local commands of the terminal chat window, as in irssi or weechat: a
 * typed line that starts with `/` and a letter is a command for parley, not
 * a message. `//` sends a line that starts with `/`; a line that is just
 * `/`, or whose `/` is followed by anything but a letter (`/ `, `/1`,
 * `/:)`), is not a command and is sent as it is.
 *
 * Command names are matched without regard to case; what follows the name
 * is ignored (`/quit bye` leaves).
 *
 * @module
 */

/** What a typed line is for. */
export type TypedLine =
  /** A message: send `line`. */
  | { kind: "send"; line: string }
  /** `/help`: show {@linkcode HELP}. */
  | { kind: "help" }
  /** `/quit`: leave, as Ctrl+C does. */
  | { kind: "quit" }
  /** A command parley does not know, as typed (`/foo`); refused, never sent. */
  | { kind: "unknown"; name: string };

/** A command: `/`, a letter, then anything but white space. */
const COMMAND = /^\/(\p{L}\S*)/u;

/** Tells what the typed `line` (without `\n`) is for. */
export function classifyLine(line: string): TypedLine {
  if (line.startsWith("//")) return { kind: "send", line: line.slice(1) };
  const match = COMMAND.exec(line);
  if (match === null) return { kind: "send", line };
  switch (match[1].toLowerCase()) {
    case "help":
      return { kind: "help" };
    case "quit":
      return { kind: "quit" };
    default:
      return { kind: "unknown", name: `/${match[1]}` };
  }
}

/** The one line that refuses the unknown command `name` (such as `/foo`). */
export function unknownCommand(name: string): string {
  return `unknown command ${name}: /help lists the commands; // sends a line that starts with /`;
}

/** What `/help` shows: the keys and the commands, one per line. */
export const HELP: readonly string[] = [
  "keys:",
  "  Enter              send the line",
  "  Left/Right, Home/End, Ctrl+A/Ctrl+E   move in the line",
  "  Backspace/Delete   delete a character",
  "  Ctrl+W / Ctrl+U    delete the word before the cursor / everything before it",
  "  Up/Down            earlier lines; with text typed, earlier lines that begin with it",
  "  Ctrl+D             on an empty line: end your input (parley still receives)",
  "  Ctrl+C             leave",
  "  Ctrl+Z             stop parley for now; fg brings it back",
  "commands:",
  "  /help              this list",
  "  /quit              leave, as Ctrl+C does",
  "  //text             send the line /text",
];
