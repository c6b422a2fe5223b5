"""Read abstracts from files into ``Paper`` records.

Every format yields ``(record label, Paper | InputError)`` so one bad record is
reported by name without hiding the good ones around it.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import logging
import lzma
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .paper import Paper, check_size, is_arxiv_category, make_paper, paper_from_dict

Record = tuple[str, "Paper | InputError"]


@dataclass
class LoadResult:
    papers: list[Paper] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)


def load_path(
    path: str | Path, skip_bad: bool = False, max_title_chars: int = 500, max_abstract_chars: int = 20_000
) -> LoadResult:
    """All papers in a file (or every supported file under a directory).

    Without ``skip_bad`` the first bad record raises ``InputError`` before
    anything is returned, so a caller never stores half a file by accident.
    A record over the size limits (``Settings``) is a bad record.
    """
    path = Path(path)
    files = (
        sorted(p for p in path.rglob("*") if p.is_file() and _inner(p).suffix.lower() in SUFFIXES)
        if path.is_dir()
        else [path]
    )
    result = LoadResult()
    for file in files:
        seen: dict[tuple[str, int], str] = {}  # (id, arXiv version) -> the record that had it first
        records = list(_records(file)) or [
            ("file", InputError("no records found (the file is empty)", str(file)))
        ]
        for label, item in records:
            if isinstance(item, Paper):
                try:
                    item = check_size(item, max_title_chars, max_abstract_chars, str(file), label)
                    first = seen.setdefault((item.id, item.version), label)
                    if first != label:
                        raise InputError(
                            f"duplicate id {item.id!r}, already given by {first} (kept)", str(file), label
                        )
                except InputError as exc:
                    item = exc
            if isinstance(item, InputError):
                if not skip_bad:
                    raise item
                result.problems.append(item)
            else:
                result.papers.append(item)
    return result


def _records(path: Path) -> Iterator[Record]:
    try:
        text = read_text(path)
        parser = PARSERS[detect_format(path, text)]
        yield from parser(text, str(path))
    except InputError as exc:  # a whole-file failure (undecodable, malformed XML) is one bad record
        yield exc.record or "file", exc
    except RecursionError:
        yield "file", InputError("nested too deeply to be a list of papers", str(path))


def _inner(path: Path) -> Path:
    """The file's name without a compression suffix (papers.jsonl.xz -> papers.jsonl)."""
    return path.with_suffix("") if path.suffix.lower() in _COMPRESSED else path


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
        opener = _COMPRESSED.get(path.suffix.lower())
        if opener:
            data = opener(data)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", str(path)) from exc
    except (lzma.LZMAError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot decompress file ({exc})", str(path)) from exc
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(
            "not UTF-8 text: it looks like UTF-16 (it starts with a UTF-16 byte-order mark); "
            "re-save the file as UTF-8",
            str(path),
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); it looks like "
            f"{_likely_encoding(data)}; re-save the file as UTF-8",
            str(path),
            f"line {line}",
        ) from exc
    # NUL bytes are never text: every format drops them the same way.
    return text.replace("\x00", "")


def _likely_encoding(data: bytes) -> str:
    """A guess for the message only: Windows-1252/Latin-1 when the bytes decode as it, else binary."""
    try:
        data.decode("cp1252")
        return "Latin-1 (Windows-1252)"
    except UnicodeDecodeError:
        return "binary data, not text"


def detect_format(path: Path, text: str) -> str:
    """Format by extension (inside any compression suffix), else by the first non-blank character
    and shape."""
    suffix = _inner(path).suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    head = text.lstrip()[:1]
    if head == "[":
        return "json"
    if head == "{":
        lines = [line for line in text.splitlines() if line.strip()]
        return "jsonl" if len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines) else "json"
    if head == "<":
        return "atom"
    if re.match(r"TY  - ", text.lstrip()):
        return "ris"
    if head == "@" or re.search(r"^@\w+\s*\{", text, re.M):
        return "bibtex"
    first = text.lstrip().split("\n", 1)[0].lower()
    if "title" in first and "abstract" in first and ("," in first or "\t" in first):
        return "csv"
    return "digest"


