"""The answerability gate alone (no model): how often it lets answerable questions through and
stops unanswerable ones, over a grid of thresholds.

    python bench/gate_sweep.py [--data ../shared/eval/pubmedqa_dev.jsonl]

PubMedQA dev with every other abstract indexed (as `rag eval abstention` does): a question whose
abstract is indexed should pass, the others should be refused. The seed questions of
bench/latency.py (first questions and their follow-ups, resolved as the chat resolves them) and
off-corpus questions are checked at the configured thresholds too, so a threshold that suits
PubMedQA's title-like questions but refuses short questions over the seeds shows up here.
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
from rag.evaluation import _refusal_kind, load_pubmedqa  # noqa: E402
from rag.grounding import gate  # noqa: E402
from rag.qa import retrieval_query  # noqa: E402
from rag.settings import Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from latency import FOLLOW_UPS, QUESTIONS  # noqa: E402

OFF_CORPUS = ["What is the capital of France?", "Which optimizer trained GPT-4?",
              "How many moons does Jupiter have?", "What causes migraines in children?"]


def retrieved(library: Library, question: str, resolved: str | None = None) -> tuple:
    hits = library.search(resolved or question, k=library.settings.answer_sources)
    passages = [f"{h.title}\n{library.get(h.paper_id).abstract}" for h in hits]
    return resolved or question, passages, max((h.dense_similarity or 0.0 for h in hits), default=0.0)


def verdicts(cases: list[tuple], min_relevance: float, min_coverage: float) -> list:
    return [gate(q, passages, sim, min_relevance=min_relevance, min_coverage=min_coverage)
            for q, passages, sim in cases]


def pubmedqa_cases(data: str) -> tuple[list, list]:
    papers, items = load_pubmedqa(data)
    indexed = {p.id for p in papers[::2]}
    library = Library(Path(tempfile.mkdtemp(prefix="rag-gate-")) / "store")
    library.add(papers[::2])
    present = [retrieved(library, i.question) for i in items if i.paper_id in indexed]
    absent = [retrieved(library, i.question) for i in items if i.paper_id not in indexed]
    return present, absent


def seed_cases() -> tuple[list, list]:
    library = Library(Path(tempfile.mkdtemp(prefix="rag-gate-")) / "store")
    library.ingest([ROOT / "seeds" / "digest-2023-03-11.txt"])
    answerable = [retrieved(library, q) for q in QUESTIONS]
    answerable += [retrieved(library, f, retrieval_query(f, [(q, "")])) for q, f in zip(QUESTIONS, FOLLOW_UPS)]
    return answerable, [retrieved(library, q) for q in OFF_CORPUS]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "eval" / "pubmedqa_dev.jsonl"))
    args = parser.parse_args()
    present, absent = pubmedqa_cases(args.data)
    seeds, off = seed_cases()
    settings = Settings.from_env()
    grid = []
    for min_relevance in (0.62, 0.66, 0.70, 0.72, 0.74, 0.78):
        for min_coverage in (0.5, 0.6, 0.7):
            row = {"min_relevance": min_relevance, "min_coverage": min_coverage}
            for name, cases in (("present", present), ("absent", absent), ("seeds", seeds), ("off_corpus", off)):
                row[f"{name}_passed"] = sum(v.passed for v in verdicts(cases, min_relevance, min_coverage))
            grid.append(row)
    configured = verdicts(present, settings.min_relevance, settings.min_coverage)
    return {"present": len(present), "absent": len(absent), "seed_questions": len(seeds),
            "off_corpus": len(off), "configured": {"min_relevance": settings.min_relevance,
                                                   "min_coverage": settings.min_coverage},
            "present_refused_because": Counter(_refusal_kind("refused before generation: " + v.reason)
                                               for v in configured if not v.passed),
            "seeds_refused": [q for (q, _, _), v in zip(seeds, verdicts(seeds, settings.min_relevance,
                                                                           settings.min_coverage)) if not v.passed],
            "grid": grid}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
