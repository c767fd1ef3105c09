"""The dashboard's figures, each aggregated in the database (the page stays fast with
hundreds of thousands of answers): over a period and a set of collections, questions per
day, answers by kind and by feedback, refusal and thumbs-down rates, time to first token
(p50/p95, by kind), and the documents cited most and never."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, FloatField, OuterRef
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from kbassist.chat.models import Message
from kbassist.knowledge.models import Document

from .models import AnswerRecord, CitedSource

KINDS = [k for k, _ in Message.Kind.choices]


@dataclass
class Period:
    since: date
    until: date  # inclusive

    @classmethod
    def last(cls, days: int = 30) -> "Period":
        today = timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))

    def days(self) -> list[date]:
        return [self.since + timedelta(days=i) for i in range((self.until - self.since).days + 1)]


def answers(period: Period, collection_ids=None):
    """The recorded answers of the period about any of ``collection_ids`` (None: all)."""
    records = AnswerRecord.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    if collection_ids is not None:
        through = AnswerRecord.collections.through
        records = records.filter(
            Exists(through.objects.filter(answerrecord_id=OuterRef("pk"), collection_id__in=list(collection_ids)))
        )
    return records


def per_day(records, period: Period) -> list[dict]:
    """Questions per day, split by the kind of answer; every day of the period, zeros too."""
    counts: dict[date, dict[str, int]] = {d: {} for d in period.days()}
    rows = records.annotate(day=TruncDate("created_at")).values_list("day", "message__kind").annotate(n=Count("pk"))
    for day, kind, n in rows:
        if day in counts:
            counts[day][kind or "other"] = counts[day].get(kind or "other", 0) + n
    return [{"day": d.isoformat(), "questions": sum(c.values()), **{k: c.get(k, 0) for k in KINDS}} for d, c in counts.items()]


def by_kind(records) -> dict[str, int]:
    found = dict(records.values_list("message__kind").annotate(n=Count("pk")))
    return {k: found.get(k, 0) for k in KINDS}


def by_feedback(records) -> dict[str, int]:
    found = dict(records.values_list("message__feedback__helpful").annotate(n=Count("pk")))
    return {"up": found.get(True, 0), "down": found.get(False, 0), "none": found.get(None, 0)}


def feedback_by_kind(records) -> list[dict]:
    rows = records.values_list("message__kind", "message__feedback__helpful").annotate(n=Count("pk"))
    table = {k: {"kind": k, "up": 0, "down": 0, "none": 0} for k in KINDS}
    for kind, helpful, n in rows:
        row = table.setdefault(kind, {"kind": kind, "up": 0, "down": 0, "none": 0})
        row["up" if helpful else "none" if helpful is None else "down"] += n
    return list(table.values())


def percentiles(records, qs=(50, 95)) -> dict:
    """Nearest-rank percentiles of the time to first token (ms), computed by the database
    (a count, then one indexed row per percentile)."""
    # On the answers themselves: a JSON key across the record's primary-key relation is
    # compiled against the wrong column (Django 5.2).
    answers = Message.objects.filter(pk__in=records.values("message_id"))
    timed = answers.annotate(ttft=Cast(KT("timings__ttft_ms"), FloatField())).filter(ttft__isnull=False)
    n = timed.count()
    result = {"n": n}
    for q in qs:
        if n:
            rank = max(1, -(-q * n // 100))  # ceil(q/100 * n)
            result[f"p{q}"] = round(timed.order_by("ttft").values_list("ttft", flat=True)[rank - 1], 1)
        else:
            result[f"p{q}"] = None
    return result


def ttft(records) -> list[dict]:
    """TTFT p50/p95 over all answers, then for each kind of answer that has timings."""
    rows = [{"kind": "all", **percentiles(records)}]
    for kind in KINDS:
        figures = percentiles(records.filter(message__kind=kind))
        if figures["n"]:
            rows.append({"kind": kind, **figures})
    return rows


def most_cited(period: Period, collection_ids=None, limit: int = 15) -> list[dict]:
    cited = CitedSource.objects.filter(record__created_at__gte=period.start, record__created_at__lt=period.end, document__isnull=False)
    if collection_ids is not None:
        cited = cited.filter(collection_id__in=list(collection_ids))
    rows = (
        cited.values("document_id", "document__title", "document__original_name", "collection__name")
        .annotate(answers=Count("record", distinct=True))
        .order_by("-answers", "document_id")[:limit]
    )
    return [
        {"document_id": r["document_id"], "title": r["document__title"] or r["document__original_name"],
         "collection": r["collection__name"], "answers": r["answers"]}
        for r in rows
    ]


def never_cited(period: Period, collection_ids=None, limit: int = 50) -> tuple[int, list[dict]]:
    """Ready documents that no answer of the period cited: how many, and the first ``limit``."""
    documents = Document.objects.filter(status=Document.Status.READY)
    if collection_ids is not None:
        documents = documents.filter(collection_id__in=list(collection_ids))
    cited = CitedSource.objects.filter(document=OuterRef("pk"), record__created_at__gte=period.start, record__created_at__lt=period.end)
    documents = documents.exclude(Exists(cited))
    rows = documents.order_by("collection__name", "title").values("pk", "title", "original_name", "collection__name", "created_at")[:limit]
    return documents.count(), [
        {"document_id": r["pk"], "title": r["title"] or r["original_name"], "collection": r["collection__name"],
         "added": r["created_at"].date().isoformat()}
        for r in rows
    ]


def dashboard(period: Period, collection_ids=None) -> dict:
    records = answers(period, collection_ids)
    kinds = by_kind(records)
    feedback = by_feedback(records)
    total = sum(kinds.values())
    rated = feedback["up"] + feedback["down"]
    n_never, never = never_cited(period, collection_ids)
    return {
        "total": total,
        "per_day": per_day(records, period),
        "kinds": kinds,
        "feedback": feedback,
        "feedback_by_kind": feedback_by_kind(records),
        "refusal_rate": kinds.get(Message.Kind.REFUSED, 0) / total if total else None,
        "thumbs_down_rate": feedback["down"] / rated if rated else None,
        "rated": rated,
        "ttft": ttft(records),
        "most_cited": most_cited(period, collection_ids),
        "never_cited": never,
        "never_cited_count": n_never,
    }
