"""The greedy one-liner under other summary instructions (issue 14): does any wording move ROUGE?

    python bench/tldr_prompts.py ../shared/eval/scitldr_a_dev.jsonl --limit 100 [--prompts shipped,verb]

Each variant keeps the shipped prompt's title and abstract and replaces the instructions after them
(``prompts.tldr_user_message``); one candidate per paper (the greedy line, so no sampling noise),
the shipped cleaning, grounding check and verb-first rewrite, scored by ``rag eval tldr``'s own
``evaluate_tldr``. Variants run one after another in this process (one model at a time). Prints
each variant's report, with ``--details-dir`` its lines. Needs the eval extra (rouge-score).
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import prompts  # noqa: E402
from rag.evaluation import evaluate_tldr  # noqa: E402

DO_NOT = "Do not start with 'This paper' or 'TL;DR'."
INSTRUCTIONS = {
    "shipped": None,
    "verb": "Write a single sentence of at most 30 words that starts with a verb such as 'Proposes', "
            "'Introduces' or 'Shows' and says what the paper contributes and finds. Use the abstract's own terms.",
    "natural-verb": "Write a single sentence of at most 30 words that starts with the verb saying what the paper "
                    "does (such as 'Proposes', 'Shows', 'Introduces', 'Studies' or 'Compares') and says what it "
                    "contributes and finds. Use the abstract's own terms.",
    "plain-verb": "Write a single sentence of at most 30 words, starting with a verb, saying what the paper does "
                  f"and finds. Use the abstract's own terms. {DO_NOT}",
    "authors": "Write the one-sentence TL;DR the authors would post with this paper: what they propose and what "
               f"it achieves, in at most 25 words. Use the abstract's own terms. {DO_NOT}",
    "short": f"In at most 20 words, say what the paper proposes and what it shows. Use the abstract's own terms. {DO_NOT}",
}


def with_instructions(instructions: str | None):
    if instructions is None:
        return prompts.tldr_user_message
    return lambda title, abstract: f"Title: {title}\n\nAbstract: {abstract}\n\n{instructions}"


def main(data: str, limit: int, names: list[str], details_dir: str | None) -> dict:
    os.environ["RAG_SUMMARY_CANDIDATES"] = "1"
    shipped, reports = prompts.tldr_user_message, {}
    try:
        for name in names:
            prompts.tldr_user_message = with_instructions(INSTRUCTIONS[name])
            details = Path(details_dir) / f"tldr_prompt_{name}.jsonl" if details_dir else None
            reports[name] = evaluate_tldr(data, limit, details=details)
    finally:
        prompts.tldr_user_message = shipped
    return reports


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--prompts", default=",".join(INSTRUCTIONS), help="comma-separated: " + ", ".join(INSTRUCTIONS))
    parser.add_argument("--details-dir")
    args = parser.parse_args()
    print(json.dumps(main(args.data, args.limit, args.prompts.split(","), args.details_dir), indent=1))
