"""``Library.ask``, ``summarize`` and ``digest`` end to end over the seed papers, with a scripted
model (``FakeLLM``) and the hash embedder on a real Chroma and SQLite store: the pipeline's own
logic (planning, gate, prompts, checks, follow-ups, verdicts, summaries) with no model to load."""

import json

from rag import Answer, Refusal, prompts

KMAX_QUESTION = "What does kMaX-DeepLab reach on COCO val?"
KMAX_TITLE = "kMaX-DeepLab: k-means Mask Transformer"


def reply(answer: str, *citations: int) -> str:
    return json.dumps({"answer": answer, "citations": list(citations)})


def test_an_open_question_is_answered_from_its_source_cited_and_streamed(offline):
    offline.fake.replies.append(reply("kMaX-DeepLab reaches 58.0% PQ on COCO val.", 1))
    stream = offline.ask_stream(KMAX_QUESTION)
    assert stream.sources[0].title == KMAX_TITLE  # known before the model reads
    pieces = list(stream)
    answer = stream.answer
    assert not answer.abstained, answer.reason
    assert answer.text == "".join(pieces) == "kMaX-DeepLab reaches 58.0% PQ on COCO val."
    assert [c.title for c in answer.citations] == [KMAX_TITLE]
    assert "58.0% PQ" in answer.citations[0].sentence
    assert answer.timings["first_token"] <= answer.timings["total"]
    system, user = offline.fake.sent[0]
    assert system["content"] == prompts.QA_SYSTEM
    assert user["content"].startswith(f"Sources:\n\n[1] Title: {KMAX_TITLE}\n<abstract>")
    assert user["content"].endswith(f"Question: {KMAX_QUESTION}")
    options = offline.fake.options[0]
    assert options.json_schema == prompts.QA_SCHEMA and options.remember and options.choice is not None


def test_reading_the_answer_finishes_the_stream():
    from rag import AnswerStream

    def pieces():
        yield "a"
        yield "b"
        return Answer(question="q", text="ab")

    stream = AnswerStream(pieces())
    assert stream.answer.text == "ab" and list(stream) == []


def test_an_off_corpus_question_is_refused_without_asking_the_model(offline):
    answer = offline.ask("Which optimizer trained GPT-4 on the moon?")
    assert answer.abstained and answer.text == prompts.REFUSAL and answer.refusal.before_generation
    assert offline.fake.sent == []


def test_an_answer_with_a_number_its_source_never_gives_is_withdrawn(offline):
    offline.fake.replies.append(reply("kMaX-DeepLab reaches 61.3% PQ on COCO val.", 1))
    answer = offline.ask(KMAX_QUESTION)
    assert answer.refusal is Refusal.NAMES_NOT_CITED and "61.3" in answer.reason
    assert answer.text == prompts.REFUSAL and answer.citations == []


def test_a_follow_up_continues_the_answers_own_conversation(offline):
    offline.fake.replies += [reply("kMaX-DeepLab reaches 58.0% PQ on COCO val.", 1),
                             reply("It reaches 68.4% PQ on Cityscapes val.", 1)]
    first = offline.ask(KMAX_QUESTION)
    follow = offline.ask("What does it reach on Cityscapes?", history=[(KMAX_QUESTION, first)])
    assert not follow.abstained, follow.reason
    assert offline.fake.sent[1][: len(first.transcript)] == first.transcript
    assert offline.fake.sent[1][-1]["content"] == f"{prompts.QA_FOLLOW_UP_OPENING} What does it reach on Cityscapes?"
    assert follow.citations[0].title == KMAX_TITLE


def test_a_yes_no_question_gets_a_verdict_and_the_sentence_it_rests_on(offline):
    offline.fake.scores = {"Yes": -0.1, "No": -3.0, "Maybe": -5.0}
    answer = offline.ask("Does LAMB reduce BERT training time to 76 minutes?")
    assert not answer.abstained, answer.reason
    assert answer.verdict == "yes" and answer.text.startswith("Yes. The abstract reports:")
    assert "76 minutes" in answer.citations[0].sentence and answer.citations[0].sentence in answer.text
    assert offline.fake.sent[0][0]["content"] == prompts.VERDICT_SYSTEM


def test_a_topic_question_gets_one_checked_point_per_relevant_paper(offline):
    offline.fake.replies.append(lambda messages: "It extracts input constraints from API documentation to "
                                "fuzz deep learning libraries." if "DocTer" in messages[-1]["content"]
                                else "It tests deep learning libraries by fuzzing.")
    answer = offline.ask("What do these abstracts say about fuzzing deep learning libraries?")
    assert not answer.abstained, answer.reason
    lines = answer.text.split("\n")
    assert len(lines) == len(answer.citations) >= 1
    assert all(line.startswith("- ") and line.endswith(f"[{c.number}]") for line, c in zip(lines, answer.citations))
    assert any(c.title.startswith("DocTer") for c in answer.citations)


def test_summaries_are_chosen_grounded_cached_and_make_a_digest(offline):
    def line(messages):
        title = messages[-1]["content"].split("\n")[0].removeprefix("Title: ")
        return f"We present {title.split(':')[0]}."

    offline.fake.replies.append(line)
    paper = next(p for p in offline.papers() if p.title == KMAX_TITLE)
    summary = offline.summarize(paper.id)
    assert summary.text == "Presents kMaX-DeepLab." and summary.grounded and not summary.cached
    assert offline.summarize(paper.id).cached
    digest = offline.digest(newest=5)
    assert len(digest.items) == 5 and digest.pending == 0
    assert "# Paper digest (5 papers)" in digest.render("md")
    assert offline.digest(wait=False).pending == 21 - 5 - (paper.id not in {i.paper_id for i in digest.items})