def parse_jsonl(text: str, path: str) -> Iterator[Record]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        label = f"line {number}"
        try:
            yield label, paper_from_dict(json.loads(line), source=Path(path).name, path=path, record=label)
        except json.JSONDecodeError as exc:
            yield label, InputError(f"malformed JSON ({exc.msg} at column {exc.colno})", path, label)
        except InputError as exc:
            yield label, exc


def parse_json(text: str, path: str) -> Iterator[Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON ({exc.msg})", path, f"line {exc.lineno}") from exc
    if isinstance(data, dict):
        data = data.get("papers", data.get("entries", [data]))
    if not isinstance(data, list):
        raise InputError("expected a list of papers or an object with 'papers'", path)
    for number, item in enumerate(data, 1):
        label = f"item {number}"
        try:
            yield label, paper_from_dict(item, source=Path(path).name, path=path, record=label)
        except InputError as exc:
            yield label, exc


def parse_csv(text: str, path: str) -> Iterator[Record]:
    dialect = csv.excel_tab if "\t" in text.split("\n", 1)[0] else csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    fields = {f.strip().lower() for f in reader.fieldnames or []}
    if not {"title", "abstract"} <= fields:
        raise InputError("CSV header must name 'title' and 'abstract' columns", path, "header")
    for row in reader:
        label = f"row {reader.line_num}"
        row = {(k or "").strip().lower(): v for k, v in row.items()}
        try:
            yield label, paper_from_dict(row, source=Path(path).name, path=path, record=label)
        except InputError as exc:
            yield label, exc


def parse_bibtex(text: str, path: str) -> Iterator[Record]:
    import bibtexparser  # only this module parses BibTeX

    # bibtexparser logs each failed block to stderr; the reason goes into our message instead.
    quiet = logging.getLogger("bibtexparser")
    level, quiet.level = quiet.level, logging.ERROR
    try:
        library = bibtexparser.parse_string(text)
    finally:
        quiet.setLevel(level)
    for block in library.failed_blocks:
        label = f"line {(block.start_line or 0) + 1}"
        reason = getattr(block.error, "abort_reason", "") or str(block.error) or type(block.error).__name__
        yield label, InputError(f"malformed BibTeX entry ({' '.join(reason.split())})", path, label)
    for entry in library.entries:
        label = f"@{entry.entry_type}{{{entry.key}}}"
        fields = {k.lower(): _unbrace(v.value) for k, v in entry.fields_dict.items()}
        try:
            yield (
                label,
                make_paper(
                    fields.get("title", ""),
                    fields.get("abstract", ""),
                    id_hints=(fields.get("eprint", ""), fields.get("doi", ""), fields.get("journal", "")),
                    authors=[a.strip() for a in fields.get("author", "").split(" and ")],
                    url=fields.get("url", ""),
                    published=fields.get("year", ""),
                    source=Path(path).name,
                    path=path,
                    record=label,
                ),
            )
        except InputError as exc:
            yield label, exc


def _unbrace(value) -> str:
    return re.sub(r"[{}]", "", str(value)).replace("\\&", "&").replace("~", " ")


_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"


def parse_ris(text: str, path: str) -> Iterator[Record]:
    """RIS (Zotero, EndNote, Mendeley exports), read by rispy; records without an abstract are
    reported like any other bad record."""
    import rispy

    try:
        entries = rispy.loads(text)
    except Exception as exc:  # rispy raises plain exceptions for malformed tags
        raise InputError(f"malformed RIS ({exc})", path) from exc
    for number, entry in enumerate(entries, 1):
        label = f"record {number}"
        first = lambda *keys, entry=entry: next((entry[k] for k in keys if entry.get(k)), "")  # noqa: E731
        urls = first("urls") or []
        try:
            yield (
                label,
                make_paper(
                    str(first("title", "primary_title", "translated_title")),
                    str(first("abstract", "notes_abstract")),
                    id_hints=(str(first("doi")), *[str(u) for u in urls]),
                    authors=list(first("authors", "first_authors") or []),
                    url=str(urls[0]) if urls else "",
                    published=str(first("date", "publication_year", "year")).replace("/", "-"),
                    source=Path(path).name,
                    path=path,
                    record=label,
                ),
            )
        except InputError as exc:
            yield label, exc


def parse_atom(text: str, path: str) -> Iterator[Record]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 0
        raise InputError(f"malformed XML ({exc})", path, f"line {line}") from exc
    entries = root.findall(f"{_ATOM}entry") or ([root] if root.tag == f"{_ATOM}entry" else [])
    if not entries:
        raise InputError("no Atom <entry> elements found (expected an arXiv API response)", path)
    for number, entry in enumerate(entries, 1):
        get = lambda tag, entry=entry: (entry.findtext(tag) or "").strip()
        label = f"entry {number}"
        links = [
            link.get("href", "") for link in entry.findall(f"{_ATOM}link") if link.get("rel") == "alternate"
        ]
        primary = entry.find(f"{_ARXIV}primary_category")
        terms = [primary.get("term", "")] if primary is not None else []
        terms += [c.get("term", "") for c in entry.findall(f"{_ATOM}category")]
        try:
            yield (
                label,
                make_paper(
                    get(f"{_ATOM}title"),
                    get(f"{_ATOM}summary"),
                    id_hints=(get(f"{_ATOM}id"), get(f"{_ARXIV}doi")),
                    authors=[a.findtext(f"{_ATOM}name") or "" for a in entry.findall(f"{_ATOM}author")],
                    url=links[0] if links else "",
                    published=get(f"{_ATOM}published"),
                    source=Path(path).name,
                    path=path,
                    record=label,
                    categories=[t for t in terms if is_arxiv_category(t)],
                ),
            )
        except InputError as exc:
            yield label, exc


_MIN_ABSTRACT_CHARS = 200  # shorter blocks are headings, dates or page chrome, not abstracts


def parse_digest(text: str, path: str) -> Iterator[Record]:
    """A digest page: a title line, a blank line, an abstract paragraph, repeated.

    Blocks before the first title/abstract pair are page chrome and ignored;
    after it, a title without an abstract is a bad record.
    """
    blocks = [
        (m.group(0).strip(), text[: m.start()].count("\n") + 1)
        for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]*)*", text)
        if m.group(0).strip()
    ]
    started, i = False, 0
    while i < len(blocks):
        title, line = blocks[i]
        following = blocks[i + 1][0] if i + 1 < len(blocks) else ""
        label = f"line {line}"
        if len(following) >= _MIN_ABSTRACT_CHARS and "\n" not in title and len(title) < 300:
            started = True
            try:
                yield label, make_paper(title, following, source=Path(path).name, path=path, record=label)
            except InputError as exc:
                yield label, exc
            i += 2
            continue
        if started:
            yield label, InputError(f"{title[:60]!r} is not followed by an abstract paragraph", path, label)
        i += 1
    if not started:
        raise InputError("no 'title line, blank line, abstract paragraph' entries found", path)


PARSERS: dict[str, Callable[[str, str], Iterator[Record]]] = {
    "jsonl": parse_jsonl,
    "json": parse_json,
    "csv": parse_csv,
    "bibtex": parse_bibtex,
    "atom": parse_atom,
    "ris": parse_ris,
    "digest": parse_digest,
}
# Compressed files are read whole into memory: a year of arXiv abstracts is ~60 MB of text.
_COMPRESSED = {".xz": lzma.decompress, ".gz": gzip.decompress, ".bz2": bz2.decompress}

SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".ris": "ris",
    ".xml": "atom",
    ".atom": "atom",
    ".txt": "digest",
    ".md": "digest",
}
