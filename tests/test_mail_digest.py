"""`rag digest --new --email`: new papers only, sent through a real local SMTP server (aiosmtpd),
marked sent only once the server accepted them."""

import email
import json

import pytest
from aiosmtpd.controller import Controller

from fakes import FakeLLM, HashEmbedder
from rag import Library, RagError, Settings
from servers import free_port


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    inbox.controller = controller
    yield inbox
    controller.stop()


def papers(day: str, n: int, start: int = 0) -> list[dict]:
    return [{"arxiv_id": f"2506.{20000 + start + i}", "title": f"Sparse attention study {start + i}",
             "abstract": f"We study sparse attention for long documents, setting {start + i}.", "published": day}
            for i in range(n)]


@pytest.fixture
def library(tmp_path, smtp):
    settings = Settings.from_env(background_summaries=False, embed_url="", smtp_url=smtp.url, digest_top=2,
                                 verdict_model="", llm_url="")
    lib = Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)
    fake = FakeLLM(lambda messages: "We study sparse attention for long documents.")
    lib.llm = lambda model=None, fmt=None: fake
    lib.add(papers("2025-06-02", 3) + papers("2025-06-01", 2, start=10))
    yield lib
    lib.close()


def test_the_newest_day_is_sent_once_as_text_and_html(library, smtp):
    digest, ids = library.new_digest()
    assert len(ids) == 3 and len(digest.items) == 2 and len(digest.later) == 1  # top 2 summarised
    library.send_digest(digest, ids, "reader@example.org")
    (to, message), = smtp.messages
    assert to == ["reader@example.org"] and message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"} and "Also new" in parts["text/plain"]
    assert "<table" in parts["text/html"] and "3 new papers" in message["Subject"]
    again, none = library.new_digest()
    assert none == [] and again.items == []  # nothing new: nothing to send
    library.add(papers("2025-06-03", 2, start=20))
    _, later_ids = library.new_digest()
    assert sorted(later_ids) == ["arxiv:2506.20020", "arxiv:2506.20021"]  # only what came since


def test_a_failed_send_marks_nothing_sent(library, smtp):
    import dataclasses

    digest, ids = library.new_digest()
    library.settings = dataclasses.replace(library.settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(RagError, match="was not sent"):
        library.send_digest(digest, ids, "reader@example.org")  # nothing listens there
    _, again = library.new_digest()
    assert again == ids and smtp.messages == []


def test_rag_digest_new_with_nothing_new_sends_nothing_and_exits_0(tmp_path, smtp, capsys):
    from rag import cli

    store = str(tmp_path / "empty")
    assert cli.main(["--store", store, "digest", "--new", "--email", "reader@example.org"]) == 0
    assert "nothing new" in capsys.readouterr().err and smtp.messages == []


@pytest.mark.model
def test_rag_daily_fetches_summarises_and_mails_once(tmp_path, smtp, monkeypatch, capsys):
    """The cron job end to end: a local server speaking the arXiv API, the real embedder and model,
    a real SMTP server. Run again with nothing new, it sends nothing and exits 0."""
    from rag import cli
    from test_fetch import FakeArxiv

    arxiv = FakeArxiv()
    try:
        for name, value in {"RAG_ARXIV_API": arxiv.url, "RAG_FETCH_DELAY": "0", "RAG_DAILY_CATEGORIES": "cs.CL",
                            "RAG_DAILY_EMAIL": "reader@example.org", "RAG_SMTP_URL": smtp.url,
                            "RAG_DIGEST_TOP": "1"}.items():
            monkeypatch.setenv(name, value)
        store = str(tmp_path / "store")
        assert cli.main(["--store", store, "daily", "--days", "100000"]) == 0
        assert "sent 2 papers (1 summarised) to reader@example.org" in capsys.readouterr().out
        (to, message), = smtp.messages
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
        assert b"Sparse attention" in text and b"Also new" in text
        assert cli.main(["--store", store, "daily", "--days", "100000"]) == 0
        assert "nothing new" in capsys.readouterr().err and len(smtp.messages) == 1
    finally:
        arxiv.server.shutdown()
