"""The Gradio app through a real client: named endpoints over the seeds with the real model."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from rag import prompts

pytestmark = pytest.mark.model
KMAX = "Which paper uses k-means cross-attention for segmentation?"


def test_seed_question_gets_an_answer_citing_the_right_paper(client):
    result = client.predict(KMAX, api_name="/ask")
    assert not result["abstained"], result["reason"]
    assert "kMaX" in result["text"]
    assert result["citations"][0]["title"] == "kMaX-DeepLab: k-means Mask Transformer"
    assert "k-means" in result["citations"][0]["sentence"]


def test_yes_no_question_returns_its_verdict_and_the_chat_shows_a_badge(client):
    question = "Does LAMB train BERT in 76 minutes?"  # a clear yes: its verdict is shown
    result = client.predict(question, api_name="/ask")
    assert not result["abstained"], result["reason"]
    assert result["verdict"] == "yes" and set(result["verdict_scores"]) == {"Yes", "No", "Maybe"}
    text, _ = client.predict(question, 3, "", "", api_name="/chat")
    assert text.startswith("**Verdict:** `")
    assert client.predict(KMAX, api_name="/ask")["verdict"] is None  # not a yes/no question


def test_off_corpus_question_gets_the_refusal(client):
    result = client.predict("What is the capital of France?", api_name="/ask")
    assert result["abstained"] and result["text"] == prompts.REFUSAL and result["citations"] == []


def test_chat_endpoint_streams_the_answer_and_its_sources_panel(client):
    job = client.submit(KMAX, 3, "", "", api_name="/chat")
    final_text, sources = job.result(timeout=120)
    assert "kMaX" in final_text and "[1]" in final_text
    assert "kMaX-DeepLab: k-means Mask Transformer" in sources and "retrieval score" in sources
    assert len(job.outputs()) >= 2  # intermediate stream states, then the checked answer


def test_chat_shows_a_refusal_as_a_refusal(client):
    text, sources = client.predict("Which optimizer trained GPT-4?", 3, "", "", api_name="/chat")
    assert text.startswith("**No answer found.**") and prompts.REFUSAL in text
    assert "No sources cited" in sources


def test_digest_endpoint_summarises_the_newest_papers(client):
    digest = client.predict(3, "", api_name="/digest")
    assert len(digest["papers"]) == 3
    assert all(item["text"] and len(item["text"].split()) <= 31 for item in digest["papers"])
    again = client.predict(3, "", api_name="/digest")
    assert all(item["cached"] for item in again["papers"])


def test_ingest_endpoint_reports_added_and_skipped_records(client, tmp_path):
    from gradio_client import handle_file

    good = {"id": "app-test-1", "title": "Sparse gossip averaging for federated ranking",
            "abstract": "We study sparse gossip averaging for decentralized ranking models."}
    path = tmp_path / "upload.jsonl"
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(Exception, match=r"^upload\.jsonl: line 2"):  # the user's file name, not a temp path
        client.predict([handle_file(str(path))], False, api_name="/ingest")
    report = client.predict([handle_file(str(path))], True, api_name="/ingest")
    assert "skipped 1" in report.lower() and "- skipped upload.jsonl: line 2" in report
    again = client.predict([handle_file(str(path))], True, api_name="/ingest")
    assert "unchanged 1" in again.lower()


def test_eight_concurrent_asks_all_complete(client):
    questions = [KMAX, "What is Monolith used for?", "How does DocTer extract input constraints?",
                 "What search space does MnasNet use?"] * 2
    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = [client.submit(q, api_name="/ask") for q in questions]
        results = list(pool.map(lambda job: job.result(timeout=600), jobs))
    assert len(results) == 8
    assert all(r["text"] for r in results)
    assert sum(not r["abstained"] for r in results) >= 6, [r["reason"] for r in results]


def test_login_and_upload_size_limit(tmp_path, monkeypatch):
    from rag import app as app_module
    from gradio_client import Client, handle_file
    from servers import free_port

    monkeypatch.setenv("RAG_UPLOAD_MAX_MB", "1")
    port = free_port()
    demo = app_module.serve(["--store", str(tmp_path / "store"), "--port", str(port), "--auth", "reader:s3cret"],
                            prevent_thread_lock=True, quiet=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception, match="credentials were not provided"):
            Client(url, verbose=False)  # no login, no API
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        small = tmp_path / "one.jsonl"
        small.write_text(json.dumps({"id": "x1", "title": "Tiny", "abstract": "A tiny abstract."}) + "\n")
        assert "Added 1" in client.predict([handle_file(str(small))], False, api_name="/ingest")
        big = tmp_path / "big.jsonl"
        big.write_text((json.dumps({"id": "y", "title": "Big", "abstract": "word " * 200}) + "\n") * 1200)
        with pytest.raises(Exception, match="exceeds the maximum file size of 1048576 bytes"):
            client.predict([handle_file(str(big))], False, api_name="/ingest")
    finally:
        demo.close()
