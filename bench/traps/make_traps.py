"""Relation traps over the SciTLDR dev abstracts, made mechanically from real sentences.

    python bench/traps/make_traps.py ../shared/eval/scitldr_a_dev.jsonl > candidates.jsonl
    python bench/traps/make_traps.py ../shared/eval/scitldr_a_dev.jsonl bench/traps/review.json > bench/traps/traps_dev.jsonl

A trap is a question whose content words all occur in one stored abstract (the paper it names),
but whose asked relation that abstract never states: the answer a small model reaches for is in
the abstract, attached to something else. Each template rewrites one real sentence:
- swap_benchmark: "<subject> achieves <metric> of N on <A>" in an abstract that also names
  benchmark <B>, never with that metric -> "What <metric> does <subject> achieve on <B>?"
- swap_direction: "<subject> reduces <X> by N%" in an abstract that uses the opposite verb
  elsewhere -> "By how much does <subject> increase <X>?"
- swap_sides: "<A> outperforms <B>" -> "Which method does <B> outperform?"
- swap_subject: a metric the abstract reports for the paper's own method, asked of a baseline the
  same abstract names in another role -> "What <metric> does <baseline> achieve on <data>?"
Every question must pass ``all_words_in`` (each content word is in the abstract). The candidates
were then read one by one with their sentence; review.json lists the ones dropped, keyed by
"<paper id> <question>", with why (the relation does hold after all, the question is broken, or
it names a class of methods), and bench/traps/README.md says how.
"""

from __future__ import annotations

import json
import lzma
import re
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "factoid"))
from make_candidates import BENCHMARKS, METRIC, REACHES, names_benchmark, subject  # noqa: E402

from rag.text import content_terms, coverage, sentences  # noqa: E402

OPPOSITE = {"reduc": ("increase", "increas"), "decreas": ("increase", "increas"), "cut": ("increase", "increas"),
            "increas": ("reduce", "reduc"), "improv": ("degrade", "degrad")}
BY_AMOUNT = re.compile(r"\b(?P<verb>reduc|improv|increas|decreas|cut)\w*\s+(?P<object>(?:the\s+)?[a-z][a-z\- ]{2,40}?)"
                       r"\s+by\s+(?:up to |about |over |nearly |almost |as much as |around )?(?P<num>\d+(?:\.\d+)?\s?%)")
BEATS = re.compile(r"\b(?P<a>[A-Z][\w\-.]*[A-Za-z0-9])\s+(?:\w+ly\s+)?(?:outperforms|surpasses|beats)\s+"
                   r"(?:the\s+)?(?:state-of-the-art\s+|existing\s+|strong\s+)?(?P<b>[A-Z][\w\-.]*[A-Za-z0-9])"
                   r"(?P<after>\s+\w+)?")
GENERIC = {"methods", "techniques", "approaches", "baselines", "models", "ones", "variants", "systems"}
STOP = {"the", "a", "an", "of", "on", "in", "does", "do", "what", "which", "by", "how", "much", "method", "paper",
        "achieve", "reach"}


def all_words_in(question: str, abstract: str, title: str) -> bool:
    """Every content word of the question is in the paper's title or abstract (the checks' own
    term rule, ``rag.text.coverage``, finds all of them)."""
    return coverage(question, f"{title}\n{abstract}") == 1.0


def swap_benchmark(row: dict, sentence: str) -> list[dict]:
    found = []
    used = [b for b in BENCHMARKS if names_benchmark(row["abstract"], b)]
    for pattern in (METRIC, REACHES):
        for match in pattern.finditer(sentence):
            metric, data = match.group("metric").lower(), match.group("data")
            for other in used:
                if data is None or names_benchmark(data, other) or names_benchmark(sentence, other):
                    continue
                if any(names_benchmark(s, other) and metric.split()[-1] in s.lower() for s in sentences(row["abstract"])):
                    continue  # the metric is stated with that benchmark somewhere: not a trap
                found.append(("swap_benchmark", f"What {metric} does {subject(row)} achieve on {other}?"))
    return found


def swap_direction(row: dict, sentence: str) -> list[dict]:
    found = []
    for match in BY_AMOUNT.finditer(sentence):
        verb, stem = OPPOSITE[match.group("verb")]
        if stem in row["abstract"].lower():
            found.append(("swap_direction", f"By how much does {subject(row)} {verb} {match.group('object')}?"))
    return found


def specific(match: re.Match) -> bool:
    """B names one method ("Qwen2.5-VL"), not a class ("existing LLMs", "SOTA methods")."""
    after = (match.group("after") or "").strip().lower()
    return after not in GENERIC and not re.fullmatch(r"[A-Z]+s", match.group("b"))


def swap_sides(row: dict, sentence: str) -> list[dict]:
    """"A outperforms B" -> "Which method does B outperform?", unless B outperforms something
    somewhere in the abstract."""
    winners = {m.group("a") for m in BEATS.finditer(row["abstract"])}
    return [("swap_sides", f"Which method does {m.group('b')} outperform?") for m in BEATS.finditer(sentence)
            if specific(m) and m.group("b") not in winners]


def swap_subject(row: dict, sentence: str) -> list[dict]:
    found = []
    for match in BEATS.finditer(sentence):
        if not specific(match):
            continue
        baseline = match.group("b")
        for pattern in (METRIC, REACHES):
            for m in pattern.finditer(sentence):
                where = f" on {m.group('data')}" if m.group("data") else ""
                found.append(("swap_subject", f"What {m.group('metric').lower()} does {baseline} achieve{where}?"))
    return found


def candidates(row: dict) -> list[dict]:
    found = []
    for sentence in sentences(row["abstract"]):
        for template in (swap_benchmark, swap_direction, swap_sides, swap_subject):
            for kind, question in template(row, sentence):
                if all_words_in(question, row["abstract"], row["title"]):
                    found.append({"paper_id": row["paper_id"], "title": row["title"], "kind": "trap",
                                  "template": kind, "evidence": sentence, "question": question, "answers": []})
    one_each = {(c["template"]): c for c in reversed(found)}  # the first of each template per paper
    return list(one_each.values())


def rows_of(path: str):
    """SciTLDR rows, or the arXiv corpus's (plain or .xz), as {paper_id, title, abstract}."""
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            paper_id = row.get("paper_id") or f"arxiv:{row['arxiv_id']}"
            yield {"paper_id": paper_id, "title": row["title"], "abstract": row["abstract"]}


def main(path: str, review_path: str | None = None) -> None:
    drop = json.loads(Path(review_path).read_text())["drop"] if review_path else {}
    for row in rows_of(path):
        for item in candidates(row):
            if f"{item['paper_id']} {item['question']}" not in drop:
                print(json.dumps(item, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:3])
