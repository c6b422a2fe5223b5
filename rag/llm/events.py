"""The instrumentation hook: what the in-process model did, with timings and token counts.

Benches and tools subscribe instead of patching the model's private methods::

    from rag.llm import events

    with events.recording() as seen:
        library.ask("...")
    seen[0].prompt_tokens, seen[0].read_tokens, seen[0].first_token_s

Subscribers run on the generating thread, after the work they describe; they must be quick and
must not raise (an exception is logged and dropped, never reaches the answer).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    kind: str  # "completion", "samples", "read-ahead" or "read"
    model: str  # the model's name
    messages: list[dict] = field(repr=False)  # the chat the prompt was made from
    prompt_tokens: int  # the prompt's length in tokens (with a choice's prefix)
    read_tokens: int  # how many of them were evaluated; the rest came from the context or the cache
    generated_tokens: int = 0  # tokens generated (all sequences, for samples)
    first_token_s: float | None = None  # from the start of the turn to the first piece
    total_s: float = 0.0  # from the start of the turn (after waiting for the model) to the end
    background: bool = False


Subscriber = Callable[[Event], None]
_SUBSCRIBERS: list[Subscriber] = []
_LOCK = threading.Lock()


def subscribe(callback: Subscriber) -> Callable[[], None]:
    """Call ``callback`` with every event from now on; returns the function that stops it."""
    with _LOCK:
        _SUBSCRIBERS.append(callback)

    def unsubscribe() -> None:
        with _LOCK, contextlib.suppress(ValueError):
            _SUBSCRIBERS.remove(callback)

    return unsubscribe


@contextlib.contextmanager
def recording() -> Iterator[list[Event]]:
    """The events of the ``with`` block, in order."""
    seen: list[Event] = []
    stop = subscribe(seen.append)
    try:
        yield seen
    finally:
        stop()


def emit(event: Event) -> None:
    with _LOCK:
        subscribers = list(_SUBSCRIBERS)
    for callback in subscribers:
        try:
            callback(event)
        except Exception:  # an observer's bug must not break an answer
            _LOG.exception("an events subscriber failed")
