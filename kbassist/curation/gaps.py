"""Knowledge gaps: questions the knowledge base did not answer well, grouped by meaning.

A question is a gap question when its answer was refused, got a thumbs-down, or had
unsupported claims removed by verification. Questions are embedded with the configured
embedder (``kbassist.retrieval.embedder``); a new question joins the nearest existing gap
when its cosine similarity to the gap's centroid reaches the threshold, and the rest are
grouped among themselves by scikit-learn's agglomerative clustering (average linkage,
cosine distance, cut at the same threshold) into new gaps. So a gap keeps its identity as
questions join it, across refreshes; gaps are never merged or split behind a curator's back.

all-MiniLM-L6-v2 (the default embedder) is an English model: for a Chinese question it
embeds the English search query the chat made from it (the translation, ``Message.search_query``)
when there is one. EmbeddingGemma is multilingual and embeds the question as asked.

The page, the periodic task and ``manage.py knowledge_gaps`` all call ``refresh()`` and
``summaries()`` below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q
from sklearn.cluster import AgglomerativeClustering

from kbassist.chat.models import Message
from kbassist.retrieval.embedder import EMBEDDINGGEMMA_NAME, MINILM_NAME, get_embedder
from kbassist.retrieval.store import writer_lock
from kbassist.text import is_chinese

from .models import AnswerRecord, Gap, GapQuestion
from .records import backfill

MULTILINGUAL = {EMBEDDINGGEMMA_NAME}
# Cosine similarity at which two questions ask the same thing, per embedder: measured on
# planted paraphrases in three topics, English and Chinese (tests/curation/test_gaps.py).
# EmbeddingGemma's similarities run higher overall (unrelated questions ~0.5).
DEFAULT_SIMILARITY = {EMBEDDINGGEMMA_NAME: 0.65, MINILM_NAME: 0.45}


def _family(embedder_name: str) -> str:
    """The bundled model an embedder's name stands for (a local copy's name contains its folder's)."""
    return next((name for name in DEFAULT_SIMILARITY if name in embedder_name), embedder_name)


def similarity_threshold(embedder_name: str) -> float:
    return settings.KB_GAP_SIMILARITY or DEFAULT_SIMILARITY.get(_family(embedder_name), 0.5)


def gap_reason(message: Message) -> str | None:
    if message.kind == Message.Kind.REFUSED:
        return GapQuestion.Reason.REFUSED
    feedback = getattr(message, "feedback", None)
    if feedback is not None and not feedback.helpful:
        return GapQuestion.Reason.DISLIKED
    if (message.verification or {}).get("claims_removed", 0):
        return GapQuestion.Reason.CLAIMS_REMOVED
    return None


def pending_records():
    """Recorded answers that make gap questions and are not in a gap yet."""
    return (
        AnswerRecord.objects.filter(gap_question__isnull=True)
        .filter(Q(message__kind=Message.Kind.REFUSED) | Q(message__feedback__helpful=False) | Q(message__verification__claims_removed__gt=0))
        .exclude(question="")
        .select_related("message", "message__feedback")
        .order_by("message_id")
    )


def text_to_embed(record: AnswerRecord, embedder_name: str) -> str:
    query = record.message.search_query.strip()
    if record.language == "zh" and _family(embedder_name) not in MULTILINGUAL and query and not is_chinese(query):
        return query
    return record.question


@dataclass
class RefreshReport:
    recorded: int = 0  # answers newly recorded for curation
    joined: int = 0  # questions that joined an existing gap
    new_gaps: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)  # resolved gaps asked about again
    reembedded: int = 0  # questions embedded again (the embedder changed)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n if n else v).astype(np.float32)


def _vector(blob) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype=np.float32)


def refresh() -> RefreshReport:
    """Bring the gaps up to date: record new answers, put each new gap question into the
    nearest gap (or new ones). Safe to run at any time and as often as wanted: one refresh
    runs at a time (a file lock, across processes), and with nothing new it loads no model."""
    with writer_lock(Path(settings.DATA_DIR) / "curation"):
        return _refresh()


def _refresh() -> RefreshReport:
    report = RefreshReport(recorded=backfill())
    if not pending_records().exists():
        return report
    embedder = get_embedder()
    threshold = similarity_threshold(embedder.name)
    report.reembedded = _reembed(embedder)
    records = list(pending_records())
    if not records:
        return report
    texts = [text_to_embed(r, embedder.name) for r in records]
    vectors = embedder.encode(texts)
    gaps = list(Gap.objects.all())
    centroids = np.stack([_vector(g.centroid) for g in gaps]) if gaps else np.zeros((0, vectors.shape[1]), np.float32)
    touched: dict[int, Gap] = {}
    leftover: list[int] = []
    new_questions: list[GapQuestion] = []
    for i, (record, vector) in enumerate(zip(records, vectors)):
        if len(gaps):
            sims = centroids @ vector
            best = int(sims.argmax())
            if sims[best] >= threshold:
                gap = gaps[best]
                touched[gap.pk] = gap
                new_questions.append(GapQuestion(record=record, gap=gap, reason=gap_reason(record.message), text=texts[i],
                                                 vector=vector.tobytes(), similarity=float(sims[best])))
                report.joined += 1
                if gap.status == Gap.Status.RESOLVED and gap.resolved_at and record.created_at > gap.resolved_at:
                    gap.status = Gap.Status.OPEN
                    report.reopened.append(gap.pk)
                continue
        leftover.append(i)
    with transaction.atomic():
        for group in _cluster(vectors[leftover], threshold) if leftover else []:
            members = [leftover[j] for j in group]
            centroid = _unit(vectors[members].mean(axis=0))
            gap = Gap.objects.create(representative=records[members[0]].question, centroid=centroid.tobytes(), embedder=embedder.name)
            report.new_gaps.append(gap.pk)
            touched[gap.pk] = gap
            for m in members:
                new_questions.append(GapQuestion(record=records[m], gap=gap, reason=gap_reason(records[m].message), text=texts[m],
                                                 vector=vectors[m].tobytes(), similarity=float(vectors[m] @ centroid)))
        GapQuestion.objects.bulk_create(new_questions)
        for gap in touched.values():
            _recentre(gap)
    return report


