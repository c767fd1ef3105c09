"""Ask a question set through ``answer()`` and report how good the answers are.

    python manage.py evaluate QUESTIONS.jsonl [MORE.jsonl ...] [--set KEY=VALUE ...]
        [--compare KEY=VALUE ...] [--limit N] [--only-category C] [--user NAME]
        [--out REPORT.json] [--markdown REPORT.md]

Question sets are JSON lines (bench/eval/README.md). Every question is asked as ``--user``
(default: the first superuser) in a fresh conversation, with the answer cache off.
``--set`` overrides settings for the run; ``--compare`` runs a second configuration (the
``--set`` values plus these) on the same questions and shows both side by side.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kbassist.evaluation import metrics, report
from kbassist.evaluation.run import EvaluationError, evaluate, parse_assignments


class Command(BaseCommand):
    help = "Evaluate the answers to question sets (JSONL): sources, key facts, refusals, seconds."

    def add_arguments(self, parser):
        parser.add_argument("questions", nargs="+", help="Question set(s), one JSON object per line.")
        parser.add_argument("--set", dest="overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                            help="Override settings for the run (e.g. KB_TOP_K=8 KB_LLM_MODEL=qwen-1.5b).")
        parser.add_argument("--compare", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                            help="Also run with these overrides (on top of --set) and compare (an A/B test).")
        parser.add_argument("--limit", type=int, help="At most N questions per set, spread evenly over the set.")
        parser.add_argument("--only-category", dest="categories", action="append", default=[], metavar="C",
                            help="Only questions of this category (repeat, or separate with commas).")
        parser.add_argument("--user", help="Ask as this user (their collections only). Default: the first superuser.")
        parser.add_argument("--out", help="Write the JSON report here.")
        parser.add_argument("--markdown", help="Write a Markdown report here.")
        parser.add_argument("--quiet", action="store_true", help="No line per question while running.")

    def handle(self, *args, **opts):
        user = self._user(opts["user"])
        categories = [c.strip() for item in opts["categories"] for c in item.split(",") if c.strip()]
        questions = []
        for path in opts["questions"]:
            try:
                questions += metrics.select(metrics.read_questions(path), limit=opts["limit"], categories=categories)
            except (OSError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
        if not questions:
            raise CommandError("No questions to ask (check --only-category).")
        try:
            overrides = parse_assignments(opts["overrides"])
            compare = parse_assignments(opts["compare"])
            result = evaluate(
                questions, user, overrides=overrides, compare=compare, question_sets=opts["questions"],
                selection={"limit": opts["limit"], "categories": categories},
                progress=None if opts["quiet"] else self._progress,
            )
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("\n" + report.as_text(result))
        if opts["out"]:
            Path(opts["out"]).parent.mkdir(parents=True, exist_ok=True)
            Path(opts["out"]).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            self.stdout.write(f"JSON report: {opts['out']}")
        if opts["markdown"]:
            Path(opts["markdown"]).parent.mkdir(parents=True, exist_ok=True)
            Path(opts["markdown"]).write_text(report.as_markdown(result), encoding="utf-8")
            self.stdout.write(f"Markdown report: {opts['markdown']}")

    def _user(self, name):
        User = get_user_model()
        if name:
            user = User.objects.filter(username=name).first()
            if user is None:
                raise CommandError(f"No user named {name!r}.")
            return user
        user = User.objects.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError("No users yet: run `manage.py ensure_admin` or pass --user.")
        return user

    def _progress(self, config, i, n, record):
        verdict = "ok" if not record["failures"] else f"{len(record['failures'])} failed"
        first = record["seconds_to_first_token"]
        self.stderr.write(
            f"[{config} {i}/{n}] {record['id']} {record['kind'] or 'error'} "
            f"{record['seconds']:.1f}s (first token {'—' if first is None else f'{first:.1f}s'}) {verdict}"
        )
        sys.stderr.flush()
