"""Retrieval evaluation over a PubMedQA-format file (question + its abstract)."""

from __future__ import annotations

import dataclasses
import json
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from .errors import InputError, RagError
from .paper import Paper, make_paper

if TYPE_CHECKING:
    from .llm import LLM

MODES = ("dense", "keyword", "hybrid")
EVAL_SOURCE = "rag-eval"  # the source of an evaluation's own papers, beside any distractors


@dataclass(frozen=True)
class QAItem:
    paper_id: str
    question: str
    decision: str = ""  # PubMedQA's final_decision: yes, no or maybe


@dataclass
class RetrievalScores:
    mode: str
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float  # mean reciprocal rank of the question's own abstract, cut at 10
    median_ms: float  # per-query search latency


def load_pubmedqa(path: str | Path, limit: int | None = None):
    """Papers and questions from a PubMedQA jsonl (``pmid``, ``question``, ``abstract``)."""
    papers: list[Paper] = []
    items: list[QAItem] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if limit is not None and len(items) >= limit:
                break
            try:
                row = json.loads(line)
                # A neutral title: the question must not leak into what is indexed.
                paper = make_paper(
                    f"PubMed {row['pmid']}",
                    row["abstract"],
                    given_id=f"pmid:{row['pmid']}",
                    source="pubmedqa",
                    path=str(path),
                    record=f"line {number}",
                )
                items.append(QAItem(paper.id, row["question"], row.get("final_decision", "")))
                papers.append(paper)
            except (json.JSONDecodeError, KeyError) as exc:
                raise InputError(f"not a PubMedQA record ({exc})", str(path), f"line {number}") from exc
    return papers, items


