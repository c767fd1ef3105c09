"""Shared set-up for the benchmarks: Django on a throw-away data folder, datasets, caching.

Everything measured goes through the product's own code: ``kbassist.retrieval.tokenize``,
``BM25Index``, ``DenseIndex``, ``search.hybrid_rank`` (the core of ``search()``) and the
embedder returned by ``get_embedder()``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
CACHE = ROOT / "data" / "bench-cache"  # embeddings of public datasets; data/ is never committed


def setup_django(data_dir: str | None = None) -> Path:
    """Configure Django with the real settings on a fresh (or given) data folder."""
    data = Path(data_dir or tempfile.mkdtemp(prefix="kbassist-bench-"))
    os.environ["KB_DATA_DIR"] = str(data)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{data / 'db.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "kbassist.settings"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return data


def open_import(data: Path, hint: str) -> Path:
    """Django on a handbook import that ``bench/evaluate.py`` made (``data/eval/<name>/``), its
    schema brought up to date (nothing else is written); ``hint`` says how to make one."""
    if not (data / "db.sqlite3").exists():
        raise SystemExit(f"{data} has no imported handbook: {hint}")
    os.environ["DATABASE_URL"] = f"sqlite:///{data / 'db.sqlite3'}"
    os.environ.setdefault("KB_MODELS_DIR", str(ROOT / "data" / "models"))
    setup_django(str(data))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a newer schema since the import (no data changes)
    return data


def read_jsonl(path: Path):
    with open(path) as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_beir(folder: Path, split: str = "test"):
    """corpus {id: (title, text)}, queries {id: text}, qrels {qid: {doc_id: grade}}."""
    corpus = {row["_id"]: (row.get("title", ""), row["text"]) for row in read_jsonl(folder / "corpus.jsonl")}
    queries = {row["_id"]: row["text"] for row in read_jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv") as fh:
        next(fh)
        for line in fh:
            qid, did, grade = line.rstrip("\n").split("\t")
            if int(grade) > 0:
                qrels.setdefault(qid, {})[did] = int(grade)
    return corpus, {q: queries[q] for q in qrels}, qrels


def cached_embeddings(name: str, texts: list[str], log=print, embedder=None, queries: bool = False, timing: dict | None = None):
    """Embeddings of ``texts`` with ``embedder`` (default: the product's), cached on disk by the
    embedder's name (its vector space) and the texts. ``queries``: each text is embedded as a
    search query (``encode_query``: e5 and EmbeddingGemma prefix queries differently from
    passages), else as passages. ``timing`` gets the seconds and count when they were computed
    now (nothing when they came from the cache)."""
    import time

    import numpy as np

    from kbassist.retrieval.embedder import get_embedder

    embedder = embedder or get_embedder()
    key = hashlib.sha1()
    key.update(embedder.name.encode())
    key.update(b"queries" if queries else b"passages")
    for t in texts:
        key.update(t.encode())
        key.update(b"\0")
    path = CACHE / f"{name}-{key.hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    log(f"embedding {len(texts)} texts for {name} with {embedder.name} (cached afterwards in {path.relative_to(ROOT)}) ...")
    started = time.perf_counter()
    if queries:
        vectors = np.vstack([embedder.encode_query(t) for t in texts]) if texts else np.zeros((0, embedder.dim), np.float32)
    else:
        vectors = embedder.encode(texts)
    if timing is not None:
        timing.update(seconds=time.perf_counter() - started, count=len(texts))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def use_bundled_chat_model() -> None:
    """Point KB_LLM_MODEL_PATH at the checked Qwen model in the project's data folder
    (benches run on a throw-away data folder, which has no models of its own)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from kbassist.llm.bundled import DEFAULT_CHAT_MODEL, prepare

    if "KB_LLM_MODEL_PATH" not in os.environ:
        model = os.environ.get("KB_LLM_MODEL", DEFAULT_CHAT_MODEL)
        os.environ["KB_LLM_MODEL_PATH"] = str(prepare(model, ROOT / "data" / "models"))


def starter_kb_user(**env: str):
    """Django on a fresh data folder with the starter knowledge base ingested in-process and
    the default chat model; returns a user who sees it. ``env`` sets further KB_* settings."""
    os.environ.update({"KB_CELERY_EAGER": "1", **env})
    use_bundled_chat_model()
    setup_django()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("import_documents", str(ROOT / "knowledge"), "--collection", "Handbook", "--no-wait", stdout=quiet)
    return User.objects.create_user("bench")
