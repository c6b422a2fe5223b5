"""arXiv categories and days as first-class filters; paged listings; compressed corpora."""

import gzip
import json
import lzma
import sqlite3

import pytest

from fakes import HashEmbedder
from rag import Library, RagError, Settings, load_path
from rag import Filters

DAYS = ["2025-03-18", "2025-03-19", "2025-04-02"]
CATEGORIES = [["cs.CL", "cs.AI"], ["cs.CV"], ["cs.CL", "I.2.7"]]


def corpus(n=30):
    """Papers on three days and three category sets, in the corpus README's shape."""
    return [
        {
            "arxiv_id": f"2503.{10000 + i}",
            "title": f"Sparse retrieval study number {i}",
            "abstract": f"We study sparse retrieval for question answering, variant {i}, with dense baselines.",
            "authors": ["Ada Lovelace" if i % 5 == 0 else "Alan Turing"],
            "published": DAYS[i % 3],
            "categories": CATEGORIES[i % 3],
        }
        for i in range(n)
    ]


@pytest.fixture
def library(tmp_path):
    settings = Settings.from_env(background_summaries=False, embed_url="")
    lib = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    lib.add(corpus())
    yield lib
    lib.close()


def test_categories_are_kept_in_order_and_other_class_codes_dropped(library):
    paper = library.get("arxiv:2503.10002")
    assert paper.categories == ("cs.CL",)  # "I.2.7" is an ACM class, not an arXiv category
    assert library.get("arxiv:2503.10000").categories == ("cs.CL", "cs.AI")
    assert library.choices("category") == ["cs.CL", "cs.AI", "cs.CV"]  # the most used first


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_search_keeps_to_a_category_and_a_range_of_days(library, mode):
    query = "sparse retrieval for question answering"
    in_cv = library.search(query, k=20, category="cs.CV", mode=mode)
    assert in_cv and all(library.get(h.paper_id).categories == ("cs.CV",) for h in in_cv)
    march = library.search(query, k=30, since="2025-03-19", until="2025-03", mode=mode)
    assert march and {library.get(h.paper_id).published for h in march} == {"2025-03-19"}
    by_ada = library.search(query, k=30, author="Lovelace", category="cs.CL", mode=mode)
    assert by_ada and all(
        "Ada Lovelace" in library.get(h.paper_id).authors and "cs.CL" in library.get(h.paper_id).categories
        for h in by_ada
    )
    assert library.search(query, category="math.AG", mode=mode) == []


def test_a_bad_date_is_named():
    with pytest.raises(RagError, match="since='last week'"):
        Filters(since="last week")


def test_pages_count_the_whole_listing_newest_first(library):
    first, total = library.page(limit=7)
    assert total == 30 and len(first) == 7
    assert [p.published for p in first] == ["2025-04-02"] * 7  # the newest day comes first
    pages = [library.page(offset=o, limit=7)[0] for o in range(0, 30, 7)]
    ids = [p.id for page in pages for p in page]
    assert len(ids) == len(set(ids)) == 30
    found, total = library.page(Filters(category="cs.CV"), title="number 1")
    expected = {f"arxiv:2503.{10000 + i}" for i in range(30) if i % 3 == 1 and str(i).startswith("1")}
    assert total == len(found) == 5 and {p.id for p in found} == expected  # 1, 10, 13, 16, 19
    assert library.page(title="100%_")[1] == 0  # LIKE's wildcards are matched literally
    assert library.newest_day() == "2025-04-02"
    assert library.choices("year") == [2025]


def test_compressed_files_are_read_by_their_inner_format(tmp_path):
    rows = corpus(4)
    (tmp_path / "a.jsonl.xz").write_bytes(lzma.compress("".join(json.dumps(r) + "\n" for r in rows[:2]).encode()))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows[2:]).encode()))
    loaded = load_path(tmp_path)
    assert sorted(p.id for p in loaded.papers) == [f"arxiv:2503.{10000 + i}" for i in range(4)]
    (tmp_path / "broken.jsonl.xz").write_bytes(b"not xz at all")
    with pytest.raises(RagError, match="broken.jsonl.xz.*cannot decompress"):
        load_path(tmp_path / "broken.jsonl.xz")


