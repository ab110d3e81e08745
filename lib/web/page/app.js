// @ts-check
/// <reference lib="dom" />
/**
 * parley's chat page: shows the conversation and the state the program
 * sends over the WebSocket at `ws` beside the page, and sends the lines the person enters.
 * The messages are those of lib/web/messages.ts, mirrored here in JSDoc.
 *
 * Every piece of text, the peer's lines and name included, is placed with
 * `textContent`: nothing from the program or the peer ever becomes markup.
 */

/**
 * One entry of the conversation (lib/web/messages.ts `ChatEvent`).
 * @typedef {{ kind: "line", from: "peer" | "you", who: string, text: string, time: number }
 *   | { kind: "status", text: string, time: number }} ChatEvent
 */

/**
 * What the page shows beside the conversation (lib/web/messages.ts `ChatState`).
 * @typedef {object} ChatState
 * @property {string} [peer] The peer's name, while a session runs.
 * @property {"alternating" | "duplex"} mode How the sides take turns.
 * @property {"mine" | "theirs"} [turn] Alternating: whose turn it is.
 * @property {boolean} [peerFinished] Duplex: the peer finished sending.
 * @property {number} queued Lines entered and waiting to be sent.
 * @property {number} unconfirmed Secure session: lines sent and not yet confirmed.
 * @property {string} [check] Secure session: the two check words.
 * @property {string} [idle] What the program is doing when no session runs.
 * @property {boolean} ended The program has ended.
 */

/**
 * From the program to the page (lib/web/messages.ts `ServerMessage`).
 * @typedef {{ t: "hello", history: ChatEvent[], state: ChatState }
 *   | { t: "event", event: ChatEvent }
 *   | { t: "state", state: ChatState }} ServerMessage
 */

/**
 * From the page to the program (lib/web/messages.ts `PageMessage`).
 * @typedef {{ t: "send", text: string }} PageMessage
 */

/** Most entries kept in the page; the oldest go first (lib/web/messages.ts `MAX_HISTORY`). */
const MAX_ENTRIES = 10_000;
/** Milliseconds between tries to reconnect. */
const RECONNECT_DELAY = 2_000;
/** Tries to reconnect before giving up. */
const MAX_RECONNECTS = 30;
/** How close to the bottom (px) still counts as "at the bottom" for following new entries. */
const FOLLOW_SLACK = 48;

/**
 * The element with `id`.
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`parley page: no element #${id}`);
  return element;
}

const peerElement = byId("peer");
const stateElement = byId("state");
const connectionElement = byId("connection");
const notifyButton = /** @type {HTMLButtonElement} */ (byId("notify"));
const logElement = byId("log");
const form = /** @type {HTMLFormElement} */ (byId("composer"));
const messageBox = /** @type {HTMLInputElement} */ (byId("message"));
const sendButton = /** @type {HTMLButtonElement} */ (byId("send"));

/** @type {ChatState | undefined} */
let state;
/** @type {WebSocket | undefined} */
let socket;
let reconnects = 0;
let unread = 0;

/**
 * Entries received and not yet in the log. They go in together, once per
 * task, so that a burst of lines costs one layout rather than one each.
 * @type {ChatEvent[]}
 */
let pending = [];
let flushScheduled = false;

// ---------------------------------------------------------------- the log

/**
 * `HH:MM:SS` in local time.
 * @param {number} time ms since the epoch
 * @returns {string}
 */
