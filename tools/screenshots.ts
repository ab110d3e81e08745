/**
 * Makes the screenshots of the chat page (`--web`) that the README shows:
 * `docs/web-light.png` and `docs/web-dark.png`, 900×640, of a real
 * conversation.
 *
 * ```sh
 * deno task screenshots     # deno run -A tools/screenshots.ts
 * ```
 *
 * A real `server --web` (run as the tests run it, with the compile task's
 * permissions) and a real parley client take turns, in a private session
 * (`--code`), as two people arranging to meet would: the client types its lines on stdin, the person answers in
 * the page. The page is opened in the tests' browser (Debian's chromium
 * driven by playwright-core, a fresh profile, tests/support/browser.ts), once,
 * and photographed in the light scheme and then the dark one. Every wait is
 * bounded; the browser and both programs are closed at the end, whatever
 * happened.
 *
 * @module
 */

import { Browser, BROWSER_WAIT_MS, ChatPage, CHROMIUM, CHROMIUM_SKIP, webAddress } from "../tests/support/browser.ts";
import { ROOT, spawnProgram, startServer } from "../tests/support/process.ts";
import { waitFor } from "../tests/support/wait.ts";

/** The size of the screenshots (CSS pixels, one device pixel each). */
const VIEWPORT = { width: 900, height: 640 };

/** How the page names the other side: its address. */
const PEER = "127.0.0.1";

/**
 * The conversation, in turns: the client (the other person) speaks first, as alternating
 * mode has it, then the person in the page, and so on.
 */
const CONVERSATION: readonly { from: "peer" | "you"; text: string }[] = [
  { from: "peer", text: "Hi! Are we still on for lunch on Thursday?" },
  { from: "you", text: "Yes, Thursday works. Where would you like to go?" },
  { from: "peer", text: "How about the noodle place on Market Street, at half past twelve?" },
  { from: "you", text: "Perfect. I'll book a table for two." },
  { from: "peer", text: "Great. I may be five minutes late: the bus is slow at noon." },
  { from: "you", text: "No problem, I'll get us a seat by the window." },
  { from: "peer", text: "See you Thursday, then!" },
];

if (CHROMIUM_SKIP !== "") {
  console.error(`screenshots: chromium is not installed (${CHROMIUM}); .ci/run installs it`);
  Deno.exit(1);
}

await using browser = await Browser.launch();
// A private session with a fresh code, as the usage page suggests: the page shows its check words.
const { server, port } = await startServer(["127.0.0.1", "0", "--web", "--code"]);
await using _server = server;
const web = await webAddress(server);
const code = (await server.stderr.waitFor(/^connect with: .* --code (\S+)/)).match[1];

const page = await browser.newPage();
await page.setViewportSize(VIEWPORT);
await page.emulateMedia({ colorScheme: "light", reducedMotion: "reduce" });
await page.goto(web.url);
const chat = new ChatPage(page, browser);
await chat.ready();

await using client = spawnProgram("client", ["127.0.0.1", String(port), "--code", code]);
await server.stderr.waitFor(/^connected: /);

let repliesSeen = 0;
for (const line of CONVERSATION) {
  if (line.from === "peer") {
    await client.write(line.text + "\n");
    await chat.waitForEntry(PEER, line.text);
  } else {
    await chat.say(line.text);
    // The reply reached the client: its turn again.
    const { index } = await client.stdout.waitFor(exactly(line.text), repliesSeen);
    repliesSeen = index + 1;
    await chat.waitForEntry("you", line.text);
  }
}
// Whose turn it is, as the person sees it after the other's last line, every line sent confirmed.
await waitFor(async () => {
  const status = await page.getByRole("status").textContent() ?? "";
  return status.includes("your turn") && status.includes("check:") && !status.includes("unconfirmed");
}, { what: "the page to show the person's turn, the check words and no unconfirmed line", intervalMs: 50 });
if (browser.errors.length > 0) throw new Error(`the page reported errors:\n${browser.errorText}`);

for (const scheme of ["light", "dark"] as const) {
  await page.emulateMedia({ colorScheme: scheme });
  // Two frames, so that the new scheme is painted (the caret is hidden, as the page is left as a person sees it).
  await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
  const png = await page.screenshot({ animations: "disabled", caret: "hide", timeout: BROWSER_WAIT_MS });
  const path = `${ROOT}docs/web-${scheme}.png`;
  await Deno.writeFile(path, png);
  console.error(`wrote docs/web-${scheme}.png`);
}

// The browser, the client and the server are closed as they are disposed, in that order.

/** A pattern that matches `text` as a whole line. */
function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
}
