"""New papers from the network: the arXiv API's Atom feed, a page at a time. The only module that
makes requests of its own (httpx); what it gets is read by the Atom loader like a file.

arXiv asks for at least 3 s between requests; a request that fails to connect, times out or gets
HTTP 429/5xx is retried with doubling waits; after the last one the error says where it failed.
"""

from __future__ import annotations

import dataclasses
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import RagError
from .loaders import parse_atom
from .paper import Paper, day_number

SOURCE = "arxiv"  # the source of every fetched paper, as a file's name is of a file's papers
HF_SOURCE = "hf-daily"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class Politeness:
    delay: float = 3.0  # seconds between requests (arXiv's API terms ask for 3)
    retries: int = 3  # retries of a failed request, each after twice the previous wait
    timeout: float = 30.0  # seconds to wait for a response
    page_size: int = 100  # entries per request


def arxiv_papers(
    base_url: str,
    categories: Sequence[str],
    since: str,
    *,
    most: int | None = None,
    politeness: Politeness = Politeness(),
    sleep: Callable[[float], None] = time.sleep,
) -> list[Paper]:
    """The papers of ``categories`` submitted on or after ``since`` (ISO date), newest first: pages
    of the API's newest-first listing until one reaches older papers, the listing ends or ``most``
    are found."""
    if not categories:
        raise RagError("give at least one arXiv category (--category cs.CL)")
    first_day = day_number(since)
    query = " OR ".join(f"cat:{category}" for category in categories)
    found: list[Paper] = []
    start = 0
    while True:
        params = {
            "search_query": query,
            "sortBy": "submittedDate",
            "sortOrder": "descending",
            "start": start,
            "max_results": politeness.page_size,
        }
        page, total, entries = _page(_get(base_url, params, politeness, sleep), base_url)
        fresh = [p for p in page if day_number(p.published) >= first_day]
        found += fresh
        start += entries
        if not entries or len(fresh) < len(page) or start >= total or (most and len(found) >= most):
            return found[:most] if most else found
        sleep(politeness.delay)


def hf_daily_papers(
    base_url: str,
    day: str,
    *,
    politeness: Politeness = Politeness(),
    sleep: Callable[[float], None] = time.sleep,
) -> list[Paper]:
    """The papers of Hugging Face's daily papers list for ``day`` (its API: a JSON list of items,
    each with a ``paper`` holding the arXiv ``id``, ``title``, ``summary``, ``authors`` and
    ``publishedAt``)."""
    import json

    from .paper import paper_from_dict

    text = _get(base_url, {"date": day, "limit": politeness.page_size}, politeness, sleep)
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RagError(f"the daily papers API at {base_url} sent something that is not JSON ({exc})") from exc
    if not isinstance(items, list):
        raise RagError(
            f"the daily papers API at {base_url} sent {type(items).__name__}, not a list of papers"
        )
    papers = []
    for number, item in enumerate(items, 1):
        paper = item.get("paper") if isinstance(item, dict) else None
        if not isinstance(paper, dict):
            raise RagError(f"the daily papers API at {base_url}: item {number} holds no paper")
        record = {
            "arxiv_id": paper.get("id"),
            "title": paper.get("title") or item.get("title"),
            "abstract": paper.get("summary") or item.get("summary"),
            "authors": [a for a in paper.get("authors") or [] if isinstance(a, dict) and not a.get("hidden")],
            "published": str(paper.get("publishedAt") or item.get("publishedAt") or "")[:10],
        }
        papers.append(paper_from_dict(record, source=HF_SOURCE, path=base_url, record=f"item {number}"))
    return papers


def _page(text: str, url: str) -> tuple[list[Paper], int, int]:
    """A response's papers, the listing's total and how many entries the page held."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise RagError(f"the arXiv API at {url} sent something that is not Atom ({exc})") from exc
    entries = root.findall(f"{_ATOM}entry")
    total = int(root.findtext(f"{_OPENSEARCH}totalResults") or 0)
    if not entries:
        return [], total, 0
    papers = [
        dataclasses.replace(item, source=SOURCE)
        for _, item in parse_atom(text, url)
        if isinstance(item, Paper)
    ]
    return papers, total, len(entries)


def _get(url: str, params: dict, politeness: Politeness, sleep: Callable[[float], None]) -> str:
    import httpx

    wait, problem = politeness.delay or 0.5, ""
    for attempt in range(politeness.retries + 1):
        try:
            response = httpx.get(url, params=params, timeout=politeness.timeout, follow_redirects=True)
            if response.status_code == 200:
                return response.text
            problem = f"HTTP {response.status_code}"
            if response.status_code != 429 and response.status_code < 500:
                break  # a request the server will never accept: retrying cannot help
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}" or type(exc).__name__
        if attempt < politeness.retries:
            sleep(wait)
            wait *= 2
    raise RagError(
        f"cannot fetch from the arXiv API at {url} ({problem}); check the network, or RAG_ARXIV_API"
    )
