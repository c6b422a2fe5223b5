"""What the chat shows before the first token, with a scripted library (no model)."""

from rag import Answer, AnswerStream
from rag.retrieval import Hit

HITS = [Hit(paper_id="p1", title="kMaX-DeepLab", text="...", score=0.03, url="", chunk_id="p1#0"),
        Hit(paper_id="p2", title="LAMB", text="...", score=0.02, url="", chunk_id="p2#0")]


class ScriptedLibrary:
    """Retrieval is done when ``ask_stream`` returns; the pieces come later."""

    def __init__(self, hits):
        self.hits, self.histories = hits, []

    def ask_stream(self, question, **kwargs):
        self.histories.append(kwargs.get("history"))
        def pieces():
            yield "kMaX-DeepLab "
            yield "uses k-means."
            return Answer(question=question, text="kMaX-DeepLab uses k-means.", sources=self.hits)
        return AnswerStream(pieces(), self.hits)


def test_the_chat_shows_searching_then_what_it_reads_then_the_answer():
    from rag import app as app_module

    states = list(app_module.App(ScriptedLibrary(HITS)).chat("Which paper uses k-means?", [], 3, "", ""))
    assert "Searching" in states[0][0]
    assert "Reading" in states[1][0] and "1. kMaX-DeepLab" in states[1][1] and "2. LAMB" in states[1][1]
    assert states[2][0] == "kMaX-DeepLab " and "Answering" in states[2][1]
    assert states[-1][0] == "kMaX-DeepLab uses k-means."


def test_the_reading_panel_says_when_nothing_matched():
    stream = ScriptedLibrary([]).ask_stream("q")
    assert stream.reading_markdown() == "_No abstracts matched the question._"
    assert "Reading 1 abstract…" in AnswerStream(iter(()), HITS[:1]).reading_markdown()


def test_a_follow_up_in_the_chat_passes_back_the_answer_it_follows():
    """The browser sends the chat as text; the app gives the library the Answer it showed, so the
    follow-up can continue that answer's conversation. Text it did not show stays text."""
    from rag import app as app_module

    library = ScriptedLibrary(HITS)
    chat = app_module.App(library)
    shown = list(chat.chat("Which paper uses k-means?", [], 3, "", ""))[-1][0]
    history = [{"role": "user", "content": "Which paper uses k-means?"}, {"role": "assistant", "content": shown}]
    list(chat.chat("What does it reach on COCO?", history, 3, "", ""))
    (question, answer), = library.histories[1]
    assert question == "Which paper uses k-means?" and isinstance(answer, Answer)
    assert answer.text == "kMaX-DeepLab uses k-means."
    edited = [history[0], {"role": "assistant", "content": "something else"}]
    list(chat.chat("What does it reach on COCO?", edited, 3, "", ""))
    assert library.histories[2] == [("Which paper uses k-means?", "something else")]
