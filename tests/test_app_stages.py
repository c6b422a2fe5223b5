"""What the chat shows before the first token, with a scripted library (no model)."""

from rag import Answer, AnswerStream
from rag.retrieval import Hit

HITS = [Hit(paper_id="p1", title="kMaX-DeepLab", text="...", score=0.03, url="", chunk_id="p1#0"),
        Hit(paper_id="p2", title="LAMB", text="...", score=0.02, url="", chunk_id="p2#0")]


class ScriptedLibrary:
    """Retrieval is done when ``ask_stream`` returns; the pieces come later."""

    def __init__(self, hits):
        self.hits = hits

    def ask_stream(self, question, **kwargs):
        def pieces():
            yield "kMaX-DeepLab "
            yield "uses k-means."
            return Answer(question=question, text="kMaX-DeepLab uses k-means.", sources=self.hits)
        return AnswerStream(pieces(), self.hits)


def test_the_chat_shows_searching_then_what_it_reads_then_the_answer():
    import app as app_module

    states = list(app_module.App(ScriptedLibrary(HITS)).chat("Which paper uses k-means?", [], 3, "", ""))
    assert "Searching" in states[0][0]
    assert "Reading" in states[1][0] and "1. kMaX-DeepLab" in states[1][1] and "2. LAMB" in states[1][1]
    assert states[2][0] == "kMaX-DeepLab " and "Answering" in states[2][1]
    assert states[-1][0] == "kMaX-DeepLab uses k-means."


def test_the_reading_panel_says_when_nothing_matched():
    stream = ScriptedLibrary([]).ask_stream("q")
    assert stream.reading_markdown() == "_No abstracts matched the question._"
    assert "Reading 1 abstract…" in AnswerStream(iter(()), HITS[:1]).reading_markdown()
