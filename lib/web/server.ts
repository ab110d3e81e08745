/**
 * The chat page's server: on loopback only, for whoever holds the token.
 *
 * Every request must name this server in its `Host` (`127.0.0.1:PORT` or
 * `localhost:PORT`): a web site that points its own name at 127.0.0.1 (DNS
 * rebinding) sends its own name, and is refused. The page lives under a
 * random path (`/PATH/`). Every request must carry the token: once in the
 * printed address (`/PATH/?t=TOKEN`), which sets it in an `HttpOnly`,
 * `SameSite=Strict` cookie for that path and redirects to `/PATH/`, then in
 * that cookie; without it, 403. The WebSocket must also come from a page of
 * this server (`Origin`), so that another site's page in the same browser,
 * which the cookie would not stop for a WebSocket, cannot connect
 * (cross-site WebSocket hijacking). The page may load only its own script
 * and style (Content-Security-Policy), and cannot be framed.
 *
 * @module
 */

import { describeIoError, isIoError, ParleyError } from "../io/errors.ts";
import { APP_CSS, APP_JS, PAGE_HTML } from "./assets.ts";
import type { WebHub } from "./hub.ts";

/** The cookie that holds the token. */
export const TOKEN_COOKIE = "parley_token";

/** The page's Content-Security-Policy: its own script and style, its own WebSocket, nothing else. */
export const CONTENT_SECURITY_POLICY: string =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page's server, running. */
export interface WebServer {
  /** The address to open, with the token: `http://127.0.0.1:PORT/PATH/?t=TOKEN` (PATH: 16 random characters). */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Stops serving and closes every page's connection. */
  close(): Promise<void>;
}

/** The page's server could not start (its port taken, say). */
export class WebServerError extends ParleyError {}

/** Equal strings, compared in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The token in the request's cookie, if any. */
function cookieToken(request: Request): string | undefined {
  const header = request.headers.get("cookie") ?? "";
  for (const part of header.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === TOKEN_COOKIE) return value.join("=");
  }
  return undefined;
}

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

function refuse(status: number, text: string): Response {
  return new Response(text + "\n", { status, headers: { ...SECURITY_HEADERS, "content-type": "text/plain" } });
}

/**
 * Serves the page for `hub` on 127.0.0.1, on `port` (0: a free one).
 *
 * @throws {WebServerError} when it cannot listen there.
 */
export function startWebServer(hub: WebHub, port = 0): WebServer {
  const token = crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url", omitPadding: true });
  // The page lives under a path no one can guess, and the cookie is scoped to it: browsers send cookies to every
  // port of a host, so another server on 127.0.0.1 gets the token only if asked for this very path.
  const base = `/${crypto.getRandomValues(new Uint8Array(12)).toBase64({ alphabet: "base64url", omitPadding: true })}/`;
  const abort = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr>;
  let hosts: string[] = [];
  try {
    server = Deno.serve({ hostname: "127.0.0.1", port, signal: abort.signal, onListen: () => {} }, (request) => {
      const host = request.headers.get("host") ?? "";
      if (!hosts.includes(host)) return refuse(403, "forbidden: this page is served to 127.0.0.1 only");
      const url = new URL(request.url);
      const given = url.searchParams.get("t");
      if (url.pathname === base && given !== null) {
        if (!sameSecret(given, token)) return refuse(403, "forbidden: wrong token");
        return new Response(null, {
          status: 303,
          headers: {
            ...SECURITY_HEADERS,
            location: base,
            "set-cookie": `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=${base}`,
          },
        });
      }
      // Browsers ask for an icon by themselves; there is none, and nothing to hide.
      if (url.pathname === "/favicon.ico") return new Response(null, { status: 204, headers: SECURITY_HEADERS });
      const held = cookieToken(request);
      if (held === undefined || !sameSecret(held, token)) {
        return refuse(403, "forbidden: open the address parley printed, with its token");
      }
      switch (url.pathname.startsWith(base) ? url.pathname.slice(base.length) : undefined) {
        case "":
          return page(PAGE_HTML, "text/html; charset=utf-8");
        case "app.js":
          return page(APP_JS, "text/javascript; charset=utf-8");
        case "app.css":
          return page(APP_CSS, "text/css; charset=utf-8");
        case "ws": {
          const origin = request.headers.get("origin") ?? "";
          if (!hosts.some((allowed) => origin === `http://${allowed}`)) {
            return refuse(403, "forbidden: the chat connects only from its own page");
          }
          if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
            return refuse(400, "expected a WebSocket");
          }
          const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
          hub.attach(socket);
          return response;
        }
        default:
          return refuse(404, "not found");
      }
    });
  } catch (error) {
    if (!isIoError(error)) throw error;
    throw new WebServerError(`Cannot serve the chat page on 127.0.0.1:${port}: ${describeIoError(error)}`, {
      cause: error,
    });
  }
  const listening = server.addr.port;
  hosts = [`127.0.0.1:${listening}`, `localhost:${listening}`];
  return {
    url: `http://127.0.0.1:${listening}${base}?t=${token}`,
    port: listening,
    async close() {
      hub.close();
      abort.abort();
      await server.finished.catch(() => {});
    },
  };
}

function page(body: string, type: string): Response {
  return new Response(body, { headers: { ...SECURITY_HEADERS, "content-type": type } });
}
