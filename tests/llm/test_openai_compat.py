"""The OpenAI-compatible backend without a server. (Against a real one, llama.cpp's own:
tests/e2e/test_remote_backend.py.)"""

import pytest

from kbassist.llm.base import ChatMessage, GenerationError
from kbassist.llm.openai_compat import OpenAICompatibleBackend


def test_an_unreachable_server_is_a_clear_error():
    backend = OpenAICompatibleBackend("http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(GenerationError, match="could not be reached: .*Connection refused"):
        list(backend.stream([ChatMessage("user", "hi")], max_tokens=5, temperature=0))


def test_stop_before_the_first_token_needs_no_server():
    backend = OpenAICompatibleBackend("http://127.0.0.1:9/v1", timeout=2)
    assert list(backend.stream([ChatMessage("user", "hi")], max_tokens=5, temperature=0, should_stop=lambda: True)) == []
