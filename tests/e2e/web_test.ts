/**
 * The chat page (`--web`) in a real headless browser: chatting both ways
 * with a raw peer and with a parley peer, hostile text shown as text,
 * reload, the unread count, and the page's server refusing whoever lacks
 * the token, names another host or comes from another origin.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import {
  type Browser,
  BROWSER_WAIT_MS,
  browserTest,
  ChatPage,
  type WebAddress,
  webAddress,
} from "../support/browser.ts";
import { hasStackTrace, type RunningProgram, spawnProgram, startServer } from "../support/process.ts";
import { within } from "../support/raw_peer.ts";
import { waitFor } from "../support/wait.ts";

const encoder = new TextEncoder();

/** A raw TCP peer connected to a server: what it sends, and its lines read back. */
class Peer implements Disposable {
  readonly conn: Deno.Conn;
  readonly reader: LineReader;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.reader = new LineReader(conn, { maxLineBytes: 64 * 1024 });
  }

  static async connect(port: number): Promise<Peer> {
    return new Peer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(text: string): Promise<void> {
    await writeAll(this.conn, encoder.encode(text));
  }

  /** The next line the program sends, within the browser's wait. */
  async line(): Promise<string | null> {
    return await within(this.reader.readLine(), BROWSER_WAIT_MS, "the peer reading a line");
  }

  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
  }
}

/** A server with `--web` on 127.0.0.1, its chat port and its page's address. */
async function webServer(args: string[] = []): Promise<{ server: RunningProgram; port: number; web: WebAddress }> {
  const { server, port } = await startServer(["127.0.0.1", "0", "--web", ...args]);
  try {
    return { server, port, web: await webAddress(server) };
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
}

function assertNoPageErrors(browser: Browser): void {
  assert.equal(browser.errors.length, 0, browser.errorText);
}

function assertClean(program: RunningProgram): void {
  assert.ok(!hasStackTrace(program.stderr.text), program.stderr.text);
}

browserTest(
  "server --web with a plain peer, taking turns: the peer's line shows, the person's line is sent",
  async (browser) => {
    const { server, port, web } = await webServer();
    await using _server = server;
    const chat = await ChatPage.open(browser, web);
    using peer = await Peer.connect(port);
    await server.stderr.waitFor(/^connected: /);

    await peer.send("hello from the peer\n");
    await chat.waitForEntry("127.0.0.1", "hello from the peer");

    await chat.say("hello from the page");
    assert.equal(await peer.line(), "hello from the page");
    await chat.waitForEntry("you", "hello from the page");

    // Another turn each way.
    await peer.send("second from the peer\n");
    await chat.waitForEntry("127.0.0.1", "second from the peer");
    await chat.say("second from the page");
    assert.equal(await peer.line(), "second from the page");

    // The chat is in the page, not on stdout.
    assert.deepEqual(server.stdout.lines, []);
    assertNoPageErrors(browser);
    assertClean(server);
  },
);

browserTest("client --web --duplex with a parley server: both ways, at any time", async (browser) => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--duplex", "--web"]);
  const web = await webAddress(client);
  const chat = await ChatPage.open(browser, web);
  await server.stderr.waitFor(/^connected: /);
  const peerName = `127.0.0.1:${port}`;

  await server.write("from the server, first\n");
  await chat.waitForEntry(peerName, "from the server, first");
  await server.write("from the server, second\n");
  await chat.waitForEntry(peerName, "from the server, second");

  await chat.say("from the page, first");
  await chat.say("from the page, second");
  await server.stdout.waitFor(/^from the page, second$/);
  assert.deepEqual(server.stdout.lines, ["from the page, first", "from the page, second"]);
  await chat.waitForEntry("you", "from the page, first");
  await chat.waitForEntry("you", "from the page, second");

  await server.write("and a reply\n");
  await chat.waitForEntry(peerName, "and a reply");
  assert.deepEqual(client.stdout.lines, []);
  assertNoPageErrors(browser);
  assertClean(client);
  assertClean(server);
});

