"""Fast, offline checks of the remote clients' own logic (the servers are in test_scaleout.py)."""

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


class Listed:
    def __init__(self, token, logprob):
        self.token, self.logprob = token, logprob


class ScoringCompletions:
    """A server's reply to a one-token request with ``logprobs``: its first token's alternatives."""

    def __init__(self, top):
        self.top, self.requests = top, []

    def create(self, **request):
        self.requests.append(request)
        content = [type("C", (), {"top_logprobs": [Listed(t, lp) for t, lp in self.top]})()]
        choice = type("Ch", (), {"logprobs": type("L", (), {"content": content})()})()
        return type("R", (), {"choices": [choice]})()


def scripted_client(completions):
    return type("C", (), {"chat": type("Chat", (), {"completions": completions})()})()


def test_option_scores_add_up_the_listed_tokens_that_begin_each_word():
    import math

    from rag.remote import option_log_probs

    top = [("No", -0.5), (" no", -2.0), ("Yes", -1.5), ("The", -3.0)]
    scores = option_log_probs(top, ["Yes", "No", "Maybe"])
    assert scores["Yes"] == -1.5 and scores["Maybe"] == -3.0  # not listed: at most the least listed
    assert math.isclose(scores["No"], math.log(math.exp(-0.5) + math.exp(-2.0)))


def test_a_scored_choice_over_a_server_is_decided_from_its_logprobs():
    from rag.llm import Choice

    completions = ScoringCompletions([("No", -0.3), ("Yes", -1.6), ("Maybe", -4.0)])
    llm = RemoteLLM("http://127.0.0.1:9", "served-model", retries=0)
    llm._client = scripted_client(completions)
    probe = Choice(prefix="The answer is", options={"Yes": "", "No": "", "Maybe": ""},
                   decide=lambda scores: max(scores, key=scores.get), grammar="")
    assert list(llm.stream([{"role": "user", "content": "Is it?"}], Options(max_tokens=1, choice=probe))) == \
        ["The answer is"]
    assert probe.chosen == "No" and probe.scores == {"No": -0.3, "Yes": -1.6, "Maybe": -4.0}
    sent = completions.requests[0]
    assert sent["logprobs"] is True and sent["top_logprobs"] >= 5 and sent["max_tokens"] == 1
    assert sent["model"] == "served-model" and "Yes, No, Maybe" in sent["messages"][-1]["content"]


def test_a_yes_no_question_through_a_model_server_gets_a_verdict_from_the_servers_model(tmp_path, monkeypatch):
    """Over RAG_LLM_URL the verdict is the server's model's (RAG_LLM_MODEL), never the local
    verdict model's catalogue name, and it is decided from the server's log-probabilities."""
    from conftest import SEEDS
    from fakes import HashEmbedder
    from rag import Library, Settings
    from rag import remote

    completions = ScoringCompletions([("Yes", -0.2), ("No", -2.5)])
    monkeypatch.setattr(remote, "_client", lambda *args, **kwargs: scripted_client(completions))
    settings = Settings.from_env(llm_url="http://127.0.0.1:9", llm_model="served-model", llm_retries=0,
                                 verdict_model="qwen2.5-coder-1.5b-instruct-q4_k_m")
    library = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    library.ingest([SEEDS / "papers.jsonl"])
    answer = library.ask("Does LAMB train BERT in 76 minutes?")
    library.close()
    assert not answer.abstained, answer.reason
    assert answer.verdict == "yes" and answer.text.startswith("Yes. The abstract reports:")
    # The two words asked in both orders (rag.verdict.ORDERS), both of the server's model.
    assert [r["model"] for r in completions.requests] == ["served-model"] * 2
