"""A scripted month of questions for the curators' cockpit (the README's screenshots).

Twenty employees ask ``--questions`` questions over 30 days, through the real ``answer()``
over the starter knowledge base (``knowledge/``, imported as the public "Company handbook"),
in English and Chinese: questions it covers (FAQ wording and paraphrases), questions it
covers only in part, and ones it does not (parking, gym, laptop repair, ...). Answers are
the quoted evidence (KB_GENERATE=false), so the chat model only translates Chinese questions
(as the chat does), and the month takes minutes; a share of answers get a thumbs up or down.
Then the knowledge gaps are refreshed.

    python bench/curation_month.py --data-dir /tmp/month --questions 300
    KB_DATA_DIR=/tmp/month .venv/bin/daphne kbassist.asgi:application   # and log in as admin / pw
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("KB_GENERATE", "false")
os.environ.setdefault("KB_MODELS_DIR", str(Path(__file__).resolve().parent.parent / "data" / "models"))
os.environ.setdefault("KB_CELERY_EAGER", "true")

from bench._common import ROOT, setup_django  # noqa: E402

COVERED = [
    "How many vacation days do I get?", "How many days of annual leave do full-time staff get?",
    "Can I carry over unused vacation days?", "How do I request vacation?", "When do I need a doctor's note?",
    "How do I reset my password?", "How do I connect to the VPN?", "What is the guest wifi password?",
    "How many days can I work from home?", "How do I claim travel expenses?", "What is the hotel limit on business trips?",
    "我每年有多少天年假？", "忘记密码怎么办？", "VPN连不上怎么办？", "病假需要医生证明吗？",
]
GAPS = {
    "parking": ["Is there parking at the office?", "Where can I park my car at work?", "Do we get free parking?",
                "Is the office car park free for staff?", "公司有停车位吗？", "上班可以把车停在哪里？"],
    "gym": ["Does the company pay for a gym membership?", "Is there a fitness allowance?", "Can I expense my gym subscription?",
            "公司报销健身房会员费吗？", "有健身补贴吗？"],
    "laptop": ["My laptop screen is broken, who repairs it?", "How do I get a replacement laptop?", "Who fixes a broken work laptop?",
               "笔记本电脑坏了怎么修？"],
    "parental": ["How long is parental leave?", "How many weeks of paternity leave do I get?", "Is maternity leave paid?",
                 "产假有多少天？"],
    "pension": ["Does the company offer a pension plan?", "How much does the employer contribute to my pension?"],
    "bike": ["Is there a bike to work scheme?", "Can I lease a bicycle through the company?"],
}
OFF_TOPIC = ["What is the capital of Mars?", "Who won the football match yesterday?", "Write me a poem about cats."]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    setup_django(args.data_dir)
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.utils import timezone

    from kbassist.chat.answering import answer
    from kbassist.chat.models import Feedback, Message
    from kbassist.curation import gaps
    from kbassist.curation.models import AnswerRecord
    from kbassist.knowledge.models import Collection

    call_command("migrate", verbosity=0)
    call_command("import_documents", str(ROOT / "knowledge"), "--collection", "Company handbook")
    handbook = Collection.objects.get(name="Company handbook")
    curators = Group.objects.get_or_create(name="Curators")[0]
    editors = Group.objects.get_or_create(name="HR editors")[0]
    handbook.editor_groups.add(editors)
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", password="pw")
    cora = User.objects.create_user("cora", password="pw")
    cora.groups.add(curators, editors)
    people = [User.objects.create_user(f"employee{i:02d}", password="pw") for i in range(20)]
    rng = random.Random(12)
    pool = [(q, "covered") for q in COVERED] * 4 + [(q, t) for t, qs in GAPS.items() for q in qs] * 2 + [(q, "off") for q in OFF_TOPIC]
    now = timezone.now()
    t0 = time.perf_counter()
    for i in range(args.questions):
        question, topic = rng.choice(pool)
        user = rng.choice(people)
        events = list(answer(question, user=user))
        done = events[-1]
        message = Message.objects.get(pk=done["message_id"])
        when = now - timedelta(days=rng.randrange(30), hours=rng.randrange(9, 18), minutes=rng.randrange(60))
        Message.objects.filter(conversation=message.conversation).update(created_at=when)
        AnswerRecord.objects.filter(pk=message.pk).update(created_at=when)
        if rng.random() < 0.3:
            helpful = topic == "covered" and rng.random() < 0.85 or topic != "covered" and rng.random() < 0.1
            Feedback.objects.create(message=message, user=user, helpful=helpful)
        if (i + 1) % 25 == 0:
            print(f"{i + 1} questions, {time.perf_counter() - t0:.0f} s", flush=True)
    report = gaps.refresh()
    print(f"gaps: {report}")
    for s in gaps.summaries():
        print(f"  {s.size:3d} x by {s.askers:2d}  {', '.join(s.languages):6s} {s.gap.representative}")


if __name__ == "__main__":
    main()