def test_a_catalogue_from_before_categories_is_upgraded_and_its_papers_filter_by_day(tmp_path):
    settings = Settings.from_env(background_summaries=False, embed_url="")
    old = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    old.add(corpus(6))
    # Vectors written before dates were filterable carry no day.
    old.store.update_metadata({p.id: {"paper_id": p.id, "day": 0} for p in old.papers()})
    old.close()
    db = sqlite3.connect(tmp_path / "store" / "catalog.sqlite3")  # as the previous release left it
    db.executescript("DROP INDEX papers_day; ALTER TABLE papers DROP COLUMN day;"
                     "ALTER TABLE papers DROP COLUMN categories; DROP TABLE paper_categories;")
    db.close()
    reopened = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    hits = reopened.search("sparse retrieval", k=10, since="2025-04-01")
    assert {reopened.get(h.paper_id).published for h in hits} == {"2025-04-02"}
    assert reopened.page(Filters(since="2025-04-01"))[1] == 2
    # Re-ingesting the papers, now with their categories, records them without re-embedding.
    summary = reopened.add(corpus(6))
    assert summary.relabelled == 6 and reopened.search("sparse", k=10, category="cs.CV")


def test_background_summaries_cover_the_newest_day_and_wanted_papers_never_the_library(library):
    from fakes import FakeLLM

    fake = FakeLLM(lambda messages: "We study sparse retrieval for question answering.")
    library.llm = lambda model=None, fmt=None: fake
    made = library.summarize_pending()
    newest = {p.id for p in library.newest()}
    assert made == len(newest) == 10 and {p.published for p in library.newest()} == {"2025-04-02"}
    older = "arxiv:2503.10000"  # 2025-03-18: made only because a digest waits for it
    assert library.summarize_pending(prefer=lambda: [older]) == 1
    assert library.digest([older], wait=False).pending == 0
    assert library.digest(wait=False).pending == 0 and len(library.digest(wait=False).items) == 10


def test_the_app_pages_the_library_and_reads_filter_choices_from_the_catalogue(library, monkeypatch):
    from rag import app as app_module

    monkeypatch.setattr(app_module, "PAGE_SIZE", 7)
    app = app_module.App(library)
    rows, where = app.paper_rows("", 5)
    assert len(rows) == 2 and where == "Page 5 of 5 · 30 papers, newest first"
    assert app.paper_rows("", 99)[1].startswith("Page 5 of 5")  # past the end: the last page
    first, _ = app.paper_rows("", 1)
    assert [r[2] for r in first] == ["2025-04-02"] * 7 and first[0][3] in {"cs.CL", "cs.CL cs.AI", "cs.CV"}
    sources, years, categories = app.filter_choices()
    assert categories.choices[0][0] == "" and [c[0] for c in categories.choices[1:]] == ["cs.CL", "cs.AI", "cs.CV"]
    assert [y[0] for y in years.choices] == ["", "2025"]
    assert [p.published for p in library.papers(app._digest_ids("Newest day", 10, ""))] == ["2025-04-02"] * 10


