"""The one record every source is normalised to, and its stable id."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass

from .errors import InputError
from .text import fold

_ARXIV_NEW = r"\d{4}\.\d{4,5}"
_ARXIV_OLD = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
ARXIV_RE = re.compile(rf"(?:arxiv[:/]|abs/|pdf/|^)\s*({_ARXIV_NEW}|{_ARXIV_OLD})(?:v(\d+))?", re.I)
DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.I)


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    url: str = ""
    published: str = ""  # ISO date, as precise as the source gives (YYYY, YYYY-MM or YYYY-MM-DD)
    source: str = ""
    version: int = 0  # arXiv version; 0 when the source has none
    categories: tuple[str, ...] = ()  # arXiv categories, primary first ("cs.CL", "cs.AI")

    @property
    def year(self) -> int | None:
        match = re.match(r"(\d{4})", self.published)
        return int(match.group(1)) if match else None

    @property
    def content_hash(self) -> str:
        """Changes whenever what is embedded (title and abstract) changes; a new file name,
        link or author list is recorded without embedding the paper again."""
        return hashlib.sha256(f"{self.title}\x1f{self.abstract}".encode()).hexdigest()[:16]

    def details(self) -> tuple:
        """What is stored beside the embedded text (see ``content_hash``)."""
        return self.authors, self.url, self.published, self.source, self.version, self.categories

    @property
    def day(self) -> int:
        """``published`` as a sortable number, YYYYMMDD (missing month or day as 00; 0 when undated)."""
        return day_number(self.published)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["authors"] = list(self.authors)
        data["categories"] = list(self.categories)
        return data


def day_number(date: str) -> int:
    """An ISO date, however precise (YYYY, YYYY-MM, YYYY-MM-DD), as YYYYMMDD; 0 when it is not one."""
    match = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", date or "")
    if not match:
        return 0
    year, month, day = match.groups()
    return int(year) * 10_000 + int(month or 0) * 100 + int(day or 0)


_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z\-]+)?$")


def is_arxiv_category(term: str) -> bool:
    """ "cs.CL", "hep-th", "q-bio.NC"; not an ACM or MSC class ("I.2.7", "68T05") that arXiv
    lists among an entry's categories too."""
    return bool(_CATEGORY_RE.match(term))


def categories_of(value, path: str = "", record: str = "") -> tuple[str, ...]:
    """arXiv categories from a list or a space/comma-separated string, in order, without repeats;
    other classification codes ("I.4", "68T05") are left out."""
    if isinstance(value, str):
        value = re.split(r"[\s,;]+", value)
    if not isinstance(value, (list, tuple)):
        raise InputError(
            f"field 'categories' must be a list or a string, not {type(value).__name__}", path, record
        )
    found = []
    for item in value:
        term = item.get("term", "") if isinstance(item, dict) else item
        if not isinstance(term, str):
            raise InputError(f"field 'categories' must hold names, not {type(term).__name__}", path, record)
        if is_arxiv_category(term.strip()):  # arXiv lists ACM and MSC classes beside its own
            found.append(term.strip())
    return tuple(dict.fromkeys(found))


