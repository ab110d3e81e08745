/**
 * The chat page's assets: `lib/web/assets.ts` is built from the files in
 * `lib/web/page/`, and the page keeps to what its Content-Security-Policy
 * and its safety rules require (no inline script or style, no handlers in
 * markup, text placed with `textContent` only).
 */

import assert from "node:assert/strict";
import { APP_CSS, APP_JS, PAGE_HTML } from "../../lib/web/assets.ts";
import { generatedModule, readPage } from "../../tools/build_web.ts";

const STALE = "lib/web/assets.ts is stale: run deno task build:web";

Deno.test("the assets in lib/web/assets.ts are built from lib/web/page/", async () => {
  const sources = await readPage();
  assert.equal(PAGE_HTML, sources.html, STALE);
  assert.equal(APP_JS, sources.js, STALE);
  assert.equal(APP_CSS, sources.css, STALE);
  assert.ok(generatedModule(sources).includes("Do not edit"));
});

Deno.test("the page has no inline script, no inline style and no handler attributes", () => {
  const tags = PAGE_HTML.match(/<[a-z][^>]*>/gi) ?? [];
  assert.ok(tags.length > 0);
  for (const tag of tags) {
    assert.doesNotMatch(tag, /\sstyle\s*=/i, `a style attribute: ${tag}`);
    assert.doesNotMatch(tag, /\son[a-z]+\s*=/i, `a handler attribute: ${tag}`);
    assert.doesNotMatch(tag, /(href|src|action)\s*=\s*["']?\s*javascript:/i, `a javascript: address: ${tag}`);
  }
  assert.doesNotMatch(PAGE_HTML, /<style/i, "a <style> element");
  const scripts = [...PAGE_HTML.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  assert.equal(scripts.length, 1, "one script element");
  for (const [, attributes, body] of scripts) {
    assert.match(attributes, /\ssrc="app\.js"/, "the script is app.js, beside the page");
    assert.equal(body.trim(), "", "a script element with inline content");
  }
  assert.match(PAGE_HTML, /<link rel="stylesheet" href="app\.css">/);
});

Deno.test("the page has a log, a message box labelled Message, and loads only its own assets", () => {
  assert.match(PAGE_HTML, /<div id="log"[^>]*role="log"[^>]*aria-live="polite"/);
  assert.match(PAGE_HTML, /<label for="message"[^>]*>Message<\/label>/);
  assert.match(PAGE_HTML, /<input\s[^>]*id="message"/);
  for (const [, address] of PAGE_HTML.matchAll(/\s(?:src|href)="([^"]*)"/g)) {
    // Beside the page, under its random path: never another origin, nor a path outside the page's.
    assert.match(address, /^[a-z][a-z.]*$/, `an asset from elsewhere: ${address}`);
  }
});

Deno.test("the page's script places text as text only", () => {
  assert.ok(APP_JS.startsWith("// @ts-check\n"), "app.js starts with // @ts-check");
  for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
    assert.ok(!APP_JS.includes(sink), `app.js uses ${sink}`);
  }
  assert.match(APP_JS, /new URL\("ws", location\.href\)/, "the socket is ws beside the page, on the same host");
});
