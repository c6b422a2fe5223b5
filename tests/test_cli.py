"""The ``rag`` command end to end, as a user runs it, in a fresh process."""

import json
import os
import subprocess
import sys

import pytest

from conftest import DATA, ROOT, SEEDS
from rag import Settings


def rag(*args, store):
    env = {**os.environ, "RAG_STORE_DIR": str(store)}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_ingest_search_papers_delete(tmp_path):
    store = tmp_path / "store"
    first = rag("ingest", str(SEEDS), store=store)
    assert first.returncode == 0, first.stderr
    # The digest page and papers.jsonl hold the same 21 papers: each is stored once.
    assert "added 21, updated 0, unchanged 0, skipped 0" in first.stdout
    again = rag("ingest", str(SEEDS / "digest-2023-03-11.txt"), store=store)
    assert "added 0, updated 0, unchanged 21" in again.stdout

    found = rag("search", "Which paper uses k-means cross-attention for segmentation?", "--json", store=store)
    hits = json.loads(found.stdout)
    assert hits[0]["title"] == "kMaX-DeepLab: k-means Mask Transformer"
    assert {"paper_id", "title", "text", "score"} <= set(hits[0])

    listed = rag("papers", store=store)
    assert listed.stdout.count("\n") == 21
    deleted = rag("delete", hits[0]["paper_id"], store=store)
    assert deleted.returncode == 0
    assert "kMaX" not in rag("papers", store=store).stdout
    missing = rag("delete", hits[0]["paper_id"], store=store)
    assert missing.returncode == 1 and "no paper with id" in missing.stderr


def test_global_store_flag_and_bad_input(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "Only a title"}\n')
    result = subprocess.run([sys.executable, "-m", "rag", "--store", str(tmp_path / "s"), "ingest", str(bad)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {bad}: line 1: missing abstract")
    skipped = rag("ingest", "--skip-bad", str(bad), str(SEEDS / "papers.jsonl"), store=tmp_path / "s")
    assert skipped.returncode == 0 and "added 21" in skipped.stdout and "skipped 1" in skipped.stdout
    assert "bad.jsonl: line 1" in skipped.stderr


def test_eval_retrieval_reports_every_mode(tmp_path):
    result = rag("eval", "retrieval", "--data", str(DATA / "pubmedqa_sample.jsonl"), "--json", store=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["questions"] == 40 and [m["mode"] for m in report["modes"]] == ["dense", "keyword", "hybrid"]
    hybrid = report["modes"][2]
    assert hybrid["recall_at_5"] >= 0.9 and 0 < hybrid["mrr"] <= 1


@pytest.mark.model
def test_eval_tldr_scores_lines_and_writes_one_detail_per_paper(tmp_path):
    papers = [json.loads(line) for line in (SEEDS / "papers.jsonl").read_text().splitlines()[:2]]
    data = tmp_path / "tldr.jsonl"
    data.write_text("".join(json.dumps({"paper_id": f"p{n}", "title": p["title"], "abstract": p["abstract"],
                                        "tldrs": [p["title"]]}) + "\n" for n, p in enumerate(papers)))
    result = rag("eval", "tldr", "--data", str(data), "--details", str(tmp_path / "lines.jsonl"), "--json",
                 store=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # The references are the titles, so the title baseline is perfect and the model's line is not.
    assert report["systems"]["title"]["rouge1"] == 100.0 and report["systems"]["model"]["rouge1"] < 100.0
    lines = [json.loads(line) for line in (tmp_path / "lines.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["p0", "p1"] and all(line["summary"] for line in lines)
    count = Settings.from_env().summary_candidates
    assert all(len(line["candidates"]) == count and all(isinstance(c, str) for c in line["candidates"]) for line in lines)
    assert 0 <= report["restates_title_pct"] <= 100 and report["papers"] == 2


@pytest.mark.model  # the demo also answers two questions
def test_demo_ingests_the_seeds_and_searches(tmp_path):
    result = rag("demo", store=tmp_path / "store")
    assert result.returncode == 0, result.stderr
    assert "added 21" in result.stdout and "kMaX-DeepLab" in result.stdout


def test_downloading_an_unknown_model_names_the_catalogue_instead_of_a_traceback(tmp_path):
    result = rag("models", "download", "no-such-model", store=tmp_path / "store")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: no model 'no-such-model' in the catalogue" in result.stderr


def test_eval_reports_are_json_with_json_and_lines_to_read_without(monkeypatch, capsys):
    from rag import cli, evaluation

    report = {"data": "x.jsonl", "questions": 2, "accuracy_all": 0.5, "verdicts": {"yes": 1, "no": 1}}
    monkeypatch.setattr(evaluation, "evaluate_qa", lambda *args, **kwargs: report)
    assert cli.main(["eval", "qa", "--data", "x.jsonl", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == report
    assert cli.main(["eval", "qa", "--data", "x.jsonl"]) == 0
    text = capsys.readouterr().out
    assert "accuracy all: 0.5" in text and "verdicts:\n  yes: 1\n  no: 1" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_ask_completes_the_larger_models_answer_after_a_second_opinion(monkeypatch, capsys):
    from rag import Answer, AnswerStream, cli, prompts
    from rag.answer import Citation

    final = "DocTer detected 94 bugs: DocTer detects 94 bugs from 174 API functions."

    def pieces():
        yield "59"
        yield f"\n\n{prompts.RECONSIDERING}\n\n"
        yield "DocTer detected 94 bugs"
        citation = Citation(1, "p", "DocTer", "", "DocTer detects 94 bugs from 174 API functions.", 1.0)
        return Answer(question="q", text=final, citations=[citation])

    class Library:
        def ask_stream(self, *args, **kwargs):
            return AnswerStream(pieces())

    monkeypatch.setattr(cli, "_library", lambda args: Library())
    assert cli.main(["ask", "How many bugs did DocTer detect?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"59\n\n{prompts.RECONSIDERING}\n\n{final}\n")
