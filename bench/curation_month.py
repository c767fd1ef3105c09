"""A scripted month of questions for the curators' cockpit (the README's screenshots).

Twenty employees ask ``--questions`` questions over 30 days, through the real ``answer()``
over the starter knowledge base (``knowledge/``, imported as the public "Company handbook")
and, with ``--with-18f``, the 18F handbook (``../shared/datasets/handbook-18f/pages``, its
questions drawn from ``bench/eval/handbook-18f.jsonl``), in English and Chinese: questions it
covers (FAQ wording and paraphrases), questions it covers only in part, ones it does not
(parking, gym, laptop repair, ...) and off-topic ones. Answers are the quoted evidence
(KB_GENERATE=false) and the answer check is off unless ``--answer-check``, so the chat model
only translates Chinese questions (as the chat does), and the month takes minutes; a share of answers get a thumbs up or down. Then the knowledge
gaps are refreshed.

With ``--screenshots docs`` it then serves that database with Daphne and has headless
Chromium (Debian's) save the README's pictures: the dashboard, the gaps, the biggest gap's
FAQ drafted by the chat model (``--no-draft``: written by hand) and saved, and hit testing
(a Chinese question; a question asked as an employee in no group).

    python bench/curation_month.py --data-dir /tmp/month --questions 300 --with-18f --screenshots docs
    KB_DATA_DIR=/tmp/month .venv/bin/daphne kbassist.asgi:application   # and log in as admin / pw
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("KB_GENERATE", "false")
# The answer check (Qwen 1.5B: a yes/no on about a third of the questions) is the slowest step
# of a quoted answer; off unless --answer-check (the refusals then rest on answerability alone).
if "--answer-check" not in sys.argv:
    os.environ.setdefault("KB_CHECK_MODEL", "")
os.environ.setdefault("KB_MODELS_DIR", str(Path(__file__).resolve().parent.parent / "data" / "models"))
os.environ.setdefault("KB_CELERY_EAGER", "true")

from bench._common import DATASETS, ROOT, setup_django  # noqa: E402

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
    parser.add_argument("--with-18f", action="store_true", help="Import the 18F handbook too, and ask its questions.")
    parser.add_argument("--screenshots", help="Save the README's screenshots into this folder (e.g. docs).")
    parser.add_argument("--no-draft", action="store_true", help="In the screenshots, write the FAQ by hand (no chat model).")
    parser.add_argument("--answer-check", action="store_true", help="Keep the answer check (KB_CHECK_MODEL) on: slower.")
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
    extra = []
    if args.with_18f:
        call_command("import_documents", str(DATASETS / "handbook-18f" / "pages"), "--collection", "18F handbook")
        rows = [json.loads(line) for line in open(ROOT / "bench" / "eval" / "handbook-18f.jsonl", encoding="utf-8")]
        extra = [(r["question"], "covered" if r["answerable"] else "18f-gap") for r in rows]
    curators = Group.objects.get_or_create(name="Curators")[0]
    editors = Group.objects.get_or_create(name="HR editors")[0]
    handbook.editor_groups.add(editors)
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", password="pw")
    cora = User.objects.create_user("cora", password="pw")
    cora.groups.add(curators, editors)
    people = [User.objects.create_user(f"employee{i:02d}", password="pw") for i in range(20)]
    rng = random.Random(12)
    pool = ([(q, "covered") for q in COVERED] * 4 + [(q, t) for t, qs in GAPS.items() for q in qs] * 2
            + [(q, "off") for q in OFF_TOPIC] + extra)
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
    print(f"the month: {args.questions} questions in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.screenshots:
        screenshots(Path(args.data_dir), Path(args.screenshots), draft=not args.no_draft)


def screenshots(data_dir: Path, folder: Path, draft: bool):
    """Serve the month's database with Daphne (tasks in-process) and save the cockpit's pages
    from headless Chromium into ``folder``."""
    import socket
    import urllib.request

    from playwright.sync_api import sync_playwright

    from kbassist.curation import gaps

    folder.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "kbassist.settings", "KB_CELERY_EAGER": "true"}
    url = f"http://127.0.0.1:{port}"
    with open(data_dir / "daphne.log", "ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "kbassist.asgi:application"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(url + "/accounts/login/", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit(f"Daphne did not start (see {data_dir / 'daphne.log'})")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"  # the ORM, next to Playwright's event loop
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.set_default_timeout(300_000)

            def shot(name):
                page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
                print(f"saved {folder / name}.png", flush=True)

            page.goto(url + "/accounts/login/?next=/curation/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", "pw")
            page.click("[type=submit]")
            page.wait_for_url("**/curation/")
            if page.evaluate("typeof Chart !== 'undefined'"):
                page.wait_for_function("window.__chartsDrawn === true")
            shot("curation-dashboard")
            page.goto(url + "/curation/gaps")
            shot("curation-gaps")
            biggest = gaps.summaries()  # open gaps, the most asked first
            gap = biggest[0].gap if biggest else None
            if gap is not None:
                page.goto(f"{url}/curation/gaps/{gap.pk}")
                if draft:
                    page.click("#draft-button")
                    page.wait_for_selector("#draft")  # the page reloads itself until the draft is there
                    shot("curation-draft")
                page.fill("textarea[name=answer]", WRITTEN.get(gap_topic(gap.representative), "See the staff handbook, section 4."))
                page.click("#save-faq")
                page.wait_for_selector(".flash")
                shot("curation-resolved")
            page.goto(url + "/curation/try")
            page.fill("textarea[name=q]", "我每年有多少天年假？")
            page.click(".try-form button[type=submit]")
            page.wait_for_selector("#path")
            shot("curation-try")
            page.goto(url + "/curation/try")
            page.fill("textarea[name=q]", "How many vacation days do I get?")
            page.check("input[name=as][value=nobody]")
            page.click(".try-form button[type=submit]")
            page.wait_for_selector("#path")
            shot("curation-try-access")
            browser.close()
    finally:
        server.terminate()
        server.wait(20)


WRITTEN = {
    "parking": "Staff park free of charge in the garage under building B (levels -1 and -2); your badge opens the gate.",
    "gym": "The company pays up to 30 EUR a month towards a gym membership: claim it with your monthly expenses.",
    "laptop": "Bring a broken laptop to the IT desk (level 1): you get a loan laptop the same day.",
    "parental": "Parental leave is 16 weeks at full pay for either parent, to be taken within a year of the birth.",
}


def gap_topic(question: str) -> str:
    return next((topic for topic, questions in GAPS.items() if question in questions), "")


if __name__ == "__main__":
    main()
