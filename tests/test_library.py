"""Store and retrieval behaviour, run twice: embedded Chroma and Chroma's server."""

import dataclasses
import json
import uuid

import pytest

from conftest import SEEDS
from rag import InputError, Library, Paper, RagError, Settings
from rag import ingest as ingest_module


@pytest.fixture(params=["embedded", "chroma-server"])
def library(request, tmp_path, embedder):
    """An empty library, its vectors embedded or on the session's Chroma server (own collection)."""
    url = request.getfixturevalue("chroma_server").url if request.param == "chroma-server" else None
    settings = Settings.from_env(store_dir=tmp_path / "store", collection=f"test-{uuid.uuid4().hex[:12]}")
    lib = Library(url=url, settings=settings, embedder=embedder)
    yield lib
    lib.close()

LONG = " ".join(f"Sentence number {i} describes a distinct finding about sparse attention kernels."
                for i in range(60))


def chunk_ids(library):
    return library.store.chunk_ids_by_paper()


def assert_consistent(library):
    """Catalogue rows, keyword entries and vectors describe the same chunks."""
    vectors = chunk_ids(library)
    states = library._catalog.states()
    assert set(vectors) == set(states)
    for paper_id, state in states.items():
        assert len(vectors[paper_id]) == state.n_chunks
    assert library._catalog.chunk_count() == library.store.count() == sum(map(len, vectors.values()))


def test_reingest_is_idempotent(seeded):
    before = (seeded.stats().papers, seeded.stats().chunks, seeded.store.count())
    summary = seeded.ingest([SEEDS / "papers.jsonl", SEEDS / "digest-2023-03-11.txt"])
    assert (summary.added, summary.updated, summary.unchanged) == (0, 0, 21)
    assert (seeded.stats().papers, seeded.stats().chunks, seeded.store.count()) == before
    assert_consistent(seeded)


def test_changed_abstract_replaces_all_chunks(library):
    library.add([{"id": "p1", "title": "Sparse kernels", "abstract": LONG}])
    old = chunk_ids(library)["p1"]
    assert len(old) > 1
    summary = library.add([{"id": "p1", "title": "Sparse kernels", "abstract": "A short new abstract."}])
    assert (summary.added, summary.updated) == (0, 1)
    new = chunk_ids(library)["p1"]
    assert len(new) == 1 and not (new & old)
    hits = library.search("distinct finding about sparse attention kernels", k=3)
    assert [h.text for h in hits] == ["A short new abstract."]
    assert_consistent(library)


def test_newer_arxiv_version_replaces_older(library):
    v1 = Paper(id="arxiv:2206.08657", title="kMaX", abstract="Version one abstract.", version=1)
    v2 = Paper(id="arxiv:2206.08657", title="kMaX", abstract="Version two abstract.", version=2)
    library.add([v1])
    assert library.add([v2]).updated == 1
    assert library.get("arxiv:2206.08657").abstract == "Version two abstract."
    assert library.add([v1]).unchanged == 1  # an older version never overwrites a newer one
    assert library.get("arxiv:2206.08657").version == 2
    library.add([v1, v2])
    assert library.get("arxiv:2206.08657").version == 2


def test_add_accepts_dicts_and_requires_id(library):
    with pytest.raises(InputError, match="missing id"):
        library.add([{"title": "T", "abstract": "A."}])
    assert library.stats().papers == 0
    summary = library.add([{"id": "x", "title": "T", "abstract": "An abstract."}])
    assert summary.added == 1 and library.papers()[0].id == "x"


def test_bad_file_stores_nothing_without_skip_bad(seeded, tmp_path):
    bad = tmp_path / "mixed.jsonl"
    bad.write_text(json.dumps({"title": "Fine", "abstract": "Fine abstract text."}) + "\n{oops\n")
    with pytest.raises(InputError, match="mixed.jsonl: line 2"):
        seeded.ingest([bad])
    assert seeded.stats().papers == 21
    summary = seeded.ingest([bad], skip_bad=True)
    assert summary.added == 1 and len(summary.skipped) == 1
    assert seeded.stats().papers == 22