browserTest("server --web with a parley client, taking turns: both ways", async (browser) => {
  const { server, port, web } = await webServer();
  await using _server = server;
  const chat = await ChatPage.open(browser, web);
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await server.stderr.waitFor(/^connected: /);

  await client.write("the client speaks first\n");
  await chat.waitForEntry("127.0.0.1", "the client speaks first");
  await chat.say("the page answers");
  await client.stdout.waitFor(/^the page answers$/);
  await chat.waitForEntry("you", "the page answers");
  await client.write("and again\n");
  await chat.waitForEntry("127.0.0.1", "and again");
  assertNoPageErrors(browser);
  assertClean(server);
});

browserTest("the peer's markup and control characters show as text, and no script runs", async (browser) => {
  const { server, port, web } = await webServer(["--duplex"]);
  await using _server = server;
  const chat = await ChatPage.open(browser, web);
  const dialogs: string[] = [];
  chat.page.on("dialog", (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  using peer = await Peer.connect(port);
  await server.stderr.waitFor(/^connected: /);

  await peer.send("<img src=x onerror=alert(1)>\n");
  await peer.send("<script>window.pwned=1</script>\n");
  await peer.send("bell \x1b[2J clear \x07 end\n");
  await peer.send("last of the hostile lines\n");
  await chat.waitForEntry("127.0.0.1", "last of the hostile lines");

  const text = await chat.logText();
  assert.ok(text.includes("<img src=x onerror=alert(1)>"), text);
  assert.ok(text.includes("<script>window.pwned=1</script>"), text);
  assert.ok(text.includes("bell ^[[2J clear ^G end"), text);
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(text), `control characters in the log: ${JSON.stringify(text)}`);
  assert.equal(await chat.page.locator('[role="log"] img').count(), 0);
  assert.equal(await chat.page.locator('[role="log"] script').count(), 0);
  assert.equal(await chat.page.locator("img[src=x]").count(), 0);
  assert.equal(await chat.page.evaluate("typeof window.pwned"), "undefined");
  assert.deepEqual(dialogs, []);
  assertNoPageErrors(browser);
  assertClean(server);
});

browserTest("reloading the page, or opening it again, shows the conversation so far", async (browser) => {
  const { server, port, web } = await webServer();
  await using _server = server;
  const chat = await ChatPage.open(browser, web);
  using peer = await Peer.connect(port);
  await server.stderr.waitFor(/^connected: /);
  await peer.send("before the reload\n");
  await chat.waitForEntry("127.0.0.1", "before the reload");
  await chat.say("my answer before the reload");
  assert.equal(await peer.line(), "my answer before the reload");
  await chat.waitForEntry("you", "my answer before the reload");

  await chat.page.reload();
  await chat.ready();
  await chat.waitForEntry("127.0.0.1", "before the reload");
  await chat.waitForEntry("you", "my answer before the reload");
  assert.equal(await chat.count("before the reload"), 2, await chat.logText());

  // The session goes on from the reloaded page.
  await peer.send("after the reload\n");
  await chat.waitForEntry("127.0.0.1", "after the reload");
  await chat.say("my answer after the reload");
  assert.equal(await peer.line(), "my answer after the reload");

  // The tab closed and opened again, the browser still running with another tab (the cookie holds the
  // token; closing the browser's last tab ends its session, cookie and all): everything so far.
  await browser.newPage();
  await chat.page.close();
  const again = await ChatPage.open(browser, `${web.origin}${web.base}`);
  await again.waitForEntry("127.0.0.1", "before the reload");
  await again.waitForEntry("127.0.0.1", "after the reload");
  await again.waitForEntry("you", "my answer after the reload");
  // The printed address, opened again, likewise.
  const printed = await ChatPage.open(browser, web);
  await printed.waitForEntry("127.0.0.1", "before the reload");
  await printed.waitForEntry("you", "my answer after the reload");
  assertNoPageErrors(browser);
  assertClean(server);
});

browserTest("the tab's title counts the lines that arrive while it is hidden", async (browser) => {
  const { server, port, web } = await webServer(["--duplex"]);
  await using _server = server;
  const chat = await ChatPage.open(browser, web);
  using peer = await Peer.connect(port);
  await server.stderr.waitFor(/^connected: /);
  await peer.send("seen while visible\n");
  await chat.waitForEntry("127.0.0.1", "seen while visible");
  assert.ok(!(await chat.page.title()).startsWith("("), await chat.page.title());

  await setHidden(chat, true);
  await peer.send("unseen one\n");
  await peer.send("unseen two\n");
  await chat.waitForEntry("127.0.0.1", "unseen two");
  await waitForTitle(chat, (title) => title.startsWith("(2) "), "a title starting with (2)");
  assert.equal(await chat.page.title(), "(2) parley: 127.0.0.1");

  await setHidden(chat, false);
  await waitForTitle(chat, (title) => !title.startsWith("("), "the count gone from the title");
  assertNoPageErrors(browser);
});

/** Makes the page believe it is hidden (or visible again), as when the person switches tabs. */
async function setHidden(chat: ChatPage, hidden: boolean): Promise<void> {
  await chat.page.evaluate(`(() => {
    const hidden = ${hidden};
    Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => hidden ? "hidden" : "visible" });
    Object.defineProperty(document, "hasFocus", { configurable: true, value: () => !hidden });
    document.dispatchEvent(new Event("visibilitychange"));
    window.dispatchEvent(new Event(hidden ? "blur" : "focus"));
  })()`);
}

async function waitForTitle(chat: ChatPage, test: (title: string) => boolean, what: string): Promise<void> {
  let title = "";
  await waitFor(async () => test(title = await chat.page.title()), {
    what,
    timeoutMs: BROWSER_WAIT_MS,
    intervalMs: 50,
    detail: () => `the title: ${JSON.stringify(title)}`,
  });
}

/** Sends `request` (an HTTP/1.1 request's head) on a new connection to `port`; returns the status line. */
async function rawRequest(port: number, request: string): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, encoder.encode(request.replaceAll("\n", "\r\n") + "\r\n"));
  const reader = new LineReader(conn, { maxLineBytes: 16 * 1024 });
  const line = await within(reader.readLine(), BROWSER_WAIT_MS, "the page's server answering");
  return line === null ? "(closed)" : line.replace(/\r$/, "");
}