def score(library, items: list[QAItem], mode: str) -> RetrievalScores:
    ranks, latencies = [], []
    for item in items:
        started = time.perf_counter()
        hits = library.search(item.question, k=10, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        ids = [h.paper_id for h in hits]
        ranks.append(ids.index(item.paper_id) + 1 if item.paper_id in ids else None)
    n = len(items)
    recall = lambda k: sum(1 for r in ranks if r and r <= k) / n
    latencies.sort()
    return RetrievalScores(
        mode,
        recall(1),
        recall(5),
        recall(10),
        sum(1 / r for r in ranks if r) / n,
        latencies[len(latencies) // 2],
    )


def evaluate_retrieval(data: str | Path, limit: int | None = None, progress=None) -> dict:
    """Index the file's abstracts in a temporary store and score every mode on its questions."""
    from .library import Library

    papers, items = load_pubmedqa(data, limit)
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        library = Library(Path(tmp) / "store")
        started = time.perf_counter()
        summary = library.add(papers, progress=progress)
        ingest_seconds = time.perf_counter() - started
        results = [asdict(score(library, items, mode)) for mode in MODES]
        library.close()
    return {
        "data": str(data),
        "questions": len(items),
        "papers": summary.added,
        "ingest_seconds": round(ingest_seconds, 2),
        "modes": results,
    }


@dataclass(frozen=True)
class Distractors:
    """Papers stored beside an evaluation's own, as a researcher's library holds thousands of
    papers beside the one a question is about: ``file`` (any format the loaders read, e.g. the
    compressed arXiv corpus), ingested once into ``store`` and copied for each run."""

    file: Path
    store: Path

    @classmethod
    def of(cls, file: str | Path, store: str | Path | None = None) -> Distractors:
        """``store`` defaults to one per distractor file (its path, size and date) in the cache."""
        import hashlib

        from .settings import Settings

        path = Path(file).expanduser().resolve()
        if not path.is_file():
            raise InputError("distractor file not found", str(path))
        if store is None:
            stat = path.stat()
            key = hashlib.sha256(f"{path}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}".encode()).hexdigest()[:12]
            store = Settings.from_env().model_cache_dir.parent / "eval-stores" / f"{path.name}-{key}"
        return cls(path, Path(store).expanduser())

    def built(self, progress=None) -> Path:
        """The distractor store, ingesting what it lacks (a finished store is only checked; a
        killed build resumes)."""
        from .library import Library

        library = Library(self.store)
        try:
            library.ingest([self.file], skip_bad=True, progress=progress)
        finally:
            library.close()
        return self.store


def _ask_all(
    indexed: list, items: list, model: str | None, progress, distractors: Distractors | None = None
) -> list[tuple]:
    """Index ``indexed`` in a temporary store (a copy of the distractors' store, when given) and
    ask every question: (item, Answer) pairs."""
    import shutil

    from .library import Library

    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        if distractors is not None:
            shutil.copytree(distractors.built(), Path(tmp) / "store")
        library = Library(Path(tmp) / "store")
        library.add([dataclasses.replace(p, source=EVAL_SOURCE) for p in indexed])
        for done, item in enumerate(items, 1):
            rows.append((item, library.ask(item.question, model=model)))
            if progress:
                progress(done, len(items))
        library.close()
    return rows


def _share(count: int, total: int) -> float:
    return round(count / total, 3) if total else 0.0


def _with(distractors: Distractors | None) -> dict:
    """The report's record of the distractors stored beside the evaluation's papers."""
    return {"distractors": str(distractors.file)} if distractors else {}


def write_details(path: str | Path, rows: list[tuple], present: set[str] | None = None) -> None:
    """One JSON line per question: what was asked, what came back and why, for reading failures."""
    with open(path, "w", encoding="utf-8") as out:
        for item, answer in rows:
            line = {
                "paper_id": item.paper_id,
                "question": item.question,
                "expected": getattr(item, "decision", None) or getattr(item, "answers", None),
                "verdict": answer.verdict,
                "verdict_scores": answer.verdict_scores,
                "abstained": answer.abstained,
                "refusal": answer.refusal and answer.refusal.value,
                "reason": answer.reason,
                "text": answer.text,
                "cited": [c.paper_id for c in answer.citations],
                "timings": answer.timings,
            }
            if present is not None:
                line["present"] = item.paper_id in present
            out.write(json.dumps(line) + "\n")


def majority_share(decisions: list[str]) -> float:
    """The accuracy of always giving the commonest gold verdict (PubMedQA dev: "yes", 55.2%)."""
    return round(Counter(decisions).most_common(1)[0][1] / len(decisions), 3) if decisions else 0.0


def evaluate_qa(
    data: str | Path,
    limit: int | None = None,
    model: str | None = None,
    progress=None,
    details: str | Path | None = None,
    distractors: Distractors | None = None,
) -> dict:
    """Index every abstract, ask the first ``limit`` questions through the full pipeline."""
    papers, items = load_pubmedqa(data)
    rows = _ask_all(papers, items[:limit] if limit else items, model, progress, distractors)
    if details:
        write_details(details, rows)
    answered = [(i, a) for i, a in rows if not a.abstained]
    correct = sum(1 for i, a in answered if a.verdict == i.decision)
    cited = [(i, a) for i, a in answered if a.citations]
    precise = sum(1 for i, a in cited if i.paper_id in {c.paper_id for c in a.citations})
    firsts = sorted(a.timings.get("first_token", a.timings["total"]) for _, a in rows)
    return {
        "data": str(data),
        **_with(distractors),
        "questions": len(rows),
        "answered": len(answered),
        "accuracy_all": round(correct / len(rows), 3) if rows else 0.0,
        "accuracy_answered": round(correct / len(answered), 3) if answered else 0.0,
        "majority_baseline": majority_share([i.decision for i, _ in rows]),
        "citation_precision": round(precise / len(cited), 3) if cited else 0.0,
        "verdicts": dict(Counter(a.verdict for _, a in answered)),
        "median_first_token_s": firsts[len(firsts) // 2] if firsts else None,
    }


def evaluate_abstention(
    data: str | Path,
    limit: int | None = None,
    model: str | None = None,
    progress=None,
    details: str | Path | None = None,
    distractors: Distractors | None = None,
) -> dict:
    """Index every other abstract; questions on the rest should be refused, the others answered."""
    papers, items = load_pubmedqa(data)
    indexed = {p.id for p in papers[::2]}
    present = [i for i in items if i.paper_id in indexed][:limit]
    absent = [i for i in items if i.paper_id not in indexed][:limit]
    rows = _ask_all(papers[::2], present + absent, model, progress, distractors)
    if details:
        write_details(details, rows, indexed)
    outcomes = dict(rows)
    refused_absent = sum(outcomes[i].abstained for i in absent)
    answered_present = sum(not outcomes[i].abstained for i in present)
    gate_refusals = sum(outcomes[i].abstained and outcomes[i].refusal.before_generation for i in absent)
    present_reasons = Counter(outcomes[i].refusal.value for i in present if outcomes[i].abstained)
    return {
        "data": str(data),
        **_with(distractors),
        "present_questions": len(present),
        "absent_questions": len(absent),
        "refusal_rate_absent": round(refused_absent / len(absent), 3) if absent else 0.0,
        "answer_rate_present": round(answered_present / len(present), 3) if present else 0.0,
        "absent_refused_by_gate": gate_refusals,
        "present_refused_because": dict(present_reasons.most_common()),
    }


@dataclass(frozen=True)
class FactoidItem:
    paper_id: str  # the corpus paper the answer is in (for an unanswerable question: the one asked about)
    question: str
    answers: tuple[str, ...]  # acceptable answer spans; empty for a question the corpus cannot answer
    kind: str  # name, number, dataset, or absent (unanswerable)


def load_factoid(data: str | Path, corpus: str | Path, limit: int | None = None):
    """The corpus's papers (a SciTLDR-format jsonl) and the factoid questions over them."""
    papers, ids = [], {}
    with open(corpus, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
                paper = make_paper(
                    row["title"],
                    row["abstract"],
                    given_id=row["paper_id"],
                    source="corpus",
                    path=str(corpus),
                    record=f"line {number}",
                )
            except (json.JSONDecodeError, KeyError) as exc:
                raise InputError(
                    f"not a SciTLDR-format record ({exc})", str(corpus), f"line {number}"
                ) from exc
            papers.append(paper)
            ids[row["paper_id"]] = paper.id
    items = []
    with open(data, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
                items.append(
                    FactoidItem(ids[row["paper_id"]], row["question"], tuple(row["answers"]), row["kind"])
                )
            except (json.JSONDecodeError, KeyError) as exc:
                raise InputError(
                    f"not a factoid record, or its paper is not in {corpus} ({exc})",
                    str(data),
                    f"line {number}",
                ) from exc
    return papers, items[:limit] if limit else items


def evaluate_factoid(
    data: str | Path,
    corpus: str | Path,
    limit: int | None = None,
    model: str | None = None,
    progress=None,
    details: str | Path | None = None,
    distractors: Distractors | None = None,
) -> dict:
    """Ask every factoid question over the whole corpus: answerable ones should be answered with
    the expected span and the right citation, unanswerable ones refused."""
    from .text import mentions

    papers, items = load_factoid(data, corpus, limit)
    rows = _ask_all(papers, items, model, progress, distractors)
    if details:
        write_details(details, rows)
    answerable = [(i, a) for i, a in rows if i.answers]
    answered = [(i, a) for i, a in answerable if not a.abstained]
    unanswerable = [a for i, a in rows if not i.answers]
    span = sum(1 for i, a in answered if any(mentions(a.text, s) for s in i.answers))
    cited = sum(1 for i, a in answered if i.paper_id in {c.paper_id for c in a.citations})
    firsts = sorted(a.timings.get("first_token", a.timings["total"]) for _, a in rows)
    return {
        "data": str(data),
        "corpus": str(corpus),
        **_with(distractors),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answered": len(answered),
        "refused_answerable": _share(len(answerable) - len(answered), len(answerable)),
        "span_in_answer": _share(span, len(answered)),
        "right_citation": _share(cited, len(answered)),
        "refused_unanswerable": _share(sum(a.abstained for a in unanswerable), len(unanswerable)),
        "by_kind": {
            kind: {
                "questions": sum(1 for i, _ in rows if i.kind == kind),
                "answered": sum(1 for i, a in rows if i.kind == kind and not a.abstained),
            }
            for kind in sorted({i.kind for i, _ in rows})
        },
        "median_first_token_s": firsts[len(firsts) // 2] if firsts else None,
    }


def load_traps(data: str | Path, limit: int | None = None) -> list[FactoidItem]:
    """Relation traps (bench/traps/): questions over stored papers whose asked relation the paper
    never states; ``kind`` is the template that made each."""
    items = []
    with open(data, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
                items.append(FactoidItem(row["paper_id"], row["question"], (), row["template"]))
            except (json.JSONDecodeError, KeyError) as exc:
                raise InputError(f"not a relation-trap record ({exc})", str(data), f"line {number}") from exc
    return items[:limit] if limit else items


def evaluate_traps(
    data: str | Path,
    limit: int | None = None,
    model: str | None = None,
    progress=None,
    details: str | Path | None = None,
    distractors: Distractors | None = None,
) -> dict:
    """Ask every relation trap over the library of the distractor corpus (where its paper is):
    each should be refused."""
    if distractors is None:
        raise RagError("relation traps ask about papers of the distractor corpus: give --distractors FILE")
    items = load_traps(data, limit)
    rows = _ask_all([], items, model, progress, distractors)
    if details:
        write_details(details, rows)
    kinds = sorted({i.kind for i, _ in rows})
    return {
        "data": str(data),
        **_with(distractors),
        "traps": len(rows),
        "refused": _share(sum(a.abstained for _, a in rows), len(rows)),
        "cited_the_trap_paper": sum(
            1 for i, a in rows if not a.abstained and i.paper_id in {c.paper_id for c in a.citations}
        ),
        "refused_by_template": {
            kind: _share(
                sum(a.abstained for i, a in rows if i.kind == kind), sum(1 for i, _ in rows if i.kind == kind)
            )
            for kind in kinds
        },
    }


def load_scitldr(path: str | Path, limit: int | None = None):
    rows: list[tuple[Paper, list[str]]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if limit is not None and len(rows) >= limit:
                break
            row = json.loads(line)
            paper = make_paper(
                row["title"],
                row["abstract"],
                given_id=row["paper_id"],
                source="scitldr",
                path=str(path),
                record=f"line {number}",
            )
            rows.append((paper, row["tldrs"]))
    return rows


class _Recorded:
    """The model, keeping the candidate lines of its last ``samples`` call for a run's details
    (what the selection chose from, to study other selections without generating again)."""

    def __init__(self, llm: LLM):
        self.llm, self.name = llm, llm.name
        self.last: list[str] = []

    def samples(self, *args, **kwargs) -> list[str]:
        self.last = self.llm.samples(*args, **kwargs)
        return self.last


def evaluate_tldr(
    data: str | Path,
    limit: int | None = None,
    model: str | None = None,
    progress=None,
    details: str | Path | None = None,
) -> dict:
    """ROUGE-1/2/L (stemmed, best over references) of model summaries next to two baselines, and
    how many lines a reader would find wanting: opening with "This paper"/"We", or restating the
    title (>= 80% of their content words are the title's)."""
    try:
        from rouge_score import rouge_scorer
    except ImportError as exc:
        raise RagError("rag eval tldr needs the eval extra: pip install 'rag-abstracts[eval]'") from exc

    from .catalog import Catalog
    from .library import Library
    from .summaries import Method, opens_with_self_reference, summarize, title_share
    from .text import sentences

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    best = lambda refs, text: {
        k: max(scorer.score(r, text)[k].fmeasure for r in refs) for k in ("rouge1", "rouge2", "rougeL")
    }
    rows = load_scitldr(data, limit)
    systems: dict[str, list[dict]] = {"model": [], "title": [], "first_sentence": []}
    seconds, lines = [], []
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        catalog = Catalog(Path(tmp) / "catalog.sqlite3")
        library = Library(Path(tmp) / "store")
        llm, method = _Recorded(library.llm(model)), Method.from_settings(library.settings)
        for done, (paper, refs) in enumerate(rows, 1):
            summary = summarize(paper, cast("LLM", llm), catalog, method)
            seconds.append(summary.seconds)
            systems["model"].append(best(refs, summary.text))
            lines.append(
                {
                    "id": paper.id,
                    "title": paper.title,
                    "summary": summary.text,
                    "grounded": summary.grounded,
                    "seconds": round(summary.seconds, 2),
                    **systems["model"][-1],
                    "candidates": llm.last,
                }
            )
            systems["title"].append(best(refs, paper.title))
            systems["first_sentence"].append(best(refs, (sentences(paper.abstract) or [paper.abstract])[0]))
            if progress:
                progress(done, len(rows))
        catalog.close()
    if details:
        Path(details).write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    mean = lambda scores, k: round(100 * sum(s[k] for s in scores) / len(scores), 1)
    share = lambda test: round(100 * sum(map(test, lines)) / len(lines), 1) if lines else None
    return {
        "data": str(data),
        "papers": len(rows),
        "model": llm.name,
        "seconds_per_paper": round(sum(seconds) / len(seconds), 2) if seconds else None,
        "median_seconds_per_paper": round(statistics.median(seconds), 2) if seconds else None,
        "opens_with_this_paper_or_we_pct": share(lambda line: opens_with_self_reference(line["summary"])),
        "restates_title_pct": share(lambda line: title_share(line["summary"], line["title"]) >= 0.8),
        "extract_fallback_pct": share(lambda line: not line["grounded"]),
        "systems": {
            name: {k: mean(scores, k) for k in ("rouge1", "rouge2", "rougeL")}
            for name, scores in systems.items()
            if scores
        },
    }