def _cluster(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Groups of row indexes whose average cosine similarity reaches ``threshold``."""
    if len(vectors) == 1:
        return [[0]]
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=1.0 - threshold, metric="cosine", linkage="average"
    ).fit_predict(vectors)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _recentre(gap: Gap):
    """The gap's centroid is the mean of its questions; its representative, the question
    nearest to it."""
    members = list(gap.questions.select_related("record").order_by("pk"))
    vectors = np.stack([_vector(q.vector) for q in members])
    centroid = _unit(vectors.mean(axis=0))
    nearest = members[int((vectors @ centroid).argmax())]
    gap.centroid, gap.representative = centroid.tobytes(), nearest.record.question
    gap.save(update_fields=["centroid", "representative", "status", "updated_at"])


def _reembed(embedder) -> int:
    """After a change of embedder, embed every gap question again and recentre each gap in
    the new space (gaps keep their identity and questions)."""
    stale = list(Gap.objects.exclude(embedder=embedder.name))
    if not stale:
        return 0
    questions = list(GapQuestion.objects.filter(gap__in=stale).select_related("record", "record__message"))
    texts = [text_to_embed(q.record, embedder.name) for q in questions]
    for q, text, vector in zip(questions, texts, embedder.encode(texts) if texts else []):
        q.text, q.vector = text, vector.tobytes()
    with transaction.atomic():
        GapQuestion.objects.bulk_update(questions, ["text", "vector"])
        for gap in stale:
            gap.embedder = embedder.name
            if gap.questions.exists():
                _recentre(gap)
                gap.save(update_fields=["embedder"])
            else:
                gap.delete()
    return len(questions)


# --- what the page and the command show ----------------------------------------------------------
@dataclass
class GapSummary:
    gap: Gap
    size: int
    askers: int
    first_seen: object
    last_seen: object
    languages: list[str]
    reasons: dict[str, int]
    questions: list[GapQuestion] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "id": self.gap.pk,
            "status": self.gap.status,
            "representative": self.gap.representative,
            "size": self.size,
            "askers": self.askers,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "languages": self.languages,
            "reasons": self.reasons,
            "questions": [q.record.question for q in self.questions],
        }


def in_scope(questions, collection_ids):
    """Gap questions about any of ``collection_ids`` (None: all questions)."""
    if collection_ids is None:
        return questions
    through = AnswerRecord.collections.through
    return questions.filter(Exists(through.objects.filter(answerrecord_id=OuterRef("record_id"), collection_id__in=list(collection_ids))))


def summaries(collection_ids=None, statuses=(Gap.Status.OPEN,), since=None, until=None, with_questions: bool = False) -> list[GapSummary]:
    """Each gap with questions in scope (``collection_ids``, the period), biggest first;
    the figures count only those questions."""
    questions = in_scope(GapQuestion.objects.filter(gap__status__in=list(statuses)), collection_ids)
    if since is not None:
        questions = questions.filter(record__created_at__gte=since)
    if until is not None:
        questions = questions.filter(record__created_at__lt=until)
    rows = list(
        questions.values("gap_id").annotate(
            size=Count("pk"), askers=Count("record__asker", distinct=True),
            first=Min("record__created_at"), last=Max("record__created_at"),
        )
    )
    languages: dict[int, set] = {}
    for gap_id, language in questions.values_list("gap_id", "record__language").distinct():
        languages.setdefault(gap_id, set()).add(language)
    reasons: dict[int, dict] = {}
    for gap_id, reason, n in questions.values_list("gap_id", "reason").annotate(n=Count("pk")):
        reasons.setdefault(gap_id, {})[reason] = n
    gaps = Gap.objects.in_bulk([r["gap_id"] for r in rows])
    result = [
        GapSummary(gaps[r["gap_id"]], r["size"], r["askers"], r["first"], r["last"], sorted(languages.get(r["gap_id"], ())),
                   reasons.get(r["gap_id"], {}))
        for r in rows
    ]
    result.sort(key=lambda s: (-s.size, -s.askers, -(s.last_seen.timestamp() if s.last_seen else 0), s.gap.pk))
    if with_questions:
        by_gap: dict[int, list] = {}
        for q in questions.select_related("record").order_by("record__created_at"):
            by_gap.setdefault(q.gap_id, []).append(q)
        for s in result:
            s.questions = by_gap.get(s.gap.pk, [])
    return result
