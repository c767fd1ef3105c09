"""The generation line: one answer at a time on the model (N with KB_LLM_PARALLEL slots), the others wait their turn."""

import pytest

from kbassist.llm.line import GenerationLine, LineFull


def test_generation_line_is_first_come_first_served():
    line = GenerationLine()
    a, b, c = line.join(), line.join(), line.join()
    assert (a.position, b.position, c.position) == (0, 1, 2)
    b.release()  # someone gives up while waiting
    assert c.position == 1
    a.release()
    assert c.wait(0.1) and c.position == 0


def test_with_n_slots_n_answers_run_at_once_and_the_rest_wait_in_order():
    line = GenerationLine(slots=3)
    a, b, c, d, e = (line.join() for _ in range(5))
    assert [t.position for t in (a, b, c, d, e)] == [0, 0, 0, 1, 2]
    assert line.running == 3 and line.waiting == 2
    b.release()  # a slot frees (an answer done or stopped): the first in line takes it at once
    assert d.wait(0.1) and d.position == 0 and e.position == 1
    e.release()  # one who gave up while waiting
    assert line.waiting == 0 and line.running == 3


def test_the_line_is_full_only_when_every_slot_is_busy_and_max_waiting_wait():
    line = GenerationLine(slots=2)
    line._turns.extend([30.0])
    running = [line.join(max_waiting=1), line.join(max_waiting=1)]
    waiting = line.join(max_waiting=1)
    assert [t.position for t in running] == [0, 0] and waiting.position == 1
    with pytest.raises(LineFull) as full:
        line.join(max_waiting=1)
    # the sooner of the two running turns ends in about 30 s; one waiting ticket is a round of two slots
    assert 29 <= full.value.retry_after <= 31


def test_the_process_line_has_kb_llm_parallel_slots(settings):
    line = GenerationLine()
    settings.KB_LLM_PARALLEL = 4
    assert line.slots == 4
    tickets = [line.join() for _ in range(5)]
    assert [t.position for t in tickets] == [0, 0, 0, 0, 1]
