"""``manage.py evaluate`` on a real handbook, imported once and kept for later runs.

    .venv/bin/python bench/evaluate.py --handbook 18f|sourcegraph|both|starter [--set KEY=VALUE ...]
        [--compare KEY=VALUE ...] [--limit N] [--only-category C] [--fresh]

The handbook (read where it lies, in ../shared/datasets; never copied into the project) is
imported through the real import path (``import_documents``, ingestion run in-process as
with KB_CELERY_EAGER) into a collection named after it, in a data folder of its own,
``data/eval/<handbook>/`` (git-ignored; ``data/eval/<handbook>-<embedder>/`` for an embedder
other than the default, so comparing embedders never throws an import away). That folder is
reused while the embedder and the chunking settings are the same; it is imported again when
they change, or with --fresh. The
questions (bench/eval/handbook-*.jsonl) are then asked with the bundled chat model
(KB_LLM_MODEL, the default chat model unless --set), and the report is written next to the data as JSON and
Markdown in ``data/eval/reports/``. ``both`` runs one handbook after the other, each in its own process;
``starter`` asks ``bench/eval/knowledge-starter.jsonl`` of our own starter knowledge base
(``knowledge/``, FAQ list included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import DATASETS, ROOT, setup_django  # noqa: E402

HANDBOOKS = {
    "18f": {"corpus": DATASETS / "handbook-18f" / "pages", "questions": ROOT / "bench" / "eval" / "handbook-18f.jsonl",
            "collection": "18F handbook"},
    "sourcegraph": {"corpus": DATASETS / "handbook-sourcegraph" / "content",
                    "questions": ROOT / "bench" / "eval" / "handbook-sourcegraph.jsonl",
                    "collection": "Sourcegraph handbook"},
    # our own starter knowledge base (knowledge/, what ``./kb start`` ingests), as a new user asks it
    "starter": {"corpus": ROOT / "knowledge", "questions": ROOT / "bench" / "eval" / "knowledge-starter.jsonl",
                "collection": "Company handbook"},
}
REAL = ("18f", "sourcegraph")  # what ``both`` runs
EVAL_DATA = ROOT / "data" / "eval"
REPORTS = EVAL_DATA / "reports"
MODELS = ROOT / "data" / "models"
STAMP = "corpus.json"
KEEP = {"secret_key", "staticfiles", "broker"}  # written when the settings load; not the import's
USER = "eval"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handbook", choices=[*HANDBOOKS, "both"], required=True)
    parser.add_argument("--set", dest="overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE")
    parser.add_argument("--compare", nargs="+", action="extend", default=[], metavar="KEY=VALUE")
    parser.add_argument("--limit", type=int, help="at most N questions, spread evenly over the set")
    parser.add_argument("--questions", type=Path, help="another question file over the same handbook (e.g. an "
                        "earlier version of the set, so that --limit picks the same questions as before)")
    parser.add_argument("--only-category", dest="categories", action="append", default=[], metavar="C")
    parser.add_argument("--fresh", action="store_true", help="import the handbook again even if it is cached")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.handbook == "both":  # one process per data folder (Django is set up once per process)
        codes = [subprocess.call([sys.executable, __file__, *as_argv(args, name)]) for name in REAL]
        return max(codes)
    return run_one(args.handbook, args)


def as_argv(args, handbook: str) -> list[str]:
    return ["--handbook", handbook, *evaluate_options(args)] + (["--fresh"] if args.fresh else [])


def evaluate_options(args) -> list[str]:
    """The options this script hands on to ``manage.py evaluate``, as they were given."""
    argv = []
    if args.overrides:
        argv += ["--set", *args.overrides]
    if args.compare:
        argv += ["--compare", *args.compare]
    if args.limit is not None:
        argv += ["--limit", str(args.limit)]
    for category in args.categories:
        argv += ["--only-category", category]
    return argv


def prepare_chat_models(args) -> None:
    """The chat model(s) the run needs, assembled (and checked) in data/models; the model
    files of other bundled models named by --set/--compare go next to the configured one."""
    from kbassist.llm.bundled import prepare

    os.environ.setdefault("KB_MODELS_DIR", str(MODELS))  # also where EmbeddingGemma is prepared
    from kbassist.llm.bundled import DEFAULT_CHAT_MODEL

    wanted = os.environ.get("KB_LLM_MODEL", DEFAULT_CHAT_MODEL)
    path = os.environ.get("KB_LLM_MODEL_PATH") or str(prepare(wanted, MODELS, log=print))
    os.environ["KB_LLM_MODEL_PATH"] = path
    for item in [*args.overrides, *args.compare]:
        key, _, value = item.partition("=")
        if key.strip() == "KB_LLM_MODEL":
            prepare(value.strip(), Path(path).parent, log=print)


def corpus_key(settings) -> dict:
    """What the imported data depends on: when any of it changes, the handbook is imported again."""
    return {
        "embedder": getattr(settings, "KB_EMBEDDER", "minilm"),
        "embed_model": settings.KB_EMBED_MODEL,
        "chunk_size": settings.KB_CHUNK_SIZE,
        "chunk_overlap": settings.KB_CHUNK_OVERLAP,
    }


def wipe(data: Path) -> None:
    import shutil

    for entry in data.iterdir():
        if entry.name in KEEP:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def import_handbook(name: str, handbook: dict, data: Path, key: dict) -> dict:
    from django.core.management import call_command

    from kbassist.knowledge.models import Chunk, Collection, Document
    from kbassist.retrieval.embedder import get_embedder

    call_command("migrate", verbosity=0)
    from kbassist.ingestion.folders import walk
    from kbassist.ingestion.parsers import SUPPORTED_EXTENSIONS

    pages = sum(1 for p in walk(handbook["corpus"]) if p is not None and p.suffix.lower() in SUPPORTED_EXTENSIONS)
    print(f"importing {handbook['corpus']} ({pages} pages) into “{handbook['collection']}” in {data} "
          f"(embedder {key['embedder']}; this takes minutes) ...", flush=True)
    start = time.perf_counter()
    try:
        call_command("import_documents", str(handbook["corpus"]), "--collection", handbook["collection"])
    except Exception as exc:  # failed pages are counted below; the rest is usable
        print(f"import_documents: {exc}")
    seconds = time.perf_counter() - start
    collection = Collection.objects.get(name=handbook["collection"])
    documents = Document.objects.filter(collection=collection)
    stamp = {
        "handbook": name,
        "corpus": str(handbook["corpus"]),
        "collection": handbook["collection"],
        **key,
        "embedder_name": get_embedder().name,
        "documents": documents.filter(status=Document.Status.READY).count(),
        "failed": documents.filter(status=Document.Status.FAILED).count(),
        "chunks": Chunk.objects.filter(collection=collection).count(),
        "import_seconds": round(seconds, 1),
        "imported_at": datetime.now().isoformat(timespec="seconds"),
    }
    (data / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
    return stamp


def data_folder(name: str) -> Path:
    """Where a handbook's import lives: one folder per embedder (vectors of two models never mix)."""
    embedder = os.environ.get("KB_EMBEDDER", "minilm")
    return EVAL_DATA / (name if embedder == "minilm" else f"{name}-{embedder}")


