"""What the refusal rules decide for Chinese questions over English pages when nothing translates
them (``KB_TRANSLATE_QUERIES=false``): the 18F set's Chinese questions through ``explain()`` (the
answer paths of ``answer()``, no model: no translation, no answer check, quoted evidence) on
a handbook imported by ``bench/evaluate.py``.

    KB_EMBEDDER=use-multilingual .venv/bin/python bench/zh_untranslated.py [--min-coverage 0]

Prints, per question: the path taken, whether the right page is among the hits, the topic
measure and its figures (best cosine, lexical coverage) and the evidence answerability.
``--min-coverage 0`` switches the lexical topic check off, to see what answerability alone
decides. Reads the import in ``data/eval/18f[-<embedder>]/``; writes nothing there but the
rows ``explain()`` itself reads.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import ROOT, open_import, read_jsonl  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-coverage", help="KB_MIN_COVERAGE for this run")
    args = parser.parse_args()
    embedder = os.environ.get("KB_EMBEDDER", "minilm")
    data = ROOT / "data" / "eval" / ("18f" if embedder == "minilm" else f"18f-{embedder}")
    os.environ.update(KB_TRANSLATE_QUERIES="false", KB_CHECK_MODEL="", KB_GENERATE="false", KB_ANSWER_CACHE="false")
    if args.min_coverage is not None:
        os.environ["KB_MIN_COVERAGE"] = args.min_coverage
    open_import(data, f"run `KB_EMBEDDER={embedder} .venv/bin/python bench/evaluate.py --handbook 18f` first.")
    from django.contrib.auth.models import User

    from kbassist.chat.answering import explain

    user = User.objects.get(username="eval")
    rows = []
    for q in read_jsonl(ROOT / "bench" / "eval" / "handbook-18f.jsonl"):
        if q["language"] != "zh":
            continue
        ex = explain(q["question"], user=user)
        right = any(any(h.chunk.document.source_path.endswith("/" + s) for s in q["sources"]) for h in ex.hits)
        rel, a = ex.relevance, ex.answerability
        rows.append((q["answerable"], ex.path, right))
        print(f"{q['id']} {'answerable' if q['answerable'] else 'unanswerable'}: {ex.path}; right page among the hits: "
              f"{'yes' if right else 'no'}; topic by {rel.measure if rel else '-'} (cosine {rel.dense:.3f}, coverage "
              f"{rel.coverage:.3f}); answerability {'-' if a is None else f'{a.score:.3f}'}" if rel else f"{q['id']}: {ex.path}")
    answerable = [r for r in rows if r[0]]
    print(f"\nanswerable {len(answerable)}: right page among the hits {sum(r[2] for r in answerable)}, refused "
          f"{sum(r[1] == 'refused' for r in answerable)}; unanswerable {len(rows) - len(answerable)}: refused "
          f"{sum(r[1] == 'refused' for r in rows if not r[0])}")


if __name__ == "__main__":
    main()
