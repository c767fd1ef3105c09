"""The generation line: one answer at a time on the model, the others wait their turn."""

from kbassist.llm.line import GenerationLine


def test_generation_line_is_first_come_first_served():
    line = GenerationLine()
    a, b, c = line.join(), line.join(), line.join()
    assert (a.position, b.position, c.position) == (0, 1, 2)
    b.release()  # someone gives up while waiting
    assert c.position == 1
    a.release()
    assert c.wait(0.1) and c.position == 0