/** The status of a GET of `path`, with `headers`, and the response's headers; the body is read and dropped. */
async function get(web: WebAddress, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${web.origin}${path}`, { headers, redirect: "manual" });
  await response.body?.cancel();
  return response;
}

browserTest(
  "the page's server refuses a missing or wrong token, another Host, and a WebSocket from another origin",
  async (browser) => {
    const { server, web } = await webServer();
    await using _server = server;
    const cookie = { cookie: `parley_token=${web.token}` };

    // The printed address: a redirect that sets the cookie, which then opens the page.
    const redirect = await get(web, `${web.base}?t=${web.token}`);
    assert.equal(redirect.status, 303);
    assert.equal(redirect.headers.get("location"), web.base);
    const setCookie = redirect.headers.get("set-cookie") ?? "";
    assert.match(setCookie, new RegExp(`^parley_token=${web.token};`));
    // Scoped to the page's random path: other servers on 127.0.0.1 are not sent it for their own pages.
    for (const attribute of ["HttpOnly", "SameSite=Strict", `Path=${web.base}`]) {
      assert.ok(setCookie.split(/;\s*/).includes(attribute), setCookie);
    }
    const ok = await get(web, web.base, cookie);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("content-security-policy") ?? "", /^default-src 'none'; script-src 'self'(;|$)/);
    assert.equal((await get(web, `${web.base}app.js`, cookie)).status, 200);
    assert.equal((await get(web, `${web.base}app.css`, cookie)).status, 200);
    // Nothing outside that path, cookie or not.
    assert.equal((await get(web, "/", cookie)).status, 404);

    // No token, a wrong one, in the address or in the cookie.
    const wrong = web.token.slice(0, -1) + (web.token.endsWith("A") ? "B" : "A");
    for (const path of ["", "app.js", "app.css", "ws"]) {
      assert.equal((await get(web, `${web.base}${path}`)).status, 403, path);
    }
    assert.equal((await get(web, `${web.base}?t=${wrong}`)).status, 403);
    assert.equal((await get(web, `${web.base}?t=`)).status, 403);
    assert.equal((await get(web, web.base, { cookie: `parley_token=${wrong}` })).status, 403);
    assert.equal((await get(web, `${web.base}app.js`, { cookie: `parley_token=${wrong}` })).status, 403);

    // Another name in Host (DNS rebinding), even with the token; localhost is this server too.
    const request = (host: string, path = web.base, more = "") =>
      `GET ${path} HTTP/1.1\nHost: ${host}\nCookie: parley_token=${web.token}\nConnection: close\n${more}`;
    assert.match(await rawRequest(web.port, request(`evil.example:${web.port}`)), /^HTTP\/1\.1 403 /);
    assert.match(
      await rawRequest(web.port, request(`evil.example:${web.port}`, `${web.base}?t=${web.token}`)),
      /^HTTP\/1\.1 403 /,
    );
    assert.match(await rawRequest(web.port, request(`127.0.0.1:${web.port + 1}`)), /^HTTP\/1\.1 403 /);
    assert.match(await rawRequest(web.port, request(`localhost:${web.port}`)), /^HTTP\/1\.1 200 /);

    // The WebSocket: with the token, from this server's own origin it upgrades; from another origin, never.
    const upgrade = (origin: string) =>
      `GET ${web.base}ws HTTP/1.1\nHost: 127.0.0.1:${web.port}\nCookie: parley_token=${web.token}\nUpgrade: websocket\n` +
      `Connection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n` +
      (origin === "" ? "" : `Origin: ${origin}\n`);
    assert.match(await rawRequest(web.port, upgrade(web.origin)), /^HTTP\/1\.1 101 /);
    for (const origin of ["http://evil.example", `http://127.0.0.1:${web.port + 1}`, "null", ""]) {
      const status = await rawRequest(web.port, upgrade(origin));
      assert.match(status, /^HTTP\/1\.1 403 /, `Origin ${JSON.stringify(origin)}: ${status}`);
    }

    // In the browser: the person's own page connects; a page of another origin cannot, even on the same
    // host (127.0.0.1, another port), where the browser does send the cookie.
    const chat = await ChatPage.open(browser, web);
    await using foreignHost = serveAttacker("127.0.0.2");
    await using sameHost = serveAttacker("127.0.0.1");
    for (const attacker of [foreignHost, sameHost]) {
      const page = await browser.open(attacker.url);
      const outcome = await page.evaluate(`new Promise((resolve) => {
      const socket = new WebSocket("ws://127.0.0.1:${web.port}${web.base}ws");
      socket.onopen = () => { resolve("open"); socket.close(); };
      socket.onclose = (event) => resolve("closed " + event.code);
      setTimeout(() => resolve("no answer"), ${BROWSER_WAIT_MS - 1000});
    })`);
      assert.equal(outcome, "closed 1006", attacker.url);
      await page.close();
    }
    assert.equal(await chat.messageBox.isVisible(), true);
    assertClean(server);
  },
);

