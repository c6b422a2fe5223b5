"""Who uses the model next: questions before background work.

A llama.cpp context is not thread-safe, so everyone holds the one model in order. A plain lock is
not fair: a background loop that releases it and at once asks again could take it back before
a waiting question. A foreground hold counts itself as waiting until it has the lock; a
background hold waits for that count to be zero, so a question waits at most for the one
piece of background work in progress.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class Scheduler:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._waiting = 0  # foreground holds waiting for the lock
        self._queue = threading.Condition()

    @contextlib.contextmanager
    def hold(self, background: bool = False) -> Iterator[None]:
        """Hold the model for one piece of work; ``background`` work yields to waiting questions."""
        with self._queue:
            if background:
                self._queue.wait_for(lambda: self._waiting == 0)
            else:
                self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            if not background:
                with self._queue:
                    self._waiting -= 1
                    self._queue.notify_all()
        try:
            yield
        finally:
            self._lock.release()
