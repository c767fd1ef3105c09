// KB Assist widget, inside its frame (served by this server, so every request is same-origin).
// Posts the question to /widget/ask and renders the Server-Sent Events as they arrive with
// render.js, the chat page's rendering: model text is inserted as text while streaming; the
// final answer is the HTML the server rendered and sanitised; passages are always text.
(function () {
  "use strict";
  const _ = window.gettext || ((s) => s);
  const render = window.KBAssist.render; // the answer's look, shared with the chat page
  const { el, fmt } = render;
  const config = JSON.parse(document.getElementById("widget-config").textContent);
  const t = config.strings; // the frame's own words; the answer's come from the catalogue
  const list = document.getElementById("messages");
  const status = document.getElementById("status");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  let conversation = "";
  let busy = false;

  function tell(message) { if (window.parent !== window) window.parent.postMessage({ kbassist: message }, "*"); }
  document.getElementById("close").addEventListener("click", () => tell("close"));

  const scroll = () => { list.scrollTop = list.scrollHeight; };

  if (config.names) list.appendChild(el("p", "empty", fmt(t.empty, [config.names])));

  render.followCitations(list);

  function onEvent(name, data, answer) {
    if (name === "conversation") conversation = data.token;
    else if (name === "sources") {
      render.renderSources(answer, data.sources, false);
      render.showSearched(answer, data.query, data.query_how);
      answer.query = data.query;
      answer.queryHow = data.query_how;
      status.textContent = data.sources.length ? _("Writing the answer…") : "";
    } else if (name === "evidence") render.renderEvidence(answer, data.evidence, null); // the best quotes, before the answer
    else if (name === "queued") status.textContent = data.wait_s  // the expected wait, as the chat page shows it
      ? fmt(_("Waiting for the model: you are number %s in line, about %s s to go."), [data.position, data.wait_s])
      : fmt(_("Waiting for the model: you are number %s in line."), [data.position]);
    else if (name === "token") { render.addToken(answer, data.text); status.textContent = ""; scroll(); }
    else if (name === "done") {
      render.finish(answer, Object.assign({ query: answer.query, query_how: answer.queryHow }, data));
      status.textContent = "";
      scroll();
    } else if (name === "error") status.textContent = data.message;
  }

  async function ask(question) {
    busy = true;
    const q = el("div", "msg user");
    q.appendChild(el("div", "body", question));
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    list.appendChild(q);
    const answer = render.addAnswer(list);
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
