from dataclasses import dataclass

from rag.retrieval import fuse, paper_ranking


@dataclass
class C:
    chunk_id: str
    paper_id: str
    text: str = ""
    similarity: float = 0.5


def test_paper_ranking_keeps_best_chunk_per_paper():
    ranking = paper_ranking([C("a#1", "a"), C("b#0", "b"), C("a#0", "a")])
    assert [(p, c.chunk_id) for p, c in ranking] == [("a", "a#1"), ("b", "b#0")]


def test_rrf_rewards_agreement():
    dense = [C("x#0", "x"), C("y#0", "y"), C("z#0", "z")]
    keyword = [C("y#0", "y"), C("z#0", "z"), C("x#0", "x")]
    fused = fuse(dense, keyword, rrf_k=60)
    assert [f.paper_id for f in fused] == ["y", "x", "z"]
    assert abs(fused[0].score - (1 / 62 + 1 / 61)) < 1e-12
    assert (fused[0].dense_rank, fused[0].keyword_rank) == (2, 1)


def test_paper_found_by_one_retriever_only_is_kept():
    fused = fuse([C("a#0", "a")], [C("b#0", "b")], rrf_k=60)
    assert {f.paper_id for f in fused} == {"a", "b"}
    only_keyword = next(f for f in fused if f.paper_id == "b")
    assert only_keyword.dense_rank is None and only_keyword.dense_similarity is None


def test_best_chunk_is_the_one_ranked_highest_in_either_list():
    fused = fuse([C("a#0", "a"), C("b#0", "b")], [C("b#2", "b"), C("a#3", "a")], rrf_k=60)
    chunk_of = {f.paper_id: f.chunk.chunk_id for f in fused}
    assert chunk_of == {"a": "a#0", "b": "b#2"}


def test_empty_inputs():
    assert fuse([], []) == []
