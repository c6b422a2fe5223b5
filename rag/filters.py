"""What a search, a listing or a digest is restricted to: one value object that the catalogue
turns into SQL and the vector store into a Chroma ``where``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .errors import RagError
from .paper import day_number


@dataclass(frozen=True)
class Filters:
    source: str | None = None  # the file or feed a paper came from
    year: int | None = None
    author: str | None = None  # any author whose name contains this text
    category: str | None = None  # an arXiv category among the paper's ("cs.CL")
    since: str | None = None  # first day, ISO (YYYY, YYYY-MM or YYYY-MM-DD), inclusive
    until: str | None = None  # last day, ISO, inclusive

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value and not day_number(value):
                raise RagError(f"{name}={value!r} is not a date like 2025-03-18")

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in dataclasses.fields(self))

    @property
    def first_day(self) -> int | None:
        return day_number(self.since) if self.since else None

    @property
    def last_day(self) -> int | None:
        """``until`` as the last YYYYMMDD it covers: "2025-03" means up to 2025-03-99."""
        if not self.until:
            return None
        day = day_number(self.until)
        return day + (99 if day % 100 == 0 else 0) + (9900 if day % 10_000 == 0 else 0)
