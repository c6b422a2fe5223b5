"""The app in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Screenshots of each tab go to $RAG_SCREENSHOT_DIR (docs/screenshots/ for the README), else to
the test's temporary directory.
"""

import json
import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
# Chromium's background services try to reach Google; this machine's network refuses them.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
TIMEOUT_MS = 180_000


@pytest.fixture
def page(app_url):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/setup installs Debian's chromium package")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_url)
        yield page
        browser.close()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("RAG_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_ask_streams_an_answer_then_its_sources(page, shots):
    box = page.locator("#question-box textarea")
    box.fill("Which paper uses k-means cross-attention for segmentation?")
    box.press("Enter")
    page.locator("#answer-chat").get_by_text("kMaX-DeepLab").first.wait_for()
    panel = page.locator("#sources-panel")
    panel.get_by_text("retrieval score").first.wait_for()  # the checked answer's sources, not the reading list
    assert "kMaX-DeepLab: k-means Mask Transformer" in panel.inner_text()
    page.screenshot(path=shots / "ask.png", full_page=True)


def test_a_follow_up_in_the_browser_continues_the_answer_it_follows(page, monkeypatch):
    """The chat history comes back from the browser as text; the app matches it to the Answer it
    showed, so the follow-up continues that answer's conversation (rag.qa.continued_conversation)."""
    from rag import Answer, Library

    histories, streams, real_ask_stream = [], [], Library.ask_stream

    def recording(self, question, **kwargs):
        histories.append(list(kwargs.get("history") or []))
        streams.append(real_ask_stream(self, question, **kwargs))
        return streams[-1]

    monkeypatch.setattr(Library, "ask_stream", recording)
    box, panel = page.locator("#question-box textarea"), page.locator("#sources-panel")
    box.fill("Which paper uses k-means cross-attention for segmentation?")
    box.press("Enter")
    panel.get_by_text("retrieval score").first.wait_for()
    box.fill("What does it reach on COCO?")
    box.press("Enter")
    for _ in range(1200):  # until the follow-up is answered
        if len(streams) == 2 and streams[1].done:  # .answer would drive the app's stream from here
            break
        page.wait_for_timeout(100)
    assert len(histories) == 2 and streams[1].done, histories
    (question, answer), = histories[1]
    assert question == "Which paper uses k-means cross-attention for segmentation?"
    assert isinstance(answer, Answer) and answer.transcript


def test_yes_no_answer_shows_its_verdict_badge(page):
    box = page.locator("#question-box textarea")
    box.fill("Does LAMB train BERT in 76 minutes?")  # a clear yes: its verdict is shown
    box.press("Enter")
    page.locator("#answer-chat").get_by_text("Verdict:").first.wait_for()
    badges = page.locator("#answer-chat code")
    assert badges.first.inner_text().strip() == "Yes"


def test_digest_tab_generates_a_table_and_downloads(page, shots):
    page.get_by_role("tab", name="Digest").click()
    page.get_by_label("Newest N").check()
    page.get_by_label("N (newest, or search results)").fill("3")
    page.locator("#digest-button").click()
    page.locator('#digest-table [role=grid][aria-rowcount="4"]').wait_for()  # a header and 3 papers
    page.locator("#digest-files a[download=\"digest.json\"]").wait_for()  # after .md and .html
    cells = page.locator("#digest-table [role=gridcell]")
    summaries = [cells.nth(i).inner_text().strip() for i in range(cells.count()) if i % 4 == 2]
    assert len(summaries) == 3 and all(summaries), summaries
    page.locator("#digest-status").get_by_text("3 summaries.").wait_for()  # nothing left pending
    font = cells.nth(2).evaluate("cell => getComputedStyle(cell.querySelector('*') || cell).fontFamily")
    assert "mono" not in font.lower(), font  # the digest reads as prose
    downloads = page.locator("#digest-files a[download]")
    assert [downloads.nth(i).get_attribute("download") for i in range(3)] == ["digest.md", "digest.html", "digest.json"]
    page.screenshot(path=shots / "digest.png", full_page=True)


def test_library_tab_uploads_a_file_and_lists_the_paper(page, shots, tmp_path):
    record = {"id": "browser-test-1", "title": "Lattice-gated memory for streaming speech translation",
              "abstract": "We propose lattice-gated memory for low-latency streaming speech translation."}
    upload = tmp_path / "new-papers.jsonl"
    upload.write_text(json.dumps(record) + "\n")
    page.get_by_role("tab", name="Library").click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    page.locator("#ingest-button").click()
    page.locator("#ingest-report").get_by_text("Added 1").or_(
        page.locator("#ingest-report").get_by_text("unchanged 1")).wait_for()
    page.locator("#papers-table").get_by_text(record["title"]).wait_for()
    assert "papers" in page.locator("#library-stats").inner_text()
    page.screenshot(path=shots / "library.png", full_page=True)


def test_the_library_table_pages_through_the_papers_newest_first(page, monkeypatch):
    from rag import app as app_module

    monkeypatch.setattr(app_module, "PAGE_SIZE", 5)  # 21 seed papers: five pages of five at most
    page.get_by_role("tab", name="Library").click()
    where = page.locator("#papers-where")
    table = page.locator("#papers-table")
    page.locator("#papers-older").click()
    where.get_by_text("Page 2 of 5").wait_for()
    title = table.locator("[role=gridcell]").nth(1).inner_text().strip()  # first row's title
    page.locator("#papers-older").click()
    where.get_by_text("Page 3 of 5").wait_for()
    assert title not in table.inner_text()  # another page's papers
    page.locator("#papers-newer").click()
    where.get_by_text("Page 2 of 5").wait_for()
    table.get_by_text(title).first.wait_for()


def test_today_lists_the_newest_papers_fills_in_their_lines_and_stars_one(page, shots):
    page.get_by_role("tab", name="Today").click()
    page.locator("#today-status").get_by_text("papers of").wait_for()
    table = page.locator("#today-table")
    assert table.locator("[role=row]").count() > 2
    # The app's background run writes the lines; the tab reads them again every few seconds.
    page.locator("#today-status").get_by_text(" 0 lines written").wait_for(state="detached")
    cells = table.locator("[role=gridcell]")
    cells.nth(1).click()  # the first row's title selects its paper
    selected = page.locator("#today-selected textarea")
    page.wait_for_function("el => el.value.length > 0", arg=selected.element_handle())
    paper_id = selected.input_value()
    page.locator("#today-star").click()
    table.get_by_text("starred").first.wait_for()
    assert "★" in table.inner_text() and paper_id in table.inner_text()
    page.screenshot(path=shots / "today.png", full_page=True)
