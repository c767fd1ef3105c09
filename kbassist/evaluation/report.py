"""The report of an evaluation: one JSON-ready dict, printed as text tables or Markdown.

Plain functions over plain data (no Django). The report::

    {"created", "question_sets", "selection", "user",
     "configurations": [{"name", "overrides", "settings", "summary", "by_set", "by_category",
                         "questions": [one record per question]}]}

``summary`` (and each ``by_set``/``by_category`` entry) is :func:`metrics.summarise`'s dict.
"""

from __future__ import annotations

from collections.abc import Sequence

from .metrics import LOWER_IS_BETTER, METRICS, group_by, summarise

LATENCY = [
    ("seconds", "median", "median seconds, total"),
    ("seconds", "p95", "p95 seconds, total"),
    ("seconds_to_first_token", "median", "median seconds to first token"),
    ("seconds_to_first_token", "p95", "p95 seconds to first token"),
]


def configuration(name: str, overrides: dict, settings: dict, records: list[dict]) -> dict:
    """One configuration's part of the report: its records and their summaries."""
    return {
        "name": name,
        "overrides": overrides,
        "settings": settings,
        "summary": summarise(records),
        "by_set": {key: summarise(group) for key, group in group_by(records, "set").items()},
        "by_category": {key: summarise(group) for key, group in group_by(records, "category").items()},
        "questions": records,
    }


def label(config: dict) -> str:
    overrides = " ".join(f"{k}={v}" for k, v in config["overrides"].items())
    return f"{config['name']}: {overrides}" if overrides else f"{config['name']}: as configured"


def rate_cell(metric: dict) -> str:
    if not metric["of"]:
        return "—"
    return f"{100 * metric['rate']:.1f}% ({metric['hits']}/{metric['of']})"


def _delta(key: str, first: dict, second: dict) -> str:
    if not first[key]["of"] or not second[key]["of"]:
        return ""
    points = 100 * (second[key]["rate"] - first[key]["rate"])
    if abs(points) < 0.05:
        return "="
    better = (points < 0) if key in LOWER_IS_BETTER else (points > 0)
    return f"{points:+.1f} pts" + (" ✓" if better else " ✗")


def _seconds_cell(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def rows(summaries: Sequence[dict]) -> list[list[str]]:
    """The table rows for summaries side by side (a change column when there are two)."""
    out = []
    for key, text in METRICS:
        if not any(s[key]["of"] for s in summaries) and key != "errors":
            continue
        row = [text, *(rate_cell(s[key]) for s in summaries)]
        if len(summaries) == 2:
            row.append(_delta(key, *summaries))
        out.append(row)
    for key, stat, text in LATENCY:
        row = [text, *(_seconds_cell(s[key][stat]) for s in summaries)]
        if len(summaries) == 2:
            a, b = (s[key][stat] for s in summaries)
            row.append("" if a is None or b is None or not a else f"{(b - a) / a * 100:+.0f}%")
        out.append(row)
    return out


def _headers(configs: Sequence[dict]) -> list[str]:
    headers = ["", *(label(c) for c in configs)]
    if len(configs) == 2:
        headers.append("change")
    return headers


def _sections(report: dict) -> list[tuple[str, list[dict]]]:
    """(title, summaries side by side) for all questions, then each set when there are several."""
    configs = report["configurations"]
    total = configs[0]["summary"]
    sections = [(f"All questions ({total['questions']}: {total['answerable']} answerable, "
                 f"{total['unanswerable']} unanswerable)", [c["summary"] for c in configs])]
    sets = list(configs[0]["by_set"])
    if len(sets) > 1:
        for name in sets:
            n = configs[0]["by_set"][name]["questions"]
            sections.append((f"{name} ({n} questions)", [c["by_set"][name] for c in configs]))
    return sections


def text_table(headers: list[str], body: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *body]) for i in range(len(headers))]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in body)])


def markdown_table(headers: list[str], body: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), "|" + "|".join(["---", *["---:"] * (len(headers) - 1)]) + "|", *(line(r) for r in body)])


def failed(config: dict) -> list[dict]:
    """The records of the questions that failed some check, in question order."""
    return [record for record in config["questions"] if record["failures"]]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def as_text(report: dict) -> str:
    """Tables (per configuration side by side, per set when several) and the failures."""
    configs = report["configurations"]
    parts = []
    for title, summaries in _sections(report):
        parts.append(title + "\n" + text_table(_headers(configs), rows(summaries)))
    for config in configs:
        records = failed(config)
        lines = [f"{r['id']}  {_clip(r['question'], 70)}\n    " + "\n    ".join(r["failures"]) for r in records]
        parts.append(f"Failures, {label(config)} ({len(records)} of {config['summary']['questions']} questions)"
                     + ("\n" + "\n".join(lines) if lines else ": none"))
    return "\n\n".join(parts) + "\n"


def as_markdown(report: dict) -> str:
    configs = report["configurations"]
    out = [
        "# Evaluation report",
        "",
        f"{report['created']}; question sets: " + ", ".join(f"`{s}`" for s in report["question_sets"])
        + f"; asked as `{report['user']}`.",
        "",
    ]
    selection = report.get("selection") or {}
    if selection.get("limit") or selection.get("categories"):
        out += [f"Selection: limit {selection.get('limit') or 'none'} per set, categories "
                f"{', '.join(selection.get('categories') or []) or 'all'}.", ""]
    for config in configs:
        shown = ", ".join(f"`{k}={v}`" for k, v in config["settings"].items())
        out.append(f"- **{label(config)}** — {shown}")
    out.append("")
    for title, summaries in _sections(report):
        out += [f"## {title}", "", markdown_table(_headers(configs), rows(summaries)), ""]
    categories = list(configs[0]["by_category"])
    if len(categories) > 1:
        headers = ["category", "questions", *[f"{c['name']}: {what}" for c in configs for what in ("source shown", "facts", "refused")]]
        body = []
        for category in categories:
            cells = [category or "(none)", str(configs[0]["by_category"][category]["questions"])]
            for config in configs:
                s = config["by_category"][category]
                cells += [rate_cell(s["source_shown"]), rate_cell(s["facts"]),
                          rate_cell(s["refused_unanswerable"]) if s["unanswerable"] else rate_cell(s["wrongly_refused"])]
            body.append(cells)
        out += ["## By category", "", "(“refused”: unanswerable refused for unanswerable categories, answerable "
                "wrongly refused for the others)", "", markdown_table(headers, body), ""]
    for config in configs:
        out += [f"## Failures, {label(config)}", ""]
        out += [f"- `{r['id']}` {_clip(r['question'], 120)} — " + "; ".join(r["failures"]) for r in failed(config)] or ["None."]
        out.append("")
    return "\n".join(out)