def test_delete_and_list(seeded):
    target = next(p for p in seeded.papers() if p.title.startswith("kMaX"))
    assert seeded.delete(target.id) is True
    assert seeded.delete(target.id) is False
    assert target.id not in {p.id for p in seeded.papers()}
    assert all(h.paper_id != target.id for h in seeded.search("k-means mask transformer", k=21))
    assert_consistent(seeded)
    with pytest.raises(RagError):
        seeded.get(target.id)


def test_search_finds_kmax_and_groups_per_paper(seeded):
    hits = seeded.search("Which model reformulates cross-attention as k-means clustering?", k=5)
    assert hits[0].title.startswith("kMaX-DeepLab")
    assert len({h.paper_id for h in hits}) == len(hits) == 5
    assert hits == sorted(hits, key=lambda h: -h.score)
    assert hits[0].text in seeded.get(hits[0].paper_id).abstract


def test_filters(library):
    library.add([
        Paper(id="a", title="Fuzzing DL libraries", abstract="Fuzzing finds bugs in deep learning libraries.",
              authors=("Ada Lovelace",), published="2021-05-01", source="bib"),
        Paper(id="b", title="Fuzzing compilers", abstract="Fuzzing finds bugs in tensor compilers.",
              authors=("Alan Turing",), published="2023-01-01", source="arxiv"),
    ])
    assert [h.paper_id for h in library.search("fuzzing bugs", year=2023)] == ["b"]
    assert [h.paper_id for h in library.search("fuzzing bugs", source="bib")] == ["a"]
    assert [h.paper_id for h in library.search("fuzzing bugs", author="Lovelace")] == ["a"]
    assert library.search("fuzzing bugs", author="Nobody") == []


def test_killed_ingest_recovers_without_duplicates_or_orphans(library, monkeypatch):
    papers = [Paper(id=f"p{i}", title=f"Paper {i}", abstract=LONG + f" Unique marker {i}.") for i in range(6)]
    real_commit = library._catalog.commit
    calls = {"n": 0}

    def dying_commit(items):
        calls["n"] += 1
        if calls["n"] == 2:  # vectors of the second batch are written, its rows are not
            raise KeyboardInterrupt
        real_commit(items)

    monkeypatch.setattr(library._catalog, "commit", dying_commit)
    library.settings = dataclasses.replace(library.settings, ingest_batch_papers=2)
    with pytest.raises(KeyboardInterrupt):
        library.add(papers)
    assert library.stats().papers == 2
    monkeypatch.setattr(library._catalog, "commit", real_commit)
    summary = library.add(papers)
    assert (summary.added, summary.unchanged) == (4, 2)
    assert_consistent(library)


def test_repair_removes_orphans_and_stale_chunks(library):
    library.add([{"id": "keep", "title": "Keep", "abstract": "Kept abstract."}])
    library.add([{"id": "gone", "title": "Gone", "abstract": "Orphaned abstract."}])
    library._catalog.delete(["gone"])  # as if killed between deleting the row and the vectors
    ingest_module.repair(library._catalog, library.store)
    assert set(chunk_ids(library)) == {"keep"}
    assert_consistent(library)


def test_store_persists_across_instances(tmp_path, embedder):
    first = Library(tmp_path / "s", embedder=embedder)
    first.ingest([SEEDS / "digest-2023-03-11.txt"])
    first.close()
    second = Library(tmp_path / "s", embedder=embedder)
    assert second.stats().papers == 21
    assert second.search("k-means mask transformer", k=1)[0].title.startswith("kMaX")


def test_follow_up_keeps_the_previous_turns_sources_when_it_is_about_the_same_paper(seeded):
    question = "Which paper uses k-means cross-attention for segmentation?"
    first = seeded.search(question, k=3)
    plan = seeded.plan("What does it reach on COCO?", history=[(question, "")], k=3)
    assert [h.paper_id for h in plan.hits] == [h.paper_id for h in first] and plan.focus == question
    assert plan.follow_up and plan.query.startswith(question)  # searched with the question it follows
    plan = seeded.plan("What is Monolith used for?", history=[(question, "")], k=3)
    assert plan.hits[0].title.startswith("Monolith") and plan.focus == "What is Monolith used for?"


