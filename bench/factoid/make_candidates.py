"""Generate factoid question candidates over SciTLDR dev abstracts, mechanically.

    python bench/factoid/make_candidates.py ../shared/eval/scitldr_a_dev.jsonl > candidates.jsonl

Four templates, each reading only the paper's title and abstract (no model):
- name: a title "Name: subtitle" gives "Which paper proposes <subtitle>?" -> Name.
- number: a sentence with a number and a metric ("achieves 79.4% top-1 accuracy on ImageNet")
  gives "What top-1 accuracy does <subject> achieve on ImageNet?" -> "79.4%"; a sentence
  "reduces X by N%" gives "By how much does <subject> reduce X?" -> "N%".
- dataset: a named paper whose abstract names benchmarks from a fixed list gives
  "Which datasets is <Name> evaluated on?" -> any of those benchmarks.
- absent (unanswerable, near-topic): a named paper asked about a benchmark from the same list
  that its abstract never mentions, or about a count (GPUs, parameters) it never reports.
The candidates were then read one by one and the unusable ones dropped or reworded
(bench/factoid/README.md says how); the reviewed set is factoid_dev.jsonl.
"""

from __future__ import annotations

import json
import random
import re
import sys

sys.path.insert(0, ".")
from rag.text import mentions, sentences  # noqa: E402

NAMED_TITLE = re.compile(r"^([A-Za-z0-9][\w\-+]*(?: [A-Z0-9][\w\-+]*)?)\s*:\s*(.+)$")
BENCHMARKS = ["MNIST", "Fashion-MNIST", "CIFAR-10", "CIFAR-100", "CIFAR10", "CIFAR100", "SVHN", "ImageNet",
              "COCO", "Omniglot", "CelebA", "LSUN", "SQuAD", "GLUE", "Penn Treebank", "WikiText-103",
              "Atari", "MuJoCo", "Cityscapes", "PASCAL VOC", "Tiny ImageNet", "STL-10", "MiniImageNet",
              "WMT", "IWSLT", "Cora", "Citeseer", "PubMed", "DeepMind Lab", "Visual Genome", "VQA", "ShapeNet"]
METRIC = re.compile(r"(?P<num>\d+(?:\.\d+)?\s?%)\s+(?P<metric>(?:top-?[15]\s+)?(?:test\s+|average\s+)?"
                    r"(?:accuracy|error rate|error|F1|BLEU|(?:reduction|improvement|increase) in (?:the\s+)?"
                    r"[a-z\-]+(?: [a-z\-]+){0,2}))(?:\s+on\s+(?:the\s+)?(?P<data>[A-Z][\w\-]+))?")
REACHES = re.compile(r"\b(?:achiev|reach|obtain|attain)\w*\s+(?:an?\s+|the\s+)?(?:new\s+)?(?:state-of-the-art\s+)?"
                     r"(?P<metric>(?:top-?[15]\s+)?(?:test\s+)?(?:accuracy|error rate|error|F1(?: score)?|BLEU"
                     r"(?: score)?|perplexity|speedup|compression(?: ratio)?)) of\s+(?:about\s+|around\s+)?"
                     r"(?P<num>\d+(?:\.\d+)?\s?(?:%|x|×)?)(?:\s+on\s+(?:the\s+)?(?P<data>[A-Z][\w\-]+))?")
COUNTED = re.compile(r"\b(?P<num>\d+(?:\.\d+)?)\s+(?P<unit>GPU-days|GPU hours|hours|minutes|epochs|languages|"
                     r"datasets|tasks|benchmarks|layers|games|domains|subjects|participants|categories|classes)\b")
INTRODUCED = re.compile(r"\b[Ww]e (?:propose|introduce|present)\s+(?P<name>[A-Za-z][\w\-]*[A-Z][\w\-]*)\s*"
                        r"(?:\(|,)\s*(?:an?|the)\s+(?P<desc>[a-z][^,.;()]{12,120})(?=[,.;(])")
BY_AMOUNT = re.compile(r"\b(?P<verb>reduc|improv|increas|decreas|cut)\w*\s+(?P<object>(?:the\s+)?[a-z][a-z\- ]{2,40}?)"
                       r"\s+by\s+(?:up to |about |over |nearly |almost |as much as |around )?"
                       r"(?P<num>\d+(?:\.\d+)?\s?%)")
VERBS = {"reduc": "reduce", "improv": "improve", "increas": "increase", "decreas": "decrease", "cut": "cut"}
COUNTS = [("How many GPUs does {name} use for training?", r"\bGPUs?\b"),
          ("How many parameters does {name} have?", r"\bparameters?\b"),
          ("What inference latency in milliseconds does {name} report?", r"\b(latency|ms|milliseconds?)\b")]


