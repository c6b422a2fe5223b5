"""The app on a big library (bench/big_store.py), in headless Chromium: start-up and each tab.

    python bench/app_big_store.py --store /work/big80k [--runs 3]

Timed, as a user sees them (median of ``--runs`` launches, default settings, so the background
summaries of the newest day start as they would):
- start: from launching ``rag app --store DIR`` until the question box is visible, in a browser
  already running (as the reader's is);
- library: from clicking the Library tab until its first page and its count are shown;
- next page: from clicking "Older →" until page 2 is shown;
- search: from submitting a search in the Library tab until its results are shown;
- digest: from clicking "Generate digest" (the newest day) until the table or its status shows;
- ask filters: the arXiv-category choices are in the Ask tab's dropdown once the page is loaded;
- import_gradio: a fresh interpreter importing gradio alone, after each launch (the floor under
  the start on this machine at that moment);
- with ``--ask``, peak memory: after the tabs, an open question and a yes/no question asked in the
  Ask tab (both models loaded, the background summaries running), the app process's peak resident
  set (VmHWM) in MB.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import free_port  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def seconds_until(action, wait) -> float:
    started = time.perf_counter()
    action()
    wait()
    return time.perf_counter() - started


ASKED = ("Which datasets are used to evaluate video diffusion models?",
         "Does instruction tuning improve zero-shot performance of language models?")


def ask_all(page) -> str:
    """Each of ``ASKED`` in the Ask tab, each waited for until its answer stops changing; the
    chat's text at the end (to see that both were answered)."""
    page.get_by_role("tab", name="Ask").click()
    box, chat = page.locator("#question-box textarea"), page.locator("#answer-chat")
    for question in ASKED:
        before = chat.inner_text()
        box.fill(question)
        box.press("Enter")
        last, still_since = before, time.perf_counter()
        while time.perf_counter() - still_since < 8 or last == before:
            page.wait_for_timeout(500)
            now = chat.inner_text()
            if now != last:
                last, still_since = now, time.perf_counter()
    return chat.inner_text()


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def one_launch(store: str, ask: bool = False) -> dict:
    port = free_port()
    env = {**os.environ, "RAG_PORT": str(port)}
    times = {}
    with sync_playwright() as p:
        # The reader's browser is already open: it is not started in the app's start-up time.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        started = time.perf_counter()
        app = subprocess.Popen([sys.executable, "-m", "rag", "app", "--store", store], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/"
            # Polled outside the browser: Chromium's failed navigations back off for seconds.
            while True:
                try:
                    urllib.request.urlopen(url, timeout=5).close()
                    break
                except OSError:
                    time.sleep(0.05)
            page.goto(url)
            page.locator("#question-box textarea").wait_for()
            times["start"] = time.perf_counter() - started
            where = page.locator("#papers-where")
            times["library"] = seconds_until(
                lambda: page.get_by_role("tab", name="Library").click(),
                lambda: where.get_by_text("Page 1 of").wait_for())
            times["next_page"] = seconds_until(
                lambda: page.locator("#papers-older").click(),
                lambda: where.get_by_text("Page 2 of").wait_for())
            search = page.get_by_label("Search papers")
            search.fill("diffusion models for video generation")
            times["search"] = seconds_until(
                lambda: search.press("Enter"),
                lambda: where.get_by_text("best matching the search").wait_for())
            page.get_by_role("tab", name="Digest").click()
            status = page.locator("#digest-status")
            times["digest"] = seconds_until(
                lambda: page.locator("#digest-button").click(),
                lambda: status.get_by_text("summar").wait_for())
            if ask:
                chat = ask_all(page)
                times["peak_mb"] = peak_mb(app.pid)
                print(chat, file=sys.stderr)
        finally:
            app.terminate()
            app.wait(timeout=30)
        browser.close()
    return times


def import_seconds(module: str) -> float:
    """The floor under the start: a fresh interpreter importing ``module`` and nothing else."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ask", action="store_true", help="also ask two questions; report peak memory")
    args = parser.parse_args()
    runs = [{**one_launch(args.store, args.ask), "import_gradio": import_seconds("gradio")} for _ in range(args.runs)]
    report = {name: round(statistics.median(r[name] for r in runs), 2) for name in runs[0]}
    report.update(store=args.store, runs=args.runs, worst={k: round(max(r[k] for r in runs), 2) for k in runs[0]})
    print(json.dumps(report))


if __name__ == "__main__":
    main()