function formatTime(time) {
  const date = new Date(time);
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/**
 * A `<span>` holding `text`, as text.
 * @param {string} className
 * @param {string} text
 * @returns {HTMLSpanElement}
 */
function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

/**
 * The element for one entry: `div.entry.line.peer`, `div.entry.line.you` or
 * `div.entry.status`, holding `.who` (lines only), `.text` and `<time>`.
 * @param {ChatEvent} event
 * @returns {HTMLDivElement}
 */
function entryElement(event) {
  const entry = document.createElement("div");
  const when = document.createElement("time");
  const date = new Date(event.time);
  if (!Number.isNaN(date.getTime())) when.dateTime = date.toISOString();
  when.textContent = formatTime(event.time);
  if (event.kind === "line") {
    entry.className = `entry line ${event.from === "you" ? "you" : "peer"}`;
    // The colon after the name is drawn by the style sheet (`.who::after`).
    entry.append(span("who", event.who), span("text", event.text));
  } else {
    entry.className = "entry status";
    entry.append(span("text", event.text));
  }
  entry.append(when);
  return entry;
}

/** Whether the log shows its end, so that new entries should keep it there. */
function atBottom() {
  return logElement.scrollHeight - logElement.scrollTop - logElement.clientHeight <= FOLLOW_SLACK;
}

function scrollToBottom() {
  logElement.scrollTop = logElement.scrollHeight;
}

/** Drops the oldest entries beyond {@linkcode MAX_ENTRIES}, all at once. */
function trimLog() {
  const excess = logElement.childElementCount - MAX_ENTRIES;
  if (excess <= 0) return;
  const range = document.createRange();
  range.setStartBefore(logElement.children[0]);
  range.setEndAfter(logElement.children[excess - 1]);
  range.deleteContents();
}

/**
 * Replaces the whole log with `history`.
 * @param {ChatEvent[]} history
 */
function replaceLog(history) {
  pending = [];
  const fragment = document.createDocumentFragment();
  for (const event of history.slice(-MAX_ENTRIES)) {
    if (isChatEvent(event)) fragment.append(entryElement(event));
  }
  logElement.replaceChildren(fragment);
  scrollToBottom();
}

/** Puts the pending entries at the end of the log, following them if the log was at its end. */
function flush() {
  flushScheduled = false;
  if (pending.length === 0) return;
  const events = pending.slice(-MAX_ENTRIES);
  pending = [];
  const follow = atBottom() || events.some((event) => event.kind === "line" && event.from === "you");
  const fragment = document.createDocumentFragment();
  for (const event of events) fragment.append(entryElement(event));
  logElement.append(fragment);
  trimLog();
  if (follow) scrollToBottom();
}

/**
 * Adds one entry at the end of the log (soon), and counts it as unread while the page is hidden.
 * @param {ChatEvent} event
 */
function appendEntry(event) {
  pending.push(event);
  if (!flushScheduled) {
    flushScheduled = true;
    setTimeout(flush, 0);
  }
  if (event.kind === "line" && event.from === "peer" && document.hidden) {
    unread += 1;
    updateTitle();
    notify(event);
  }
}

// ----------------------------------------------------------- the header

/**
 * The parts of the state line, each `[text, class]`.
 * @param {ChatState} current
 * @returns {[string, string][]}
 */
function stateParts(current) {
  if (current.ended) return [["parley has ended", "ended"]];
  /** @type {[string, string][]} */
  const parts = [];
  const peer = current.peer;
  if (peer !== undefined) {
    if (current.mode === "duplex") {
      parts.push(current.peerFinished ? [`${peer} finished sending`, "peer-state"] : [peer, "peer-state"]);
    } else if (current.turn === "mine") parts.push(["your turn", "turn-mine"]);
    else if (current.turn === "theirs") parts.push([`waiting for ${peer}`, "turn-theirs"]);
  }
  if (current.queued > 0) parts.push([`${current.queued} queued`, "queued"]);
  if (current.unconfirmed > 0) parts.push([`${current.unconfirmed} unconfirmed`, "unconfirmed"]);
  if (current.check !== undefined) parts.push([`private, check: ${current.check}`, "check"]);
  return parts;
}

function updateTitle() {
  const base = state?.peer !== undefined ? `parley: ${state.peer}` : "parley";
  document.title = unread > 0 ? `(${unread}) ${base}` : base;
}

function updateComposer() {
  const ended = state?.ended === true;
  messageBox.disabled = ended;
  sendButton.disabled = ended || socket?.readyState !== WebSocket.OPEN;
}

/**
 * Shows `current` in the header.
 * @param {ChatState} current
 */
function showState(current) {
  state = current;
  peerElement.textContent = current.peer ?? current.idle ?? "parley";
  /** @type {Node[]} */
  const nodes = [];
  for (const [text, className] of stateParts(current)) {
    if (nodes.length > 0) nodes.push(document.createTextNode(" · "));
    nodes.push(span(className, text));
  }
  stateElement.replaceChildren(...nodes);
  updateTitle();
  updateComposer();
}

/**
 * Says something about the connection to the program, or nothing.
 * @param {string} [text]
 */
function showConnection(text) {
  connectionElement.textContent = text ?? "";
  connectionElement.hidden = text === undefined;
}

// ------------------------------------------------------- notifications

/** Whether this browser can show desktop notifications. */
function notificationsSupported() {
  return typeof Notification === "function";
}

function updateNotifyButton() {
  notifyButton.hidden = !notificationsSupported() || Notification.permission !== "default";
}

/**
 * A desktop notification for a peer's line, when the person allowed them.
 * @param {ChatEvent & { kind: "line" }} event
 */
function notify(event) {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  try {
    new Notification(`parley: ${event.who}`, { body: event.text, tag: "parley" });
  } catch {
    // Some browsers allow notifications only from a service worker; the title still counts.
  }
}

notifyButton.addEventListener("click", async () => {
  if (!notificationsSupported()) return updateNotifyButton();
  try {
    await Notification.requestPermission();
  } finally {
    updateNotifyButton();
    messageBox.focus();
  }
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    unread = 0;
    updateTitle();
  }
});

