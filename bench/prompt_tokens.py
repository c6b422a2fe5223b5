"""Tokens a first question's prompt makes llama.cpp read, with all retrieved sources and with those
the model is given (``qa.sources_read``), whole and after the lead paper's read-ahead state (issue 13).

    python bench/prompt_tokens.py

Over the seeds and ``bench/latency.py``'s ten first questions; the model's tokenizer counts the
user message, so the figures do not depend on the machine's speed.
"""

import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import QUESTIONS  # noqa: E402
from rag import Library, prompts  # noqa: E402
from rag.sources import prompt_texts  # noqa: E402


def main() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        library = Library(Path(folder) / "store")
        library.ingest(sorted((ROOT / "seeds").glob("*")))
        count = library.llm().count_tokens
        tokens = {"all_sources": [], "sources_read": [], "all_sources_after_read_ahead": [],
                  "sources_read_after_read_ahead": []}
        for question in QUESTIONS:
            plan = library.plan(question)
            sources = library.sources(plan)
            for name, chosen in (("all_sources", sources), ("sources_read", sources.read)):
                texts = prompt_texts(chosen, plan.focus, library.settings, count)
                whole = count(prompts.qa_user_message(texts, question, []))
                tokens[name].append(whole)
                tokens[f"{name}_after_read_ahead"].append(whole - count(prompts.qa_sources(texts[:1])))
        library.close()
    return {"questions": len(QUESTIONS), **{f"median_{k}": statistics.median(v) for k, v in tokens.items()},
            "per_question": tokens}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
