"""The answerability gate alone (no model): how often it lets answerable questions through and
stops unanswerable ones, on two question sets side by side, over a grid of thresholds.

    python bench/gate_sweep.py [--pubmedqa ../shared/eval/pubmedqa_dev.jsonl]
                               [--factoid bench/factoid/factoid_dev.jsonl --corpus ../shared/eval/scitldr_a_dev.jsonl]

- PubMedQA dev with every other abstract indexed (as `rag eval abstention` does): a question whose
  abstract is indexed should pass, the others should be refused. Its questions are long and
  title-like.
- The factoid set over the SciTLDR dev abstracts (bench/factoid/README.md): short questions in
  the seeds' style should pass; near-topic unanswerable ones (a named paper asked about a
  dataset or a count it never reports) should be refused.
- The seed questions of bench/latency.py (first questions and their follow-ups, resolved as the
  chat resolves them) plus plainly worded ones, and off-corpus questions.
The gate judges each question by its sources' best sentence similarity (as the pipeline does,
``Library.sentence_similarities``) and term coverage.
"""

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library  # noqa: E402
from rag.evaluation import load_factoid, load_pubmedqa  # noqa: E402
from rag.checks import gate  # noqa: E402
from rag.qa import retrieval_query  # noqa: E402
from rag.settings import Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from latency import FOLLOW_UPS, QUESTIONS  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
OFF_CORPUS = ["What is the capital of France?", "Which optimizer trained GPT-4?",
              "How many moons does Jupiter have?", "What causes migraines in children?"]
# Seed questions worded as a reader types them, not as the abstract says it.
PLAIN_SEED_QUESTIONS = ["How much power does the soft actuator controller consume on its microcontroller?",
                        "What does kMaX-DeepLab reach on the COCO validation set?"]


def library_of(papers=None, files=None) -> Library:
    library = Library(Path(tempfile.mkdtemp(prefix="rag-gate-")) / "store")
    if papers:
        library.add(papers)
    if files:
        library.ingest(files)
    return library


def retrieved(library: Library, question: str, resolved: str | None = None) -> tuple:
    query = resolved or question
    hits = library.search(query, k=library.settings.answer_sources)
    passages = [f"{h.title}\n{library.get(h.paper_id).abstract}" for h in hits]
    return query, passages, max(library.sentence_similarities(query, passages), default=0.0)


def passed(cases: list[tuple], min_relevance: float, min_coverage: float) -> list:
    return [gate(q, passages, sim, min_relevance=min_relevance, min_coverage=min_coverage)
            for q, passages, sim in cases]


def case_sets(pubmedqa: str, factoid: str, corpus: str) -> dict[str, list]:
    papers, items = load_pubmedqa(pubmedqa)
    indexed = {p.id for p in papers[::2]}
    library = library_of(papers=papers[::2])
    sets = {"pubmedqa_present": [retrieved(library, i.question) for i in items if i.paper_id in indexed],
            "pubmedqa_absent": [retrieved(library, i.question) for i in items if i.paper_id not in indexed]}
    corpus_papers, questions = load_factoid(factoid, corpus)
    library = library_of(papers=corpus_papers)
    sets["factoid_answerable"] = [retrieved(library, q.question) for q in questions if q.answers]
    sets["factoid_unanswerable"] = [retrieved(library, q.question) for q in questions if not q.answers]
    library = library_of(files=[ROOT / "seeds" / "digest-2023-03-11.txt"])
    seeds = [retrieved(library, q) for q in QUESTIONS + PLAIN_SEED_QUESTIONS]
    seeds += [retrieved(library, f, retrieval_query(f, [(q, "")])) for q, f in zip(QUESTIONS, FOLLOW_UPS)]
    sets["seeds"], sets["off_corpus"] = seeds, [retrieved(library, q) for q in OFF_CORPUS]
    return sets


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pubmedqa", default=str(EVAL / "pubmedqa_dev.jsonl"))
    parser.add_argument("--factoid", default=str(ROOT / "bench" / "factoid" / "factoid_dev.jsonl"))
    parser.add_argument("--corpus", default=str(EVAL / "scitldr_a_dev.jsonl"))
    args = parser.parse_args()
    sets = case_sets(args.pubmedqa, args.factoid, args.corpus)
    settings = Settings.from_env()
    grid = []
    for min_relevance in (0.80, 0.84, 0.88, 0.90, 0.92, 0.96, 1.00):
        row = {"min_relevance": min_relevance}
        for name, cases in sets.items():
            row[f"{name}_passed"] = sum(v.passed for v in passed(cases, min_relevance, settings.min_coverage))
        grid.append(row)
    configured = {name: passed(cases, settings.min_relevance, settings.min_coverage) for name, cases in sets.items()}
    return {"questions": {name: len(cases) for name, cases in sets.items()},
            "configured": {"min_relevance": settings.min_relevance, "min_coverage": settings.min_coverage,
                           **{f"{name}_passed": sum(v.passed for v in verdicts)
                              for name, verdicts in configured.items()}},
            "answerable_refused_because": Counter(
                v.refusal.value
                for name in ("pubmedqa_present", "factoid_answerable") for v in configured[name] if not v.passed),
            "seeds_refused": [q for (q, _, _), v in zip(sets["seeds"], configured["seeds"]) if not v.passed],
            "grid": grid}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
