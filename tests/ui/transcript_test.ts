import assert from "node:assert/strict";
import fc from "fast-check";
import { FileError, OutputError } from "../../lib/io/errors.ts";
import type { SessionNotice, SessionView } from "../../lib/session/view.ts";
import { PLAIN_TEXT } from "../../lib/ui/render.ts";
import type { StatusSink } from "../../lib/ui/status_writer.ts";
import { formatStamp, openTranscript, Transcript, type TranscriptFile } from "../../lib/ui/transcript.ts";
import type { Ui } from "../../lib/ui/ui.ts";
import { shown } from "../support/escaped.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

/** A file in memory: what was written, and the size of each write. */
class MemoryFile implements TranscriptFile {
  chunks: Uint8Array[] = [];
  closed = false;
  /** Takes at most this many bytes a write, as a file may. */
  maxWrite = Infinity;
  /** Throws this at the next write, when set. */
  failWith: Error | undefined;

  writeSync(p: Uint8Array): number {
    if (this.failWith !== undefined) throw this.failWith;
    const n = Math.min(p.length, this.maxWrite);
    this.chunks.push(p.slice(0, n));
    return n;
  }

  close(): void {
    this.closed = true;
  }

  get text(): string {
    const all = new Uint8Array(this.chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    return decoder.decode(all);
  }

  get lines(): string[] {
    return this.text.split("\n").slice(0, -1);
  }
}

/** A view that records what it was given. */
class RecordingView implements SessionView, Disposable {
  readonly passThrough = PLAIN_TEXT;
  calls: string[] = [];
  peerLine(line: Uint8Array): Promise<void> {
    this.calls.push(`peerLine ${decoder.decode(line)}`);
    return Promise.resolve();
  }
  peerLines(run: Uint8Array, lines: number): Promise<void> {
    this.calls.push(`peerLines ${lines} ${decoder.decode(run)}`);
    return Promise.resolve();
  }
  flush(): Promise<void> {
    this.calls.push("flush");
    return Promise.resolve();
  }
  turn(mine: boolean): void {
    this.calls.push(`turn ${mine}`);
  }
  sent(lines: Uint8Array): void {
    this.calls.push(`sent ${decoder.decode(lines)}`);
  }
  notice(notice: SessionNotice): void {
    this.calls.push(`notice ${notice}`);
  }
  [Symbol.dispose](): void {
    this.calls.push("dispose");
  }
}

/** A Ui that records what it was given. */
class RecordingUi implements Ui {
  views: RecordingView[] = [];
  statusLines: string[] = [];
  idleTexts: string[] = [];
  readonly status: StatusSink = {
    line: (text: string) => void this.statusLines.push(text),
    flushed: () => Promise.resolve(),
  };
  view(_peerName: string): SessionView & Disposable {
    const view = new RecordingView();
    this.views.push(view);
    return view;
  }
  idle(text: string): void {
    this.idleTexts.push(text);
  }
}

/** 2026-11-26 03:40:12 local time, as the stamp shows it. */
const NOW = new Date(2026, 10, 26, 3, 40, 12);
const STAMP = formatStamp(NOW);

function transcript(file: MemoryFile, options: { bufferBytes?: number; onFailure?: () => void } = {}): Transcript {
  return new Transcript(file, { path: "chat.log", now: () => NOW, ...options });
}

/** An error as a file system gives it. */
function osError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

Deno.test("the stamp is the local date and time with the offset from UTC", () => {
  assert.match(STAMP, /^2026-11-26 03:40:12 [+-]\d{4}$/);
  const offset = -NOW.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const hours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const minutes = String(Math.abs(offset) % 60).padStart(2, "0");
  assert.equal(STAMP.slice(-5), `${sign}${hours}${minutes}`);
  assert.equal(formatStamp(new Date(2026, 0, 2, 4, 5, 6)).slice(0, 19), "2026-01-02 04:05:06");
});

Deno.test("the stamp's offset in zones west and east of UTC, and off the hour", async () => {
  const module = new URL("../../lib/ui/transcript.ts", import.meta.url).href;
  const code =
    `import { formatStamp } from "${module}"; console.log(formatStamp(new Date(Date.UTC(2026, 0, 15, 12, 0, 0))));`;
  const cases: [string, string][] = [
    ["UTC", "2026-01-15 12:00:00 +0000"],
    ["Asia/Kolkata", "2026-01-15 17:30:00 +0530"],
    ["America/St_Johns", "2026-01-15 08:30:00 -0330"],
    ["America/New_York", "2026-01-15 07:00:00 -0500"],
  ];
  for (const [zone, expected] of cases) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", code],
      env: { TZ: zone },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(decoder.decode(output.stdout).trim(), expected, `TZ=${zone}: ${decoder.decode(output.stderr)}`);
  }
});