def clean_text(text: str) -> str:
    """Collapse whitespace, drop NUL characters (a JSON "\\u0000") and normalise Unicode so equal
    texts compare equal."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", (text or "").replace("\x00", ""))).strip()


def arxiv_id(*candidates: str) -> tuple[str, int] | None:
    """The first arXiv id (without version) and its version found in ``candidates``."""
    for value in candidates:
        match = ARXIV_RE.search(value or "")
        if match:
            return match.group(1).lower() if "/" in match.group(1) else match.group(1), int(
                match.group(2) or 0
            )
    return None


def doi_of(*candidates: str) -> str | None:
    for value in candidates:
        match = DOI_RE.search(value or "")
        if match:
            return match.group(1).rstrip(".,;").lower()
    return None


def title_key(title: str) -> str:
    folded = fold(title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


def make_paper(
    title: str,
    abstract: str,
    *,
    id_hints: tuple[str, ...] = (),
    authors=(),
    url: str = "",
    published: str = "",
    source: str = "",
    given_id: str = "",
    path: str = "",
    record: str = "",
    categories=(),
) -> Paper:
    """Build a validated ``Paper``: arXiv id, else DOI, else given id, else title hash."""
    title, abstract = clean_text(title), clean_text(abstract)
    if not title:
        raise InputError("missing title", path, record)
    if not abstract:
        raise InputError(f"missing abstract for {title[:60]!r}", path, record)
    version = 0
    found = arxiv_id(given_id, url, *id_hints)
    if found:
        paper_id, version = f"arxiv:{found[0]}", found[1]
        url = url or f"https://arxiv.org/abs/{found[0]}"
    elif doi := doi_of(given_id, *id_hints, url):
        paper_id = f"doi:{doi}"
    elif given_id.strip():
        paper_id = clean_text(given_id)
    else:
        paper_id = "title:" + hashlib.sha1(title_key(title).encode()).hexdigest()[:16]
    if isinstance(authors, str):
        authors = [a for a in re.split(r"\s*(?:;|\band\b)\s*", authors)]
    return Paper(
        id=paper_id,
        title=title,
        abstract=abstract,
        authors=tuple(clean_text(a) for a in authors if clean_text(a)),
        url=url.strip(),
        published=published.strip()[:10],
        source=source,
        version=version,
        categories=categories_of(categories, path, record),
    )


def check_size(
    paper: Paper, max_title_chars: int, max_abstract_chars: int, path: str = "", record: str = ""
) -> Paper:
    """The paper, unless its title or abstract is far longer than any real one (a pasted book
    would take minutes to embed and swamp every search)."""
    if len(paper.title) > max_title_chars:
        raise InputError(
            f"title is {len(paper.title):,} characters, over the limit of {max_title_chars:,} "
            "(RAG_MAX_TITLE_CHARS)",
            path,
            record,
        )
    if len(paper.abstract) > max_abstract_chars:
        raise InputError(
            f"abstract is {len(paper.abstract):,} characters, over the limit of "
            f"{max_abstract_chars:,} (RAG_MAX_ABSTRACT_CHARS)",
            path,
            record,
        )
    return paper


def _text_field(data: dict, keys: tuple[str, ...], path: str, record: str) -> str:
    """The first non-empty of ``keys`` as text; numbers are accepted, anything else is an error."""
    for key in keys:
        value = data.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InputError(f"field {key!r} must be text, not {type(value).__name__}", path, record)
        return str(value)
    return ""


def _authors_field(data: dict, path: str, record: str) -> list[str] | str:
    value = data.get("authors") or data.get("author") or ()
    if isinstance(value, str):
        return value
    if not isinstance(value, (list, tuple)):
        raise InputError(
            f"field 'authors' must be a list of names or a string, not {type(value).__name__}", path, record
        )
    names = []
    for author in value:
        # {"name": ...}, or CSL-JSON's {"family": ..., "given": ...} / {"literal": ...}
        name = _person(author) if isinstance(author, dict) else author
        if not isinstance(name, str):
            raise InputError(f"field 'authors' must hold names, not {type(name).__name__}", path, record)
        names.append(name)
    return names


def _person(author: dict) -> str:
    if author.get("name") or author.get("literal"):
        return str(author.get("name") or author.get("literal"))
    return " ".join(str(author[k]) for k in ("given", "family") if author.get(k))


def _issued(data: dict) -> str:
    """CSL-JSON's date ({"issued": {"date-parts": [[2021, 5, 3]]}}) as an ISO date."""
    issued = data.get("issued")
    parts = issued.get("date-parts") if isinstance(issued, dict) else None
    if not parts or not isinstance(parts[0], list) or not parts[0]:
        return ""
    return "-".join(f"{int(p):02d}" if i else str(int(p)) for i, p in enumerate(parts[0][:3]))


def paper_from_dict(data: dict, *, source: str = "", path: str = "", record: str = "") -> Paper:
    """A ``Paper`` from a loosely shaped mapping (JSON, CSV row or API dict)."""
    if not isinstance(data, dict):
        raise InputError(f"expected an object, got {type(data).__name__}", path, record)
    get = lambda *keys: _text_field(data, keys, path, record)
    authors = _authors_field(data, path, record)
    return make_paper(
        get("title"),
        get("abstract", "summary"),
        id_hints=(get("arxiv_id", "arxiv", "eprint"), get("doi", "DOI")),
        given_id=get("id", "paper_id") or (f"pmid:{get('pmid')}" if get("pmid") else ""),
        authors=authors,
        url=get("url", "link", "URL"),
        published=get("published", "date", "year") or _issued(data),
        source=get("source") or source,
        path=path,
        record=record,
        categories=data.get("categories") or data.get("primary_category") or (),
    )
