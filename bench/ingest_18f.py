"""Bulk import of the 18F handbook (249 Markdown pages) through a real Celery worker.

Exactly what an admin does: ``manage.py import_documents`` queues every page, a separate
``celery worker`` process parses, chunks, embeds and indexes them, and the command waits
until all are done. Then one question is asked through ``search()`` (and, with --answer,
through ``answer()`` with the default model) to check that the right page is cited.

    .venv/bin/python bench/ingest_18f.py [--answer]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, ROOT, setup_django, use_bundled_chat_model  # noqa: E402
from _readme import rewrite_section, stamp, table  # noqa: E402

PAGES = DATASETS / "handbook-18f" / "pages"
QUESTION = "How long must I keep working after taking paid parental leave?"
EXPECTED = "travel-and-leave/paid-parental-leave.md"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--answer", action="store_true", help="also answer the question with the default model")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    use_bundled_chat_model()
    data = setup_django()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from kbassist.knowledge.models import Chunk, Document
    from kbassist.retrieval.search import search

    call_command("migrate", verbosity=0)
    env = {**os.environ, "KB_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "kbassist.settings"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kbassist", "worker", "--pool=threads", "--concurrency=2",
         "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        pages = sorted(p for p in PAGES.rglob("*") if p.is_file() and not p.name.startswith("."))
        start = time.perf_counter()
        try:
            with open(os.devnull, "w") as quiet:
                call_command("import_documents", str(PAGES), "--collection", "18F handbook", "--timeout", "3600",
                             stdout=quiet, stderr=quiet)
        except Exception as exc:  # failures are reported below, per document
            print(f"import_documents: {exc}")
        elapsed = time.perf_counter() - start
    finally:
        worker.terminate()
        worker.wait(30)

    ready = Document.objects.filter(status="ready")
    failed = Document.objects.filter(status="failed")
    skipped = Document.objects.filter(status="skipped")
    chunks = Chunk.objects.count()
    user = User.objects.create_superuser("bench", password="x")
    result = search(QUESTION, user)
    top = result.hits[0].chunk if result.hits else None
    rank = next((i for i, h in enumerate(result.hits, 1) if h.chunk.document.source_path.endswith(EXPECTED)), None)
    rows = [
        ["files imported", len(pages)],
        ["ready / skipped / failed", f"{ready.count()} / {skipped.count()} / {failed.count()}"],
        ["chunks", chunks],
        ["wall time, queue to last page indexed", f"{elapsed:.0f} s"],
        ["pages/s", f"{ready.count() / elapsed:.2f}"],
        ["chunks/s", f"{chunks / elapsed:.1f}"],
    ]
    text = table(["", "value"], rows, align="1")
    print(text)
    reasons = sorted({d.error for d in failed})
    skip_reasons = sorted({d.error for d in skipped})
    cited = f"`{top.document.source_path.split('pages/')[-1]}`, section “{top.heading}”" if top else "nothing"
    lines = [f"Question “{QUESTION}”: top source {cited}; the expected page `{EXPECTED}` ranks {rank}."]
    if args.answer:
        from kbassist.chat.answering import answer

        done = list(answer(QUESTION, user=user))[-1]
        lines.append(f"Answer ({done['kind']}, first token after {done['timings'].get('ttft_ms', 0) / 1000:.1f} s): "
                     f"“{done['answer'][:300]}”")
    for line in lines:
        print(line)
    if not args.no_readme:
        rewrite_section(
            "ingest-18f",
            "### Bulk import: the 18F handbook through a real worker\n\n"
            f"{stamp()} `import_documents ../shared/datasets/handbook-18f/pages` with one Celery worker "
            "process (2 threads) on SQLite and the filesystem broker.\n\n" + text + "\n\n"
            + (f"Skipped pages ({skipped.count()}), with nothing to index: " + "; ".join(f"“{r}”" for r in skip_reasons) + "\n\n" if skip_reasons else "")
            + (f"Failed pages ({failed.count()}) say: " + "; ".join(f"“{r}”" for r in reasons) + "\n\n" if reasons else "")
            + "\n\n".join(lines),
        )


if __name__ == "__main__":
    main()