Deno.test("both sides and the events are logged in order, with who said what", async () => {
  const file = new MemoryFile();
  const ui = new RecordingUi();
  const wrapped = transcript(file).wrap(ui);
  wrapped.status.line("connected: 127.0.0.1:34872");
  {
    using view = wrapped.view("127.0.0.1:34872");
    await view.peerLine(bytes("héllo"));
    await view.flush();
    view.sent(bytes("hi there\nsecond\n"));
    await view.peerLines(bytes("plain one\n\nplain\tthree\n"), 3);
    view.notice("peer-finished");
    view.notice("finished-sending");
  }
  wrapped.status.line("127.0.0.1:34872 left");
  assert.deepEqual(file.lines, [
    `${STAMP} -- connected: 127.0.0.1:34872`,
    `${STAMP} 127.0.0.1:34872: héllo`,
    `${STAMP} you: hi there`,
    `${STAMP} you: second`,
    `${STAMP} 127.0.0.1:34872: plain one`,
    `${STAMP} 127.0.0.1:34872: `,
    `${STAMP} 127.0.0.1:34872: plain\tthree`,
    `${STAMP} -- 127.0.0.1:34872 finished sending`,
    `${STAMP} -- you finished sending; still receiving from 127.0.0.1:34872`,
    `${STAMP} -- 127.0.0.1:34872 left`,
  ]);
});

Deno.test("the wrapped interface still gets every call, in order", async () => {
  const ui = new RecordingUi();
  const wrapped = transcript(new MemoryFile()).wrap(ui);
  wrapped.idle("waiting for a client");
  wrapped.status.line("connected: peer");
  {
    using view = wrapped.view("peer");
    assert.equal(view.passThrough, PLAIN_TEXT);
    view.turn(true);
    view.sent(bytes("mine\n"));
    view.turn(false);
    await view.peerLine(bytes("theirs"));
    await view.peerLines(bytes("a\nb\n"), 2);
    await view.flush();
    view.notice("peer-finished");
  }
  assert.deepEqual(ui.idleTexts, ["waiting for a client"]);
  assert.deepEqual(ui.statusLines, ["connected: peer"]);
  assert.deepEqual(ui.views[0].calls, [
    "turn true",
    "sent mine\n",
    "turn false",
    "peerLine theirs",
    "peerLines 2 a\nb\n",
    "flush",
    "notice peer-finished",
    "dispose",
  ]);
});

Deno.test("the peer is named by --name when given, made safe", async () => {
  const file = new MemoryFile();
  const wrapped = transcript(file).wrap(new RecordingUi(), "Ann\x1b[31m");
  using view = wrapped.view("127.0.0.1:4000");
  await view.peerLine(bytes("hi"));
  await view.flush();
  assert.deepEqual(file.lines, [`${STAMP} Ann^[[31m: hi`]);
});

Deno.test("a hostile peer's escape sequences are written escaped, as on the screen", async () => {
  const file = new MemoryFile();
  const wrapped = transcript(file).wrap(new RecordingUi());
  const hostile = "\x1b]0;PWNED\x07\x1b[2J\u202Egnp.exe\u0085\x7f\r done";
  {
    using view = wrapped.view("peer\x1b[2J");
    await view.peerLine(bytes(hostile));
    view.sent(bytes("me \x1b[1m bold\n"));
    await view.flush();
  }
  wrapped.status.line("error from outside: \x1b[2J\nsecond line");
  assert.deepEqual(file.lines, [
    `${STAMP} peer^[[2J: ${shown(hostile)}`,
    `${STAMP} you: me ^[[1m bold`,
    `${STAMP} -- error from outside: ^[[2J^Jsecond line`,
  ]);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(file.text, /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/);
});

Deno.test("bytes that are not UTF-8 are written as U+FFFD, as on the screen", async () => {
  const file = new MemoryFile();
  using view = transcript(file).wrap(new RecordingUi()).view("p");
  await view.peerLine(new Uint8Array([0x61, 0xff, 0xe2, 0x80, 0x62]));
  await view.flush();
  assert.deepEqual(file.lines, [`${STAMP} p: a\uFFFD\uFFFDb`]);
});

