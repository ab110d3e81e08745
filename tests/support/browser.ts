/**
 * A real browser for the tests of the chat page (`--web`): Debian's
 * `chromium`, driven by `npm:playwright-core`, headless, with a fresh
 * profile directory for every test and no network of its own (playwright
 * never downloads a browser here: it is given the executable).
 *
 * A test that needs the browser is skipped where chromium is missing, and
 * says so in its name, as the terminal tests do for tmux.
 *
 * Loading playwright under the suite's permissions: at import time it asks
 * for the home directory (`os.homedir()`, which needs `--allow-sys=homedir`),
 * the kernel release and whether `/proc/sys/fs/binfmt_misc/WSLInterop`
 * exists (to tell WSL; reading `/proc` needs `--allow-all`). The suite's
 * permissions (deno.json) grant neither, so {@linkcode loadPlaywright}
 * answers those questions itself: the home directory from `HOME`, an empty
 * kernel release (on Linux playwright uses it only to tell WSL), and the
 * package's own switch `__IS_WSL_TEST__`, set during the import only, which
 * makes it ask about WSL when it needs to (never, to launch a given
 * executable) instead of at import.
 *
 * @module
 */

import os from "node:os";
import type { BrowserContext, ConsoleMessage, Page } from "playwright-core";
import { pause, within } from "./raw_peer.ts";
import type { RunningProgram } from "./process.ts";
import { waitFor } from "./wait.ts";

/** Debian's chromium, the browser the tests drive. */
export const CHROMIUM = "/usr/lib/chromium/chromium";

/** The flags chromium runs with: headless, and nothing that reaches the network by itself. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** How long any one browser action or wait may take (ms). */
export const BROWSER_WAIT_MS = 5_000;

/** How long launching the browser may take (ms). */
const LAUNCH_MS = 20_000;

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** Empty where chromium is installed; otherwise the note a skipped test carries in its name. */
export const CHROMIUM_SKIP: string = haveChromium() ? "" : " (skipped: chromium is not installed; .ci/run installs it)";

type Playwright = typeof import("playwright-core");
let playwright: Promise<Playwright> | undefined;

/** Imports playwright-core once, under the suite's permissions (see the module's note). */
export function loadPlaywright(): Promise<Playwright> {
  playwright ??= (async () => {
    const home = Deno.env.get("HOME") ?? Deno.cwd();
    Object.assign(os, { homedir: () => home, release: () => "" });
    const had = Deno.env.get("__IS_WSL_TEST__");
    Deno.env.set("__IS_WSL_TEST__", "1");
    try {
      return await import("playwright-core");
    } finally {
      // The programs the tests start inherit the environment: leave it as it was.
      if (had === undefined) Deno.env.delete("__IS_WSL_TEST__");
      else Deno.env.set("__IS_WSL_TEST__", had);
    }
  })();
  return playwright;
}

/** A headless chromium with a fresh profile, and what its pages reported. */
export class Browser implements AsyncDisposable {
  /** The browser's only context (its profile). */
  readonly context: BrowserContext;
  /** Errors the pages threw and console messages of type error, with the page's address. */
  readonly errors: string[] = [];
  #profile: string;

