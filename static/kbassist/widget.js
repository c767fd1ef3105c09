// KB Assist chat widget loader. Put on any page of an allowed origin:
//   <script src="https://kb.example/static/kbassist/widget.js" data-collection="hr" data-key="wk_..." defer></script>
// data-collection: a collection's slug (optional: every collection the visitor or key may ask);
// data-key: a widget key (optional: without one, visitors signed in to KB Assist ask as themselves);
// data-lang: "en" or "zh-hans" (optional: the browser's language); data-title: the bubble's label.
// It adds a bubble and a frame served by KB Assist; the bubble appears only once the frame has
// loaded, which the browser allows only on the origins KB Assist lists (CSP frame-ancestors).
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__kbassistWidget) return;
  window.__kbassistWidget = true;
  const server = new URL(script.src).origin;
  const params = new URLSearchParams();
  for (const name of ["key", "collection", "lang"]) {
    const value = script.dataset[name] || (name === "lang" ? navigator.language : "");
    if (value) params.set(name, value);
  }
  const zh = (script.dataset.lang || navigator.language || "").toLowerCase().startsWith("zh");
  const label = script.dataset.title || (zh ? "问知识库" : "Ask the knowledge base");

  const host = document.createElement("div");
  host.id = "kbassist-widget";
  const root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  const style = document.createElement("style");
  style.textContent = [
    ":host{all:initial}",
    ".bubble{position:fixed;right:20px;bottom:20px;z-index:2147483646;border:0;border-radius:28px;padding:12px 18px;",
    "background:#1f6feb;color:#fff;font:600 15px/1.2 system-ui,-apple-system,'Segoe UI',sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;",
    "display:flex;align-items:center;gap:8px}",
    ".bubble svg{width:18px;height:18px}",
    ".bubble[hidden],.frame[hidden]{display:none}",
    ".frame{position:fixed;right:20px;bottom:76px;z-index:2147483647;width:min(400px,calc(100vw - 40px));",
    "height:min(600px,calc(100vh - 100px));border:1px solid #d0d7de;border-radius:12px;background:#fff;box-shadow:0 8px 30px rgba(0,0,0,.25)}",
  ].join("");
  const bubble = document.createElement("button");
  bubble.className = "bubble";
  bubble.type = "button";
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  path.setAttribute("fill", "currentColor");
  icon.appendChild(path);
  bubble.append(icon, document.createTextNode(label));
  bubble.hidden = true; // until the frame says it loaded
  bubble.setAttribute("aria-expanded", "false");
  const frame = document.createElement("iframe");
  frame.className = "frame";
  frame.title = label;
  frame.hidden = true;
  frame.src = server + "/widget/frame?" + params.toString();
  root.append(style, bubble, frame);

  function show(open) {
    frame.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
  }
  bubble.addEventListener("click", () => show(frame.hidden));
  window.addEventListener("message", (event) => {
    if (event.origin !== server || event.source !== frame.contentWindow || !event.data) return;
    if (event.data.kbassist === "ready") bubble.hidden = false;
    if (event.data.kbassist === "close") show(false);
  });
  (document.body || document.documentElement).appendChild(host);
})();
