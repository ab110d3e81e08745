/**
 * Delivery receipts for a view: in a secure session the peer confirms what
 * it has taken (in bytes, in order), and a line of ours is shown as said
 * (`you: …`) only once all of it is confirmed. Until then the view is told how many lines wait for confirmation,
 * so that a person sees them on their way; a session that ends with some
 * still unconfirmed says how many.
 *
 * @module
 */

import type { SessionNotice, SessionView } from "./view.ts";

const NEWLINE = 0x0a;

/** How many line ends `bytes` holds. */
function countLines(bytes: Uint8Array): number {
  let lines = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) lines++;
  return lines;
}

/** A view that shows our lines once the peer confirms them; see the module doc. */
export class ReceiptView implements SessionView {
  #inner: SessionView;
  /** Keep our lines' text to show them once confirmed; else only their sizes and counts. */
  #text: boolean;
  /** Our runs of whole lines written and not yet shown, in order; the first may have a confirmed start. */
  #runs: { bytes?: Uint8Array; length: number; lines: number }[] = [];
  #head = 0;
  /** Bytes of the first run the peer confirmed but that end inside a line (with the text), or not shown yet. */
  #confirmedInHead = 0;

  /** Shows through `inner`; call {@linkcode ReceiptView.confirmed} as the peer confirms bytes. */
  constructor(inner: SessionView) {
    this.#inner = inner;
    this.#text = inner.showsSent !== false;
  }

  /** What the view lets pass as it is. */
  get passThrough(): SessionView["passThrough"] {
    return this.#inner.passThrough;
  }

  /**
   * Lines of ours not wholly confirmed yet (counted when asked: at the end,
   * or for a prompt). Without the text, a run confirmed in part counts whole:
   * then this is at most so many ({@linkcode ReceiptView.exact} says which).
   */
  get waiting(): number {
    let lines = 0;
    for (let i = this.#head; i < this.#runs.length; i++) lines += this.#runs[i].lines;
    return lines;
  }

  /** False when {@linkcode ReceiptView.waiting} may count lines confirmed in part of a run. */
  get exact(): boolean {
    return this.#text || this.#confirmedInHead === 0;
  }

  /**
   * The peer confirmed the next `bytes` of what we sent: every line now
   * wholly confirmed is shown, a run at a time.
   */
  confirmed(bytes: number): void {
    let left = bytes;
    while (left > 0 && this.#head < this.#runs.length) {
      const run = this.#runs[this.#head];
      const take = Math.min(left, run.length - this.#confirmedInHead);
      this.#confirmedInHead += take;
      left -= take;
      if (this.#confirmedInHead === run.length) {
        if (run.bytes !== undefined) this.#inner.sent(run.bytes, run.lines);
        this.#head++;
        this.#confirmedInHead = 0;
        continue;
      }
      if (run.bytes === undefined) continue;
      // Confirmed up to inside a line: show the whole lines, keep the rest.
      const end = run.bytes.lastIndexOf(NEWLINE, this.#confirmedInHead - 1) + 1;
      if (end > 0) {
        const shown = run.bytes.subarray(0, end);
        const lines = countLines(shown);
        this.#inner.sent(shown, lines);
        this.#runs[this.#head] = { bytes: run.bytes.subarray(end), length: run.length - end, lines: run.lines - lines };
        this.#confirmedInHead -= end;
      }
    }
    if (this.#head === this.#runs.length) {
      this.#runs = [];
      this.#head = 0;
    }
    this.#countForPrompt();
  }

  /** Holds a run of our lines until the peer confirms them (the text copied, when it is to be shown). */
  sent(lines: Uint8Array, count?: number): void {
    if (lines.length === 0) return;
    this.#runs.push({
      bytes: this.#text ? lines.slice() : undefined,
      length: lines.length,
      lines: count ?? countLines(lines),
    });
    this.#countForPrompt();
  }

  /** Tells a view that counts lines on their way how many there are (only such a view pays for counting). */
  #countForPrompt(): void {
    if (this.#inner.unconfirmed !== undefined) this.#inner.unconfirmed(this.waiting);
  }

  /** Passed on. */
  peerLine(bytes: Uint8Array): Promise<void> {
    return this.#inner.peerLine(bytes);
  }

  /** Passed on. */
  peerLines(bytes: Uint8Array, lines: number): Promise<void> {
    return this.#inner.peerLines(bytes, lines);
  }

  /** Passed on. */
  flush(): Promise<void> {
    return this.#inner.flush();
  }

  /** Passed on. */
  turn(mine: boolean): void {
    this.#inner.turn(mine);
  }

  /** Passed on. */
  notice(notice: SessionNotice): void {
    this.#inner.notice(notice);
  }
}
