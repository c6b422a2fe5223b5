"""The for-you ranking and `rag eval for-you`'s protocol, on a small made-up corpus."""

import json

import numpy as np
import pytest

from fakes import HashEmbedder
from rag import foryou
from rag.foryou_eval import cases_of, evaluate_for_you
from rag.loaders import load_path

TOPICS = {"Ada": "graph neural networks message passing molecules", "Alan": "speech recognition acoustic models",
          "Grace": "compilers register allocation loops", "Edsger": "shortest paths graph algorithms"}


def corpus(path):
    rows = []
    for day in range(14):
        for n, (author, topic) in enumerate(TOPICS.items()):
            rows.append({"arxiv_id": f"2501.{1000 + day * 10 + n:05d}", "title": f"{topic.split()[0]} study {day}",
                         "abstract": f"We study {topic} in setting {day}, variant {n}.", "authors": [author, "Shared Coauthor"],
                         "published": f"2025-01-{day + 1:02d}", "categories": ["cs.LG"]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_protocol_takes_readers_with_history_and_the_last_ten_days(tmp_path):
    papers = sorted(load_path(corpus(tmp_path / "c.jsonl")).papers, key=lambda p: p.published)
    cases, readers = cases_of(papers)
    assert readers == 5  # four authors and the coauthor on every paper
    assert len(cases) == 5 * 10 and {c.day for c in cases} == {f"2025-01-{d:02d}" for d in range(5, 15)}
    first = next(c for c in cases if c.reader == "Ada" and c.day == "2025-01-05")
    assert len(first.profile) == 4 and [papers[i].published for i in first.profile] == sorted(
        [papers[i].published for i in first.profile], reverse=True)  # newest first


def test_the_ranking_beats_chance_and_the_report_has_its_shape(tmp_path):
    embedder = HashEmbedder()
    report = evaluate_for_you(corpus(tmp_path / "c.jsonl"), lambda papers: embedder.embed(
        [f"{p.title}\n\n{p.abstract}" for p in papers]))
    assert report["readers"] == 5 and report["cases"] == 50
    assert set(report["methods"]) == {"ours", "mean_similarity", "max_similarity", "random"}
    ours = report["methods"]["ours"]
    assert ours["mrr"] > report["methods"]["random"]["mrr"] and 0 <= ours["recall@10"] <= 1


def test_rank_reads_meaning_and_words_and_names_the_nearest_profile_paper():
    profile_texts = ["Register allocation for loops in compilers.", "Graph neural networks for molecules."]
    candidates = ["Message passing graph neural networks on molecules.", "Acoustic models for speech."]
    vectors = np.eye(4)[[0, 1]].astype(np.float32)
    profile = np.eye(4)[[2, 0]].astype(np.float32)  # the second profile paper shares the first one's meaning
    scores, nearest = foryou.rank(candidates, vectors, profile_texts, profile)
    assert scores[0] > scores[1] and nearest[0] == 1
    weights = foryou.profile_weights(3)
    assert np.isclose(weights[0], 1.0) and np.isclose(weights[2], 1 / (1 + np.log10(3)))


def test_stars_and_an_own_library_make_the_profile_and_the_newest_day_is_ranked_by_it(tmp_path, capsys):
    from rag import Library, RagError, Settings, cli

    settings = Settings.from_env(background_summaries=False, embed_url="")
    lib = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    lib.ingest([corpus(tmp_path / "c.jsonl")])
    assert [p.paper.published for p in lib.for_you(k=3)] == ["2025-01-14"] * 3  # no profile: newest
    assert all(p.reason == "newest" for p in lib.for_you())
    mine = tmp_path / "mine.jsonl"
    mine.write_text(json.dumps({"id": "own-1", "title": "Graph neural networks for molecules",
                                "abstract": "We study graph neural networks message passing molecules."}) + "\n")
    lib.ingest([mine], mine=True)
    lib.star(["arxiv:2501.01000"])  # an older Ada paper
    assert {p.id for p in lib.profile()} == {"own-1", "arxiv:2501.01000"}
    picks = lib.for_you()
    assert picks[0].paper.authors[0] == "Ada" and "graph" in picks[0].reason.lower()
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)
    assert "own-1" not in {p.paper.id for p in picks}  # the reader's own papers are not news
    with pytest.raises(RagError, match="no stored paper with id 'nope'"):
        lib.star(["nope"])
    assert lib.unstar(["arxiv:2501.01000"]) == 1 and [p.id for p in lib.profile()] == ["own-1"]
    lib.close()


def test_the_today_tab_lists_the_newest_day_for_you_and_stars_a_paper(tmp_path):
    from fakes import FakeLLM
    from rag import Library, Settings
    from rag import app as app_module

    settings = Settings.from_env(background_summaries=False, embed_url="")
    lib = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    lib.ingest([corpus(tmp_path / "c.jsonl")])
    fake = FakeLLM(lambda messages: "We study graph neural networks for molecules.")
    lib.llm = lambda model=None, fmt=None: fake
    app = app_module.App(lib)
    rows, status = app.today_rows()
    assert len(rows) == 4 and status.startswith("4 papers of 2025-01-14; 0 lines written")
    assert all(r[0] == "☆" and r[2] == "…" for r in rows)
    rankings = []
    ranked = lib.for_you
    lib.for_you = lambda *a, **k: rankings.append(a) or ranked(*a, **k)
    lib.summarize(rows[0][4])
    rows, status = app.today_rows()
    assert "1 lines written" in status and rows[0][2] != "…"
    assert rankings == []  # a tick reads the new line; the day and the profile are as they were
    ada = next(r[4] for r in rows if "graph" in r[1])
    rows, _ = app.toggle_star(ada)
    assert len(rankings) == 1  # the profile changed: ranked again
    assert lib.profile()[0].id == ada and rows[0][0] == "★" and rows[0][4] == ada and rows[0][3] == "starred"
    assert rows[1][3].startswith("close to your paper")  # the rest are ranked by it now
    rows, _ = app.toggle_star(ada)
    assert lib.profile() == [] and ada in {r[4] for r in rows}


def test_a_zotero_export_as_csl_json_or_ris_becomes_the_profile(tmp_path):
    from rag import Library, Settings

    csl = tmp_path / "zotero.json"
    csl.write_text(json.dumps([{"id": "item-1", "type": "article-journal", "title": "Message passing for molecules",
                                "abstract": "We study graph neural networks for molecular property prediction.",
                                "author": [{"family": "Lovelace", "given": "Ada"}, {"literal": "The Consortium"}],
                                "DOI": "10.1234/abc.5", "URL": "https://doi.org/10.1234/abc.5",
                                "issued": {"date-parts": [[2024, 3, 7]]}}]))
    ris = tmp_path / "zotero.ris"
    ris.write_text("TY  - JOUR\nTI  - Acoustic models for speech\nAU  - Turing, Alan\n"
                   "AB  - We study acoustic models for speech recognition.\nDO  - 10.1234/speech.1\n"
                   "PY  - 2023\nUR  - https://example.org/speech\nER  - \n\n"
                   "TY  - JOUR\nTI  - A record without its abstract\nER  - \n")
    settings = Settings.from_env(background_summaries=False, embed_url="")
    lib = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    summary = lib.ingest([csl, ris], mine=True, skip_bad=True)
    assert summary.added == 2 and "zotero.ris: record 2: missing abstract" in str(summary.skipped[0])
    mol = lib.get("doi:10.1234/abc.5")
    assert mol.authors == ("Ada Lovelace", "The Consortium") and mol.published == "2024-03-07"
    speech = lib.get("doi:10.1234/speech.1")
    assert speech.authors == ("Turing, Alan",) and speech.url == "https://example.org/speech"
    assert {p.id for p in lib.profile()} == {mol.id, speech.id}