def test_rag_papers_pages_and_rag_search_filters(tmp_path, monkeypatch, capsys):
    from rag import cli

    rows = corpus(12)
    data = tmp_path / "day.jsonl.xz"
    data.write_bytes(lzma.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    store = str(tmp_path / "store")
    assert cli.main(["--store", store, "ingest", str(data)]) == 0
    capsys.readouterr()
    assert cli.main(["--store", store, "papers", "--page", "2", "--limit", "5", "--category", "cs.CL"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3 and "papers 6-8 of 8 (page 2 of 2" in err  # 8 of 12 are cs.CL
    assert cli.main(["--store", store, "search", "sparse retrieval", "--json", "--category", "cs.CV",
                     "--since", "2025-03-19"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and all((int(h["paper_id"].rsplit(".", 1)[1]) - 10000) % 3 == 1 for h in hits)
    assert cli.main(["--store", store, "search", "x", "--since", "someday"]) == 1
    assert "since='someday' is not a date" in capsys.readouterr().err


def test_a_new_papers_keyword_rows_are_written_without_reading_the_whole_index(tmp_path):
    """FTS5 cannot index paper_id: deleting a paper's old rows scans the keyword index, which made
    a big ingest quadratic. Only an update (a paper stored before) may do it."""
    from rag.catalog import Catalog
    from rag.chunking import Chunk
    from rag.paper import Paper

    catalog = Catalog(tmp_path / "catalog.sqlite3")
    statements = []
    catalog._db.set_trace_callback(statements.append)

    def commit(paper):
        catalog.commit([(paper, [Chunk(f"{paper.id}#0", paper.id, paper.title, paper.abstract, 0)])])

    first = Paper("p1", "Title one", "Abstract one.", categories=("cs.CL",))
    commit(first)
    assert not [s for s in statements if s.startswith("DELETE FROM chunk_text")]
    commit(Paper("p1", "Title one", "Abstract one, revised.", categories=("cs.CL",)))
    assert [s for s in statements if s.startswith("DELETE FROM chunk_text")]
    assert [hit.chunk_id for hit in catalog.keyword_search("revised", 5)] == ["p1#0"]
    assert catalog.chunk_count() == 1 and catalog.distinct("category") == ["cs.CL"]


def test_bm25_leaves_out_words_most_chunks_hold_but_keeps_the_rarest(tmp_path, monkeypatch):
    from rag import catalog as catalog_module
    from rag.catalog import Catalog
    from rag.chunking import Chunk
    from rag.paper import Paper

    catalog = Catalog(tmp_path / "catalog.sqlite3")
    for i in range(20):
        text = f"The model is evaluated on task {i}." + (" Foveated downsampling helps." if i == 7 else "")
        paper = Paper(f"p{i}", f"Paper {i}", text)
        catalog.commit([(paper, [Chunk(f"p{i}#0", paper.id, paper.title, text, 0)])])
    question = "Which model is evaluated with foveated downsampling?"
    terms = sorted(set(question.lower().rstrip("?").split()))
    assert sorted(catalog._informative(terms, 0.1)) == terms  # a small library: every word is cheap
    monkeypatch.setattr(catalog_module, "_RARE_ENOUGH", 0)  # as in a library of 100,000 chunks
    assert sorted(catalog._informative(terms, 0.1)) == ["downsampling", "foveated", "which", "with"]
    assert catalog._informative(["evaluated", "is", "model"], 0.1) == ["evaluated"]  # all common: one
    assert catalog.keyword_search(question, 1, max_share=0.1)[0].paper_id == "p7"
    assert catalog.keyword_search(question, 1)[0].paper_id == "p7"  # every word: the same best chunk


def test_a_narrow_filter_still_finds_every_allowed_paper(tmp_path, monkeypatch):
    """Filtered dense search reads the nearest chunks of the whole library and keeps the allowed
    ones; a filter too narrow for that falls back to Chroma's own filter."""
    from rag import retrieval

    settings = Settings.from_env(background_summaries=False, embed_url="", candidates=3)
    lib = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    lib.add(corpus())
    monkeypatch.setattr(retrieval, "FILTERED_DENSE_DEPTH", 2)  # 6 of 30 chunks read before filtering
    narrow = lib.search("sparse retrieval study", k=3, author="Lovelace", category="cs.CV", mode="dense")
    assert {h.paper_id for h in narrow} == {"arxiv:2503.10010", "arxiv:2503.10025"}  # all the filter allows
    wide = lib.search("sparse retrieval study", k=3, category="cs.CL", mode="dense")
    assert len(wide) == 3 and all("cs.CL" in lib.get(h.paper_id).categories for h in wide)


def test_a_whole_collection_is_read_a_page_at_a_time(library, monkeypatch):
    """One Chroma get of every chunk fails past ~32,000 chunks ("too many SQL variables"), which
    stopped every ingest into a library of 40,000 papers at its repair pass."""
    from rag import store as store_module

    monkeypatch.setattr(store_module, "_PAGE", 7)
    chunks = library.store.chunk_ids_by_paper()
    assert len(chunks) == 30 and sum(len(c) for c in chunks.values()) == library.store.count()
    assert library.audit().incomplete_papers == 0 and library.add(corpus()).unchanged == 30


def test_a_filter_that_allows_no_paper_finds_nothing_without_asking_chroma(library, monkeypatch):
    calls = []
    real = library.store.query
    monkeypatch.setattr(library.store, "query", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert library.search("sparse retrieval", since="2026-01-01", mode="dense") == []
    assert all(len(c) < 4 for c in calls)  # never with Chroma's own filter
