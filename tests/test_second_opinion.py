"""A draft in doubt answered again by the larger model (``rag.second_opinion``), with scripted
models: the answer model drafts, the larger one scores the draft's cited sentence and answers
where the draft is in doubt."""

import json

import pytest

from rag import Refusal, prompts
from rag.answer import Citation
from rag.second_opinion import doubt

from fakes import FakeLLM

QUESTION = "What does kMaX-DeepLab reach on COCO val?"
SUPPORTED = {"Yes": -0.1, "No": -2.5}
UNSUPPORTED = {"Yes": -2.5, "No": -0.1}


def reply(answer: str, *citations: int) -> str:
    return json.dumps({"answer": answer, "citations": list(citations)})


@pytest.fixture
def larger(offline):
    """The offline library with a second scripted model as its verdict (larger) model."""
    model = FakeLLM()
    offline.verdict_llm = lambda: model
    return model


def test_a_draft_its_cited_sentence_states_stands(offline, larger):
    offline.fake.replies.append(reply("58.0% PQ", 1))
    larger.scores = SUPPORTED
    answer = offline.ask(QUESTION)
    assert answer.text.startswith("58.0% PQ: ") and "larger model" not in answer.reason
    assert "larger_model" not in answer.timings and "draft_check" in answer.timings
    [check] = larger.sent  # the one scored prompt; the larger model wrote nothing
    assert check[0]["content"] == prompts.SUPPORT_SYSTEM
    assert '"58.0% PQ"' in check[1]["content"] and answer.citations[0].sentence in check[1]["content"]


def test_a_draft_its_sentence_does_not_state_is_answered_again_by_the_larger_model(offline, larger):
    # 68.4% PQ is in the abstract (Cityscapes), so every term-in-source check passes the draft
    offline.fake.replies.append(reply("68.4% PQ", 1))
    larger.scores = UNSUPPORTED
    larger.replies.append(reply("kMaX-DeepLab reaches 58.0% PQ on COCO val.", 1))
    stream = offline.ask_stream(QUESTION)
    streamed = "".join(stream)
    answer = stream.answer
    assert answer.text == "kMaX-DeepLab reaches 58.0% PQ on COCO val." and not answer.abstained
    assert streamed.startswith("68.4% PQ") and prompts.RECONSIDERING in streamed  # the draft was shown
    assert answer.reason.startswith("answered by the larger model: its cited sentence did not state")
    assert answer.timings["larger_model"] >= answer.timings["draft_check"]
    assert larger.sent[1][0]["content"] == prompts.QA_SYSTEM  # the same answer prompt, read by it
    assert offline.fake.options[0].remember and not larger.options[1].remember  # follow-ups: the draft's model


def test_a_withdrawn_draft_is_answered_again_without_a_check(offline, larger):
    offline.fake.replies.append(reply("kMaX-DeepLab reaches 61.3% PQ on COCO val.", 1))
    larger.replies.append(reply("kMaX-DeepLab reaches 58.0% PQ on COCO val.", 1))
    answer = offline.ask(QUESTION)
    assert answer.text == "kMaX-DeepLab reaches 58.0% PQ on COCO val."
    assert "the draft answer was refused or withdrawn" in answer.reason
    assert len(larger.sent) == 1 and larger.sent[0][0]["content"] == prompts.QA_SYSTEM


def test_the_larger_models_answer_is_checked_like_the_draft(offline, larger):
    offline.fake.replies.append(reply("kMaX-DeepLab reaches 61.3% PQ on COCO val.", 1))
    larger.replies.append(reply("kMaX-DeepLab reaches 62.0% PQ on COCO val.", 1))
    answer = offline.ask(QUESTION)
    assert answer.refusal is Refusal.NAMES_NOT_CITED and "62.0" in answer.reason


def test_without_a_second_opinion_the_draft_stands(offline, larger):
    import dataclasses

    offline.settings = dataclasses.replace(offline.settings, second_opinion=False)
    offline.fake.replies.append(reply("68.4% PQ", 1))
    larger.scores = UNSUPPORTED
    answer = offline.ask(QUESTION)
    assert answer.text.startswith("68.4% PQ: ") and larger.sent == []


def test_a_model_without_scores_leaves_the_draft_standing():
    citation = Citation(1, "p", "kMaX-DeepLab", "", "It reaches 58.0% PQ on COCO val.", 1.0)
    assert doubt(QUESTION, "58.0% PQ", [citation], None, FakeLLM(), 0.7) == ""
    for refusal in (Refusal.MODEL_DECLINED, Refusal.UNSUPPORTED, Refusal.NOT_AN_ANSWER):
        assert doubt(QUESTION, "", [], refusal, FakeLLM(), 0.7) == "the draft answer was refused or withdrawn"
    # the source states another relation than the one asked: the larger model reads it too
    assert doubt(QUESTION, "", [], Refusal.WRONG_RELATION, FakeLLM(), 0.7) == ""
    unsupported = doubt(QUESTION, "68.4% PQ", [citation], None, FakeLLM(scores=UNSUPPORTED), 0.7)
    assert "'68.4% PQ'" in unsupported and "support 0.08" in unsupported


def test_a_bare_name_is_not_doubted():
    # "Which paper uses k-means cross-attention?": the sentence naming kMaX-DeepLab need not say
    # cross-attention; that the cited paper is the one asked about is the gate's and checks' call
    citation = Citation(1, "p", "kMaX-DeepLab: k-means Mask Transformer", "", "We develop kMaX-DeepLab.", 1.0)
    larger = FakeLLM(scores=UNSUPPORTED)
    assert doubt("Which paper uses k-means cross-attention?", "kMaX-DeepLab", [citation], None, larger, 0.7) == ""
    assert larger.sent == []
    assert doubt("Which datasets is it evaluated on?", "CIFAR10", [citation], None, larger, 0.7) == ""


def test_a_draft_whose_source_states_another_relation_is_not_asked_again(offline, larger):
    # A relation trap: the abstract has MobileDets outperforming MobileNetV2+SSDLite. The source,
    # not the draft's wording, is what fails; the larger model would read the same source.
    offline.fake.replies.append(reply("MobileNetV2+SSDLite outperforms MobileDets.", 1))
    answer = offline.ask("Which method does MobileNetV2+SSDLite outperform?")
    assert answer.refusal is Refusal.WRONG_RELATION and "larger model" not in answer.reason
    assert larger.sent == []
