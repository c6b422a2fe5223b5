"""One-line summaries made ahead of any request, on a background thread.

The app starts a run after an ingest so a digest is ready before anyone asks, and then has the
newest papers read ahead as a question's best source (``Library.read_ahead``) so a first question
about one starts from a saved state; questions keep priority over both (``LocalLLM`` lets a
waiting question in before the next summary or reading).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import RagError

if TYPE_CHECKING:
    from .library import Library

log = logging.getLogger(__name__)


class SummaryWorker:
    """Makes the missing summaries of a library, one at a time, newest first, then reads the
    newest papers ahead for questions; ``want(ids)`` moves the papers an open digest waits for to
    the front."""

    def __init__(self, library: Library):
        self.library = library
        self.done = self.total = 0  # the current pass's progress
        self.made = 0  # summaries written since this worker was made: a reader polls it for news
        self.error: RagError | None = None
        self._lock = threading.Lock()
        self._running = self._again = False
        self._wanted: list[str] = []

    @property
    def running(self) -> bool:
        with self._lock:
            return self._running

    def start(self) -> None:
        """Run until no paper lacks a summary; called again during a run (papers were added
        meanwhile), the run goes over the library once more before it ends."""
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running, self.error = True, None
        threading.Thread(target=self._run, name="summaries", daemon=True).start()

    def want(self, paper_ids: Sequence[str]) -> None:
        with self._lock:
            self._wanted = list(paper_ids)

    def _wanted_now(self) -> list[str]:
        with self._lock:
            return self._wanted

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self.made += 1

    def _run(self) -> None:
        while True:
            try:
                # The first lines (the ones a reader is shown first: Today's for-you order when it
                # is open) get every candidate; the rest of the day its greedy line, sooner.
                made = self.library.summarize_pending(
                    progress=self._progress,
                    prefer=self._wanted_now,
                    full_lines=self.library.settings.digest_top,
                )
                log.info("background summaries: %d made", made)
                log.info("read ahead for questions: %d papers", self.library.read_ahead())
            except RagError as exc:
                log.warning("background summaries stopped: %s", exc)
                self.error = exc
            except Exception as exc:  # a bug of ours: logged in full, and the run marked as ended
                log.exception("background summaries failed")
                self.error = RagError(f"background summaries failed ({type(exc).__name__})")
            with self._lock:  # decided under the lock, so a start() now is never lost
                if not self._again or self.error:
                    self._running = False
                    return
                self._again = False
