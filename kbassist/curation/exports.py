"""Exports for audits and for fine-tuning, through the cockpit and ``manage.py export_curation``:

- answers: one row per answer in a period (and collections): when, who asked, the question,
  the answer, its kind and status, the sources it cited, feedback and comment, TTFT;
  as CSV or JSONL;
- FAQ pairs: the curated question–answer pairs as a fine-tuning JSONL in chat-message format
  (``{"messages": [{"role": "system"}, {"role": "user"}, {"role": "assistant"}]}``, what
  LoRA/PEFT trainers such as TRL's SFTTrainer read).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from kbassist.chat.models import Message
from kbassist.knowledge.models import FAQ

from .stats import Period, answers

FIELDS = ["id", "created_at", "asker", "question", "answer", "kind", "status", "collections", "sources", "helpful", "comment", "ttft_ms"]
SYSTEM = "You are KB Assist, the company's internal help desk assistant. Answer the employee's question."


def answer_rows(period: Period, collection_ids=None) -> Iterator[dict]:
    records = (
        answers(period, collection_ids)
        .select_related("message", "message__feedback", "asker")
        .prefetch_related("collections")
        .order_by("created_at", "pk")
    )
    for record in records.iterator(chunk_size=1000):
        message: Message = record.message
        feedback = getattr(message, "feedback", None)
        yield {
            "id": message.pk,
            "created_at": record.created_at.isoformat(),
            "asker": record.asker.get_username() if record.asker else "",
            "question": record.question,
            "answer": message.content,
            "kind": message.kind,
            "status": message.status,
            "collections": sorted(c.name for c in record.collections.all()),
            "sources": [c.get("title", "") for c in message.citations if c.get("cited")],
            "helpful": None if feedback is None else feedback.helpful,
            "comment": "" if feedback is None else feedback.comment,
            "ttft_ms": message.timings.get("ttft_ms"),
        }


def as_csv(rows) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return out.getvalue()


def as_jsonl(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def finetune_jsonl(collection_ids=None, origins=(FAQ.Origin.CURATED, FAQ.Origin.MANUAL, FAQ.Origin.IMPORT)) -> str:
    faqs = FAQ.objects.filter(origin__in=list(origins)).order_by("collection_id", "pk")
    if collection_ids is not None:
        faqs = faqs.filter(collection_id__in=list(collection_ids))
    return "".join(
        json.dumps({"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": faq.question.strip()},
                                 {"role": "assistant", "content": faq.answer.strip()}]}, ensure_ascii=False) + "\n"
        for faq in faqs
    )