/** A page on another origin (`http://HOST:PORT/`) that a person might visit while chatting. */
function serveAttacker(hostname: string): { url: string } & AsyncDisposable {
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname, port: 0, signal: abort.signal, onListen: () => {} },
    () =>
      new Response("<!doctype html><title>another site</title><p>another site</p>", {
        headers: { "content-type": "text/html" },
      }),
  );
  return {
    url: `http://${hostname}:${server.addr.port}/`,
    [Symbol.asyncDispose]: async () => {
      abort.abort();
      await server.finished;
    },
  };
}

browserTest(
  "at phone width the page fits, and 12,000 lines keep it responsive, its list capped at 10,000",
  async (browser) => {
    const { server, port, web } = await webServer(["--duplex"]);
    await using _server = server;
    const chat = await ChatPage.open(browser, web);
    await chat.page.setViewportSize({ width: 360, height: 640 });
    using peer = await Peer.connect(port);
    await server.stderr.waitFor(/^connected: /);
    // No sideways scrolling at 360 px, and the message box in view.
    const width = Number(await chat.page.evaluate("document.documentElement.scrollWidth"));
    assert.ok(width <= 360, `the page is ${width} px wide at 360`);
    assert.ok(await chat.messageBox.isVisible());
    // A flood of lines: the list keeps the last 10,000, and typing still answers.
    const lines = Array.from({ length: 12_000 }, (_, i) => `line ${i}`);
    await peer.send(lines.join("\n") + "\n");
    await chat.waitForEntry("127.0.0.1", "line 11999");
    await waitFor(
      async () => (await chat.log.locator(".entry").count()) <= 10_000,
      { what: "the list capped at 10,000 entries", timeoutMs: BROWSER_WAIT_MS },
    );
    const started = performance.now();
    await chat.say("still here");
    assert.equal(await within(readUntil(peer, "still here"), BROWSER_WAIT_MS, "the line from the page"), "still here");
    await chat.waitForEntry("you", "still here");
    assert.ok(performance.now() - started < BROWSER_WAIT_MS);
    assertNoPageErrors(browser);
    assertClean(server);
  },
);

