/**
 * The chat page's start (`--web`): the time from launching `server --web`
 * to a page a person can use, and to the peer's first line shown in it, on
 * loopback, in the tests' headless chromium (tests/support/browser.ts).
 *
 * Each run starts the clock and launches `server 127.0.0.1 0 --web` (as the
 * binaries run: the compile task's permissions). As soon as the server says
 * `listening on`, a raw TCP peer connects and waits; as soon as it prints
 * `open in a browser: URL`, a fresh page of the browser opens the address,
 * as a person would. The page is interactive once its `Message` box and
 * Send button are enabled (the WebSocket is open) and its state line says
 * it waits for the peer (the WebSocket's hello, or a state after it, was
 * applied, with the peer connected): that is
 * `pageMs`. Then the peer sends its first line (alternating mode: the
 * client speaks first), and `firstMessageMs` is when the line is in the
 * conversation (`role="log"`). The page's conditions are watched in the
 * page, once a frame.
 *
 * The browser is launched once, before the clock ever starts, and reused;
 * each run has its own page, server and port (so nothing is cached from the
 * run before: the origin differs). One run that is not counted comes first.
 *
 * @module
 */

import type { Page } from "playwright-core";
import { Browser, CHROMIUM, CHROMIUM_SKIP, WEB_ADDRESS } from "../tests/support/browser.ts";
import { kill, median, OutputLog, parley, watchdog } from "./support.ts";

/** The medians of the runs, from launching the server (ms). */
export interface WebLoad {
  /** To the page being interactive: the Message box enabled, the hello applied, the peer shown. */
  pageMs: number;
  /** To the peer's first line, sent once the page was interactive, shown in the conversation. */
  firstMessageMs: number;
}

/** Why the benchmark cannot run here (chromium missing), or `undefined`. */
export function webLoadMissing(): string | undefined {
  return CHROMIUM_SKIP === "" ? undefined : `chromium is not installed (${CHROMIUM}; Debian package chromium)`;
}

/** The longest one run may take before the server is killed and the run fails (ms). */
const RUN_LIMIT_MS = 30_000;

/** The longest the page may take to become interactive, or to show the line (ms). */
const PAGE_LIMIT_MS = 15_000;

const LINE = "hello from the bench";

/** What the two conditions below use of the page's document (the bench is checked without the DOM's types). */
interface PageDocument {
  getElementById(id: string): { disabled?: boolean } | null;
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): Iterable<{ childElementCount: number; textContent: string | null }>;
}

/*
 * The conditions are functions, run in the page by playwright: the page's Content-Security-Policy forbids
 * evaluating strings there.
 */

/**
 * In the page: the Message box and the Send button enabled (the WebSocket is open) and the state line
 * saying the page waits for the peer (the hello, or a state after it, applied with the peer connected).
 */
function interactive(): boolean {
  const document = (globalThis as unknown as { document: PageDocument }).document;
  const box = document.getElementById("message");
  const send = document.getElementById("send");
  const state = document.querySelector('[role="status"]');
  return box?.disabled === false && send?.disabled === false &&
    (state?.textContent ?? "").startsWith("waiting for 127.0.0.1");
}

/** In the page: an element of the conversation holding just `line`. */
function shown(line: string): boolean {
  const document = (globalThis as unknown as { document: PageDocument }).document;
  return [...document.querySelectorAll('[role="log"] *')].some((element) =>
    element.childElementCount === 0 && element.textContent === line
  );
}

/** One run: the times (ms) from launching the server to an interactive page and to the peer's line shown. */
async function once(browser: Browser): Promise<{ page: number; firstMessage: number }> {
  const started = performance.now();
  const [program, ...args] = parley("server", ["127.0.0.1", "0", "--web"]);
  const server = new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
  using limit = watchdog([server], RUN_LIMIT_MS);
  const stderr = new OutputLog(server.stderr);
  const failed = (what: string, cause?: unknown) =>
    new Error(
      `server --web: ${what}${limit.expired ? ` (killed after ${RUN_LIMIT_MS} ms)` : ""}; its stderr:\n` +
        stderr.text.slice(0, 1000),
      { cause },
    );
  let peer: Deno.TcpConn | undefined;
  let page: Page | undefined;
  try {
    // The peer connects as soon as the server listens; the page opens as soon as its address is printed.
    const connecting = stderr.match(/^listening on 127\.0\.0\.1:(\d+)/m).then(async (match) => {
      if (match === null) throw failed("the server did not start listening");
      peer = await Deno.connect({ hostname: "127.0.0.1", port: Number(match[1]) });
    });
    connecting.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    const address = await stderr.match(new RegExp(WEB_ADDRESS.source, "m"));
    if (address === null) throw failed("the server printed no address to open");
    page = await browser.newPage();
    const opening = page.goto(address[1], { waitUntil: "commit" });
    opening.catch(() => {}); // likewise
    await connecting;
    await opening;
    try {
      await page.waitForFunction(interactive, undefined, { polling: "raf", timeout: PAGE_LIMIT_MS });
    } catch (error) {
      throw failed("the page did not become interactive", error);
    }
    const ready = performance.now() - started;

    await peer!.write(new TextEncoder().encode(LINE + "\n"));
    try {
      await page.waitForFunction(shown, LINE, { polling: "raf", timeout: PAGE_LIMIT_MS });
    } catch (error) {
      throw failed("the peer's line never showed in the conversation", error);
    }
    const firstMessage = performance.now() - started;
    return { page: ready, firstMessage };
  } finally {
    await page?.close().catch(() => {});
    try {
      peer?.close();
    } catch {
      // Closed already.
    }
    kill(server);
    await server.status;
    await stderr.done;
  }
}

/**
 * Measures `runs` starts of `server --web` with its page opened in headless
 * chromium, after one that is not counted, and returns the medians (ms).
 * Throws when chromium is missing (see {@linkcode webLoadMissing}).
 */
export async function webLoad(runs: number): Promise<WebLoad> {
  await using browser = await Browser.launch();
  const times: { page: number; firstMessage: number }[] = [];
  await once(browser);
  for (let run = 0; run < runs; run++) times.push(await once(browser));
  if (browser.errors.length > 0) throw new Error(`the chat page reported errors:\n${browser.errorText}`);
  return {
    pageMs: median(times.map((time) => time.page)),
    firstMessageMs: median(times.map((time) => time.firstMessage)),
  };
}
