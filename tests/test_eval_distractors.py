"""`rag eval ... --distractors FILE`: the distractors' store is built once, copied for each run,
and never holds an evaluation's own papers afterwards."""

import json

from rag import Answer, Library, Refusal, evaluation


def test_distractors_are_built_once_and_each_run_asks_over_a_copy(tmp_path, monkeypatch, embedder):
    distractors = tmp_path / "arxiv.jsonl"
    distractors.write_text("".join(
        json.dumps({"arxiv_id": f"2504.{20000 + i}", "title": f"Graph kernels study {i}",
                    "abstract": f"We compare graph kernels on molecule benchmarks, setting {i}.",
                    "categories": ["cs.LG"], "published": "2025-04-01"}) + "\n" for i in range(5)))
    chosen = evaluation.Distractors.of(distractors, tmp_path / "distractor-store")
    seen = []

    def ask(self, question, **kwargs):  # the model is not what this test is about
        seen.append((self.count(), self.path))
        return Answer(question=question, text="", refusal=Refusal.LOW_RELEVANCE)

    monkeypatch.setattr(Library, "ask", ask)
    papers = [evaluation.make_paper("Own paper", "We measure own things on own data.", given_id="own-1")]
    items = [evaluation.QAItem(papers[0].id, "What is measured?")]
    evaluation._ask_all(papers, items, None, None, chosen)
    evaluation._ask_all(papers, items, None, None, chosen)
    assert [count for count, _ in seen] == [6, 6]  # five distractors and the evaluation's paper
    assert all(path != chosen.store for _, path in seen)
    base = Library(chosen.store, embedder=embedder)
    assert base.count() == 5 and base.page()[0][0].categories == ("cs.LG",)
    report = chosen.built()
    assert report == chosen.store and Library(chosen.store, embedder=embedder).count() == 5
