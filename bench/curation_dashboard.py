"""How long the curators' dashboard takes to render over many answers.

A fresh SQLite database (or DATABASE_URL) gets ``--answers`` question/answer pairs from 200
people over 30 days, in five collections of 40 documents, with the mix of kinds, feedback,
citations and times to first token the chat records; then ``records.backfill()`` records them
for curation once (what the periodic task does for answers saved without signals), and the
dashboard page is rendered through Django's test client as a superuser (all questions) and as
a curator of one collection, three times each.

    python bench/curation_dashboard.py --answers 100000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import setup_django  # noqa: E402

KINDS = ["generated"] * 55 + ["curated"] * 15 + ["cached"] * 12 + ["refused"] * 15 + ["quoted"] * 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    setup_django(args.data_dir)
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from kbassist.chat.models import Conversation, Feedback, Message
    from kbassist.curation.models import AnswerRecord
    from kbassist.curation.records import backfill
    from kbassist.knowledge.models import Collection, Document

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    t = time.perf_counter()
    collections = [Collection.objects.create(name=f"Collection {i}", is_public=True) for i in range(5)]
    documents = [
        Document.objects.create(collection=c, title=f"Document {c.pk}-{j}", file=f"documents/{c.pk}-{j}.md", sha256=f"{c.pk}-{j}",
                                status=Document.Status.READY)
        for c in collections for j in range(40)
    ]
    people = User.objects.bulk_create([User(username=f"person{i}") for i in range(200)])
    admin = User.objects.create_superuser("admin", password="pw")
    curator = User.objects.create_user("curator", password="pw")
    editors = Group.objects.create(name="editors of Collection 0")
    collections[0].editor_groups.add(editors)
    curator.groups.add(editors, Group.objects.create(name="Curators"))
    now = timezone.now()
    with transaction.atomic():
        conversations = Conversation.objects.bulk_create([Conversation(user=rng.choice(people), title="q") for _ in range(args.answers // 4)])
        messages, feedback = [], []
        for i in range(args.answers):
            conversation = conversations[i % len(conversations)]
            kind = rng.choice(KINDS)
            document = rng.choice(documents[:150])  # the last 50 documents are never cited
            citations = [] if kind == "refused" else [{"n": 1, "collection": document.collection.name, "document_id": document.pk,
                                                       "title": document.title, "cited": True}]
            messages.append(Message(conversation=conversation, role="user", content=f"Question {i} about policy {i % 500}?"))
            messages.append(Message(conversation=conversation, role="assistant", kind=kind, content="An answer [1].", citations=citations,
                                    timings={"ttft_ms": rng.lognormvariate(7, 0.6) if kind == "generated" else rng.uniform(20, 200)},
                                    verification={"claims_removed": 1} if kind == "generated" and rng.random() < 0.05 else {}))
        Message.objects.bulk_create(messages, batch_size=2000)
        answers = list(Message.objects.filter(role="assistant").values_list("pk", flat=True))
        Message.objects.filter(role="assistant").update(created_at=now)
        for n, pk in enumerate(answers):
            if rng.random() < 0.1:
                feedback.append(Feedback(message_id=pk, user=people[n % 200], helpful=rng.random() < 0.7))
        Feedback.objects.bulk_create(feedback, batch_size=2000)
    # created_at spread over 30 days, one UPDATE per day
    with transaction.atomic():
        for day in range(30):
            Message.objects.filter(role="assistant", pk__in=answers[day::30]).update(created_at=now - timedelta(days=day, minutes=day))
    print(f"made {args.answers} answers in {time.perf_counter() - t:.1f} s")

    import cProfile
    import os
    profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    if profile:
        profile.enable()
    t = time.perf_counter()
    recorded = backfill()
    print(f"backfill: recorded {recorded} answers in {time.perf_counter() - t:.1f} s ({AnswerRecord.objects.count()} records)")

    results = {}
    for who, user in (("superuser, all questions", admin), ("curator of one collection", curator)):
        client = Client(SERVER_NAME="localhost")
        client.force_login(user)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            response = client.get("/curation/")
            times.append(time.perf_counter() - t)
            assert response.status_code == 200, response.status_code
        results[who] = times
        if profile:
            profile.disable()
            import pstats
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)
            profile = None
        print(f"dashboard as {who}: median {statistics.median(times):.2f} s (runs {', '.join(f'{x:.2f}' for x in times)})")


if __name__ == "__main__":
    main()
