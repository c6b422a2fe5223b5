import json

from rag.paper import Paper
from rag.summaries import (Digest, Summary, clean_summary, extractive_summary, first_sentence, is_grounded,
                           opens_with_self_reference, title_share)

PAPER = Paper(id="p", title="kMaX-DeepLab: k-means Mask Transformer",
              abstract="Transformers advance vision. kMaX-DeepLab casts cross-attention as k-means. It gets 58.0% PQ.")


def test_clean_summary_takes_first_sentence_and_caps_words():
    assert clean_summary("TL;DR: It works. More text.") == "It works."
    long = " ".join(["word"] * 40) + "."
    assert len(clean_summary(long).split()) == 30


def test_generation_is_read_only_until_the_first_sentence_is_complete():
    taken = []

    def pieces(parts):
        for part in parts:
            taken.append(part)
            yield part

    assert clean_summary(first_sentence(pieces(["TL;DR: It works", " on e.g. images.", " More", " text."]))) \
        == "TL;DR: It works on e.g. images."[7:]
    assert taken[-1] == " More"  # the sentence is known complete when the next one starts
    taken.clear()
    endless = first_sentence(pieces(["word "] * 100))
    assert len(taken) == 36 and len(clean_summary(endless).split()) == 30


def test_grounding_rejects_invented_names_and_numbers():
    assert is_grounded("kMaX-DeepLab casts cross-attention as k-means, reaching 58.0% PQ.", PAPER)
    assert not is_grounded("kMaX-DeepLab reaches 61.2% PQ on ImageNet.", PAPER)
    assert extractive_summary(PAPER) == "kMaX-DeepLab casts cross-attention as k-means."


def test_digest_renders_every_format():
    items = [Summary("p", "A <b>title</b>", "https://arxiv.org/abs/1", "One line & more.", True, False, 0.1),
             Summary("q", "No link", "", "Another line.", True, True, 0.0)]
    digest = Digest(items, "test-model")
    md = digest.render("md")
    assert "[A <b>title</b>](https://arxiv.org/abs/1)" in md and "Another line." in md
    page = digest.render("html")
    assert "A &lt;b&gt;title&lt;/b&gt;" in page and 'href="https://arxiv.org/abs/1"' in page and "<script" not in page
    data = json.loads(digest.render("json"))
    assert [p["paper_id"] for p in data["papers"]] == ["p", "q"] and data["model"] == "test-model"


def test_lines_a_reader_skips_are_recognised():
    for line in ("This paper proposes X.", "The work shows Y.", "We propose Z.", "In this paper, we study W."):
        assert opens_with_self_reference(line), line
    for line in ("Weight decay is ...", "Papers like this ...", "kMaX-DeepLab casts attention as k-means."):
        assert not opens_with_self_reference(line), line


def test_title_share_counts_the_lines_content_words_taken_from_the_title():
    assert title_share("kMaX-DeepLab: a k-means mask transformer.", PAPER.title) == 1.0
    assert title_share("Cross-attention as k-means clustering reaches 58.0% PQ.", PAPER.title) < 0.5


class CountingLLM:
    """A scripted model that names each summary after the paper's first title word."""

    name = "counting"

    def __init__(self):
        self.calls, self.titles = [], []

    def stream(self, messages, **kwargs):
        self.calls.append(kwargs.get("background"))
        self.titles.append(messages[-1]["content"].split("\n")[0].removeprefix("Title: "))
        yield from (f"{self.titles[-1].split()[0]} does", " something useful.", " It also", " rambles on.")


def test_pending_summaries_are_made_once_and_a_digest_that_does_not_wait_shows_the_rest(seeded, monkeypatch):
    llm = CountingLLM()
    monkeypatch.setattr(seeded, "llm", lambda model=None, fmt=None: llm)
    first_three = [p.id for p in seeded.papers()[:3]]
    assert len(seeded.digest(first_three).items) == 3 and llm.calls == [False] * 3
    early = seeded.digest(wait=False)
    assert len(early.items) == 3 and early.pending == 18 and "18 more papers" in early.render("md")
    last = seeded.papers()[-1]
    made = []
    assert seeded.summarize_pending(prefer=lambda: [last.id], progress=lambda done, total: made.append(done)) == 18
    assert llm.calls[3:] == [True] * 18 and made == list(range(1, 19))
    assert llm.titles[3] == last.title  # the paper a digest waits for is done first
    assert seeded.summarize_pending() == 0 and len(llm.calls) == 21  # a re-run makes nothing again
    done = seeded.digest(wait=False)
    assert done.pending == 0 and len(done.items) == 21 and all(item.cached for item in done.items)
    assert json.loads(done.render("json"))["pending"] == 0


def test_a_digest_of_more_than_eight_papers_comes_under_topic_headings(seeded, monkeypatch):
    monkeypatch.setattr(seeded, "llm", lambda model=None, fmt=None: CountingLLM())
    assert seeded.digest(newest=8).topics == []  # a short digest stays one list
    digest = seeded.digest()
    ids = [item.paper_id for item in digest.items]
    assert 2 <= len(digest.topics) <= 6 and sorted(i for t in digest.topics for i in t.paper_ids) == sorted(ids)
    assert all(topic.name for topic in digest.topics)
    markdown = digest.render("md")
    assert markdown.count("\n## ") == len(digest.topics) and markdown.count("\n- **") == 21
    assert digest.render("html").count("<h2") == len(digest.topics)
    assert [t["name"] for t in json.loads(digest.render("json"))["topics"]] == [t.name for t in digest.topics]
    fuzzing = next(t for t in digest.topics if any(seeded.get(i).title.startswith("DocTer") for i in t.paper_ids))
    assert any(seeded.get(i).title.startswith("NeuRI") for i in fuzzing.paper_ids)  # like papers go together
