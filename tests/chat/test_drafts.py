"""An answer is saved while it streams; one left "streaming" by a process that is gone is
marked "interrupted" with its text (a real Daphne killed mid-answer: tests/e2e/test_faults.py)."""

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from kbassist.chat import drafts
from kbassist.chat.answering import answer
from kbassist.chat.models import Conversation, Message
from kbassist.llm.line import GenerationLine

from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.django_db


def streaming_answer(user, text="Full-time staff get", **fields):
    conversation = Conversation.objects.create(user=user)
    return Message.objects.create(conversation=conversation, role="assistant", kind="generated", status="streaming",
                                  content=text, saved_at=timezone.now(), **fields)


def dead_process() -> str:
    """The identity of a process of this machine that has ended."""
    script = "import django; django.setup(); from kbassist.chat.drafts import this_process; print(this_process())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    return child.stdout.strip()


def test_the_answer_is_in_the_database_while_it_streams(handbook, employee, settings):
    settings.KB_STREAM_SAVE_SECONDS = 0
    gate = threading.Event()
    events = answer("How many vacation days do I get?", user=employee, backend=ScriptedBackend(gate=gate), line=GenerationLine())
    gate.set()
    text = ""
    for event in events:
        if event["type"] == "token":
            text += event["text"]
            saved = Message.objects.get(role="assistant")
            assert saved.status == "streaming" and saved.content == text and saved.streamed_by == drafts.this_process()
        if event["type"] == "done":
            break
    final = Message.objects.get(role="assistant")  # the same row, finished
    assert final.pk == event["message_id"] and final.status == "complete" and final.streamed_by == ""


def test_an_answer_left_by_a_process_that_is_gone_is_interrupted_with_its_text(employee):
    orphan = streaming_answer(employee, streamed_by=dead_process())
    alive = streaming_answer(employee, streamed_by=drafts.this_process())
    assert drafts.interrupt_orphaned() == 1
    orphan.refresh_from_db()
    assert orphan.status == "interrupted" and orphan.content == "Full-time staff get"
    assert Message.objects.get(pk=alive.pk).status == "streaming"


def test_an_answer_not_saved_for_too_long_is_interrupted_whatever_machine_wrote_it(employee, settings):
    settings.KB_STREAM_STALE_SECONDS = 60
    elsewhere = streaming_answer(employee, streamed_by="another-host:123:456")
    assert drafts.interrupt_orphaned() == 0
    assert drafts.interrupt_orphaned(now=timezone.now() + timedelta(seconds=61)) == 1
    assert Message.objects.get(pk=elsewhere.pk).status == "interrupted"


def test_a_sensitive_term_is_never_saved_while_streaming(handbook, employee, settings):
    from kbassist.guardrails.models import SensitiveWord

    settings.KB_STREAM_SAVE_SECONDS = 0
    SensitiveWord.objects.create(term="Voldemort")
    saved = []
    backend = ScriptedBackend(reply="Full-time staff get 28 days, says Voldemort himself.")
    for event in answer("How many vacation days do I get?", user=employee, backend=backend, line=GenerationLine()):
        if event["type"] == "token":
            saved.append(Message.objects.filter(role="assistant").values_list("content", flat=True).first() or "")
    assert saved and not any("Voldemort" in text for text in saved)
