"""Ask the questions of an evaluation through ``answer()``, as one user, under given settings.

Each question is asked in a fresh conversation with the answer cache off (an evaluation
measures answering, not the cache); every other setting is as configured, plus the run's
overrides. Seconds are wall-clock seconds around ``answer()``, after a warm-up that loads the
chat model, the embedder and the indexes (so the first question does not pay for loading).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.test.utils import override_settings

from kbassist.chat.answering import answer
from kbassist.chat.verification import UNSUPPORTED, verify
from kbassist.knowledge.models import Document
from kbassist.llm import GenerationError, LLMBackend, build_backend, get_backend
from kbassist.llm.bundled import BundledModelError, chat_model_filename
from kbassist.retrieval import embedder as embedders
from kbassist.retrieval.search import search

from . import metrics, report

log = logging.getLogger(__name__)

# Overrides of these settings need a chat model built for the configuration ...
LLM_PREFIXES = ("KB_LLM_", "KB_OPENAI_")
# ... and of these an embedder (the indexes must have been built by the same one).
EMBEDDER_PREFIXES = ("KB_EMBED",)
# Shown with each configuration in the report (when the settings have them).
SHOWN_SETTINGS = ("KB_LLM_BACKEND", "KB_LLM_MODEL", "KB_LLM_MODEL_PATH", "KB_LLM_MAX_TOKENS", "KB_LLM_TEMPERATURE",
                  "KB_EMBEDDER", "KB_TOP_K", "KB_MIN_SIMILARITY", "KB_MIN_COVERAGE")


class EvaluationError(Exception):
    """A configuration that cannot be run (an unknown setting, a model that is missing)."""


# =============================================================================================
# Settings of a configuration
# =============================================================================================


def parse_value(raw: str):
    """A command-line value as the setting's type: true/false/yes/no/on/off, int, float, or
    the string itself (``none``/``null`` is None)."""
    text = raw.strip()
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_assignments(items: Sequence[str]) -> dict:
    """``["KB_TOP_K=8", "KB_LLM_MODEL=qwen-1.5b"]`` as ``{"KB_TOP_K": 8, ...}``; only
    settings that exist may be set (a typo must not silently evaluate the defaults)."""
    values = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise EvaluationError(f"{item!r} is not KEY=VALUE.")
        if not hasattr(settings, key):
            raise EvaluationError(f"There is no setting {key}.")
        values[key] = parse_value(raw)
    return values


def _touches(overrides: dict, prefixes: tuple[str, ...]) -> bool:
    return any(key.startswith(prefixes) for key in overrides)


def effective_overrides(overrides: dict) -> dict:
    """The settings to override for a configuration: the answer cache off, the given values,
    and, when only ``KB_LLM_MODEL`` names another bundled model, its file next to the
    configured one."""
    values = {"KB_ANSWER_CACHE": False, **overrides}
    if "KB_LLM_MODEL" in overrides and "KB_LLM_MODEL_PATH" not in overrides:
        try:
            filename = chat_model_filename(str(overrides["KB_LLM_MODEL"]))
        except BundledModelError as exc:
            raise EvaluationError(str(exc)) from None
        values["KB_LLM_MODEL_PATH"] = str(Path(settings.KB_LLM_MODEL_PATH).parent / filename)
    return values


def shown_settings(overrides: dict) -> dict:
    shown = {key: getattr(settings, key) for key in SHOWN_SETTINGS if hasattr(settings, key)}
    shown.update({key: getattr(settings, key) for key in overrides})
    if shown.get("KB_LLM_MODEL_PATH"):
        shown["KB_LLM_MODEL_PATH"] = Path(shown["KB_LLM_MODEL_PATH"]).name  # the file, not where it lives
    return {key: value if isinstance(value, (bool, int, float, str, type(None))) else str(value) for key, value in shown.items()}


@contextmanager
def configured(overrides: dict) -> Iterator[LLMBackend | None]:
    """Settings overridden for the block; yields the chat model to use (None: the process's
    own), built afresh when the overrides concern the model. A changed embedder replaces the
    process's embedder for the block."""
    with override_settings(**effective_overrides(overrides)):
        backend = None
        if _touches(overrides, LLM_PREFIXES):
            try:
                backend = build_backend()
            except (GenerationError, ValueError) as exc:
                raise EvaluationError(f"The chat model for {overrides} cannot be used: {exc}") from None
        saved = None
        if _touches(overrides, EMBEDDER_PREFIXES):
            saved = embedders.get_embedder()
            embedders.set_embedder(None)
        try:
            yield backend
        finally:
            if saved is not None:
                embedders.set_embedder(saved)


# =============================================================================================
# Asking
# =============================================================================================


def _evidence(done: dict) -> list[dict] | None:
    """The quoted evidence of a done event as ``[{"text", "n"?}]``; None when it has none.
    An item is a string or a dict with ``text`` (or ``quote``, after its ``context``)."""
    items = done.get("evidence")
    if items is None:
        return None
    quoted = []
    for item in items:
        if isinstance(item, str):
            quoted.append({"text": item})
        elif isinstance(item, dict) and (text := item.get("text") or item.get("quote")):
            context = item.get("context") or ""
            if context and not str(text).startswith(context):  # a table header or lead-in, shown with it
                text = f"{context} {text}"
            quoted.append({"text": str(text), **({"n": item["n"]} if "n" in item else {})})
    return quoted


