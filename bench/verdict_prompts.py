"""Which prompt makes the model's Yes/No scores carry the abstract's evidence? PubMedQA dev with
each question's own abstract given (no retrieval, no gate), so only the verdict is measured.

    python bench/verdict_prompts.py [--limit 150] [--model NAME] [--prompts chat,chat-findings,qa,qa-findings]
                                    [--details scores.jsonl]

For every prompt the model reads the abstract and the question once, and the log-probabilities
of "Yes", "No" and "Maybe" are read at the point where the verdict word comes next:

- qa: the pipeline's answer prompt (QA_SYSTEM, numbered sources, the JSON answer's opening);
- qa-findings: the same with the opening '{"answer": "Based on the results reported, the answer is';
- chat: a short system prompt, the abstract, the question and "Answer yes, no or maybe.";
- chat-findings: the verdict model's prompt (``prompts.verdict_messages``, ``RAG_VERDICT_MODEL``):
  asks for the answer the results support, the reply opening "Based on the results, the answer is";
- chat-findings-tail: the same over the abstract's last four sentences only (fewer tokens to read).

Reported per prompt: AUC of the No-minus-Yes log-odds for telling gold "no" from gold "yes"
(0.5 is no signal), and the accuracy over all questions of three ways to decide (label-free:
argmax, argmax after dividing out the content-free probabilities (Zhao et al. 2021); using the
labels, so only an upper bound for a threshold: the best single log-odds threshold), and the
median prompt length in tokens (what the verdict costs before the answer starts). A lexical
reference needs no model: negation and no-difference cues in the abstract's last three sentences.
"""

import argparse
import json
import math
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library, prompts  # noqa: E402
from rag.text import sentences  # noqa: E402
from rag.verdict import WORDS, results_part, scored  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "pubmedqa_dev.jsonl"
CHAT_SYSTEM = "You answer questions about a biomedical study from its abstract."  # the `chat` prompt only


def prompt(kind: str, abstract: str, question: str) -> tuple[list[dict], str]:
    """(messages, forced opening of the reply) for one prompt kind."""
    if kind.startswith("qa"):
        user = prompts.qa_user_message([("PubMed abstract", abstract)], question, [])
        opening = prompts.QA_ANSWER_PREFIX + ("Based on the results reported, the answer is"
                                              if kind == "qa-findings" else "")
        return prompts.qa_messages(user), opening
    if kind == "chat-findings":
        return prompts.verdict_messages(abstract, question), prompts.VERDICT_OPENING
    if kind == "chat-findings-tail":  # the pipeline's: the abstract's last sentences (results, conclusion)
        return prompts.verdict_messages(" ".join(results_part(abstract)), question), prompts.VERDICT_OPENING
    return [{"role": "system", "content": CHAT_SYSTEM},
            {"role": "user", "content": f"Abstract: {abstract}\n\nQuestion: {question}\nAnswer yes, no or maybe."}], ""


def scores(llm, kind: str, abstract: str, question: str) -> dict[str, float]:
    return scored(llm, *prompt(kind, abstract, question))[1]


_NEGATIVE = re.compile(r"\b(no significant|not significant\w*|did not|does not|do not|was not|were not|is not|"
                       r"are not|no differences?|not differ\w*|no association|not associated|no evidence|"
                       r"no effect|neither|nor|failed to|no statistically|similar|comparable|no improvement|"
                       r"unchanged|no correlation)\b", re.I)
_POSITIVE = re.compile(r"\b(significant\w*|increased|improved|associated with|higher|lower|reduced|decreased|"
                       r"greater|more likely|less likely|correlated|effective|superior)\b", re.I)


def lexical_log_odds(abstract: str) -> float:
    """No-difference and negation cues minus half the effect cues in the last three sentences."""
    tail = " ".join(sentences(abstract)[-3:])
    return len(_NEGATIVE.findall(tail)) - 0.5 * len(_POSITIVE.findall(tail))


def calibrated(log_probs: dict[str, float], baseline: dict[str, float] | None) -> dict[str, float]:
    """The words' probabilities renormalised among themselves, divided by ``baseline`` when given
    (Zhao et al. 2021's diagonal calibration against a content-free input)."""
    peak = max(log_probs.values())
    p = {w: math.exp(lp - peak) / (baseline or {}).get(w, 1.0) for w, lp in log_probs.items()}
    return {w: v / sum(p.values()) for w, v in p.items()}


def auc(positives: list[float], negatives: list[float]) -> float:
    """scikit-learn's ROC AUC of positives against negatives; 0 when either is empty."""
    from sklearn.metrics import roc_auc_score

    if not positives or not negatives:
        return 0.0
    return float(roc_auc_score([1] * len(positives) + [0] * len(negatives), positives + negatives))


def report(log_odds: list[float], gold: list[str], decided: list[str] | None) -> dict:
    right = lambda verdicts: round(sum(v == g for v, g in zip(verdicts, gold)) / len(gold), 3)  # noqa: E731
    best = max(right(["no" if x > t else "yes" for x in log_odds]) for t in sorted(set(log_odds)) + [float("inf")])
    out = {"auc_no_vs_yes": round(auc([x for x, g in zip(log_odds, gold) if g == "no"],
                                      [x for x, g in zip(log_odds, gold) if g == "yes"]), 3),
           "accuracy_best_threshold_uses_labels": best}
    if decided is not None:
        out["accuracy_argmax"] = right(["no" if x > 0 else "yes" for x in log_odds])
        out["accuracy_calibrated"] = right(decided)
        out["no_share_calibrated"] = round(decided.count("no") / len(decided), 3)
    return out


def main(limit: int, model: str | None, kinds: list[str], details: str | None = None) -> dict:
    rows = [json.loads(line) for line in open(DATA)][:limit]
    gold = [r["final_decision"] for r in rows]
    llm = Library(Path(tempfile.mkdtemp(prefix="rag-verdict-")) / "store").llm(model)
    out = {"questions": len(rows), "model": llm.name, "gold_yes_share": round(gold.count("yes") / len(gold), 3),
           "lexical_reference": report([lexical_log_odds(r["abstract"]) for r in rows], gold, None)}
    for kind in kinds:
        content_free = scores(llm, kind, "N/A", "N/A?")
        baseline = calibrated(content_free, None)
        built = [prompt(kind, r["abstract"], r["question"]) for r in rows]
        per_question = [scored(llm, messages, opening)[1] for messages, opening in built]
        decided = [max(WORDS, key=calibrated(s, baseline).get).lower() for s in per_question]
        out[kind] = report([s["No"] - s["Yes"] for s in per_question], gold, decided)
        tokens = sorted(sum(llm.count_tokens(m["content"]) for m in messages) for messages, _ in built)
        out[kind]["median_prompt_tokens"] = tokens[len(tokens) // 2]  # what the verdict costs to read
        if details:  # per-question scores, to compare decision rules without re-running the model
            with open(details, "a") as f:
                for row, s in zip(rows, per_question):
                    f.write(json.dumps({"model": llm.name, "prompt": kind, "pmid": row.get("pmid"),
                                        "gold": row["final_decision"], "scores": s}) + "\n")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--model", default=None)
    parser.add_argument("--prompts", default="chat,chat-findings,qa,qa-findings")
    parser.add_argument("--details", default=None, help="append each question's scores to this JSONL file")
    args = parser.parse_args()
    print(json.dumps(main(args.limit, args.model, args.prompts.split(","), args.details), indent=1))
