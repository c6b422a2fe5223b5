import dataclasses
import json

from fakes import FakeLLM
from rag import prompts
from rag.paper import Paper
from rag.summaries import (Digest, Method, Summary, clean_summary, consensus, evidence, extractive_summary,
                           is_grounded, opens_with_self_reference, overlap, sentence_complete, summarize, title_share,
                           without_self_reference)

PAPER = Paper(id="p", title="kMaX-DeepLab: k-means Mask Transformer",
              abstract="Transformers advance vision. kMaX-DeepLab casts cross-attention as k-means. It gets 58.0% PQ.")


def test_clean_summary_takes_first_sentence_and_caps_words():
    assert clean_summary("TL;DR: It works. More text.") == "It works."
    long = " ".join(["word"] * 40) + "."
    assert len(clean_summary(long).split()) == 30


def test_a_first_sentence_is_complete_when_the_next_one_starts_or_it_runs_too_long():
    assert not sentence_complete("TL;DR: It works on e.g. images.")
    assert sentence_complete("It works on e.g. images. More")
    assert sentence_complete("word " * 36) and not sentence_complete("word " * 35)


def test_lines_start_with_their_verb_not_this_paper_or_we():
    assert without_self_reference("This paper proposes X, a method.") == "Proposes X, a method."
    assert without_self_reference("We propose X.") == "Proposes X."
    assert without_self_reference("In this paper, we also study Y.") == "Also studies Y."
    assert without_self_reference("We show that Z holds.") == "Shows that Z holds."
    assert without_self_reference("The authors analyzed W.") == "Analyzed W."
    for kept in ("This paper is about V.", "Weight decay helps.", "kMaX-DeepLab casts attention as k-means.", "We"):
        assert without_self_reference(kept) == kept
    assert not opens_with_self_reference(without_self_reference("The paper introduces a benchmark."))


def test_the_line_most_in_agreement_with_the_others_is_chosen_among_grounded_ones():
    lines = ["A sparse engine trains models on edge devices.", "An engine for training on edge devices.",
             "A tiny engine fine-tunes models on edge devices with sparsity.", "Cats are nice."]
    assert overlap(lines[0], lines[0]) == 1.0 and overlap(lines[0], lines[3]) == 0.0
    assert consensus(lines, [True] * 4) == 0
    assert consensus(lines, [False, True, True, True]) in (1, 2)
    assert consensus(lines, [False] * 4) == -1


def test_the_title_and_the_abstracts_closest_sentence_vote_with_the_candidates():
    # Two lines the other samples agree on equally; the paper's own words decide between them.
    lines = ["Sparse updates cut phone memory.", "Sparse updates speed up compilers.", "Sparse updates help."]
    assert consensus(lines, [True, True, False]) == 0  # a tie: the first
    paper = Paper("p", "Compilers made fast", "We speed up compilers with sparse updates. Code runs faster.")
    votes = evidence(paper)
    assert votes == [["Compilers made fast"], ["We speed up compilers with sparse updates.", "Code runs faster."]]
    assert consensus(lines, [True, True, False], votes) == 1
    assert consensus(lines, [True, False, False], votes) == 0  # evidence never makes a line eligible


def test_summarize_keeps_the_consensus_line_and_falls_back_to_an_extract(tmp_path):
    from rag.catalog import Catalog

    catalog = Catalog(tmp_path / "c.sqlite3")
    method = Method(max_tokens=60, candidates=3, temperature=0.7)
    llm = FakeLLM([["This paper casts cross-attention as k-means.", "We cast cross-attention as k-means clustering.",
                    "kMaX-DeepLab reaches 61.2% PQ on ImageNet."]])
    made = summarize(PAPER, llm, catalog, method)
    assert made.text == "Casts cross-attention as k-means." and made.grounded and not made.cached
    assert llm.counts == [3] and llm.completes == [sentence_complete]
    assert summarize(PAPER, llm, catalog, method).cached and len(llm.sent) == 1
    other = Method(max_tokens=60, candidates=1, temperature=0.7)  # another method: made anew
    invented = FakeLLM([["kMaX-DeepLab reaches 61.2% PQ on ImageNet."]])
    fallback = summarize(PAPER, invented, catalog, other)
    assert fallback.text == "kMaX-DeepLab casts cross-attention as k-means." and not fallback.grounded
    restating = FakeLLM([["kMaX-DeepLab is a k-means mask transformer.", "kMaX-DeepLab: a k-means mask transformer.",
                          "kMaX-DeepLab casts cross-attention as k-means."]])
    assert summarize(PAPER, restating, catalog, Method(60, 3, 0.5)).text == "kMaX-DeepLab casts cross-attention as k-means."
    catalog.close()


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


