"""`rag fetch arxiv` against a local HTTP server that answers as the arXiv API does (Atom with
opensearch paging), never the network."""

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fakes import HashEmbedder
from rag import Library, RagError, Settings
from servers import free_port

DAYS = ["2025-06-03", "2025-06-03", "2025-06-02", "2025-06-02", "2025-06-01", "2025-05-30", "2025-05-29"]


def entry(i: int, version: int = 1, day: str | None = None) -> str:
    return f"""<entry>
  <id>http://arxiv.org/abs/2506.{10000 + i}v{version}</id>
  <published>{day or DAYS[i]}T17:59:59Z</published>
  <title>Sparse attention for long documents, study {i}</title>
  <summary>We study sparse attention for long documents in setting {i} and report results.</summary>
  <author><name>Ada Lovelace</name></author>
  <link href="http://arxiv.org/abs/2506.{10000 + i}v{version}" rel="alternate" type="text/html"/>
  <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CL"/>
  <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  <category term="I.2.7" scheme="http://arxiv.org/schemas/atom"/>
</entry>"""


def feed(entries: list[str], total: int, start: int) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <title>arXiv Query</title>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
  <opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>
  {"".join(entries)}
</feed>"""


def reply(handler: BaseHTTPRequestHandler, body: str, content_type: str) -> None:
    """Answer a test server's request with 200 and ``body``."""
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.end_headers()
    handler.wfile.write(body.encode())


class FakeArxiv:
    """Serves ``self.entries`` newest first, ``max_results`` at a time; records every request."""

    def __init__(self):
        self.entries = [entry(i) for i in range(len(DAYS))]
        self.requests: list[dict] = []
        self.failures = 0  # the next N requests get HTTP 503
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                api.requests.append(query)
                if api.failures:
                    api.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                start, size = int(query["start"]), int(query["max_results"])
                reply(self, feed(api.entries[start : start + size], len(api.entries), start), "application/atom+xml")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/query"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def arxiv():
    api = FakeArxiv()
    yield api
    api.server.shutdown()


def library(tmp_path, url, **overrides):
    settings = Settings.from_env(arxiv_api=url, fetch_delay=0, background_summaries=False, embed_url="",
                                 **overrides)
    return Library(tmp_path / "store", embedder=HashEmbedder(), settings=settings)


def test_a_window_of_days_is_fetched_page_by_page_newest_first_and_stored(tmp_path, arxiv):
    lib = library(tmp_path, arxiv.url, fetch_page_size=2)
    summary = lib.fetch_arxiv(["cs.CL", "cs.AI"], since="2025-06-01")
    assert summary.added == 5  # the three newest days; the page reaching May stops the paging
    first = arxiv.requests[0]
    assert first["search_query"] == "cat:cs.CL OR cat:cs.AI" and first["sortBy"] == "submittedDate"
    assert first["sortOrder"] == "descending" and [r["start"] for r in arxiv.requests] == ["0", "2", "4"]
    paper = lib.get("arxiv:2506.10000")
    assert paper.categories == ("cs.CL",) and paper.published == "2025-06-03" and paper.authors == ("Ada Lovelace",)
    assert paper.url == "http://arxiv.org/abs/2506.10000v1" and paper.source == "arxiv" and paper.version == 1
    again = lib.fetch_arxiv(["cs.CL", "cs.AI"], since="2025-06-01")
    assert (again.added, again.unchanged) == (0, 5)
    arxiv.entries[0] = entry(0, version=2).replace("report results", "report better results")
    newer = lib.fetch_arxiv(["cs.CL"], since="2025-06-01")
    assert (newer.added, newer.updated, newer.unchanged) == (0, 1, 4) and lib.get("arxiv:2506.10000").version == 2


def test_most_stops_early_and_a_failing_server_is_retried(tmp_path, arxiv):
    lib = library(tmp_path, arxiv.url)
    arxiv.failures = 2
    assert lib.fetch_arxiv(["cs.CL"], since="2025-01-01", most=3).added == 3
    assert len(arxiv.requests) == 3  # two 503s, then the page


def test_an_unreachable_api_is_a_clear_error(tmp_path):
    lib = library(tmp_path, f"http://127.0.0.1:{free_port()}/api/query", fetch_retries=1)
    with pytest.raises(RagError, match=r"cannot fetch from the arXiv API at http://127\.0\.0\.1.*ConnectError"):
        lib.fetch_arxiv(["cs.CL"], days=2)
    assert lib.count() == 0
    with pytest.raises(RagError, match="since='June' is not a date"):
        lib.fetch_arxiv(["cs.CL"], since="June")


def test_the_hugging_face_daily_list_is_stored_by_arxiv_id(tmp_path, arxiv):
    import json as json_module

    items = [{"paper": {"id": f"2506.{10000 + i}", "title": f"Sparse attention for long documents, study {i}",
                        "summary": f"We study sparse attention for long documents in setting {i} and report results.",
                        "authors": [{"_id": "x", "name": "Ada Lovelace", "hidden": False}],
                        "publishedAt": "2025-06-03T17:59:59.000Z", "upvotes": 3},
              "publishedAt": "2025-06-04T00:00:00.000Z", "title": "t", "summary": "s", "numComments": 0}
             for i in (0, 1)]
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)))
            reply(self, json_module.dumps(items), "application/json")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lib = library(tmp_path, arxiv.url, hf_api=f"http://127.0.0.1:{server.server_port}/api/daily_papers")
        assert lib.fetch_hf_daily("2025-06-04").added == 2 and seen[0]["date"] == "2025-06-04"
        paper = lib.get("arxiv:2506.10001")
        assert paper.source == "hf-daily" and paper.authors == ("Ada Lovelace",) and paper.published == "2025-06-03"
        # The same papers from the arXiv API are the same papers: nothing is stored twice.
        assert lib.fetch_arxiv(["cs.CL"], since="2025-06-03").added == 0
    finally:
        server.shutdown()
