import assert from "node:assert/strict";
import { WebHub } from "../../lib/web/hub.ts";
import { CONTENT_SECURITY_POLICY, startWebServer, TOKEN_COOKIE, WebServerError } from "../../lib/web/server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends a raw HTTP/1.1 request (any Host, any header) and returns the status line and headers. */
async function rawRequest(port: number, lines: string[]): Promise<{ status: number; head: string }> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode([...lines, "Connection: close", "", ""].join("\r\n")));
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  for (let i = 0; i < 64; i++) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    if (decoder.decode(chunks.at(-1)).includes("\r\n\r\n")) break;
  }
  const head = decoder.decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk]))).split("\r\n\r\n")[0];
  return { status: Number(head.split(" ")[1]), head };
}

Deno.test("the chat page's server: the token, then the cookie; 403 without; Host and Origin checked", async () => {
  const hub = new WebHub("alternating");
  const server = startWebServer(hub, 0);
  try {
    const { port, url } = server;
    assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/[A-Za-z0-9_-]{16}/\\?t=[A-Za-z0-9_-]{43}$`));
    const token = new URL(url).searchParams.get("t")!;
    const base = new URL(url).pathname;
    // The token once: a cookie the page's script cannot read, which other sites' requests do not carry.
    const first = await fetch(url, { redirect: "manual" });
    assert.equal(first.status, 303);
    assert.equal(first.headers.get("location"), base);
    // Scoped to the page's random path: another server on 127.0.0.1 is not sent it for its own pages.
    assert.equal(first.headers.get("set-cookie"), `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=${base}`);
    await first.body?.cancel();
    const cookie = { cookie: `${TOKEN_COOKIE}=${token}` };
    for (const path of [base, `${base}app.js`, `${base}app.css`]) {
      const ok = await fetch(`http://127.0.0.1:${port}${path}`, { headers: cookie });
      assert.equal(ok.status, 200, path);
      assert.equal(ok.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      await ok.body?.cancel();
      // Without the cookie, or with a wrong token: nothing.
      for (const headers of [{}, { cookie: `${TOKEN_COOKIE}=${"A".repeat(43)}` }] as Record<string, string>[]) {
        const refused = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
        assert.equal(refused.status, 403, path);
        await refused.body?.cancel();
      }
    }
    const wrong = await fetch(`http://127.0.0.1:${port}${base}?t=${"B".repeat(43)}`, { redirect: "manual" });
    assert.equal(wrong.status, 403);
    await wrong.body?.cancel();
    // DNS rebinding: the browser names the attacker's host.
    const rebound = await rawRequest(port, [
      `GET ${base} HTTP/1.1`,
      `Host: evil.example:${port}`,
      `Cookie: ${cookie.cookie}`,
    ]);
    assert.equal(rebound.status, 403, rebound.head);
    const named = await rawRequest(port, [
      `GET ${base} HTTP/1.1`,
      `Host: localhost:${port}`,
      `Cookie: ${cookie.cookie}`,
    ]);
    assert.equal(named.status, 200, named.head);
    // Outside the page's path there is nothing, cookie or not.
    const outside = await fetch(`http://127.0.0.1:${port}/`, { headers: cookie });
    assert.equal(outside.status, 404);
    await outside.body?.cancel();
    // Cross-site WebSocket hijacking: another origin's page, with the cookie, is refused the socket.
    const upgrade = (origin: string) => [
      `GET ${base}ws HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      `Cookie: ${cookie.cookie}`,
      `Origin: ${origin}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ];
    assert.equal((await rawRequest(port, upgrade("http://evil.example"))).status, 403);
    assert.equal((await rawRequest(port, upgrade(`http://127.0.0.2:${port}`))).status, 403);
  } finally {
    await server.close();
  }
});

Deno.test("the chat page's socket: the conversation so far, then each entry; a line sent becomes input", async () => {
  const hub = new WebHub("duplex");
  const server = startWebServer(hub, 0);
  try {
    hub.add({ kind: "status", text: "connected: 127.0.0.1:5000", time: 1 });
    const token = new URL(server.url).searchParams.get("t")!;
    const base = new URL(server.url).pathname;
    // Deno's WebSocket takes headers (as a browser's does not); the project-wide types know only the standard form.
    const options = { headers: { cookie: `${TOKEN_COOKIE}=${token}`, origin: `http://127.0.0.1:${server.port}` } };
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}${base}ws`, options as unknown as string[]);
    const messages: unknown[] = [];
    const opened = Promise.withResolvers<void>();
    const second = Promise.withResolvers<void>();
    socket.onopen = () => opened.resolve();
    socket.onerror = () => opened.reject(new Error("the page's socket did not open"));
    socket.onmessage = (event) => {
      messages.push(JSON.parse(event.data));
      if (messages.length === 2) second.resolve();
    };
    await opened.promise;
    socket.send(JSON.stringify({ t: "send", text: "from the page\nsecond line is cut" }));
    assert.equal(await hub.input.nextLine(), "from the page");
    hub.add({ kind: "line", from: "peer", who: "127.0.0.1", text: "hello", time: 2 });
    await second.promise;
    assert.deepEqual(messages[0], {
      t: "hello",
      history: [{ kind: "status", text: "connected: 127.0.0.1:5000", time: 1 }],
      state: { mode: "duplex", queued: 0, unconfirmed: 0, ended: false },
    });
    assert.deepEqual(messages[1], {
      t: "event",
      event: { kind: "line", from: "peer", who: "127.0.0.1", text: "hello", time: 2 },
    });
    const closed = Promise.withResolvers<void>();
    socket.onclose = () => closed.resolve();
    await server.close();
    await closed.promise;
  } finally {
    await server.close();
  }
});

Deno.test("a port that is taken: one line naming the address and why", () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  assert.throws(
    () => startWebServer(new WebHub("alternating"), taken.addr.port),
    (error: unknown) =>
      error instanceof WebServerError &&
      error.message === `Cannot serve the chat page on 127.0.0.1:${taken.addr.port}: address already in use`,
  );
});