def _sources(citations: list[dict]) -> list[dict]:
    """The answer's sources with the path each document was imported from (server side only);
    an FAQ entry's is its title, "FAQ: <its question>", which a question set can expect too."""
    ids = {c.get("document_id") for c in citations if c.get("document_id")}
    paths = {pk: source_path or name for pk, source_path, name in
             Document.objects.filter(pk__in=ids).values_list("pk", "source_path", "original_name")}
    return [
        {"n": c.get("n"), "path": paths.get(c.get("document_id"), "") or (c.get("title") or "" if c.get("kind") == "faq" else ""),
         "title": c.get("title"),
         "section": c.get("section"), "cited": bool(c.get("cited"))}
        for c in citations
    ]


def unsourced_numbers(question: str, text: str, citations: list[dict]) -> list[str]:
    """The numbers, amounts, durations, dates and times ``text`` shows that neither its sources
    (the passages of ``citations``) nor the question state: what the goal "no answer shows a
    number that appears in none of its sources" counts."""
    sources = [c for c in citations if c.get("text")]
    checked = verify(text, sources, question)
    return [c.text for c in checked.claims if c.kind != "term" and c.status == UNSUPPORTED]


def ask(question: str, user, backend: LLMBackend | None = None) -> dict:
    """Ask one question in a fresh conversation; the outcome :func:`metrics.score` reads."""
    start = time.perf_counter()
    first = None
    done, errors, error = None, [], None
    try:
        for event in answer(question, user=user, backend=backend):
            if event["type"] == "token" and first is None:
                first = time.perf_counter() - start
            elif event["type"] == "error":
                errors.append(event["message"])
            elif event["type"] == "done":
                done = event
    except Exception as exc:  # one broken question must not end the run
        log.exception("answering %r failed", question)
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    if done is None:
        error = error or "; ".join(errors) or "no answer"
        done = {}
    sources = _sources(done.get("citations") or [])
    evidence = _evidence(done)
    return {
        "kind": done.get("kind"),
        "status": done.get("status"),
        "answer": done.get("answer") or "",
        "sources": sources,
        "shown": [s["path"] for s in sources],
        "cited": [s["path"] for s in sources if s["cited"]],
        "evidence": None if evidence is None else [e["text"] for e in evidence],
        "evidence_items": evidence,
        "unsourced": unsourced_numbers(question, done.get("answer") or "", done.get("citations") or []) if done else None,
        "seconds": round(seconds, 3),
        "seconds_to_first_token": None if first is None else round(first, 3),
        "timings": done.get("timings") or {},
        "errors": errors,
        "error": error,
    }


def warm_up(user, backend: LLMBackend | None) -> None:
    """Load the chat model, the embedder and the indexes before anything is timed."""
    try:
        backend or get_backend()
    except GenerationError as exc:
        log.warning("the chat model cannot be loaded: %s", exc)
    try:
        search("warm-up", user)
    except Exception:  # the first question will say what is wrong
        log.exception("warm-up search failed")


FIELDS = ("id", "set", "category", "language", "answerable", "question")


def run_configuration(
    questions: Sequence[dict],
    user,
    name: str = "A",
    overrides: dict | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
) -> dict:
    """Ask every question under ``overrides``; the configuration's part of the report."""
    overrides = dict(overrides or {})
    records = []
    with configured(overrides) as backend:
        shown = shown_settings(overrides)
        warm_up(user, backend)
        for i, question in enumerate(questions, start=1):
            outcome = ask(question["question"], user, backend)
            checks = metrics.score(question, outcome)
            record = {
                **{key: question.get(key) for key in FIELDS},
                "expected_sources": question.get("sources") or [],
                "facts": question.get("facts") or [],
                **outcome,
                "checks": checks,
                "failures": metrics.failures(question, outcome, checks),
            }
            records.append(record)
            if progress:
                progress(i, len(questions), record)
    return report.configuration(name, overrides, shown, records)


def evaluate(
    questions: Sequence[dict],
    user,
    *,
    overrides: dict | None = None,
    compare: dict | None = None,
    question_sets: Sequence[str] = (),
    selection: dict | None = None,
    progress: Callable[[str, int, int, dict], None] | None = None,
) -> dict:
    """The whole report: configuration A (``overrides``) and, with ``compare``, B (A's
    overrides plus ``compare``) on the same questions."""
    plans = [("A", dict(overrides or {}))]
    if compare:
        plans.append(("B", {**(overrides or {}), **compare}))
    configs = []
    for name, values in plans:
        step = (lambda i, n, record, name=name: progress(name, i, n, record)) if progress else None
        configs.append(run_configuration(questions, user, name, values, step))
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "question_sets": list(question_sets),
        "selection": selection or {},
        "user": user.get_username(),
        "configurations": configs,
    }
