// KB Assist chat page: sends questions over the websocket and renders the event stream.
// Model text is only ever inserted as text while streaming; the final answer is HTML that
// the server rendered from Markdown and sanitised (chat/rendering.py).
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("chat-config").textContent);
  const initial = JSON.parse(document.getElementById("initial-messages").textContent);
  const list = document.getElementById("messages");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const sendButton = document.getElementById("send");
  const stopButton = document.getElementById("stop");
  const statusLine = document.getElementById("status");
  let conversationId = config.conversationId;
  let socket = null;
  let current = null; // the answer being streamed
  let pending = null; // a question typed while the socket was connecting

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function addQuestion(text) {
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const bubble = el("div", "msg user");
    bubble.appendChild(el("div", "body", text));
    list.appendChild(bubble);
    scroll();
  }

  function addAnswer() {
    const bubble = el("div", "msg assistant streaming");
    const body = el("div", "body");
    const sources = el("ol", "sources");
    bubble.append(body, sources);
    list.appendChild(bubble);
    scroll();
    return { bubble, body, sources, text: "" };
  }

  function renderSources(target, sources, onlyCited) {
    target.replaceChildren();
    const shown = onlyCited && sources.some((s) => s.cited) ? sources.filter((s) => s.cited) : sources;
    for (const s of shown) {
      const item = el("li", "source");
      item.dataset.source = s.n;
      item.value = s.n;
      const head = el("div", "source-head");
      if (s.url) {
        const link = el("a", "source-title", s.title);
        link.href = s.url;
        link.target = "_blank";
        link.rel = "noopener";
        head.appendChild(link);
      } else {
        head.appendChild(el("span", "source-title", s.title));
      }
      if (s.location) head.appendChild(el("span", "source-location", " — " + s.location));
      const passage = el("blockquote", "passage", s.text || "");
      passage.hidden = true;
      const toggle = el("button", "link passage-toggle", "passage");
      toggle.type = "button";
      toggle.addEventListener("click", () => { passage.hidden = !passage.hidden; });
      head.appendChild(toggle);
      item.append(head, passage);
      target.appendChild(item);
    }
  }

  function scroll() { list.scrollTop = list.scrollHeight; }

  function setBusy(busy) {
    sendButton.hidden = busy;
    stopButton.hidden = !busy;
    input.disabled = false;
  }

  function finish(event) {
    if (!current) return;
    current.bubble.classList.remove("streaming");
    if (event.html !== undefined) current.body.innerHTML = event.html; // sanitised server-side
    if (event.status === "stopped") current.bubble.appendChild(el("p", "note", "(stopped)"));
    renderSources(current.sources, event.citations || [], true);
    const t = event.timings || {};
    if (t.ttft_ms !== undefined) {
      statusLine.textContent = "First token " + (t.ttft_ms / 1000).toFixed(1) + " s" +
        (t.tokens_per_s ? " · " + t.tokens_per_s + " tokens/s" : "");
    } else {
      statusLine.textContent = "";
    }
    current = null;
    setBusy(false);
  }

  function onEvent(event) {
    switch (event.type) {
      case "conversation":
        if (!conversationId) {
          conversationId = event.id;
          history.replaceState(null, "", "/c/" + event.id);
        }
        break;
      case "sources":
        if (current) renderSources(current.sources, event.sources, false);
        statusLine.textContent = event.sources.length ? "Searching done, writing the answer…" : "Nothing relevant found in the knowledge base.";
        break;
      case "queued":
        statusLine.textContent = "Waiting for the model: you are number " + event.position + " in line.";
        break;
      case "token":
        if (!current) return;
        if (!current.text) statusLine.textContent = "";
        current.text += event.text;
        current.body.textContent = current.text;
        scroll();
        break;
      case "done":
        finish(event);
        break;
      case "error":
        statusLine.textContent = event.message;
        if (current && !current.text) current.body.textContent = "";
        break;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + config.wsPath);
    socket.addEventListener("open", () => {
      if (pending) { socket.send(JSON.stringify(pending)); pending = null; }
    });
    socket.addEventListener("message", (msg) => onEvent(JSON.parse(msg.data)));
    socket.addEventListener("close", () => {
      if (current) { statusLine.textContent = "Connection lost."; finish({ citations: [] }); }
      setTimeout(connect, 2000);
    });
  }

  function ask(question) {
    addQuestion(question);
    current = addAnswer();
    setBusy(true);
    statusLine.textContent = "Searching the knowledge base…";
    const payload = { type: "ask", question: question, conversation_id: conversationId };
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
    else pending = payload;
  }

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
    const source = bubble && bubble.querySelector(".source[data-source=\"" + link.dataset.cite + "\"]");
    if (source) {
      source.querySelector(".passage").hidden = false;
      source.scrollIntoView({ behavior: "smooth", block: "nearest" });
    }
  });

  for (const m of initial) {
    if (m.role === "user") { addQuestion(m.content); continue; }
    current = addAnswer();
    finish({ html: m.html, citations: m.citations, status: m.status });
  }
  connect();
})();