def run_one(name: str, args) -> int:
    handbook = HANDBOOKS[name]
    if not handbook["corpus"].is_dir():
        print(f"{handbook['corpus']} is not there: the handbook datasets live in ../shared/datasets.")
        return 1
    data = data_folder(name)
    data.mkdir(parents=True, exist_ok=True)
    os.environ["KB_CELERY_EAGER"] = "1"  # ingestion runs in this process, as a worker would run it
    os.environ["DATABASE_URL"] = f"sqlite:///{data / 'db.sqlite3'}"
    prepare_chat_models(args)
    setup_django(str(data))
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command

    key = corpus_key(settings)
    stamp_file = data / STAMP
    stamp = json.loads(stamp_file.read_text()) if stamp_file.exists() else None
    if args.fresh or stamp is None or {k: stamp.get(k) for k in key} != key:
        why = "--fresh" if args.fresh else "not imported yet" if stamp is None else f"was imported with {({k: stamp.get(k) for k in key})}"
        print(f"{name}: importing ({why})")
        wipe(data)
        stamp = import_handbook(name, handbook, data, key)
    else:
        call_command("migrate", verbosity=0)  # a newer schema since the import
        # and its indexes, as `./kb start` brings them up to date after an upgrade (BM25 tokens
        # made otherwise, a missing cross-lingual index)
        call_command("rebuild_index", "--stale")
        print(f"{name}: reusing the import of {stamp['imported_at']} in {data}")
    print(f"{name}: {stamp['documents']} documents ready, {stamp['failed']} failed, {stamp['chunks']} chunks, "
          f"embedder {stamp['embedder']} ({stamp.get('embedder_name')})", flush=True)
    if not User.objects.filter(username=USER).exists():
        User.objects.create_superuser(USER, password=None)

    when = datetime.now().strftime("%Y%m%d-%H%M%S")
    REPORTS.mkdir(parents=True, exist_ok=True)
    out = REPORTS / f"{name}-{when}.json"
    command = [str(args.questions or handbook["questions"]), "--user", USER, "--out", str(out), "--markdown", str(out.with_suffix(".md")),
               *evaluate_options(args)]
    print(f"{name}: manage.py evaluate {' '.join(command)}", flush=True)
    call_command("evaluate", *command)
    report = json.loads(out.read_text())
    report["corpus"] = stamp
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
