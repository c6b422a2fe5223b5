"""A yes/no question whose closest paper is only the best of a near-topic crowd is refused before
the verdict (``rag.retrieval.standout``, ``settings.min_standout`` and ``standout_coverage``)."""

import dataclasses

import pytest

from fakes import FakeLLM
from rag.retrieval import Hit, standout

QUESTION = "Do mailed reminders increase mammography screening among rural women?"
# Six papers near the question, none about mailed reminders for rural women: a library's crowd.
CROWD = [
    ("Telephone reminders and mammography screening",
     "Women overdue for mammography received telephone reminder calls or usual care. Telephone reminders "
     "increased mammography screening among urban women within six months."),
    ("Postcard reminders for screening mammography",
     "Postcard reminders were sent to women due for screening mammography in a health plan. Screening "
     "mammography completion was higher among women who received postcards."),
    ("Email reminders and breast cancer screening",
     "Employees due for mammography were randomized to email reminders or no reminder. Email reminders "
     "increased mammography screening among working women."),
    ("Text message reminders for mammography",
     "Women with a mammography appointment were sent text message reminders. Attendance at screening "
     "mammography increased with text message reminders."),
    ("Physician reminders and mammography rates",
     "Electronic reminders to physicians prompted them to recommend mammography to eligible women. "
     "Mammography screening rates rose among women seen by physicians who received reminders."),
    ("Reminder letters from the clinic and screening uptake",
     "Clinic reminder letters invited women to screening mammography. Uptake of screening mammography "
     "increased among women invited by letter."),
]
ASKED = ("Mailed reminders and mammography in rural women",
         "Rural women overdue for mammography were randomized to mailed reminders or usual care. Mailed "
         "reminders increased mammography screening within six months among rural women.")


def hit(similarity: float | None) -> Hit:
    return Hit(paper_id="p", title="t", text="", score=0.0, dense_similarity=similarity)


def test_standout_is_the_closest_papers_lead_over_the_fifth_closest():
    assert standout([hit(s) for s in (0.5, 0.7, 0.45, 0.4, 0.38, 0.2)]) == pytest.approx(0.32)
    # a keyword-only hit has no dense similarity: it is not close
    assert standout([hit(s) for s in (0.4, 0.5, None, 0.6, 0.55)]) == pytest.approx(0.6)
    assert standout([hit(0.9)] * 4) is None  # too few papers to be a crowd


def test_a_crowded_yes_no_question_is_refused_before_the_verdict_unless_it_names_its_paper(offline):
    # The hash embedder's similarities mean nothing here: the thresholds force the rule.
    offline.settings = dataclasses.replace(offline.settings, min_standout=2.0, standout_coverage=1.01)
    offline.fake.scores = {"Yes": -0.1, "No": -3.0, "Maybe": -9.0}
    crowded = offline.ask("Does LAMB reduce BERT training time to 76 minutes?")
    assert crowded.abstained and "one of many near the question" in crowded.reason
    assert offline.fake.sent == []  # refused before the verdict model was asked
    named = offline.ask("Does kMaX-DeepLab reach 58.0% PQ on COCO val?")
    assert not named.abstained and "one of many" not in named.reason
    assert offline.fake.sent  # its verdict was asked


@pytest.mark.parametrize("with_its_paper", [False, True])
def test_the_same_question_is_refused_over_a_crowd_and_answered_once_its_paper_is_stored(
    library, with_its_paper
):
    """The real embedder and store: without the paper the question asks about, its closest paper
    is one of six alike (it stands out by ~0.06) and lacks "mailed" and "rural"; with it, that
    paper stands out (~0.16) and the verdict is asked."""
    papers = CROWD + ([ASKED] if with_its_paper else [])
    library.add([{"id": f"p{i}", "title": t, "abstract": a} for i, (t, a) in enumerate(papers)])
    fake = FakeLLM(scores={"Yes": -0.1, "No": -3.0, "Maybe": -9.0})
    library.llm = lambda model=None, fmt=None: fake
    answer = library.ask(QUESTION)
    if with_its_paper:
        assert not answer.abstained, answer.reason
        assert answer.citations[0].title == ASKED[0] and answer.verdict == "yes"
    else:
        assert answer.abstained and "one of many near the question" in answer.reason
        assert fake.sent == []


def test_the_crowd_is_the_plans_own_search_not_a_second_one(offline, monkeypatch):
    """A yes/no question's plan searches ``CROWD`` papers and keeps the best few as its sources;
    the standout is measured on that search, so the library is searched once."""
    searches = []
    search = type(offline).search

    def counted(self, query, k=5, **kwargs):
        searches.append((query, k, kwargs.get("within")))
        return search(self, query, k, **kwargs)

    monkeypatch.setattr(type(offline), "search", counted)
    offline.fake.scores = {"Yes": -0.1, "No": -3.0, "Maybe": -9.0}
    question = "Does LAMB reduce BERT training time to 76 minutes?"
    answer = offline.ask(question)
    assert [(q, k) for q, k, within in searches if within is None] == [(question, 10)]
    assert len(answer.citations) <= offline.settings.answer_sources
    best = search(offline, question, 10)[: offline.settings.answer_sources]
    assert offline.plan(question).hits == tuple(best)


def test_the_crowd_is_ten_papers_whatever_k_the_question_asks_for(offline, monkeypatch):
    """Asked for more sources than ``CROWD``, the plan searches deeper; the standout still compares
    the closest paper with the fifth of the closest ten, as with the default k."""
    import rag.library

    measured = []
    monkeypatch.setattr(rag.library, "standout", lambda hits: measured.append(len(hits)) or 1.0)
    offline.fake.scores = {"Yes": -0.1, "No": -3.0, "Maybe": -9.0}
    offline.ask("Does LAMB reduce BERT training time to 76 minutes?", k=15)
    assert measured == [10]
