"""`manage.py knowledge_gaps [--collection NAME] [--json] [--all]`: bring the knowledge gaps up
to date now (the same ``gaps.refresh`` as the periodic task) and print each gap."""

import json

from django.core.management.base import BaseCommand, CommandError

from kbassist.curation import gaps
from kbassist.curation.models import Gap
from kbassist.knowledge.models import Collection


class Command(BaseCommand):
    help = "Recompute the knowledge gaps (unanswered questions grouped by meaning) and print them."

    def add_arguments(self, parser):
        parser.add_argument("--collection", help="only the questions about this collection")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--all", action="store_true", help="resolved and dismissed gaps too")

    def handle(self, *args, **options):
        ids = None
        if options["collection"]:
            collection = Collection.objects.filter(name=options["collection"]).first()
            if collection is None:
                raise CommandError(f"No collection named {options['collection']!r}.")
            ids = [collection.pk]
        report = gaps.refresh()
        statuses = [s for s, _ in Gap.Status.choices] if options["all"] else [Gap.Status.OPEN]
        found = gaps.summaries(ids, statuses=statuses, with_questions=True)
        if options["json"]:
            self.stdout.write(json.dumps({"refresh": vars(report), "gaps": [s.as_dict() for s in found]}, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"{len(found)} gaps ({report.joined} questions joined existing gaps, {len(report.new_gaps)} new gaps)\n")
        for s in found:
            self.stdout.write(
                f"\n#{s.gap.pk} [{s.gap.status}] {s.gap.representative}\n"
                f"   asked {s.size}x by {s.askers} people; languages {', '.join(s.languages)}; "
                f"first {s.first_seen:%Y-%m-%d}, last {s.last_seen:%Y-%m-%d}\n"
            )
            for q in s.questions:
                self.stdout.write(f"   - {q.record.question} ({q.get_reason_display()})\n")
