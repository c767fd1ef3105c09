// KB Assist widget, inside its frame (served by this server, so every request is same-origin).
// Posts the question to /widget/ask and renders the Server-Sent Events as they arrive, like the
// chat page: model text is inserted as text while streaming; the final answer is the HTML the
// server rendered and sanitised; passages are always text.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("widget-config").textContent);
  const t = config.strings;
  const fmt = (s, arg) => s.replace("%s", String(arg));
  const list = document.getElementById("messages");
  const status = document.getElementById("status");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  let conversation = "";
  let busy = false;

  function tell(message) { if (window.parent !== window) window.parent.postMessage({ kbassist: message }, "*"); }
  document.getElementById("close").addEventListener("click", () => tell("close"));

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  const scroll = () => { list.scrollTop = list.scrollHeight; };

  if (config.names) list.appendChild(el("p", "empty", fmt(t.empty, config.names)));

  function addAnswer() {
    const bubble = el("div", "msg assistant streaming");
    const badge = el("div", "badge");
    badge.hidden = true;
    const body = el("div", "body");
    const evidence = el("div", "evidence");
    evidence.hidden = true;
    const sources = el("ol", "sources");
    bubble.append(badge, body, evidence, sources);
    list.appendChild(bubble);
    return { bubble, badge, body, evidence, sources, text: "" };
  }

  function renderSources(answer, sources, onlyCited) {
    answer.sources.replaceChildren();
    const shown = onlyCited && sources.some((s) => s.cited) ? sources.filter((s) => s.cited) : sources;
    for (const s of shown) {
      const item = el("li", "source");
      item.value = s.n;
      item.dataset.source = s.n;
      const toggle = el("button", "source-title", s.title + (s.location ? " — " + s.location : ""));
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", "false");
      const panel = el("div", "passage");
      panel.hidden = true;
      panel.appendChild(el("blockquote", "passage-text", s.text || ""));
      if (s.url) {
        const open = el("a", "open-source", s.page ? fmt(t.openPage, s.page) : t.open);
        open.href = s.url;
        open.target = "_blank";
        open.rel = "noopener";
        panel.appendChild(open);
      }
      toggle.addEventListener("click", () => openPassage(item, panel.hidden));
      item.append(toggle, panel);
      answer.sources.appendChild(item);
    }
  }

  function openPassage(item, open) {
    item.querySelector(".passage").hidden = !open;
    item.querySelector(".source-title").setAttribute("aria-expanded", String(open));
    if (open) item.scrollIntoView({ block: "nearest" });
  }

  function renderEvidence(answer, evidence, verification) {
    answer.evidence.replaceChildren();
    if (verification && verification.from_evidence) evidence = [];
    for (const e of evidence || []) {
      const where = e.section ? (e.section.startsWith(e.title) ? e.section : e.title + " › " + e.section) : e.title;
      const head = el("p", "evidence-head");
      head.append(t.from + " ", el("em", null, where), ":");
      const quote = el("blockquote", "evidence-quote", e.quote + " ");
      const cite = el("a", "cite-link", "[" + e.n + "]");
      cite.href = "#";
      cite.dataset.cite = e.n;
      quote.appendChild(cite);
      answer.evidence.append(head, quote);
    }
    answer.evidence.hidden = !answer.evidence.childElementCount;
  }

  function finish(answer, done) {
    answer.bubble.classList.remove("streaming");
    answer.body.innerHTML = done.html; // rendered from Markdown and sanitised by the server
    if (t[done.kind] && done.kind !== "sources") {
      answer.badge.hidden = false;
      answer.badge.textContent = t[done.kind];
    }
    if (done.status === "stopped") answer.bubble.appendChild(el("p", "note", t.stopped));
    renderEvidence(answer, done.evidence, done.verification);
    renderSources(answer, done.citations || [], true);
  }

  list.addEventListener("click", (e) => {
    const link = e.target.closest("a.cite-link");
    if (!link) return;
    e.preventDefault();
    const item = link.closest(".msg").querySelector('.source[data-source="' + link.dataset.cite + '"]');
    if (item) openPassage(item, true);
  });

  function onEvent(name, data, answer) {
    if (name === "conversation") conversation = data.token;
    else if (name === "sources") { renderSources(answer, data.sources, false); status.textContent = data.sources.length ? t.writing : ""; }
    else if (name === "evidence") renderEvidence(answer, data.evidence, null); // the best quotes, before the answer
    else if (name === "queued") status.textContent = fmt(t.queued, data.position);
    else if (name === "token") { answer.text += data.text; answer.body.textContent = answer.text; status.textContent = ""; scroll(); }
    else if (name === "done") { finish(answer, data); status.textContent = ""; scroll(); }
    else if (name === "error") status.textContent = data.message;
  }

  async function ask(question) {
    busy = true;
    const q = el("div", "msg user");
    q.appendChild(el("div", "body", question));
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    list.appendChild(q);
    const answer = addAnswer();
    scroll();
    try {
      const response = await fetch(config.askUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream", "X-CSRFToken": config.csrfToken },
        credentials: "same-origin",
        body: JSON.stringify({ question, conversation, key: config.key, collection: config.collection, lang: config.language }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(body.error || t.failed);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length) onEvent(name, JSON.parse(data.join("\n")), answer);
        }
      }
    } catch (err) {
      status.textContent = err.message || t.failed;
    } finally {
      answer.bubble.classList.remove("streaming");
      if (!answer.text && !answer.body.innerHTML) answer.bubble.remove();
      busy = false;
    }
  }

  if (form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const question = input.value.trim();
      if (!question || busy) return;
      input.value = "";
      ask(question);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
  }
  document.body.dataset.widgetReady = "1";
  tell("ready");
})();
