/*!
 * infyn chat widget: one <script> tag, no build step, no dependencies.
 *
 *   <script src="https://infyn.example/static/widget/infyn-widget.js"
 *           data-token-url="/my-backend/infyn-token" async></script>
 *
 * data-token-url  (required) the host site's own endpoint. The widget POSTs to it with the
 *                 page's cookies and expects {"token", "websocket_url", "expires_at"}.
 * data-theme      light (default) | dark
 * data-title      the panel's title (default "Chat")
 * data-position   bottom-right (default) | bottom-left
 * data-open       "true" starts with the panel open
 *
 * Host pages may call window.InfynWidget.open(), .close() and .send(text).
 * The websocket protocol and its close codes are described in docs/api.md.
 *
 * The file is ASCII (non-ASCII text is \u-escaped) so that it reads the same whatever
 * charset a proxy or the host page makes the browser decode it with.
 */
(() => {
  "use strict";

  if (window.InfynWidget) {
    console.warn("infyn widget: the script was included twice; the first copy is used.");
    return;
  }
  const script =
    document.currentScript ||
    document.querySelector("script[data-token-url][src*='infyn-widget']");
  if (!script || !script.dataset.tokenUrl) {
    console.error("infyn widget: the <script> tag needs a data-token-url attribute.");
    return;
  }

  // --- Configuration ------------------------------------------------------------------------

  const config = {
    tokenUrl: script.dataset.tokenUrl,
    // A relative websocket_url names a path on the infyn server: the origin this script came
    // from, not the host page's.
    serverOrigin: new URL(script.src, window.location.href).origin,
    theme: script.dataset.theme === "dark" ? "dark" : "light",
    title: script.dataset.title || "Chat",
    position: script.dataset.position === "bottom-left" ? "bottom-left" : "bottom-right",
    startOpen: script.dataset.open === "true",
  };

  const CLOSE_TOKEN_REFUSED = 4401; // invalid or expired token: mint a new one and reconnect
  const CLOSE_ORIGIN_REFUSED = 4403; // this page's origin is not allowed: retrying cannot help
  const CLOSE_READY_TIMEOUT = 4000; // ours: the server accepted but never said "ready"
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const TOKEN_REFRESH_MARGIN_MS = 30000;
  const READY_TIMEOUT_MS = 15000;
  const TOKEN_FETCH_TIMEOUT_MS = 10000;
  const TRANSCRIPT_LIMIT = 50;
  const DEFAULT_WEBSOCKET_PATH = "/ws/chat/";

  // --- Per-tab persistence ------------------------------------------------------------------

  // sessionStorage belongs to one tab: a reload continues the thread, a new tab starts its
  // own. Storage may be disabled (privacy modes, sandboxed frames); the widget then simply
  // forgets on reload.
  const storageKey =
    "infyn-widget:" + config.serverOrigin + new URL(config.tokenUrl, window.location.href).pathname;

  function loadSaved() {
    try {
      const saved = JSON.parse(window.sessionStorage.getItem(storageKey) || "{}");
      return {
        userId: typeof saved.userId === "string" ? saved.userId : null,
        threadId: typeof saved.threadId === "string" ? saved.threadId : null,
        transcript: Array.isArray(saved.transcript) ? saved.transcript : [],
        usage: saved.usage && typeof saved.usage === "object" ? saved.usage : null,
      };
    } catch {
      return { userId: null, threadId: null, transcript: [], usage: null };
    }
  }

  const saved = loadSaved();

  function persist() {
    saved.transcript = saved.transcript.slice(-TRANSCRIPT_LIMIT);
    try {
      window.sessionStorage.setItem(storageKey, JSON.stringify(saved));
    } catch {
      // Disabled or full: the conversation still works, it just will not survive a reload.
    }
  }

  // --- Styles -------------------------------------------------------------------------------

  const CSS = `
    :host { all: initial; }
    *, *::before, *::after { box-sizing: border-box; }
    .infyn-root {
      --infyn-bg: #ffffff;
      --infyn-fg: #1d2330;
      --infyn-muted: #667085;
      --infyn-border: #e4e7ec;
      --infyn-bubble: #f2f4f7;
      --infyn-accent: #4f46e5;
      --infyn-accent-fg: #ffffff;
      --infyn-error-bg: #fef3f2;
      --infyn-error-fg: #b42318;
      --infyn-ring: rgba(79, 70, 229, 0.2);
      --infyn-shadow: 0 16px 40px rgba(16, 24, 40, 0.18), 0 2px 6px rgba(16, 24, 40, 0.08);
      position: fixed;
      right: 20px;
      bottom: 20px;
      z-index: 2147483000;
      display: flex;
      flex-direction: column;
      align-items: flex-end;
      gap: 12px;
      color: var(--infyn-fg);
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
      -webkit-font-smoothing: antialiased;
    }
    .infyn-root[data-position="bottom-left"] { right: auto; left: 20px; align-items: flex-start; }
    .infyn-root[data-theme="dark"] {
      --infyn-bg: #1b1f27;
      --infyn-fg: #e8eaf0;
      --infyn-muted: #98a2b3;
      --infyn-border: #2e3440;
      --infyn-bubble: #262b35;
      --infyn-accent: #818cf8;
      --infyn-accent-fg: #0f1117;
      --infyn-error-bg: #3a1d1d;
      --infyn-error-fg: #fda29b;
      --infyn-ring: rgba(129, 140, 248, 0.3);
      --infyn-shadow: 0 16px 40px rgba(0, 0, 0, 0.5);
    }
    button { font: inherit; cursor: pointer; }
    button:focus-visible {
      outline: 2px solid var(--infyn-accent);
      outline-offset: 2px;
    }
    svg { width: 20px; height: 20px; fill: none; stroke: currentColor; stroke-width: 2;
          stroke-linecap: round; stroke-linejoin: round; }
    .infyn-launcher {
      display: grid;
      place-items: center;
      width: 56px;
      height: 56px;
      border: 0;
      border-radius: 50%;
      background: var(--infyn-accent);
      color: var(--infyn-accent-fg);
      box-shadow: var(--infyn-shadow);
    }
    .infyn-launcher svg { width: 26px; height: 26px; }
    .infyn-panel {
      display: flex;
      flex-direction: column;
      width: min(380px, calc(100vw - 32px));
      height: min(560px, calc(100vh - 110px));
      overflow: hidden;
      border: 1px solid var(--infyn-border);
      border-radius: 16px;
      background: var(--infyn-bg);
      box-shadow: var(--infyn-shadow);
    }
    .infyn-panel[hidden] { display: none; }
    .infyn-header {
      display: flex;
      align-items: center;
      justify-content: space-between;
      gap: 8px;
      padding: 10px 10px 10px 16px;
      border-bottom: 1px solid var(--infyn-border);
    }
    .infyn-title { margin: 0; font-size: 15px; font-weight: 600; }
    .infyn-icon-button {
      display: grid;
      place-items: center;
      width: 32px;
      height: 32px;
      border: 0;
      border-radius: 8px;
      background: transparent;
      color: var(--infyn-muted);
    }
    .infyn-icon-button:hover { background: var(--infyn-bubble); color: var(--infyn-fg); }
    .infyn-messages {
      display: flex;
      flex: 1;
      flex-direction: column;
      gap: 8px;
      padding: 16px;
      overflow-y: auto;
      overscroll-behavior: contain;
    }
    .infyn-empty { margin: auto; color: var(--infyn-muted); text-align: center; }
    .infyn-message {
      max-width: 85%;
      padding: 8px 12px;
      border-radius: 14px;
      white-space: pre-wrap;
      overflow-wrap: anywhere;
    }
    .infyn-message-user {
      align-self: flex-end;
      border-bottom-right-radius: 4px;
      background: var(--infyn-accent);
      color: var(--infyn-accent-fg);
    }
    .infyn-message-assistant {
      align-self: flex-start;
      border-bottom-left-radius: 4px;
      background: var(--infyn-bubble);
    }
    .infyn-message-error {
      align-self: stretch;
      max-width: none;
      background: var(--infyn-error-bg);
      color: var(--infyn-error-fg);
      font-size: 13px;
    }
    .infyn-streaming .infyn-text::after {
      content: "\\258D";
      margin-left: 1px;
      animation: infyn-blink 1s steps(2, start) infinite;
    }
    @keyframes infyn-blink { to { visibility: hidden; } }
    .infyn-note { display: block; margin-top: 4px; color: var(--infyn-muted); font-size: 12px; }
    .infyn-status {
      min-height: 22px;
      padding: 3px 16px;
      color: var(--infyn-muted);
      font-size: 12px;
    }
    .infyn-status[data-kind="error"] { color: var(--infyn-error-fg); }
    .infyn-composer {
      display: flex;
      align-items: flex-end;
      gap: 8px;
      padding: 0 12px 10px;
    }
    .infyn-input {
      flex: 1;
      min-height: 40px;
      max-height: 132px;
      padding: 9px 12px;
      resize: none;
      border: 1px solid var(--infyn-border);
      border-radius: 12px;
      background: var(--infyn-bg);
      color: var(--infyn-fg);
      font: inherit;
    }
    .infyn-input::placeholder { color: var(--infyn-muted); }
    .infyn-input:focus-visible {
      border-color: var(--infyn-accent);
      outline: none;
      box-shadow: 0 0 0 3px var(--infyn-ring);
    }
    .infyn-send, .infyn-stop {
      display: grid;
      flex: none;
      place-items: center;
      width: 40px;
      height: 40px;
      border: 0;
      border-radius: 12px;
      background: var(--infyn-accent);
      color: var(--infyn-accent-fg);
    }
    .infyn-stop { background: var(--infyn-fg); color: var(--infyn-bg); }
    .infyn-stop svg { fill: currentColor; stroke: none; width: 14px; height: 14px; }
    .infyn-send:disabled, .infyn-stop:disabled { cursor: default; opacity: 0.4; }
    .infyn-send[hidden], .infyn-stop[hidden], .infyn-footer[hidden] { display: none; }
    .infyn-footer {
      padding: 6px 16px 8px;
      border-top: 1px solid var(--infyn-border);
      color: var(--infyn-muted);
      font-size: 11px;
      font-variant-numeric: tabular-nums;
    }
    @media (prefers-reduced-motion: reduce) {
      .infyn-streaming .infyn-text::after { animation: none; }
    }
  `;

  // --- DOM ----------------------------------------------------------------------------------

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: "M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z",
    chevron: "M6 9l6 6 6-6",
    close: "M18 6 6 18M6 6l12 12",
    send: "M22 2 11 13M22 2l-7 20-4-9-9-4 20-7z",
    stop: "M5 5h14v14H5z",
  };

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  /** An element with attributes and children. Server text only ever goes in via `text`. */
  function el(tag, attributes = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  }

  const host = el("div", { class: "infyn-widget-host" });
  const shadow = host.attachShadow({ mode: "open" });
  // A constructed stylesheet is not inline style as far as a host page's CSP is concerned.
  if ("adoptedStyleSheets" in shadow && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.append(el("style", { text: CSS }));
  }

  const ui = {};
  ui.launcher = el(
    "button",
    {
      class: "infyn-launcher",
      type: "button",
      "aria-label": "Open chat",
      "aria-expanded": "false",
      "aria-controls": "infyn-panel",
    },
    [icon("chat")],
  );
  ui.title = el("h2", { class: "infyn-title", id: "infyn-title", text: config.title });
  ui.closeButton = el(
    "button",
    { class: "infyn-icon-button", type: "button", "aria-label": "Close chat" },
    [icon("close")],
  );
  ui.empty = el("p", {
    class: "infyn-empty",
    text: "Say hello. Whatever you tell me here, I will remember next time.",
  });
  // A log announces new replies politely; aria-busy holds the announcement until a reply
  // has finished streaming instead of reading out every token.
  ui.messages = el(
    "div",
    { class: "infyn-messages", role: "log", "aria-live": "polite", "aria-label": "Conversation" },
    [ui.empty],
  );
  ui.status = el("div", { class: "infyn-status", role: "status", "aria-live": "polite" });
  ui.input = el("textarea", {
    class: "infyn-input",
    rows: "1",
    placeholder: "Write a message\u2026",
    "aria-label": "Message",
    enterkeyhint: "send",
  });
  ui.sendButton = el(
    "button",
    { class: "infyn-send", type: "submit", "aria-label": "Send message", disabled: "" },
    [icon("send")],
  );
  ui.stopButton = el(
    "button",
    { class: "infyn-stop", type: "button", "aria-label": "Stop generating", hidden: "" },
    [icon("stop")],
  );
  ui.composer = el("form", { class: "infyn-composer", "aria-label": "Send a message" }, [
    ui.input,
    ui.sendButton,
    ui.stopButton,
  ]);
  ui.footer = el("div", {
    class: "infyn-footer",
    hidden: "",
    title: "Tokens in the last reply's prompt, and what resending the whole conversation costs.",
  });
  ui.panel = el(
    "section",
    {
      class: "infyn-panel",
      id: "infyn-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "infyn-title",
      hidden: "",
    },
    [
      el("header", { class: "infyn-header" }, [ui.title, ui.closeButton]),
      ui.messages,
      ui.status,
      ui.composer,
      ui.footer,
    ],
  );
  ui.root = el(
    "div",
    { class: "infyn-root", "data-theme": config.theme, "data-position": config.position },
    [ui.panel, ui.launcher],
  );
  shadow.append(ui.root);

  // --- Widget state -------------------------------------------------------------------------

  const state = {
    // idle: not started; connecting: fetching a token or opening the socket; ready: the
    // server said "ready"; waiting: a reconnect is scheduled; paused: a reconnect waits for
    // the tab or the panel to be visible, or for the network; failed: an error retrying will
    // not fix, until the user tries again; refused: this origin is not allowed (final).
    connection: "idle",
    panelOpen: false,
    unloading: false,
    socket: null,
    token: null,
    tokenExpiresAt: 0,
    websocketUrl: DEFAULT_WEBSOCKET_PATH,
    attempt: 0, // numbers connection attempts, so that a superseded one stops
    failures: 0, // consecutive failed connections, for the backoff
    tokenRefusals: 0, // consecutive 4401 closes
    retryTimer: null,
    retryAt: 0,
    countdownTimer: null,
    readyTimer: null,
    refusal: "", // the error frame sent before a refusing close
    pending: null, // a message typed while not connected, sent on "ready"
    generating: false, // a message was sent and its reply has not finished
    stopping: false,
    reply: null, // the assistant bubble being streamed into
    replies: 0,
  };

  function render() {
    const busy = state.pending !== null || state.generating;
    const usable = state.connection !== "refused";
    ui.input.disabled = !usable;
    ui.sendButton.hidden = busy;
    ui.sendButton.disabled = busy || !usable || ui.input.value.trim() === "";
    ui.stopButton.hidden = !busy;
    ui.stopButton.disabled = state.stopping;
    ui.messages.setAttribute("aria-busy", state.generating ? "true" : "false");
    // Markers on the host element (outside the shadow root) for host pages and tests.
    host.dataset.infynState = state.connection;
    host.dataset.infynBusy = busy ? "true" : "false";
    host.dataset.infynReplies = String(state.replies);
    host.dataset.infynOpen = state.panelOpen ? "true" : "false";
  }

  function setStatus(text, kind = "info") {
    ui.status.textContent = text;
    ui.status.dataset.kind = kind;
  }

  function setConnection(connection) {
    state.connection = connection;
    render();
  }

  // --- Messages -----------------------------------------------------------------------------

  function scrollIfFollowing(append) {
    const list = ui.messages;
    const following = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    append();
    if (following) list.scrollTop = list.scrollHeight;
  }

  /** A bubble; its text is a Text node so that streamed tokens append without re-rendering. */
  function addBubble(role, text, note) {
    ui.empty.remove();
    const textNode = document.createTextNode(text);
    const bubble = el("div", { class: "infyn-message infyn-message-" + role }, [
      el("span", { class: "infyn-text" }, [textNode]),
    ]);
    if (role === "error") bubble.setAttribute("role", "alert");
    const entry = { role, bubble, textNode, noteNode: null };
    if (note) setNote(entry, note);
    scrollIfFollowing(() => ui.messages.append(bubble));
    return entry;
  }

  function setNote(entry, note) {
    entry.noteNode ??= entry.bubble.appendChild(el("span", { class: "infyn-note" }));
    entry.noteNode.textContent = note;
  }

  function remember(role, text, note) {
    saved.transcript.push(note ? { role, text, note } : { role, text });
    persist();
  }

  function showError(message) {
    addBubble("error", message);
    remember("error", message);
  }

  function clearConversation() {
    ui.messages.replaceChildren(ui.empty);
    saved.threadId = null;
    saved.transcript = [];
    saved.usage = null;
    showUsage(null);
  }

  function showUsage(usage) {
    const sent = usage && Number(usage.prompt_tokens);
    const baseline = usage && Number(usage.baseline_tokens);
    if (!Number.isFinite(sent) || !Number.isFinite(baseline)) {
      ui.footer.hidden = true;
      return;
    }
    ui.footer.textContent =
      sent.toLocaleString() + " tokens sent \u00b7 " + baseline.toLocaleString() + " without memory";
    ui.footer.hidden = false;
  }

  /** Ends the current reply, with a note when it did not finish normally. */
  function finishReply(note) {
    const reply = state.reply;
    if (reply) {
      reply.bubble.classList.remove("infyn-streaming");
      if (reply.textNode.data === "" && !note) reply.bubble.remove();
      else {
        if (note) setNote(reply, note);
        remember("assistant", reply.textNode.data, note);
      }
    }
    state.reply = null;
    state.generating = false;
    state.stopping = false;
    render();
  }

  function ensureReply() {
    if (!state.reply) {
      state.reply = addBubble("assistant", "");
      state.reply.bubble.classList.add("infyn-streaming");
    }
    return state.reply;
  }

  // --- Frames from the server ---------------------------------------------------------------

  function adoptThread(threadId) {
    if (typeof threadId === "string" && threadId && threadId !== saved.threadId) {
      saved.threadId = threadId;
      persist();
    }
  }

  const handlers = {
    ready(frame) {
      clearTimeout(state.readyTimer);
      state.failures = 0;
      state.tokenRefusals = 0;
      // Another person signed in on this tab: their conversation is not this one.
      if (saved.userId && frame.user_id && frame.user_id !== saved.userId) clearConversation();
      saved.userId = typeof frame.user_id === "string" ? frame.user_id : saved.userId;
      // A token bound to a thread wins over the one this tab remembers.
      if (frame.thread_id) saved.threadId = String(frame.thread_id);
      persist();
      setConnection("ready");
      setStatus("Connected");
      flushPending();
    },
    start(frame) {
      adoptThread(frame.thread_id);
      ensureReply();
    },
    token(frame) {
      if (typeof frame.text !== "string" || !frame.text) return;
      const reply = ensureReply();
      scrollIfFollowing(() => reply.textNode.appendData(frame.text));
    },
    done(frame) {
      adoptThread(frame.thread_id);
      const notes = { length: "(reply cut off at its length limit)", cancelled: "(stopped)" };
      finishReply(notes[frame.finish_reason]);
      if (frame.usage) {
        saved.usage = frame.usage;
        persist();
        showUsage(frame.usage);
      }
      state.replies += 1;
      render();
    },
    error(frame) {
      const error = frame.error && typeof frame.error === "object" ? frame.error : {};
      const message = typeof error.message === "string" ? error.message : "Something went wrong.";
      // Before "ready" an error explains the close that follows (4401, 4403): the close
      // handler decides what the visitor sees, and a routine token refresh shows nothing.
      if (state.connection !== "ready") {
        state.refusal = message;
        return;
      }
      // Stopped before the reply's first word: not an error from the visitor's view.
      if (error.code === "cancelled" && state.stopping) {
        ensureReply();
        finishReply("(stopped)");
        return;
      }
      showError(message);
      // The failed generation is over; the conversation goes on.
      if (state.generating) finishReply(state.reply?.textNode.data ? "(interrupted)" : "");
    },
  };

  function onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    // Frame types this version does not know (a newer server) are ignored.
    const handler = frame && Object.hasOwn(handlers, frame.type) ? handlers[frame.type] : null;
    if (handler) handler(frame);
  }

  // --- Sending ------------------------------------------------------------------------------

  function flushPending() {
    const socket = state.socket;
    if (state.pending === null || state.connection !== "ready" || !socket) return;
    const frame = { type: "message", content: state.pending };
    if (saved.threadId) frame.thread_id = saved.threadId;
    socket.send(JSON.stringify(frame));
    state.pending = null;
    state.generating = true;
    render();
  }

  function send(text) {
    const content = String(text ?? "").trim();
    const busy = state.pending !== null || state.generating;
    if (!content || busy || state.connection === "refused") return false;
    addBubble("user", content);
    remember("user", content);
    state.pending = content;
    render();
    if (state.connection === "ready") flushPending();
    else if (["idle", "failed", "paused"].includes(state.connection)) connect();
    return true;
  }

  function stop() {
    if (state.generating && state.socket && state.connection === "ready") {
      state.stopping = true;
      state.socket.send(JSON.stringify({ type: "cancel" }));
      render();
    } else if (state.pending !== null) {
      // Never sent: nothing to cancel on the server.
      state.pending = null;
      addBubble("error", "Not sent.");
      render();
    }
  }

  // --- Connection ---------------------------------------------------------------------------

  class TokenError extends Error {
    constructor(message, final) {
      super(message);
      this.final = final;
    }
  }

  async function fetchToken() {
    let response;
    try {
      response = await fetch(config.tokenUrl, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
        signal: AbortSignal.timeout?.(TOKEN_FETCH_TIMEOUT_MS),
      });
    } catch {
      throw new TokenError("Cannot reach the chat service.", false);
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON: reported below by status.
    }
    if (!response.ok) {
      const message =
        body?.error?.message || "The chat could not start (HTTP " + response.status + ").";
      // A 4xx (the visitor is signed out, the site is misconfigured) does not fix itself
      // by retrying; timeouts, throttling and 5xx may.
      const final = response.status < 500 && ![408, 429].includes(response.status);
      throw new TokenError(message, final);
    }
    if (!body || typeof body.token !== "string" || !body.token) {
      throw new TokenError("The chat's token endpoint answered without a token.", true);
    }
    state.token = body.token;
    // Unknown expiry: rely on the server's 4401 to say when a new token is needed.
    state.tokenExpiresAt = Date.parse(body.expires_at) || Infinity;
    state.websocketUrl =
      typeof body.websocket_url === "string" && body.websocket_url
        ? body.websocket_url
        : DEFAULT_WEBSOCKET_PATH;
  }

  function socketUrl() {
    const url = new URL(state.websocketUrl, config.serverOrigin + "/");
    url.hash = "";
    const scheme = { "http:": "ws:", "https:": "wss:" }[url.protocol] || url.protocol;
    const base = scheme + url.href.slice(url.protocol.length);
    return base + (url.search ? "&" : "?") + "token=" + encodeURIComponent(state.token);
  }

  function canConnectNow() {
    if (navigator.onLine === false) return false;
    // A background tab nobody is chatting in does not need a live connection.
    return !document.hidden || state.panelOpen;
  }

  async function connect() {
    clearRetry();
    if (state.unloading || ["connecting", "ready", "refused"].includes(state.connection)) return;
    if (!canConnectNow()) {
      setConnection("paused");
      setStatus(
        navigator.onLine === false
          ? "Offline; waiting for the network\u2026"
          : "Paused while this tab is in the background.",
      );
      return;
    }
    setConnection("connecting");
    setStatus(state.failures ? "Reconnecting\u2026" : "Connecting\u2026");
    const attempt = ++state.attempt;
    const superseded = () => attempt !== state.attempt || state.connection !== "connecting";
    const tokenStale = !state.token || Date.now() > state.tokenExpiresAt - TOKEN_REFRESH_MARGIN_MS;
    if (tokenStale) {
      try {
        await fetchToken();
      } catch (error) {
        if (superseded()) return;
        if (error.final) fail(error.message);
        else scheduleRetry(error.message);
        return;
      }
      if (superseded()) return;
    }
    openSocket();
  }

  function openSocket() {
    let socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch {
      fail("The chat's websocket_url is not a valid URL.");
      return;
    }
    state.socket = socket;
    // Handlers check that their socket is still the current one: a socket we gave up on
    // (timeout, page hidden) may still report late.
    socket.addEventListener("message", (event) => {
      if (state.socket === socket) onFrame(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (state.socket === socket) onClose(event);
    });
    state.readyTimer = setTimeout(() => {
      // Closing a socket that is still connecting reports 1006, so report the timeout here.
      state.socket = null;
      socket.close();
      onClose({ code: CLOSE_READY_TIMEOUT, reason: "" });
    }, READY_TIMEOUT_MS);
  }

  function onClose(event) {
    clearTimeout(state.readyTimer);
    state.socket = null;
    if (state.generating) finishReply("(connection lost before the reply finished)");
    if (state.unloading) return;
    const refusal = state.refusal;
    state.refusal = "";
    if (event.code === CLOSE_ORIGIN_REFUSED) {
      refuse(refusal || event.reason || "This website is not allowed to use this chat.");
      return;
    }
    if (event.code === CLOSE_TOKEN_REFUSED) {
      state.token = null;
      state.tokenRefusals += 1;
      // The first refusal is an expired token: fetch a new one at once. Repeated refusals
      // mean something is wrong with the minting, so they back off like any failure.
      if (state.tokenRefusals === 1) {
        setConnection("waiting");
        connect();
        return;
      }
    }
    scheduleRetry(event.code === CLOSE_READY_TIMEOUT ? "The chat service did not answer." : "");
  }

  function scheduleRetry(reason) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** state.failures);
    state.failures += 1;
    // Jitter, so that every page open when the server restarted does not return at once.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    state.retryAt = Date.now() + delay;
    state.retryTimer = setTimeout(connect, delay);
    setConnection("waiting");
    const tick = () => {
      const seconds = Math.max(1, Math.round((state.retryAt - Date.now()) / 1000));
      setStatus((reason ? reason + " " : "") + "Reconnecting in " + seconds + " s\u2026", "error");
    };
    tick();
    state.countdownTimer = setInterval(tick, 1000);
  }

  function clearRetry() {
    clearTimeout(state.retryTimer);
    clearInterval(state.countdownTimer);
    state.retryTimer = state.countdownTimer = null;
  }

  function dropPending(message) {
    if (state.pending === null) return;
    state.pending = null;
    showError(message);
  }

  /** Stops until the visitor tries again (sends, or reopens the panel). */
  function fail(message) {
    clearRetry();
    setConnection("failed");
    setStatus(message, "error");
    dropPending("Not sent: " + message);
  }

  /** Stops for good: this page's origin may not use the vendor's chat. */
  function refuse(message) {
    clearRetry();
    setConnection("refused");
    setStatus(message, "error");
    dropPending("Not sent: " + message);
  }

  function disconnect() {
    clearRetry();
    clearTimeout(state.readyTimer);
    const socket = state.socket;
    state.socket = null;
    if (socket) socket.close(1000);
    if (state.generating) finishReply("(connection lost before the reply finished)");
    if (state.connection !== "refused") setConnection("idle");
  }

  // --- Panel --------------------------------------------------------------------------------

  function open() {
    state.panelOpen = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcher.setAttribute("aria-label", "Close chat");
    ui.launcher.replaceChildren(icon("chevron"));
    ui.messages.scrollTop = ui.messages.scrollHeight;
    render();
    if (["idle", "failed", "paused"].includes(state.connection)) connect();
  }

  function close() {
    const hadFocus = shadow.activeElement !== null && ui.panel.contains(shadow.activeElement);
    state.panelOpen = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-label", "Open chat");
    ui.launcher.replaceChildren(icon("chat"));
    render();
    if (hadFocus) ui.launcher.focus();
  }

  function growInput() {
    ui.input.style.height = "auto";
    ui.input.style.height = ui.input.scrollHeight + 2 + "px";
  }

  ui.launcher.addEventListener("click", () => {
    if (state.panelOpen) close();
    else {
      open();
      ui.input.focus();
    }
  });
  ui.closeButton.addEventListener("click", close);
  ui.panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  ui.input.addEventListener("input", () => {
    growInput();
    render();
  });
  function submitInput() {
    if (send(ui.input.value)) {
      ui.input.value = "";
      growInput();
      render();
    }
  }

  ui.input.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition is not.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitInput();
    }
  });
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submitInput();
  });
  ui.stopButton.addEventListener("click", stop);

  // --- Page lifecycle -----------------------------------------------------------------------

  function resumeIfPaused() {
    if (state.connection === "paused") connect();
    // Back online during a backoff: no reason to wait out the countdown.
    else if (state.connection === "waiting" && navigator.onLine !== false) connect();
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.connection === "paused") connect();
  });
  window.addEventListener("online", resumeIfPaused);
  // pagehide rather than unload: it also fires when the page enters the back/forward cache,
  // and a page holding an open websocket would not be allowed in.
  let resumeOnShow = false;
  window.addEventListener("pagehide", () => {
    resumeOnShow = state.connection !== "idle";
    state.unloading = true;
    disconnect();
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return; // a fresh load runs this script anew
    state.unloading = false;
    if (resumeOnShow) connect();
  });

  // --- Start --------------------------------------------------------------------------------

  for (const item of saved.transcript) {
    if (!item || typeof item.text !== "string") continue;
    if (!["user", "assistant", "error"].includes(item.role)) continue;
    const entry = addBubble(item.role, item.text, typeof item.note === "string" ? item.note : "");
    entry.bubble.removeAttribute("role"); // an old error is history, not an alert
  }
  showUsage(saved.usage);
  render();

  function mount() {
    document.body.append(host);
    if (config.startOpen) open();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });

  window.InfynWidget = Object.freeze({
    open,
    close,
    /** Sends `text` as the visitor; false when it cannot be sent now (a reply is streaming). */
    send(text) {
      open();
      return send(text);
    },
  });
})();
