"""`manage.py export_curation answers|faqs [--since D] [--until D] [--collection NAME] [--format csv|jsonl]`:
conversations and feedback for audits, or the FAQ pairs as a fine-tuning JSONL."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from kbassist.curation import exports
from kbassist.curation.records import backfill
from kbassist.curation.stats import Period
from kbassist.knowledge.models import Collection


class Command(BaseCommand):
    help = "Export answers with feedback (CSV/JSONL) or FAQ pairs (fine-tuning JSONL) to stdout."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["answers", "faqs"])
        parser.add_argument("--since", type=date.fromisoformat)
        parser.add_argument("--until", type=date.fromisoformat)
        parser.add_argument("--collection")
        parser.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")

    def handle(self, *args, what, since, until, collection, format, **options):
        ids = None
        if collection:
            found = Collection.objects.filter(name=collection).first()
            if found is None:
                raise CommandError(f"No collection named {collection!r}.")
            ids = [found.pk]
        if what == "faqs":
            self.stdout.write(exports.finetune_jsonl(ids), ending="")
            return
        backfill()
        period = Period.last(30)
        period.since, period.until = since or date(2000, 1, 1), until or period.until
        rows = exports.answer_rows(period, ids)
        self.stdout.write(exports.as_csv(rows) if format == "csv" else exports.as_jsonl(rows), ending="")
