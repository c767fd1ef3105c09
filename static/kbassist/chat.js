// KB Assist chat page: sends questions over the websocket and renders the event stream.
// Model text is only ever inserted as text while streaming; the final answer is HTML that
// the server rendered from Markdown and sanitised (chat/rendering.py). Passages from
// documents are always inserted as text.
(function () {
  "use strict";
  const _ = window.gettext || ((s) => s);
  const fmt = window.interpolate || ((s, a) => s.replace(/%s/g, () => a.shift()));
  const config = JSON.parse(document.getElementById("chat-config").textContent);
  const initial = JSON.parse(document.getElementById("initial-messages").textContent);
  // Every URL comes from the server (Django's reverse()), with {id} where an id goes.
  const url = (name, id) => config.urls[name].replace("{id}", String(id));
  const list = document.getElementById("messages");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const sendButton = document.getElementById("send");
  const stopButton = document.getElementById("stop");
  const statusLine = document.getElementById("status");
  const sidebar = document.getElementById("sidebar");
  const menu = document.getElementById("menu");
  let conversationId = config.conversationId;
  let socket = null;
  let current = null; // the answer being streamed
  let pending = null; // a request made while the socket was (re)connecting
  let lostAnswer = false; // the socket closed while an answer was streaming

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || response.statusText);
    return response.json();
  }

  function scroll() { list.scrollTop = list.scrollHeight; }

  function addQuestion(text) {
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const bubble = el("div", "msg user");
    bubble.appendChild(el("div", "body", text));
    list.appendChild(bubble);
    scroll();
    return bubble;
  }

  function addAnswer() {
    const bubble = el("div", "msg assistant streaming");
    const badge = el("div", "badge");
    badge.hidden = true;
    const body = el("div", "body");
    const evidence = el("div", "evidence");
    evidence.hidden = true;
    const searched = el("p", "searched");
    searched.hidden = true;
    const sources = el("ol", "sources");
    const tools = el("div", "tools");
    bubble.append(badge, body, evidence, searched, sources, tools);
    list.appendChild(bubble);
    scroll();
    return { bubble, badge, body, evidence, searched, sources, tools, text: "", id: null };
  }

  function showSearched(answer, query, how) {
    if (!query) return;
    answer.searched.hidden = false;
    answer.searched.textContent = (how === "model" || how === "concatenated" ? _("Searched for (with the conversation):") : how === "translated" ? _("Searched for (translated):") : _("Searched for:")) + " " + query;
  }

  function renderSources(answer, sources, onlyCited) {
    const target = answer.sources;
    target.replaceChildren();
    const shown = onlyCited && sources.some((s) => s.cited) ? sources.filter((s) => s.cited) : sources;
    for (const s of shown) {
      const item = el("li", "source");
      item.dataset.source = s.n;
      item.value = s.n;
      const head = el("div", "source-head");
      const toggle = el("button", "link source-title", s.title);
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", "false");
      head.appendChild(toggle);
      if (s.location) head.appendChild(el("span", "source-location", "— " + s.location));
      if (s.updated) head.appendChild(sourceAge(s));
      const panel = el("div", "passage");
      panel.hidden = true;
      panel.appendChild(passageText(s.text || "", s.support || []));
      if (s.url) {
        const open = el("a", "open-source", s.page ? fmt(_("Open the document at page %s"), [s.page]) : _("Open the document"));
        open.href = s.url;
        open.target = "_blank";
        open.rel = "noopener";
        panel.appendChild(open);
      }
      toggle.addEventListener("click", () => openPassage(item, panel.hidden));
      item.append(head, panel);
      target.appendChild(item);
    }
  }

  // How old a source is: "updated 3 months ago" in the page's language, the exact date on
  // hover; a source past its review date is marked.
  function sourceAge(s) {
    const box = el("span", "source-age");
    const time = el("time", null, fmt(_("updated %s"), [ago(s.updated)]));
    time.dateTime = s.updated;
    time.title = fmt(_("Last updated on %s"), [s.updated]);
    box.appendChild(time);
    if (s.past_review) {
      const due = el("span", "source-due", _("past its review date"));
      due.title = fmt(_("To be reviewed by %s"), [s.review_by]);
      box.append(" · ", due);
    }
    return box;
  }

  function ago(isoDate) {
    const [y, m, d] = isoDate.split("-").map(Number);
    const now = new Date();
    const days = Math.round((Date.UTC(y, m - 1, d) - Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())) / 86400000);
    let words;
    try {
      const relative = new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" });
      if (Math.abs(days) < 30) words = relative.format(days, "day");
      else if (Math.abs(days) < 365) words = relative.format(Math.round(days / 30.44), "month");
      else words = relative.format(Math.round(days / 365.25), "year");
    } catch (e) {
      words = isoDate; // a browser without Intl.RelativeTimeFormat
    }
    return words;
  }

  // The passage, with the sentences that support the answer marked (offsets from the server).
  function passageText(text, spans) {
    const quote = el("blockquote", "passage-text");
    let at = 0;
    for (const [start, end] of spans.slice().sort((a, b) => a[0] - b[0])) {
      if (start < at || end > text.length) continue;
      quote.appendChild(document.createTextNode(text.slice(at, start)));
      quote.appendChild(el("mark", "support", text.slice(start, end)));
      at = end;
    }
    quote.appendChild(document.createTextNode(text.slice(at)));
    return quote;
  }

  // "From <title › section>:" and the quoted sentences that answer the question.
  function renderEvidence(answer, evidence, verification) {
    answer.evidence.replaceChildren();
    const shown = (evidence || []).filter((e) => !(verification && verification.from_evidence));
    for (const e of shown) {
      const head = el("p", "evidence-head");
      const where = e.section ? (e.section.startsWith(e.title) ? e.section : e.title + " › " + e.section) : e.title;
      head.append(_("From") + " ", el("em", null, where), ":");
      const quote = el("blockquote", "evidence-quote", (e.context && !e.quote.startsWith(e.context) ? e.context.replace(/[:：]\s*$/, "") + ": " : "") + e.quote + " ");
      const cite = el("a", "cite-link", "[" + e.n + "]");
      cite.href = "#source-" + e.n;
      cite.dataset.cite = e.n;
      quote.appendChild(cite);
      answer.evidence.append(head, quote);
    }
    const removed = verification && verification.claims_removed;
    if (removed) {
      answer.evidence.appendChild(el("p", "note", fmt(_("Left out: %s statement(s) of the model that the sources do not support."), [removed])));
    }
    answer.evidence.hidden = !answer.evidence.childElementCount;
  }

  function openPassage(item, open) {
    const panel = item.querySelector(".passage");
    panel.hidden = !open;
    item.querySelector(".source-title").setAttribute("aria-expanded", String(open));
    if (open) item.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  const BADGES = {
    curated: _("Curated answer"),
    cached: _("Answered before (cached)"),
    refused: _("Not in the knowledge base"),
    passages: _("Model unavailable"),
    quoted: _("Quoted from the sources"),
    busy: _("Busy"),
    withheld: _("Withheld"),
  };
  // Refused before anything was stored (guard rails): the question goes back into the box.
  const NOT_ASKED = ["rate_limited", "answer_in_progress", "too_long", "too_large", "bad_frame"];

  function renderTools(answer, data) {
    answer.tools.replaceChildren();
    if (!data.id) return;
    answer.id = data.id;
    const up = el("button", "icon thumb up", "👍");
    const down = el("button", "icon thumb down", "👎");
    up.type = down.type = "button";
    up.title = _("Helpful");
    down.title = _("Not helpful");
    const setState = (helpful) => {
      up.classList.toggle("chosen", helpful === true);
      down.classList.toggle("chosen", helpful === false);
    };
    setState(data.feedback);
    const comment = el("form", "comment");
    comment.hidden = true;
    const box = el("input");
    box.type = "text";
    box.placeholder = _("What was wrong? (optional)");
    const save = el("button", "small", _("Send feedback"));
    comment.append(box, save);
    const send = async (helpful, text) => {
      try {
        await post(url("feedback", data.id), { helpful: helpful, comment: text || "" });
        setState(helpful);
        statusLine.textContent = _("Thank you for the feedback.");
      } catch (err) {
        statusLine.textContent = err.message;
      }
    };
    up.addEventListener("click", () => { comment.hidden = true; send(true); });
    down.addEventListener("click", () => { send(false); comment.hidden = false; box.focus(); });
    comment.addEventListener("submit", (e) => { e.preventDefault(); send(false, box.value); comment.hidden = true; });
    answer.tools.append(up, down);
    const regenerate = el("button", "small regenerate", _("Regenerate"));
    regenerate.type = "button";
    regenerate.addEventListener("click", () => {
      const answers = list.querySelectorAll(".msg.assistant");
      if (current || answer.bubble !== answers[answers.length - 1]) return;
      answer.bubble.remove();
      current = addAnswer();
      send_({ type: "regenerate", conversation_id: conversationId });
    });
    answer.tools.append(regenerate, comment);
    updateRegenerate();
  }

  function updateRegenerate() {
    const all = list.querySelectorAll(".msg.assistant");
    all.forEach((bubble, i) => {
      const button = bubble.querySelector(".regenerate");
      if (button) button.hidden = i !== all.length - 1;
    });
  }

  function finish(answer, data) {
    answer.bubble.classList.remove("streaming");
    if (data.html !== undefined) answer.body.innerHTML = data.html; // sanitised server-side
    if (data.status === "stopped") answer.bubble.appendChild(el("p", "note", _("(stopped)")));
    if (data.status === "interrupted") {
      answer.bubble.classList.add("interrupted");
      answer.bubble.appendChild(el("p", "note", _("(interrupted: the server stopped while answering; the text above is what it had written)")));
    }
    if (data.status === "streaming") answer.bubble.appendChild(el("p", "note", _("(still being written elsewhere, or cut short: reload later to see)")));
    if (BADGES[data.kind]) {
      answer.badge.hidden = false;
      answer.badge.textContent = BADGES[data.kind];
      answer.bubble.classList.add("kind-" + data.kind);
    }
    renderEvidence(answer, data.evidence, data.verification);
    renderSources(answer, data.citations || [], true);
    showSearched(answer, data.query, data.query_how);
    renderTools(answer, data);
  }

  function setBusy(busy) {
    sendButton.hidden = busy;
    stopButton.hidden = !busy;
  }

  function onEvent(event) {
    switch (event.type) {
      case "conversation":
        if (!conversationId) {
          conversationId = event.id;
          history.replaceState(null, "", url("conversation", event.id));
          addConversation(event.id, event.title);
        }
        break;
      case "sources":
        if (!current) return;
        renderSources(current, event.sources, false);
        showSearched(current, event.query, event.query_how);
        current.query = event.query;
        current.queryHow = event.query_how;
        statusLine.textContent = event.sources.length ? _("Writing the answer…") : "";
        break;
      case "evidence":  // the best quotes, before the model's answer
        if (current) renderEvidence(current, event.evidence, null);
        break;
      case "queued":
        statusLine.textContent = fmt(_("Waiting for the model: you are number %s in line."), [event.position]);
        break;
      case "token":
        if (!current) return;
        if (!current.text) statusLine.textContent = "";
        current.text += event.text;
        current.body.textContent = current.text;
        scroll();
        break;
      case "done": {
        if (!current) return;
        const t = event.timings || {};
        finish(current, Object.assign({ id: event.message_id, query: current.query, query_how: current.queryHow }, event));
        statusLine.textContent = t.ttft_ms !== undefined
          ? fmt(_("First words after %s s"), [(t.ttft_ms / 1000).toFixed(1)]) + (t.tokens_per_s ? " · " + t.tokens_per_s + " " + _("tokens/s") : "")
          : "";
        current = null;
        setBusy(false);
        break;
      }
      case "error":
        statusLine.textContent = event.message;
        if (current && current.asked && NOT_ASKED.includes(event.code) && !current.text && !current.id) {
          current.bubble.remove();
          current.asked.bubble.remove();
          if (!input.value.trim()) input.value = current.asked.text;
          current = null;
          setBusy(false);
        } else if (current && !current.text && !current.id) {
          current.bubble.classList.remove("streaming");
          current.body.textContent = "";
          current = null;
          setBusy(false);
        }
        break;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + config.wsPath);
    socket.addEventListener("open", () => {
      // Reconnected after the connection dropped mid-answer (a web process restarted): show
      // the conversation as the server saved it, the cut-short answer marked "interrupted".
      if (lostAnswer && conversationId) { location.href = url("conversation", conversationId); return; }
      if (pending) { socket.send(JSON.stringify(pending)); pending = null; }
    });
    socket.addEventListener("message", (msg) => onEvent(JSON.parse(msg.data)));
    socket.addEventListener("close", () => {
      if (current) {
        statusLine.textContent = _("Connection lost. Reconnecting…");
        finish(current, { citations: [] });
        current = null;
        lostAnswer = true;
        setBusy(false);
      }
      setTimeout(connect, 2000);
    });
  }

  function send_(payload) {
    setBusy(true);
    statusLine.textContent = _("Searching the knowledge base…");
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
    else pending = payload;
  }

  function ask(question) {
    const bubble = addQuestion(question);
    current = addAnswer();
    current.asked = { bubble: bubble, text: question };
    send_({ type: "ask", question: question, conversation_id: conversationId });
  }

  // --- the conversation list ---------------------------------------------------------------
  function addConversation(id, title) {
    const ul = document.getElementById("conversations");
    const none = ul.querySelector(".none");
    if (none) none.remove();
    ul.querySelectorAll("li.active").forEach((li) => li.classList.remove("active"));
    const li = el("li", "active");
    li.dataset.id = id;
    const link = el("a", "conv-title", title);
    link.href = url("conversation", id);
    const actions = el("span", "conv-actions");
    const rename = el("button", "icon rename", "✎");
    const del = el("button", "icon delete", "🗑");
    rename.type = del.type = "button";
    rename.title = _("Rename");
    del.title = _("Delete");
    actions.append(rename, del);
    li.append(link, actions);
    ul.prepend(li);
  }

  document.getElementById("conversations").addEventListener("click", async (e) => {
    const li = e.target.closest("li[data-id]");
    if (!li) return;
    const id = li.dataset.id;
    if (e.target.closest(".rename")) {
      const title = window.prompt(_("New name for this conversation:"), li.querySelector(".conv-title").textContent.trim());
      if (!title) return;
      try {
        const data = await post(url("rename", id), { title: title });
        li.querySelector(".conv-title").textContent = data.title;
      } catch (err) { statusLine.textContent = err.message; }
    } else if (e.target.closest(".delete")) {
      if (!window.confirm(_("Delete this conversation?"))) return;
      try {
        await post(url("delete", id));
        li.remove();
        if (String(conversationId) === id) location.href = config.urls.home;
      } catch (err) { statusLine.textContent = err.message; }
    }
  });

  menu.addEventListener("click", () => {
    const open = sidebar.classList.toggle("open");
    menu.setAttribute("aria-expanded", String(open));
  });

  // --- composing ------------------------------------------------------------------------------
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const question = input.value.trim();
    if (!question || current) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", () => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  });
  list.addEventListener("click", (e) => {
    const link = e.target.closest("a.cite-link");
    if (!link) return;
    e.preventDefault();
    const bubble = link.closest(".msg");
    const item = bubble && bubble.querySelector('.source[data-source="' + link.dataset.cite + '"]');
    if (item) openPassage(item, true);
  });

  for (const m of initial) {
    if (m.role === "user") { addQuestion(m.content); continue; }
    const answer = addAnswer();
    finish(answer, m);
  }
  connect();
  document.body.dataset.chatReady = "1"; // handlers are attached: typing now works
})();
