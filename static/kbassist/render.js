// KB Assist answer rendering, shared by the chat page (chat.js) and the widget's frame
// (widget-frame.js): an answer's bubble, its streamed text, the sources with their passages
// and age, the evidence quotes, the [n] citation links, badges and notes. A fix to how an
// answer looks lands in both doors.
//
// Model text is only ever inserted as text while streaming; the final answer is HTML that
// the server rendered from Markdown and sanitised (chat/rendering.py). Passages and quotes
// from documents are always inserted as text. Words come from Django's JavaScript catalogue
// (window.gettext), which both pages load in their language.
window.KBAssist = window.KBAssist || {};
window.KBAssist.render = (function () {
  "use strict";
  const _ = window.gettext || ((s) => s);
  const fmt = window.interpolate || ((s, a) => s.replace(/%s/g, () => a.shift()));

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // An empty answer bubble at the end of ``list``, streaming until ``finish``.
  function addAnswer(list) {
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
    return { bubble, badge, body, evidence, searched, sources, tools, text: "", id: null };
  }

  // The model's words so far, as text.
  function addToken(answer, text) {
    answer.text += text;
    answer.body.textContent = answer.text;
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

  // A click on an [n] marker anywhere in ``list`` opens that source's passage in its answer.
  function followCitations(list) {
    list.addEventListener("click", (e) => {
      const link = e.target.closest("a.cite-link");
      if (!link) return;
      e.preventDefault();
      const bubble = link.closest(".msg");
      const item = bubble && bubble.querySelector('.source[data-source="' + link.dataset.cite + '"]');
      if (item) openPassage(item, true);
    });
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

  // The answer as saved: the server's HTML, how it ended, its kind, evidence, cited sources
  // and what was searched for (``data`` is a "done" event, or a saved message).
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
  }

  return { el, fmt, addAnswer, addToken, showSearched, renderSources, renderEvidence, openPassage, followCitations, finish };
})();
