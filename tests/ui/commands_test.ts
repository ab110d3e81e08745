/**
 * The terminal's local commands (lib/ui/commands.ts): which typed lines are
 * commands, which are sent, and how `//` and a lone `/` are read.
 */

import assert from "node:assert/strict";
import { classifyLine, HELP, unknownCommand } from "../../lib/ui/commands.ts";

Deno.test("/help and /quit are commands, whatever their case and whatever follows", () => {
  assert.deepEqual(classifyLine("/help"), { kind: "help" });
  assert.deepEqual(classifyLine("/HELP"), { kind: "help" });
  assert.deepEqual(classifyLine("/quit"), { kind: "quit" });
  assert.deepEqual(classifyLine("/quit see you"), { kind: "quit" });
  assert.deepEqual(classifyLine("/Quit\t"), { kind: "quit" });
});

Deno.test("// sends the line with one / taken away", () => {
  assert.deepEqual(classifyLine("//x"), { kind: "send", line: "/x" });
  assert.deepEqual(classifyLine("//help"), { kind: "send", line: "/help" });
  assert.deepEqual(classifyLine("//"), { kind: "send", line: "/" });
  assert.deepEqual(classifyLine("///"), { kind: "send", line: "//" });
});

Deno.test("/ and a letter, not a known command, is unknown, named as typed up to white space", () => {
  assert.deepEqual(classifyLine("/nope"), { kind: "unknown", name: "/nope" });
  assert.deepEqual(classifyLine("/helpme"), { kind: "unknown", name: "/helpme" });
  assert.deepEqual(classifyLine("/usr/bin/env x"), { kind: "unknown", name: "/usr/bin/env" });
  assert.deepEqual(classifyLine("/été"), { kind: "unknown", name: "/été" });
  assert.equal(
    unknownCommand("/nope"),
    "unknown command /nope: /help lists the commands; // sends a line that starts with /",
  );
});

Deno.test("a line that is not a command is sent as it is: plain, /, / and a space, / and a non-letter", () => {
  for (const line of ["", "hello", " /help", "/", "/ help", "/1", "/:)", "/-x", "/\tx", "a/help"]) {
    assert.deepEqual(classifyLine(line), { kind: "send", line }, JSON.stringify(line));
  }
});

Deno.test("/help lists every key and command the window offers", () => {
  const text = HELP.join("\n");
  for (const word of ["Enter", "Ctrl+C", "Ctrl+D", "Ctrl+Z", "Left/Right", "Home/End", "Ctrl+A", "Ctrl+E"]) {
    assert.ok(text.includes(word), word);
  }
  for (const word of ["Ctrl+W", "Ctrl+U", "Up/Down", "/help", "/quit", "//text"]) assert.ok(text.includes(word), word);
});