  private constructor(context: BrowserContext, profile: string) {
    this.context = context;
    this.#profile = profile;
    context.setDefaultTimeout(BROWSER_WAIT_MS);
    context.setDefaultNavigationTimeout(BROWSER_WAIT_MS);
    context.on("page", (page) => this.#watch(page));
    for (const page of context.pages()) this.#watch(page);
  }

  /** Launches chromium with a new, empty profile directory. */
  static async launch(): Promise<Browser> {
    const { chromium } = await loadPlaywright();
    const profile = await Deno.makeTempDir({ prefix: "parley-chromium-" });
    try {
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: [...CHROMIUM_FLAGS],
        timeout: LAUNCH_MS,
        // The flags above make it headless; playwright adds its own otherwise.
        headless: true,
        // Playwright's handlers would leave chromium running if the test process got a signal.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      return new Browser(context, profile);
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** A page: the one chromium opened with, the first time, then new ones. */
  async newPage(): Promise<Page> {
    const blank = this.context.pages().find((page) => page.url() === "about:blank" && !this.#used.has(page));
    const page = blank ?? await this.context.newPage();
    this.#used.add(page);
    return page;
  }
  #used = new WeakSet<Page>();

  /** Opens `url` in a new page. */
  async open(url: string): Promise<Page> {
    const page = await this.newPage();
    await page.goto(url);
    return page;
  }

  /** The errors so far, one per line, for a failure message. */
  get errorText(): string {
    return this.errors.length === 0 ? "(no page errors)" : this.errors.join("\n");
  }

  /** Closes the browser and removes its profile directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await within(this.context.close(), LAUNCH_MS, "closing chromium");
    } finally {
      await removeProfile(this.#profile);
    }
  }

  #watch(page: Page): void {
    page.on("pageerror", (error) => this.errors.push(`${page.url()}: uncaught ${error.message}`));
    page.on("console", (message: ConsoleMessage) => {
      // A resource that failed is told below, with its address, which this message lacks.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource:")) {
        this.errors.push(`${page.url()}: console: ${message.text()}`);
      }
    });
    page.on("response", (response) => {
      const url = new URL(response.url());
      // Chromium asks every site for /favicon.ico by itself; a page without one is no error of the page.
      if (response.status() >= 400 && url.pathname !== "/favicon.ico") {
        this.errors.push(`${page.url()}: ${response.status()} for ${response.url()}`);
      }
    });
  }
}

/** Removes a profile directory; chromium's last helper processes may still be writing into it for a moment. */
async function removeProfile(profile: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.remove(profile, { recursive: true });
      return;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      if (attempt >= 20) throw error;
      await pause(50);
    }
  }
}

/**
 * A test that needs the browser: it gets a fresh one, closed afterwards;
 * skipped, and saying so in its name, where chromium is missing.
 */
export function browserTest(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test({
    name: name + CHROMIUM_SKIP,
    ignore: CHROMIUM_SKIP !== "",
    fn: async () => {
      await using browser = await Browser.launch();
      await fn(browser);
    },
  });
}

/** The address a `--web` program prints: `open in a browser: http://127.0.0.1:PORT/?t=TOKEN`. */
export const WEB_ADDRESS =
  /^open in a browser: (http:\/\/127\.0\.0\.1:(\d+)(\/[A-Za-z0-9_-]{16}\/)\?t=([A-Za-z0-9_-]{43}))$/;

/** Where a `--web` program serves its page. */
export interface WebAddress {
  /** The printed address, token included. */
  url: string;
  /** The page's port. */
  port: number;
  /** The token. */
  token: string;
  /** The page's random path, `/PATH/`: everything it serves is under it. */
  base: string;
  /** The page's origin: `http://127.0.0.1:PORT`. */
  origin: string;
}

/** Waits for `program` to print where its page is. */
export async function webAddress(program: RunningProgram): Promise<WebAddress> {
  const { match } = await program.stderr.waitFor(WEB_ADDRESS);
  const port = Number(match[2]);
  return { url: match[1], port, base: match[3], token: match[4], origin: `http://127.0.0.1:${port}` };
}

/** The chat page as a person uses it: the conversation (`role="log"`) and the `Message` box. */
export class ChatPage {
  /** The browser page. */
  readonly page: Page;
  #browser: Browser;

  constructor(page: Page, browser: Browser) {
    this.page = page;
    this.#browser = browser;
  }

  /** Opens `address` in a new page of `browser` and waits for the conversation and the message box. */
  static async open(browser: Browser, address: WebAddress | string): Promise<ChatPage> {
    const page = await browser.open(typeof address === "string" ? address : address.url);
    const chat = new ChatPage(page, browser);
    await chat.ready();
    return chat;
  }

  /** The conversation. */
  get log() {
    return this.page.getByRole("log");
  }

  /** The message box. */
  get messageBox() {
    return this.page.getByRole("textbox", { name: "Message" });
  }

  /** Waits until the conversation and the message box are on the page. */
  async ready(): Promise<void> {
    try {
      await this.log.waitFor({ state: "attached" });
      await this.messageBox.waitFor({ state: "visible" });
    } catch (error) {
      const body = await this.page.locator("body").textContent({ timeout: 1_000 }).catch(() => "(none)");
      const what = `the chat page at ${this.page.url()}, showing ${JSON.stringify(body)}`;
      throw new Error(`${what}, has no conversation or message box:\n${this.#browser.errorText}`, { cause: error });
    }
  }

  /** The conversation's text as it stands. */
  async logText(): Promise<string> {
    return await this.log.textContent() ?? "";
  }

  /** Types `text` in the message box and presses Enter. */
  async say(text: string): Promise<void> {
    await this.messageBox.fill(text);
    await this.messageBox.press("Enter");
  }

  /**
   * True when the conversation holds an entry that shows `text` and names
   * `who`: an element inside the log whose text holds both, around the text.
   */
  async hasEntry(who: string, text: string): Promise<boolean> {
    return await this.log.evaluate(
      (log, [who, text]) => {
        // The smallest elements inside the log that hold the text, then up to one that names who said it.
        const holders = [...log.querySelectorAll("*")].filter((element) =>
          (element.textContent ?? "").includes(text) &&
          ![...element.children].some((child) => (child.textContent ?? "").includes(text))
        );
        return holders.some((holder) => {
          for (
            let element: typeof holder | null = holder;
            element !== null && element !== log;
            element = element.parentElement
          ) {
            if ((element.textContent ?? "").includes(who)) return true;
          }
          return false;
        });
      },
      [who, text] as const,
    );
  }

  /** Waits until the conversation shows `text` said by `who`. */
  async waitForEntry(who: string, text: string, timeoutMs = BROWSER_WAIT_MS): Promise<void> {
    let seen = "";
    await waitFor(async () => {
      seen = await this.logText();
      return await this.hasEntry(who, text);
    }, {
      what: `the conversation to show ${JSON.stringify(text)} from ${JSON.stringify(who)}`,
      timeoutMs,
      intervalMs: 50,
      detail: () => `the conversation: ${JSON.stringify(seen)}\n${this.#browser.errorText}`,
    });
  }

  /** How many times the conversation's text holds `text`. */
  async count(text: string): Promise<number> {
    return (await this.logText()).split(text).length - 1;
  }
}