def test_a_question_naming_a_paper_searches_that_paper_alone(seeded):
    docter = next(p for p in seeded.papers() if p.title.startswith("DocTer"))
    assert seeded.named_papers("How does DocTer extract input constraints?") == [docter.id]
    assert seeded.named_papers('What does "Documentation Guided Fuzzing for Testing Deep Learning API '
                               'Functions" find?') == [docter.id]
    assert seeded.named_papers("How do fuzzers extract input constraints?") == []
    # The named paper's neighbours (other fuzzers) would rank too; within it, only it does.
    assert len({h.paper_id for h in seeded.search("fuzzing deep learning libraries", k=5)}) > 1
    within = seeded.search("fuzzing deep learning libraries", k=5, within=[docter.id])
    assert [h.paper_id for h in within] == [docter.id]


def test_a_shared_lead_name_whose_papers_lack_the_questions_other_names_names_none_of_them(tmp_path):
    """At 40,000 papers a lead name is shared ("PRISM: ..." titles): when none of the papers it
    names mentions the question's other names, the question is about another paper and the whole
    library is searched."""
    from fakes import HashEmbedder

    lib = Library(tmp_path / "store", embedder=HashEmbedder())
    lib.add(
        [
            {"id": "a", "title": "PRISM: Prompted Retrieval for Sparse Models",
             "abstract": "PRISM improves retrieval of sparse models with prompts."},
            {"id": "b", "title": "PRISM: A Benchmark for Physical Reasoning",
             "abstract": "We release PRISM, a benchmark of physical reasoning tasks."},
            {"id": "c", "title": "PubMed 1",
             "abstract": "PRISM scores were recorded at PICU admission. The correlation between PRISM "
                         "and length of stay in the PICU was weak."},
            {"id": "d", "title": "LEAP: Learning Embeddings for Adaptive Pace",
             "abstract": "LEAP reaches 91% accuracy on CIFAR-10."},
        ]
    )
    # A name one paper has is that paper, whatever it lacks: refused as about it, not searched for.
    assert lib.named_papers("What accuracy does LEAP reach on COCO?") == ["d"]
    # Every paper the lead name names is kept when one of them holds the question's names.
    assert sorted(lib.named_papers("Does PRISM improve retrieval of sparse models?")) == ["a", "b"]
    assert lib.named_papers("Can PRISM predict length of PICU stay?") == []
    plan = lib.plan("Can PRISM predict length of PICU stay?", k=2)
    assert plan.hits[0].paper_id == "c" and not plan.named
    lib.close()


def test_a_library_no_longer_used_is_freed_with_its_connection(tmp_path):
    """The sentence-vector cache belongs to each library: a cache on the method kept every Library
    (and its SQLite connection) alive for the life of the process."""
    import gc
    import weakref

    from fakes import HashEmbedder

    lib = Library(tmp_path / "store", embedder=HashEmbedder())
    lib.add([{"id": "p1", "title": "Sparse kernels", "abstract": "Sparse kernels speed up attention."}])
    assert lib.sentence_similarities("sparse attention", ["Sparse kernels\nSparse kernels speed up attention."])
    gone = weakref.ref(lib)
    lib.close()
    del lib
    gc.collect()
    assert gone() is None


def test_a_failed_delete_leaves_the_catalogue_usable(tmp_path):
    """A delete that fails inside its transaction rolls it back: the connection is shared, and left
    in a transaction it would fail every later write."""
    from rag import StoreError
    from rag.catalog import Catalog

    catalog = Catalog(tmp_path / "catalog.sqlite3")
    catalog.commit([(Paper(id="p1", title="T", abstract="An abstract."), [])])
    catalog._db.execute("CREATE TRIGGER no_delete BEFORE DELETE ON papers BEGIN SELECT RAISE(ABORT, 'held'); END")
    with pytest.raises(StoreError, match="held"):
        catalog.delete(["p1"])
    assert not catalog._db.in_transaction
    catalog._db.execute("DROP TRIGGER no_delete")
    assert catalog.delete(["p1"]) == 1 and catalog.states() == {}
    catalog.close()