Deno.test("property: any line is written whole and escaped, whatever the buffer and write sizes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit: "binary", maxLength: 300 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 50 }),
      async (texts: string[], bufferBytes: number, maxWrite: number) => {
        const file = new MemoryFile();
        file.maxWrite = maxWrite;
        using view = transcript(file, { bufferBytes }).wrap(new RecordingUi()).view("p");
        for (const text of texts) await view.peerLine(bytes(text));
        await view.flush();
        assert.deepEqual(
          file.lines,
          texts.map((text) => `${STAMP} p: ${shown(decoder.decode(bytes(text))).replaceAll("\n", "^J")}`),
        );
        assert.ok(file.chunks.every((chunk) => chunk.length <= bufferBytes));
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("memory stays one buffer: a long line and a long run go out in writes of the buffer's size", async () => {
  const file = new MemoryFile();
  using view = transcript(file, { bufferBytes: 4096 }).wrap(new RecordingUi()).view("p");
  const long = new Uint8Array(1024 * 1024);
  for (let i = 0; i < long.length; i += 2) long.set([0xc2, 0x85], i); // C1 controls: 8 bytes each once escaped
  await view.peerLine(long);
  const run = bytes("x".repeat(99) + "\n").length;
  await view.peerLines(new Uint8Array(run * 10_000).fill(0x78).map((b, i) => (i % run === run - 1 ? 0x0a : b)), 10_000);
  await view.flush();
  assert.ok(file.chunks.every((chunk) => chunk.length <= 4096));
  const lines = file.lines;
  assert.equal(lines.length, 10_001);
  assert.equal(lines[0], `${STAMP} p: ${"<U+0085>".repeat(512 * 1024)}`);
  assert.equal(lines[10_000], `${STAMP} p: ${"x".repeat(99)}`);
});

Deno.test("lines reach the file at the end of each run: a person reading it along sees them", async () => {
  const file = new MemoryFile();
  using view = transcript(file).wrap(new RecordingUi()).view("p");
  await view.peerLine(bytes("one"));
  await view.flush();
  assert.deepEqual(file.lines, [`${STAMP} p: one`]);
  view.sent(bytes("two\n"));
  assert.deepEqual(file.lines, [`${STAMP} p: one`, `${STAMP} you: two`]);
});

Deno.test("a failed write is reported once, in one line; nothing more is written; the session's next wait fails", async () => {
  const file = new MemoryFile();
  const failures: OutputError[] = [];
  const log = new Transcript(file, { path: "/mnt/full/chat.log", now: () => NOW, onFailure: (e) => failures.push(e) });
  const wrapped = log.wrap(new RecordingUi());
  using view = wrapped.view("p");
  view.sent(bytes("before\n"));
  file.failWith = osError("ENOSPC", "No space left on device (os error 28)");
  view.sent(bytes("lost\n"));
  assert.equal(failures.length, 1);
  assert.ok(log.failure instanceof OutputError);
  assert.equal(log.failure.message, "Cannot write the transcript /mnt/full/chat.log: no space left on device");
  wrapped.status.line("more");
  view.notice("peer-finished");
  await assert.rejects(view.peerLine(bytes("x")), (error) => error === log.failure);
  await assert.rejects(view.flush(), (error) => error === log.failure);
  assert.equal(failures.length, 1);
  file.failWith = undefined;
  log.close("closed");
  assert.deepEqual(file.lines, [`${STAMP} you: before`]);
  assert.ok(file.closed);
});

Deno.test("an error that is no I/O error is a bug: it is not turned into a transcript failure", () => {
  const file = new MemoryFile();
  file.failWith = new TypeError("a bug");
  const log = transcript(file);
  assert.throws(() => log.event("x"), TypeError);
});

Deno.test("close writes its last line and closes the file once", () => {
  const file = new MemoryFile();
  const log = transcript(file);
  log.event("opened");
  log.close("closed");
  log.close("again");
  log.event("after");
  assert.deepEqual(file.lines, [`${STAMP} -- opened`, `${STAMP} -- closed`]);
  assert.ok(file.closed);
});

// The real file: created owner-only, appended to, refused when it cannot be one.

Deno.test("openTranscript creates a missing file readable by its owner only, and appends", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-transcript-" });
  try {
    const path = `${dir}/chat.log`;
    const first = await openTranscript(path, { now: () => NOW });
    first.close("one");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const second = await openTranscript(path, { now: () => NOW });
    second.close("two");
    assert.equal(await Deno.readTextFile(path), `${STAMP} -- one\n${STAMP} -- two\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "openTranscript leaves an existing file's mode as it is",
  { ignore: Deno.build.os === "windows" },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-transcript-" });
    try {
      const path = `${dir}/chat.log`;
      await Deno.writeTextFile(path, "kept\n");
      await Deno.chmod(path, 0o644);
      (await openTranscript(path, { now: () => NOW })).close("added");
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
      assert.equal(await Deno.readTextFile(path), `kept\n${STAMP} -- added\n`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("openTranscript refuses a directory, a missing directory, an empty name and a named pipe, in one line", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-transcript-" });
  try {
    const fifo = `${dir}/pipe`;
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const cases: [string, string][] = [
      [dir, `Cannot open the transcript ${dir}: it is a directory`],
      [
        `${dir}/missing/chat.log`,
        `Cannot open the transcript ${dir}/missing/chat.log: no such directory: ${dir}/missing`,
      ],
      ["", "Cannot open the transcript: the file name is empty"],
      [fifo, `Cannot open the transcript ${fifo}: it is a named pipe (FIFO), not a regular file`],
    ];
    for (const [path, message] of cases) {
      await assert.rejects(openTranscript(path), (error) => {
        assert.ok(error instanceof FileError);
        assert.equal(error.message, message);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
