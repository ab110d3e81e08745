/**
 * Attention for a chat window whose terminal is not looked at: the
 * terminal's title says `parley: PEER`, and `(N) parley: PEER` once `N`
 * messages came in while the window was not focused; `--bell` also rings
 * the terminal's bell for each of them.
 *
 * The title is set with OSC 2, after saving the terminal's own on its title
 * stack (`CSI 22;0 t`), which gives it back when {@linkcode Attention.stop}
 * pops it (`CSI 23;0 t`). Focus comes from focus reporting (`CSI ? 1004 h`):
 * the terminal then sends `CSI I` and `CSI O` among the keys, which a
 * {@linkcode FocusFilter} takes out before the line editor sees them.
 *
 * @module
 */

import { escapeControls } from "./render.ts";

/** Where the terminal's control sequences are written: the screen. */
export interface ControlSink {
  /** Writes `text` as it is. */
  write(text: string): unknown;
}

/** Save the title on the terminal's title stack. */
export const PUSH_TITLE = "\x1b[22;0t";
/** Give back the title saved by {@linkcode PUSH_TITLE}. */
export const POP_TITLE = "\x1b[23;0t";
/** Ask the terminal to report focus in and out. */
export const FOCUS_ON = "\x1b[?1004h";
/** Stop focus reports. */
export const FOCUS_OFF = "\x1b[?1004l";
/** The bell. */
export const BELL = "\x07";
/** What the title is made of, at most, in characters. */
const TITLE_CHARS = 128;

/** Sets the window title to `text`, which must hold no control characters. */
export function setTitle(text: string): string {
  return `\x1b]2;${text}\x07`;
}

/** What the title says, from the peer's name (`undefined` while there is none) and the unread count. */
export function titleText(peer: string | undefined, unread: number): string {
  // Made visible by the escaping edge, then anything still a control character
  // (none should be) is dropped: OSC text ends at the first BEL or ESC.
  const name = peer === undefined ? "" : `: ${escapeControls(peer)}`.replace(/[\p{Cc}\p{Cf}]/gu, "");
  const count = unread > 0 ? `(${unread}) ` : "";
  return `${count}parley${name}`.slice(0, TITLE_CHARS);
}

/** The title, the unread count and the bell (see the module doc). */
export class Attention {
  #out: ControlSink;
  #bell: boolean;
  #peer: string | undefined;
  #focused = true;
  #unread = 0;
  #active = false;

  /** Writes to `out`; with `bell`, rings for each message that comes unseen. */
  constructor(out: ControlSink, options: { bell: boolean }) {
    this.#out = out;
    this.#bell = options.bell;
  }

  /** Messages that came while the window was not focused, since it last was. */
  get unread(): number {
    return this.#unread;
  }

  /** The window is focused, as far as the terminal said. */
  get focused(): boolean {
    return this.#focused;
  }

  /** Saves the terminal's title, sets ours and turns focus reporting on. */
  start(): void {
    if (this.#active) return;
    this.#active = true;
    this.#out.write(PUSH_TITLE + FOCUS_ON + setTitle(titleText(this.#peer, this.#unread)));
  }

  /** Turns focus reporting off and gives the terminal its title back. */
  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#out.write(FOCUS_OFF + POP_TITLE);
  }

  /** The title names `peer` (`undefined`: no peer, while waiting). */
  setPeer(peer: string | undefined): void {
    if (peer === this.#peer) return;
    this.#peer = peer;
    this.#showTitle();
  }

  /** The terminal reported focus in (`true`) or out; focus in clears the unread count. */
  focus(focused: boolean): void {
    this.#focused = focused;
    if (focused && this.#unread > 0) {
      this.#unread = 0;
      this.#showTitle();
    }
  }

  /** A message (or a run of lines) came from the peer: counted, and rung, when the window is not focused. */
  message(): void {
    if (this.#focused) return;
    this.#unread++;
    if (!this.#active) return;
    this.#out.write((this.#bell ? BELL : "") + setTitle(titleText(this.#peer, this.#unread)));
  }

  #showTitle(): void {
    if (this.#active) this.#out.write(setTitle(titleText(this.#peer, this.#unread)));
  }
}

/** ESC, which starts the focus reports. */
const ESC = 0x1b;
const BRACKET = 0x5b;
/** `CSI I`: focus in. */
const FOCUS_IN = 0x49;
/** `CSI O`: focus out. */
const FOCUS_OUT = 0x4f;

/**
 * Takes the focus reports `ESC [ I` and `ESC [ O` out of the keys, wherever
 * reads split them: an `ESC` or `ESC [` at the end of a read is held until
 * the next read, or until {@linkcode FocusFilter.flush} (a lone Escape key).
 */
export class FocusFilter {
  #held: Uint8Array = new Uint8Array(0);
  #onFocus: (focused: boolean) => void;

  /** Calls `onFocus` for each report taken out. */
  constructor(onFocus: (focused: boolean) => void) {
    this.#onFocus = onFocus;
  }

  /** True while the end of the last read is held back. */
  get holding(): boolean {
    return this.#held.length > 0;
  }

  /** The keys in `chunk` without focus reports; the start of one at its end is held back. */
  filter(chunk: Uint8Array): Uint8Array {
    let bytes = chunk;
    if (this.#held.length > 0) {
      bytes = new Uint8Array(this.#held.length + chunk.length);
      bytes.set(this.#held);
      bytes.set(chunk, this.#held.length);
      this.#held = new Uint8Array(0);
    }
    if (!bytes.includes(ESC)) return bytes;
    const out = new Uint8Array(bytes.length);
    let length = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === ESC) {
        if (i + 1 === bytes.length || (i + 2 === bytes.length && bytes[i + 1] === BRACKET)) {
          this.#held = bytes.slice(i);
          break;
        }
        if (bytes[i + 1] === BRACKET && (bytes[i + 2] === FOCUS_IN || bytes[i + 2] === FOCUS_OUT)) {
          this.#onFocus(bytes[i + 2] === FOCUS_IN);
          i += 2;
          continue;
        }
      }
      out[length++] = bytes[i];
    }
    return out.subarray(0, length);
  }

  /** Gives back what is held (no report followed it). */
  flush(): Uint8Array {
    const held = this.#held;
    this.#held = new Uint8Array(0);
    return held;
  }
}
