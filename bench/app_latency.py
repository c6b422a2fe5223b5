"""The app's start-up and streamed answer latency in a real browser, next to the Python API.

    python bench/app_latency.py [--read-ahead]

- launch to usable page: from starting ``python app.py --seeds`` (fresh store) until the question
  box is visible in headless Chromium (3 runs, median);
- time to first feedback in the browser: from pressing Enter until the answer bubble shows the
  app's first stage ("Searching the abstracts…");
- time to first streamed token in the browser for seed questions: from pressing Enter until the
  answer bubble shows text other than a stage (5 questions, each on a fresh page, median);
- the same questions through ``Library.ask`` in this process: ``timings["first_token"]``.

With --read-ahead the timed app runs its background work as it does by default (the seeds'
summaries, then the papers read ahead as a question's best source) and the questions are asked
once its log says the reading is done; the in-process questions follow ``Library.read_ahead``.
Without it the app does no background work and first questions read their whole prompt.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from rag.app import ANSWERING, READING, SEARCHING  # noqa: E402
from rag import Library  # noqa: E402
from servers import free_port  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# Five different seed questions, so llama.cpp's prompt cache helps each path equally (the shared
# system prompt) rather than replaying one fully cached prompt.
QUESTIONS = [
    "Which paper uses k-means cross-attention for segmentation?",
    "What search space does MnasNet use?",
    "How does DocTer extract input constraints?",
    "What is Monolith used for?",
    "How does NeuRI generate DNN models?",
]


def start_app(store: Path, port: int, background: bool = False) -> tuple[subprocess.Popen, threading.Event]:
    """The app, and an event set once its log says the background reading ahead is done. Without
    ``background`` the seeds' summaries are not made either: questions go to an idle model
    (bench/background.py times them during a background run)."""
    env = dict(os.environ, RAG_STORE_DIR=str(store), RAG_BACKGROUND_SUMMARIES="1" if background else "0")
    app = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--seeds", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    read_ahead = threading.Event()

    def watch() -> None:
        for line in app.stderr:
            if "read ahead for questions" in line:
                read_ahead.set()

    threading.Thread(target=watch, daemon=True).start()
    return app, read_ahead


def wait_usable(browser, url: str, started: float) -> float:
    page = browser.new_page()
    while True:
        try:
            page.goto(url, timeout=2000)
            page.locator("#question-box textarea").wait_for(timeout=60000)
            page.close()
            return time.perf_counter() - started
        except Exception:  # not listening yet
            time.sleep(0.2)


def browser_first_token(browser, url: str, question: str) -> float:
    page = browser.new_page()
    page.goto(url)
    box = page.locator("#question-box textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    # Gradio shows a "pending" bubble at once; the app then shows its stages ("Searching…",
    # "Reading…"); the first token is the first other text in the bubble.
    last_bot = "const m = document.querySelectorAll('#answer-chat .message.bot:not(.pending)'); " \
               "const t = m.length ? m[m.length - 1].innerText.trim() : '';"
    page.wait_for_function(f"() => {{ {last_bot} return t.length > 0; }}", timeout=120000, polling=20)
    feedback = time.perf_counter() - started
    stages = json.dumps([SEARCHING, READING])
    page.wait_for_function(f"() => {{ {last_bot} return t.length > 0 && !{stages}.includes(t); }}",
                           timeout=120000, polling=20)
    elapsed = time.perf_counter() - started
    page.locator("#sources-panel").get_by_text(ANSWERING).wait_for(state="detached", timeout=120000)
    page.close()
    return feedback, elapsed


def main(read_ahead: bool = False) -> dict:
    launches, browser_times = [], []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for run in range(3):
            port = free_port()
            started = time.perf_counter()
            app, ahead = start_app(Path(tmp) / f"store{run}", port, background=read_ahead and run == 2)
            try:
                launches.append(wait_usable(browser, f"http://127.0.0.1:{port}/", started))
                if run == 2:
                    time.sleep(5)  # let the model's background warm-up finish before timing answers
                    if read_ahead and not ahead.wait(900):
                        raise SystemExit("the app's background run did not finish reading ahead in 15 minutes")
                    browser_times = [browser_first_token(browser, f"http://127.0.0.1:{port}/", q) for q in QUESTIONS]
            finally:
                app.terminate()
                app.wait()
        browser.close()
        library = Library(Path(tmp) / "api-store")
        library.ingest([ROOT / "seeds"])
        library.llm().count_tokens("warm-up")
        if read_ahead:
            library.read_ahead(background=False)
        answers = [library.ask(q) for q in QUESTIONS]
        api_ttft = [a.timings.get("first_token", a.timings["total"]) for a in answers]
    feedback, browser_ttft = [t[0] for t in browser_times], [t[1] for t in browser_times]
    return {"read_ahead": read_ahead, "launch_to_usable_page_s": [round(x, 2) for x in launches],
            "median_launch_s": round(statistics.median(launches), 2),
            "browser_first_feedback_s": [round(x, 2) for x in feedback],
            "median_browser_first_feedback_s": round(statistics.median(feedback), 2),
            "browser_first_token_s": [round(x, 2) for x in browser_ttft],
            "median_browser_first_token_s": round(statistics.median(browser_ttft), 2),
            "api_first_token_s": api_ttft, "median_api_first_token_s": round(statistics.median(api_ttft), 2)}


if __name__ == "__main__":
    print(json.dumps(main(read_ahead="--read-ahead" in sys.argv[1:]), indent=2))
