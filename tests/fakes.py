"""A scripted backend for fast unit tests of the chat pipeline (the real model is tested too)."""

import threading

from kbassist.llm.base import GenerationError, LLMBackend

GATE_TIMEOUT = 30.0


class GateNeverOpened(AssertionError):
    """The test that held the stream at its gate never opened it: fail, do not carry on."""


class ScriptedBackend(LLMBackend):
    name = "scripted"

    def __init__(self, reply="Full-time staff get 28 days [1].", context_size=2048, fail_after=None, gate=None, p_yes=None):
        self.reply = reply
        self.p_yes = p_yes  # what yes_probability() says (None: "cannot tell", as a backend without probabilities)
        self.context_size = context_size
        self.fail_after = fail_after
        self.gate = gate  # a threading.Event the stream waits on before each token (at most GATE_TIMEOUT)
        self.calls = []
        self.started = threading.Event()

    def count_tokens(self, text):
        return len(text.split()) + 1

    def yes_probability(self, messages):
        if self.p_yes is None:
            return None
        self.calls.append(messages)
        return self.p_yes

    def stream(self, messages, *, max_tokens, temperature, should_stop=lambda: False):
        self.calls.append(messages)
        self.started.set()
        for i, word in enumerate(self.reply.split(" ")):
            if self.gate is not None and not self.gate.wait(GATE_TIMEOUT):
                raise GateNeverOpened(f"the gate was not opened within {GATE_TIMEOUT:.0f}s")
            if should_stop():
                return
            if self.fail_after is not None and i >= self.fail_after:
                raise GenerationError("the model crashed")
            yield word if i == 0 else " " + word
