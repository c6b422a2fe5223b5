"""Topic summaries with a scripted fake model: routing, per-point checks, refusal."""

from rag import AnswerStream, Refusal, prompts
from rag.paper import Paper
from rag.retrieval import Hit
from rag.settings import Settings
from rag.questions import topic_of
from rag.sources import prepare
from rag.topics import checked_point, overview_stream

from fakes import FakeLLM

FUZZ = Paper(id="p1", title="DocTer: Documentation Guided Fuzzing",
             abstract="DocTer analyzes API documentation to extract input constraints for fuzzing deep "
                      "learning libraries. It detected 94 bugs in TensorFlow and PyTorch.")
SEG = Paper(id="p2", title="kMaX-DeepLab", abstract="kMaX-DeepLab uses k-means cross-attention for "
                                                     "panoptic segmentation and reaches 58.0% PQ on COCO.")


def hit(paper, similarity):
    return Hit(paper_id=paper.id, title=paper.title, text=paper.abstract, score=0.03, url="",
               chunk_id=f"{paper.id}#0", dense_similarity=similarity)


def test_topic_questions_are_recognised_and_others_are_not():
    assert topic_of("What do these abstracts say about fuzzing DL libraries?") == "fuzzing DL libraries"
    assert topic_of("summarize the papers on panoptic segmentation") == "panoptic segmentation"
    assert topic_of("Give me an overview of efficient transformers.") == "efficient transformers"
    assert topic_of("Which paper uses k-means cross-attention?") is None


def test_unsupported_point_is_replaced_by_the_abstracts_own_sentence():
    assert checked_point("DocTer extracts input constraints from API documentation.", "fuzzing",
                         FUZZ.abstract, 0.5) == ("DocTer extracts input constraints from API documentation.", True)
    point, grounded = checked_point("It found 300 bugs in JAX.", "fuzzing deep learning libraries", FUZZ.abstract, 0.5)
    assert not grounded and point in FUZZ.abstract


def test_overview_cites_each_relevant_paper_once_and_skips_off_topic_ones():
    llm = FakeLLM(["DocTer extracts input constraints from API documentation to fuzz deep learning libraries."])
    stream = AnswerStream(overview_stream("What do these abstracts say about fuzzing deep learning libraries?",
                                          "fuzzing deep learning libraries", prepare([hit(FUZZ, 0.7), hit(SEG, 0.1)],
                                                                                      {"p1": FUZZ, "p2": SEG}),
                                          llm, Settings()))
    pieces, answer = list(stream), stream.answer
    assert not answer.abstained
    assert [c.paper_id for c in answer.citations] == ["p1"]
    assert answer.text == "".join(pieces) == \
        "- DocTer extracts input constraints from API documentation to fuzz deep learning libraries. [1]"
    assert len(llm.sent) == 1 and "Topic: fuzzing deep learning libraries" in llm.sent[0][-1]["content"]


def test_overview_with_no_relevant_paper_is_the_refusal():
    answer = AnswerStream(overview_stream("What do these abstracts say about cooking pasta?", "cooking pasta",
                                          prepare([hit(FUZZ, 0.1)], {"p1": FUZZ}), FakeLLM(), Settings())).result()
    assert answer.refusal is Refusal.LOW_RELEVANCE and answer.text == prompts.REFUSAL and answer.citations == []
