"""Retrieval on the handbooks, measured without generating: where the right page and the
chunk holding the key fact rank, and what the sources shown and the quoted evidence would be,
for the fused order and for each reranking pass.

    .venv/bin/python bench/rerank.py --handbook 18f|sourcegraph [--pass off evidence ...]
        [--depth 20] [--sample N] [--out rows.json]

Reads the handbook imported by ``bench/evaluate.py`` (``data/eval/<handbook>/``; only its schema is brought up to date, nothing
written there). The answerable questions of ``bench/eval/handbook-<handbook>.jsonl`` are
searched as ``answer()`` searches them: a Chinese question by the English translation its last
evaluation stored (no translation is generated again), with the question as asked and the
cross-lingual index's nearest passages merged into the ``KB_TOP_K`` sources as ``answer()``
merges them (``_merged``); deeper candidates follow.
For each pass it reports, over the answerable questions:

* the rank of the first chunk from an expected page, and of the first chunk holding every key
  fact, among the ``--depth`` fused candidates after the pass (mean reciprocal rank, and how
  many at rank 1 / within the sources shown);
* right page among the sources shown (the top ``KB_TOP_K`` after the pass);
* on those sources, as the product grounds an answer: the key fact in the quoted evidence,
  the right page cited by it (the quote-only answer cites the quoted sources), and whether
  the evidence answerability reaches ``KB_WEAK_ANSWERABILITY`` (below it nothing is answered
  without the answer check's confident "yes"; the check, a model, is not run: its refusals up
  to ``KB_CHECK_BELOW`` are not counted);
* for the unanswerable questions, how many stay below ``KB_WEAK_ANSWERABILITY``;
* seconds per question of the pass itself (retrieval and grounding excluded).

Passes: ``off`` (fused order), ``depth8`` (8 sources shown, no re-ordering), ``evidence``
(each candidate's best evidence unit, scored by ``chat/evidence.py`` as for the quotes, blended
with its fused rank, weight 0.5; ``evidence-0.3`` etc. for another weight), ``llm`` (the chat model reads the top 10 and names those that answer, in one prompt),
``gemma`` (EmbeddingGemma's cosine of the question and each of the top 10/``--gemma-depth``,
fused with the fused rank by RRF). ``--sample N`` runs only N questions: the ones whose fact
chunk is ranked 2..depth by the fused order (half of N, spread over them), then questions
spread over the rest (the slow passes). ``--readme`` writes the table into README.md between its markers
(``rerank-<handbook>``, ``rerank-<handbook>-sample``).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import ROOT, open_import, read_jsonl, use_bundled_chat_model  # noqa: E402

SETS = {"18f": "handbook-18f.jsonl", "sourcegraph": "handbook-sourcegraph.jsonl"}
LLM_TOP = 10
LLM_CHARS = 500


# =============================================================================================
# The handbook, read only
# =============================================================================================
def open_handbook(handbook: str):
    open_import(ROOT / "data" / "eval" / handbook, f"run bench/evaluate.py --handbook {handbook} first")
    from django.contrib.auth.models import User

    return User.objects.get(username="eval")


def search_query(question: str) -> tuple[str, str]:
    """What ``answer()`` searched for this question in its last evaluation (the model's
    English translation of a Chinese question), and how."""
    from kbassist.chat.models import Message

    asked = Message.objects.filter(role="user", content=question).order_by("-id").first()
    reply = asked and Message.objects.filter(conversation=asked.conversation, role="assistant", id__gt=asked.id).order_by("id").first()
    if reply and reply.search_query and reply.search_query != question:
        return reply.search_query, "translated"
    return question, "as asked"


def candidates(query: str, how: str, question: str, user, depth: int):
    """The ``depth`` fused candidates: first the ``KB_TOP_K`` sources ``answer()`` takes
    (``_merged``: a translated question's hits with those of the question as asked in its own
    language, a Chinese question's cross-lingual places last), then the rest of both searches,
    alternating, in fused order."""
    from django.conf import settings

    from kbassist.chat.answering import _interleave, _merged
    from kbassist.retrieval.search import crosslingual_search, search
    from kbassist.text import is_chinese

    hits = search(query, user, top_k=depth).hits
    as_asked = search(question, user, top_k=depth).hits if how == "translated" else []
    nearest = crosslingual_search(question, user) if is_chinese(question) else []
    shown = _merged(hits, how, question, as_asked, nearest)
    seen = {h.chunk.pk for h in shown}
    deeper = _interleave(hits, as_asked, depth) if as_asked else hits
    return [*shown, *(h for h in deeper if h.chunk.pk not in seen)][: max(depth, settings.KB_TOP_K)]


# =============================================================================================
# Passes
# =============================================================================================
class Passes:
    def __init__(self):
        self._llm = None

    def run(self, name: str, query: str, hits, top_k: int):
        """(ordered hits, sources shown count)"""
        if name == "off":
            return hits, top_k
        if name.startswith("depth"):
            return hits, int(name[5:])
        if name.startswith("evidence"):
            weight = float(name.split("-", 1)[1]) if "-" in name else 0.5
            return by_evidence(query, hits, weight), top_k
        if name == "llm":
            return self.llm(query, hits), top_k
        raise SystemExit(f"unknown pass {name}")

    def llm(self, query: str, hits):
        from kbassist.llm import ChatMessage, get_checker

        if self._llm is None:
            self._llm = get_checker()
        top = hits[:LLM_TOP]
        listed = "\n\n".join(
            f"[{n}] {h.chunk.source_title} › {h.chunk.heading}\n{h.chunk.text[:LLM_CHARS]}" for n, h in enumerate(top, start=1)
        )
        messages = [
            ChatMessage("system", "You pick the passages that answer a question. Reply with passage numbers only."),
            ChatMessage("user", f"Passages:\n\n{listed}\n\nQuestion: {query}\n\n"
                                "Which passages state the answer to this question? Reply with their numbers, best first, e.g. 3, 1."),
        ]
        reply = "".join(self._llm.stream(messages, max_tokens=12, temperature=0.0))
        picked = []
        for number in re.findall(r"\d+", reply):
            k = int(number) - 1
            if 0 <= k < len(top) and k not in picked:
                picked.append(k)
        return [top[k] for k in picked] + [h for k, h in enumerate(top) if k not in picked] + list(hits[LLM_TOP:])



def evidence_scores(question: str, hits) -> list[float]:
    """For each hit, the score of its best evidence unit for ``question`` (0 when none): the
    product's sentence scoring (``chat/evidence.py``), lexical, over all candidates at once."""
    from kbassist.chat.evidence import EvidenceIndex

    index = EvidenceIndex(
        {"n": n, "text": hit.chunk.text, "section": hit.chunk.heading, "title": hit.chunk.source_title}
        for n, hit in enumerate(hits, start=1)
    )
    best = [0.0] * len(hits)
    for unit in index.rank(question):
        best[unit.source_n - 1] = max(best[unit.source_n - 1], unit.score)
    return best


def by_evidence(question: str, hits, weight: float):
    """``hits`` ordered by ``(1 - weight) / fused rank + weight * evidence / best evidence``."""
    scores = evidence_scores(question, hits)
    top = max(scores) or 1.0
    blended = [(1 - weight) / rank + weight * score / top for rank, score in enumerate(scores, start=1)]
    return [hits[k] for k in sorted(range(len(hits)), key=lambda k: (-blended[k], k))]


def gemma_order(embedder, query: str, hits, depth: int):
    """The top ``depth`` hits fused (RRF, k=1) with their order by EmbeddingGemma's cosine."""
    from kbassist.retrieval.fusion import reciprocal_rank_fusion

    top = list(hits[:depth])
    q = embedder.encode_query(query)
    vectors = embedder.encode([h.chunk.indexed_text for h in top])
    cosines = vectors @ q
    by_gemma = sorted(range(len(top)), key=lambda k: -cosines[k])
    fused = reciprocal_rank_fusion({"fused": list(range(len(top))), "gemma": by_gemma}, k=1)
    return [top[k] for k, _ in fused] + list(hits[depth:])


# =============================================================================================
# Measuring one ordering
# =============================================================================================
def paths_of(hits) -> dict[int, str]:
    from kbassist.knowledge.models import Document

    ids = {h.chunk.document_id for h in hits if h.chunk.document_id}
    paths = dict(Document.objects.filter(pk__in=ids).values_list("pk", "source_path"))
    return {h.chunk.pk: paths.get(h.chunk.document_id, "") for h in hits}


def measure(q: dict, query: str, hits, shown_n: int, paths: dict[int, str]) -> dict:
    from kbassist.chat.turn import Found
    from kbassist.evaluation.metrics import missing_facts, right_source

    from django.conf import settings

    page_rank = next((r for r, h in enumerate(hits, 1) if right_source([paths[h.chunk.pk]], q["sources"])), None)
    fact_rank = None
    if q["facts"]:
        fact_rank = next((r for r, h in enumerate(hits, 1)
                          if right_source([paths[h.chunk.pk]], q["sources"]) and not missing_facts(q["facts"], [h.chunk.text])), None)
    shown = hits[:shown_n]
    grounding = Found(query, "", shown).grounding
    best = grounding.best
    quoted = [f"{ev.context} {ev.quote}" if ev.context and not ev.quote.startswith(ev.context) else ev.quote for ev in best]
    cited = [paths[shown[ev.source_n - 1].chunk.pk] for ev in best]
    score = grounding.answerability.score
    return {
        "page_rank": page_rank,
        "fact_rank": fact_rank,
        "page_shown": page_rank is not None and page_rank <= shown_n,
        "fact_quoted": bool(q["facts"]) and bool(quoted) and not missing_facts(q["facts"], quoted),
        "page_cited": right_source(cited, q["sources"]),
        "answered": score >= settings.KB_WEAK_ANSWERABILITY,
        "answerability": round(score, 3),
    }


def mrr(ranks) -> float:
    return statistics.mean(1 / r if r else 0.0 for r in ranks) if ranks else 0.0


def summary(rows: list[dict], name: str) -> dict:
    ans = [r[name] for r in rows if r["answerable"]]
    unans = [r[name] for r in rows if not r["answerable"]]
    facts = [a for a, r in zip(ans, [r for r in rows if r["answerable"]]) if r["has_facts"]]
    return {
        "n": len(ans),
        "page_mrr": mrr([a["page_rank"] for a in ans]),
        "fact_mrr": mrr([a["fact_rank"] for a in facts]),
        "fact_at_1": sum(a["fact_rank"] == 1 for a in facts),
        "fact_shown": sum(a["fact_rank"] is not None and a["fact_rank"] <= a["shown_n"] for a in facts),
        "n_facts": len(facts),
        "page_shown": sum(a["page_shown"] for a in ans),
        "page_cited": sum(a["page_cited"] and a["answered"] for a in ans),
        "fact_quoted": sum(a["fact_quoted"] for a in facts),
        "fact_quoted_answered": sum(a["fact_quoted"] and a["answered"] for a in facts),
        "answered": sum(a["answered"] for a in ans),
        "unans": len(unans),
        "unans_below": sum(not u["answered"] for u in unans),
        "seconds": statistics.mean(a["seconds"] for a in ans + unans) if ans + unans else 0.0,
    }


def pick_sample(rows: list[dict], n: int) -> set[str]:
    hard = [r["id"] for r in rows if r["answerable"] and r["off"]["fact_rank"] and r["off"]["fact_rank"] > 1]
    rest = [r["id"] for r in rows if r["id"] not in hard]
    chosen = [hard[i * len(hard) // ((n + 1) // 2)] for i in range(min(len(hard), (n + 1) // 2))]
    spare = n - len(chosen)
    if spare > 0 and rest:
        chosen += [rest[i * len(rest) // spare] for i in range(min(spare, len(rest)))]
    return set(chosen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handbook", choices=list(SETS), required=True)
    parser.add_argument("--pass", dest="passes", nargs="+", default=["off", "depth8", "evidence"])
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--gemma-depth", type=int, default=10)
    parser.add_argument("--sample", type=int, help="only N questions: those the fused order ranks the fact chunk 2.., then a spread")
    parser.add_argument("--out", help="write the per-question rows here (JSON)")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md (section rerank-<handbook>[-sample])")
    args = parser.parse_args()
    if "llm" in args.passes:
        use_bundled_chat_model()
    user = open_handbook(args.handbook)
    from django.conf import settings

    top_k = settings.KB_TOP_K
    passes = Passes()
    gemma = None
    if "gemma" in args.passes:
        from kbassist.retrieval.embedder import build_embedder

        gemma = build_embedder("embeddinggemma")
    questions = list(read_jsonl(ROOT / "bench" / "eval" / SETS[args.handbook]))
    rows = []
    prepared = []
    for q in questions:
        query, how = search_query(q["question"])
        hits = candidates(query, how, q["question"], user, args.depth)
        prepared.append((q, query, how, hits, paths_of(hits)))
    # the fused order first, so that --sample can pick by it
    for q, query, how, hits, paths in prepared:
        row = {"id": q["id"], "category": q.get("category"), "answerable": q["answerable"], "has_facts": bool(q["facts"]),
               "question": q["question"], "query": query}
        row["off"] = {**measure(q, query, hits, top_k, paths), "seconds": 0.0, "shown_n": top_k}
        rows.append(row)
    sample = pick_sample(rows, args.sample) if args.sample else None
    for name in args.passes:
        if name == "off":
            continue
        for row, (q, query, how, hits, paths) in zip(rows, prepared):
            if sample is not None and row["id"] not in sample:
                continue
            started = time.perf_counter()
            if name == "gemma":
                ordered, shown_n = gemma_order(gemma, query, hits, args.gemma_depth), top_k
            else:
                ordered, shown_n = passes.run(name, query, hits, top_k)
            seconds = time.perf_counter() - started
            row[name] = {**measure(q, query, ordered, shown_n, paths), "seconds": seconds, "shown_n": shown_n}
            print(f"{name:>12} {row['id']:>12} fact {row['off']['fact_rank']} -> {row[name]['fact_rank']}  "
                  f"page {row['off']['page_rank']} -> {row[name]['page_rank']}  {seconds:.2f}s", flush=True)
        if args.out:  # after each pass: a slow one stopped half-way loses nothing before it
            Path(args.out).write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    if args.out:  # the fused order alone ("--pass off") is written too
        Path(args.out).write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    chosen = [r for r in rows if sample is None or r["id"] in sample]
    print(f"\n{args.handbook}: {len(chosen)} questions" + (f" (sample of {args.sample})" if sample else "") + f", depth {args.depth}")
    heading = (f"{args.handbook}: {len(chosen)} questions ({sum(r['answerable'] for r in chosen)} answerable)"
               + (f", a sample: {args.sample // 2 + args.sample % 2} whose fact chunk the fused order ranks 2nd or lower, the rest spread over the set" if sample else "")
               + f"; {args.depth} fused candidates; sources shown: {top_k}")
    rendered = render([summary(chosen, name) for name in args.passes], args.passes)
    print(rendered)
    if args.readme:
        from _readme import rewrite_section, stamp

        rewrite_section(f"rerank-{args.handbook}" + ("-sample" if sample else ""), f"{heading}\n\n{rendered}\n\n{stamp()}")
    return 0


def render(summaries: list[dict], names: list[str]) -> str:
    lines = ["| pass | page MRR | fact-chunk MRR | fact chunk 1st | fact chunk shown | right page shown | key fact quoted | quoted and answerable | right page cited (answerable) | answerable ≥ threshold | unanswerable below | s/question |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in zip(names, summaries):
        lines.append(
            f"| {name} | {s['page_mrr']:.3f} | {s['fact_mrr']:.3f} | {s['fact_at_1']}/{s['n_facts']} | {s['fact_shown']}/{s['n_facts']} "
            f"| {s['page_shown']}/{s['n']} | {s['fact_quoted']}/{s['n_facts']} | {s['fact_quoted_answered']}/{s['n_facts']} "
            f"| {s['page_cited']}/{s['n']} | {s['answered']}/{s['n']} | {s['unans_below']}/{s['unans']} | {s['seconds']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
