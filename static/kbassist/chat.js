// KB Assist chat page: sends questions over the websocket and renders the event stream with
// render.js (shared with the widget), adding what only the chat has: conversations, feedback,
// regenerate, stop, reconnecting.
(function () {
  "use strict";
  const _ = window.gettext || ((s) => s);
  const render = window.KBAssist.render; // the answer's look, shared with the widget (render.js)
  const { el, fmt } = render;
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
    const answer = render.addAnswer(list);
    scroll();
    return answer;
  }

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
    render.finish(answer, data);
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
        render.renderSources(current, event.sources, false);
        render.showSearched(current, event.query, event.query_how);
        current.query = event.query;
        current.queryHow = event.query_how;
        statusLine.textContent = event.sources.length ? _("Writing the answer…") : "";
        break;
      case "evidence":  // the best quotes, before the model's answer
        if (current) render.renderEvidence(current, event.evidence, null);
        break;
      case "queued":
        statusLine.textContent = event.wait_s  // the expected wait, told again as the line moves
          ? fmt(_("Waiting for the model: you are number %s in line, about %s s to go."), [event.position, event.wait_s])
          : fmt(_("Waiting for the model: you are number %s in line."), [event.position]);
        break;
      case "token":
        if (!current) return;
        if (!current.text) statusLine.textContent = "";
        render.addToken(current, event.text);
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
  render.followCitations(list);

  for (const m of initial) {
    if (m.role === "user") { addQuestion(m.content); continue; }
    const answer = addAnswer();
    finish(answer, m);
  }
  connect();
  document.body.dataset.chatReady = "1"; // handlers are attached: typing now works
})();
