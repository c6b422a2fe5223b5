"""The background summary run's life cycle, with a scripted library."""

import threading
import time

from rag import ModelError, Settings
from rag.background import SummaryWorker


class ScriptedLibrary:
    """summarize_pending blocks until released; records each run and what it preferred."""

    def __init__(self, fail=False):
        self.runs, self.release, self.fail = [], threading.Event(), fail
        self.read_aheads = 0
        self.settings = Settings()
        self.full_lines = []

    def summarize_pending(self, progress, prefer, full_lines):
        self.runs.append(list(prefer()))
        self.full_lines.append(full_lines)
        if self.fail == "bug":
            raise KeyError("p9")
        if self.fail:
            raise ModelError("cannot load model x.gguf")
        self.release.wait(10)
        progress(1, 1)
        return 1

    def read_ahead(self):
        self.read_aheads += 1
        return 0


def wait_until(test, seconds=10):
    deadline = time.monotonic() + seconds
    while not test() and time.monotonic() < deadline:
        time.sleep(0.01)
    return test()


def test_a_start_during_a_run_makes_it_go_over_the_library_once_more():
    library = ScriptedLibrary()
    worker = SummaryWorker(library)
    worker.want(["p3"])
    worker.start()
    assert wait_until(lambda: library.runs) and worker.running
    assert library.full_lines == [Settings().digest_top]  # the first lines in full, the rest greedy
    worker.start()  # papers were ingested meanwhile
    worker.start()  # twice: still one more pass, not two
    library.release.set()
    assert wait_until(lambda: not worker.running)
    assert library.runs == [["p3"], ["p3"]] and (worker.done, worker.total) == (1, 1) and worker.error is None
    assert worker.made == 2  # one summary in each pass
    assert library.read_aheads == 2  # each pass then reads the newest papers ahead for questions


def test_a_failed_run_stops_and_keeps_its_error():
    worker = SummaryWorker(ScriptedLibrary(fail=True))
    worker.start()
    assert wait_until(lambda: not worker.running and worker.error is not None)
    assert "cannot load model" in str(worker.error)


def test_an_unexpected_error_ends_the_run_too_so_no_digest_waits_forever():
    worker = SummaryWorker(ScriptedLibrary(fail="bug"))
    worker.start()
    assert wait_until(lambda: not worker.running)
    assert "KeyError" in str(worker.error)
