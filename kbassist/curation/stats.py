"""The dashboard's figures, each aggregated in the database (the page stays fast with
hundreds of thousands of answers): over a period and a set of collections, questions per
day, answers by kind and by feedback, refusal and thumbs-down rates, time to first token
(p50/p95, by kind), and the documents cited most and never."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Window
from django.db.models.functions import RowNumber, TruncDate
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
    days = period.days()
    counts: dict[date, dict[str, int]] = {d: {} for d in days}
    if len(days) <= 400:
        # One pass, one count per day (plain comparisons of the indexed timestamp): much
        # faster than truncating every timestamp to a date in the local time zone.
        bounds = [timezone.make_aware(datetime.combine(d, time.min)) for d in [*days, period.until + timedelta(days=1)]]
        per = {f"d{i}": Count("pk", filter=Q(created_at__gte=bounds[i], created_at__lt=bounds[i + 1])) for i in range(len(days))}
        for row in records.values("kind").annotate(**per):
            for i, d in enumerate(days):
                if row[f"d{i}"]:
                    counts[d][row["kind"] or "other"] = counts[d].get(row["kind"] or "other", 0) + row[f"d{i}"]
    else:
        rows = records.annotate(day=TruncDate("created_at")).values_list("day", "kind").annotate(n=Count("pk"))
        for day, kind, n in rows:
            if day in counts:
                counts[day][kind or "other"] = counts[day].get(kind or "other", 0) + n
    return [{"day": d.isoformat(), "questions": sum(c.values()), **{k: c.get(k, 0) for k in KINDS}} for d, c in counts.items()]


def by_kind(records) -> dict[str, int]:
    found = dict(records.values_list("kind").annotate(n=Count("pk")))
    return {k: found.get(k, 0) for k in KINDS}


def by_feedback(records) -> dict[str, int]:
    found = dict(records.values_list("message__feedback__helpful").annotate(n=Count("pk")))
    return {"up": found.get(True, 0), "down": found.get(False, 0), "none": found.get(None, 0)}


def feedback_by_kind(records) -> list[dict]:
    rows = records.values_list("kind", "message__feedback__helpful").annotate(n=Count("pk"))
    table = {k: {"kind": k, "up": 0, "down": 0, "none": 0} for k in KINDS}
    for kind, helpful, n in rows:
        row = table.setdefault(kind, {"kind": kind, "up": 0, "down": 0, "none": 0})
        row["up" if helpful else "none" if helpful is None else "down"] += n
    return list(table.values())


def ttft(records, qs=(50, 95)) -> list[dict]:
    """Nearest-rank percentiles of the time to first token (ms) over all answers, then for
    each kind of answer that has timings, computed by the database in one query: window
    functions rank each answer within its kind and overall, and for each percentile q the
    first row whose rank reaches q% of its count is the value."""
    timed = records.filter(ttft_ms__isnull=False)
    ranked = timed.annotate(
        pos_k=Window(RowNumber(), partition_by=[F("kind")], order_by=[F("ttft_ms").asc(), F("pk").asc()]),
        n_k=Window(Count("pk"), partition_by=[F("kind")]),
        pos_a=Window(RowNumber(), order_by=[F("ttft_ms").asc(), F("pk").asc()]),
        n_a=Window(Count("pk")),
    ).values("kind", "ttft_ms", "pos_k", "n_k", "pos_a", "n_a")
    inner, params = ranked.query.sql_with_params()
    picks = ", ".join(
        f"MIN(CASE WHEN pos_k * 100 >= {q} * n_k THEN ttft_ms END), MIN(CASE WHEN pos_a * 100 >= {q} * n_a THEN ttft_ms END)"
        for q in qs
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT kind, MAX(n_k), {picks} FROM ({inner}) ranked GROUP BY kind", params)
        rows = cursor.fetchall()
    figures = {kind: {"kind": kind, "n": n, **{f"p{q}": round(rest[2 * i], 1) for i, q in enumerate(qs)}} for kind, n, *rest in rows}
    overall = {"kind": "all", "n": sum(r[1] for r in rows)}
    for i, q in enumerate(qs):
        values = [r[3 + 2 * i] for r in rows if r[3 + 2 * i] is not None]
        overall[f"p{q}"] = round(min(values), 1) if values else None
    return [overall] + [figures[k] for k in KINDS if k in figures]


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
    days = per_day(records, period)
    kinds = {k: sum(d[k] for d in days) for k in KINDS}
    feedback_kinds = feedback_by_kind(records)
    feedback = {key: sum(row[key] for row in feedback_kinds) for key in ("up", "down", "none")}
    total = sum(kinds.values())
    rated = feedback["up"] + feedback["down"]
    n_never, never = never_cited(period, collection_ids)
    return {
        "total": total,
        "per_day": days,
        "kinds": kinds,
        "feedback": feedback,
        "feedback_by_kind": feedback_kinds,
        "refusal_rate": kinds.get(Message.Kind.REFUSED, 0) / total if total else None,
        "thumbs_down_rate": feedback["down"] / rated if rated else None,
        "rated": rated,
        "ttft": ttft(records),
        "most_cited": most_cited(period, collection_ids),
        "never_cited": never,
        "never_cited_count": n_never,
    }