def title_word_lines() -> FakeLLM:
    """A scripted model that names each summary after the paper's first title word."""

    def line(messages):
        return f"We show that {title_of(messages).split()[0]} does something useful."

    return FakeLLM(line)


def title_of(messages) -> str:
    return messages[-1]["content"].split("\n")[0].removeprefix("Title: ")


def test_pending_summaries_are_made_once_and_a_digest_that_does_not_wait_shows_the_rest(seeded, monkeypatch):
    llm = title_word_lines()
    monkeypatch.setattr(seeded, "llm", lambda model=None, fmt=None: llm)
    first_three = [p.id for p in seeded.papers()[:3]]
    assert len(seeded.digest(first_three).items) == 3 and [o.background for o in llm.options] == [False] * 3
    early = seeded.digest(wait=False)
    assert len(early.items) == 3 and early.pending == 18 and "18 more papers" in early.render("md")
    last = seeded.papers()[-1]
    made = []
    assert seeded.summarize_pending(prefer=lambda: [last.id], progress=lambda done, total: made.append(done)) == 18
    assert [o.background for o in llm.options[3:]] == [True] * 18 and made == list(range(1, 19))
    assert title_of(llm.sent[3]) == last.title  # the paper a digest waits for is done first
    assert seeded.summarize_pending() == 0 and len(llm.sent) == 21  # a re-run makes nothing again
    done = seeded.digest(wait=False)
    assert done.pending == 0 and len(done.items) == 21 and all(item.cached for item in done.items)
    assert json.loads(done.render("json"))["pending"] == 0


def test_a_digest_of_more_than_eight_papers_comes_under_topic_headings(seeded, monkeypatch):
    monkeypatch.setattr(seeded, "llm", lambda model=None, fmt=None: title_word_lines())
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


def test_the_newest_papers_are_read_ahead_once_as_a_questions_best_source(seeded, monkeypatch):
    llm = FakeLLM()
    monkeypatch.setattr(seeded, "llm", lambda model=None, fmt=None: llm)
    monkeypatch.setattr(seeded, "settings", dataclasses.replace(seeded.settings, read_ahead_papers=4))
    assert seeded.read_ahead() == 4 and seeded.read_ahead() == 0  # a re-run reads nothing again
    newest = seeded.papers()[:4]
    assert [m[1]["content"].split("\n")[2] for m in llm.read_ahead_prompts] == [f"[1] Title: {p.title}" for p in newest]
    assert all(m[0]["content"] == prompts.QA_SYSTEM for m in llm.read_ahead_prompts)


def test_a_background_run_gives_its_first_lines_every_candidate_and_the_rest_the_greedy_line(seeded, monkeypatch):
    """A day's tail is written 1.4x faster; a lookup by the full method finds the greedy line."""
    from rag.summaries import Method, cached

    llm = title_word_lines()
    monkeypatch.setattr(seeded, "llm", lambda model=None, fmt=None: llm)
    first = seeded.papers()[-1]
    assert seeded.summarize_pending(prefer=lambda: [first.id], full_lines=2) == 21
    assert llm.counts == [4, 4] + [1] * 19 and title_of(llm.sent[0]) == first.title
    method = Method.from_settings(seeded.settings)
    assert all(cached(p, llm.name, method, seeded._catalog) for p in seeded.papers())
    assert len(seeded.summaries_ready([p.id for p in seeded.papers()])) == 21
    assert seeded.digest(wait=False).pending == 0 and len(llm.sent) == 21  # nothing made again
