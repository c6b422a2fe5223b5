"""Split abstracts into embedding-sized chunks on sentence boundaries."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from .paper import Paper

# Sentence ends first, then any whitespace for a run-on "sentence" longer than a chunk. Not
# ``text.sentences``: a stored paper is re-chunked only when its text changes (chunk ids carry the
# content hash), so a changed splitting rule would leave every existing store chunked by the old one.
_SEPARATORS = [r"(?<=[.!?])\s+(?=[A-Z0-9(\[])", r"(?<=[;:])\s+", r"\s+"]


@dataclass(frozen=True)
class Chunk:
    id: str
    paper_id: str
    title: str
    text: str
    position: int  # 0-based order within the paper

    @property
    def embedding_text(self) -> str:
        # The title carries the paper's topic into every chunk's vector and keyword entry.
        return f"{self.title}\n\n{self.text}"


class Chunker:
    def __init__(
        self, count_tokens: Callable[[str], int], window_tokens: int, chunk_tokens: int, overlap_tokens: int
    ):
        # Remembered: the splitter measures the same separators and sentences again and again.
        count_tokens = functools.lru_cache(maxsize=4096)(count_tokens)
        self.count_tokens, self.window = count_tokens, window_tokens
        from langchain_text_splitters import RecursiveCharacterTextSplitter  # 0.3 s: not at start-up

        self.splitter = RecursiveCharacterTextSplitter(
            separators=_SEPARATORS,
            is_separator_regex=True,
            keep_separator=True,
            chunk_size=chunk_tokens,
            chunk_overlap=overlap_tokens,
            length_function=count_tokens,
        )

    def chunks(self, paper: Paper) -> list[Chunk]:
        """One chunk when title and abstract fit the embedder's window, else overlapping pieces."""
        budget = self.window - 2 - self.count_tokens(paper.title + "\n\n")  # 2 = [CLS] and [SEP]
        pieces = (
            [paper.abstract]
            if self.count_tokens(paper.abstract) <= budget
            else self.splitter.split_text(paper.abstract)
        )
        version = paper.content_hash[:8]  # new content gets new chunk ids, so stale ones are findable
        return [
            Chunk(
                id=f"{paper.id}#{version}#{i}", paper_id=paper.id, title=paper.title, text=piece, position=i
            )
            for i, piece in enumerate(pieces)
        ]
