"""Fast, offline checks of the remote clients' own logic (the servers are in test_scaleout.py)."""

import numpy as np
import pytest

from rag import ModelError
from rag.llm import Options
from rag.qa import parse_output
from rag.remote import RemoteLLM, _pooled


def test_json_wrapped_in_prose_is_still_parsed():
    raw = 'Sure! Here is the JSON:\n{"answer": "kMaX-DeepLab", "citations": [1]}\nHope it helps.'
    assert parse_output(raw) == ("kMaX-DeepLab", [1])
    assert parse_output("no json here") is None


def test_token_level_embeddings_are_mean_pooled():
    assert _pooled([[1.0, 3.0], [3.0, 5.0]]) == [2.0, 4.0]
    assert _pooled([0.5, 0.5]) == [0.5, 0.5]


class Delta:
    def __init__(self, content):
        self.choices = [type("Choice", (), {"delta": type("D", (), {"content": content})()})()]


class ScriptedCompletions:
    """Rejects response_format like a server without grammar support, then streams."""

    def __init__(self):
        self.requests = []

    def create(self, **request):
        from openai import BadRequestError
        import httpx

        self.requests.append(request)
        if "response_format" in request:
            response = httpx.Response(400, request=httpx.Request("POST", "http://x/v1/chat/completions"))
            raise BadRequestError("response_format not supported", response=response, body=None)
        return iter([Delta('{"answer": '), Delta('"ok", "citations": [1]}')])


def test_server_without_schema_support_is_asked_again_without_it():
    llm = RemoteLLM("http://127.0.0.1:9", "m", retries=0)
    completions = ScriptedCompletions()
    llm._client = type("C", (), {"chat": type("Chat", (), {"completions": completions})()})()
    assert llm.complete([{"role": "user", "content": "q"}], Options(max_tokens=10, json_schema={"type": "object"})) == \
        '{"answer": "ok", "citations": [1]}'
    assert ["response_format" in r for r in completions.requests] == [True, False]
    llm.complete([{"role": "user", "content": "q"}], Options(max_tokens=10, json_schema={"type": "object"}))
    assert "response_format" not in completions.requests[-1]  # remembered, not retried each time


def test_unreachable_server_is_a_model_error_naming_it():
    llm = RemoteLLM("http://127.0.0.1:9", "m", retries=0, timeout=2)
    with pytest.raises(ModelError, match=r"model server http://127.0.0.1:9 cannot be reached"):
        llm.complete([{"role": "user", "content": "q"}], Options(max_tokens=5))