def names_benchmark(text: str, benchmark: str) -> bool:
    """A whole-word mention ("LSUN" is not inside "results under")."""
    return re.search(rf"(?<![\w-]){re.escape(benchmark)}(?![\w-])", text) is not None


def name_of(title: str) -> tuple[str, str] | None:
    match = NAMED_TITLE.match(title.strip())
    if not match or match.group(2).rstrip().endswith("?"):
        return None
    return match.group(1), match.group(2).strip()


def lower_subtitle(text: str) -> str:
    """Lower-case ordinary capitalised words, keep acronyms and names with inner capitals."""
    return " ".join(w if (sum(c.isupper() for c in w) > 1 or any(c.isdigit() for c in w)) else w.lower()
                    for w in text.split())


def subject(row: dict) -> str:
    named = name_of(row["title"])
    if named and mentions(row["abstract"], named[0]):
        return named[0]
    return f'the paper "{row["title"].strip()}"'


def candidates(row: dict, rng: random.Random) -> list[dict]:
    found, base = [], {"paper_id": row["paper_id"], "title": row["title"]}
    named = name_of(row["title"])
    if named:
        found.append({**base, "kind": "name", "question": f"Which paper proposes {lower_subtitle(named[1])}?",
                      "answers": [named[0]]})
    for sentence in sentences(row["abstract"]):
        for match in METRIC.finditer(sentence):
            where = f" on {match.group('data')}" if match.group("data") else ""
            found.append({**base, "kind": "number", "evidence": sentence, "answers": [match.group("num")],
                          "question": f"What {match.group('metric').lower()} does {subject(row)} achieve{where}?"})
        for match in REACHES.finditer(sentence):
            where = f" on {match.group('data')}" if match.group("data") else ""
            found.append({**base, "kind": "number", "evidence": sentence, "answers": [match.group("num")],
                          "question": f"What {match.group('metric').lower()} does {subject(row)} reach{where}?"})
        for match in COUNTED.finditer(sentence):
            found.append({**base, "kind": "number", "evidence": sentence, "answers": [match.group("num")],
                          "question": f"How many {match.group('unit')} does {subject(row)} report?"})
        for match in INTRODUCED.finditer(sentence):
            if not named or match.group("name") != named[0]:
                found.append({**base, "kind": "name", "evidence": sentence, "answers": [match.group("name")],
                              "question": f"Which paper introduces {match.group('desc').strip()}?"})
        for match in BY_AMOUNT.finditer(sentence):
            found.append({**base, "kind": "number", "evidence": sentence, "answers": [match.group("num")],
                          "question": f"By how much does {subject(row)} {VERBS[match.group('verb')]} "
                                      f"{match.group('object')}?"})
    used = [b for b in BENCHMARKS if names_benchmark(row["abstract"], b)]
    if used:
        found.append({**base, "kind": "dataset", "question": f"Which datasets is {subject(row)} evaluated on?",
                      "answers": used})
    if named and mentions(row["abstract"], named[0]):
        unused = [b for b in BENCHMARKS if not mentions(row["abstract"], b) and b not in row["title"]]
        found.append({**base, "kind": "absent", "answers": [],
                      "question": f"What accuracy does {named[0]} reach on {rng.choice(unused)}?"})
        counts = [q for q, pattern in COUNTS if not re.search(pattern, row["abstract"], re.I)]
        if counts:
            found.append({**base, "kind": "absent", "answers": [],
                          "question": rng.choice(counts).format(name=named[0])})
    return found


def reviewed(items: list[dict], review: dict) -> list[dict]:
    """Apply the review: drop what it rejects, add answers it accepts, merge repeated questions
    (two numbers for one question: either is right), keep every other absent question."""
    merged: dict[str, dict] = {}
    for item in items:
        question = item["question"]
        if question in review["drop"]:
            continue
        if question in merged:
            merged[question]["answers"] += [a for a in item["answers"] if a not in merged[question]["answers"]]
            continue
        merged[question] = {**item, "answers": item["answers"] + review["add_answers"].get(question, [])}
    absent = [q for q, item in merged.items() if item["kind"] == "absent"]
    for question in absent[1::2]:
        del merged[question]
    return list(merged.values())


def main(path: str, review_path: str | None = None) -> None:
    rng = random.Random(0)
    with open(path, encoding="utf-8") as handle:
        items = [item for line in handle for item in candidates(json.loads(line), rng)]
    if review_path:
        with open(review_path, encoding="utf-8") as handle:
            items = reviewed(items, json.load(handle))
    for item in items:
        print(json.dumps(item, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:3])