// --------------------------------------------------------- the messages

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null;
}

/**
 * @param {unknown} value
 * @returns {value is ChatEvent}
 */
function isChatEvent(value) {
  if (!isObject(value) || typeof value.text !== "string" || typeof value.time !== "number") return false;
  if (value.kind === "status") return true;
  return value.kind === "line" && (value.from === "peer" || value.from === "you") && typeof value.who === "string";
}

/**
 * @param {unknown} value
 * @returns {value is ChatState}
 */
function isChatState(value) {
  return isObject(value) && (value.mode === "alternating" || value.mode === "duplex") &&
    typeof value.queued === "number" && typeof value.unconfirmed === "number" && typeof value.ended === "boolean" &&
    (value.peer === undefined || typeof value.peer === "string") &&
    (value.check === undefined || typeof value.check === "string") &&
    (value.idle === undefined || typeof value.idle === "string");
}

/**
 * The message in a text frame, or undefined when it is not one.
 * @param {unknown} data
 * @returns {ServerMessage | undefined}
 */
function parseMessage(data) {
  if (typeof data !== "string") return undefined;
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  if (value.t === "hello" && Array.isArray(value.history) && isChatState(value.state)) {
    return /** @type {ServerMessage} */ (value);
  }
  if (value.t === "event" && isChatEvent(value.event)) return /** @type {ServerMessage} */ (value);
  if (value.t === "state" && isChatState(value.state)) return /** @type {ServerMessage} */ (value);
  return undefined;
}

/**
 * @param {ServerMessage} message
 */
function handle(message) {
  switch (message.t) {
    case "hello":
      showConnection();
      replaceLog(message.history);
      showState(message.state);
      break;
    case "event":
      appendEntry(message.event);
      break;
    case "state":
      showState(message.state);
      break;
  }
}

// ------------------------------------------------------ the connection

function connect() {
  // The socket sits beside the page, under the same random path.
  const address = new URL("ws", location.href);
  address.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(address.href);
  socket = ws;
  ws.addEventListener("open", () => {
    reconnects = 0;
    updateComposer();
  });
  ws.addEventListener("message", (event) => {
    const message = parseMessage(event.data);
    if (message) handle(message);
  });
  ws.addEventListener("close", () => {
    if (socket !== ws) return;
    updateComposer();
    if (state?.ended) {
      showConnection();
      return;
    }
    if (reconnects >= MAX_RECONNECTS) {
      showConnection("connection to parley lost; reload the page to try again");
      return;
    }
    reconnects += 1;
    showConnection("connection to parley lost; trying again…");
    setTimeout(connect, RECONNECT_DELAY);
  });
}

// ------------------------------------------------------- the message box

form.addEventListener("submit", (event) => {
  event.preventDefault();
  // An empty line is sent too, as in the terminal (alternating, it gives the turn away).
  const text = messageBox.value;
  if (state?.ended || !socket || socket.readyState !== WebSocket.OPEN) return;
  /** @type {PageMessage} */
  const message = { t: "send", text };
  socket.send(JSON.stringify(message));
  messageBox.value = "";
  messageBox.focus();
});

updateNotifyButton();
updateComposer();
messageBox.focus();
connect();