/** Reads the peer's lines until `wanted` comes; resolves to it. */
async function readUntil(peer: Peer, wanted: string): Promise<string | null> {
  for (let i = 0; i < 100; i++) {
    const line = await peer.reader.readLine();
    if (line === null || line === wanted) return line;
  }
  return null;
}

browserTest("--name labels the peer in the page; lines sent leave no count of queued ones behind", async (browser) => {
  const { server, port, web } = await webServer(["--name", "Sam"]);
  await using _server = server;
  const chat = await ChatPage.open(browser, web);
  using peer = await Peer.connect(port);
  await server.stderr.waitFor(/^connected: /);
  await peer.send("hi, it is Sam\n");
  await chat.waitForEntry("Sam", "hi, it is Sam");
  await chat.say("hello Sam");
  assert.equal(await peer.line(), "hello Sam");
  await chat.waitForEntry("you", "hello Sam");
  const state = chat.page.locator("#state");
  await waitFor(async () => /waiting for Sam/.test(await state.textContent() ?? ""), {
    what: "the state to say whose turn it is",
    timeoutMs: BROWSER_WAIT_MS,
  });
  assert.doesNotMatch(await state.textContent() ?? "", /queued/);
  assertNoPageErrors(browser);
  assertClean(server);
});

browserTest(
  "in a private session the page shows the check words, and a line as said only once it is confirmed",
  async (browser) => {
    const code = "7-anvil-orbit-meadow";
    const { server, port, web } = await webServer(["--duplex", `--code=${code}`]);
    await using _server = server;
    const chat = await ChatPage.open(browser, web);
    // A peer that proves the code, then reads nothing (so confirms nothing) until told to.
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const { pakeClientSide } = await import("../../lib/security/secure_handshake.ts");
    const { codePassword } = await import("../../lib/security/code.ts");
    const session = await pakeClientSide(conn, conn, {
      password: codePassword(code),
      mode: "duplex",
      peerName: "server",
    });
    const state = chat.page.locator("#state");
    const stateSays = (pattern: RegExp, what: string) =>
      waitFor(async () => pattern.test(await state.textContent() ?? ""), { what, timeoutMs: BROWSER_WAIT_MS });
    await stateSays(new RegExp(`private, check: ${session.check}`), "the check words");
    await chat.say("are you there?");
    await stateSays(/1 unconfirmed/, "one line on its way");
    assert.ok(!(await chat.hasEntry("you", "are you there?")), "shown as said before it was confirmed");
    // The peer reads it, and confirms.
    const buffer = new Uint8Array(1024);
    const n = await session.channel.read(buffer);
    assert.equal(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "are you there?\n");
    const more = session.channel.read(buffer);
    await chat.waitForEntry("you", "are you there?");
    await waitFor(async () => !/unconfirmed/.test(await state.textContent() ?? ""), {
      what: "no line left unconfirmed",
      timeoutMs: BROWSER_WAIT_MS,
    });
    await session.channel.leave();
    await more.catch(() => null);
    session.channel.close();
    assertNoPageErrors(browser);
  },
);
