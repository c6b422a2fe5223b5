"""The asked relation: an answer whose words are all in its source, attached to another relation,
is withdrawn; one the source states passes."""

from rag import Refusal
from rag.checks import check_claim
from rag.relations import wrong_relation

ABSTRACT = ("We propose PointKAN for point clouds. Experiments show that PointKAN outperforms PointMLP on "
            "ModelNet40. PointKAN improves accuracy by 2.1% while reducing parameters by 30%.")


def test_an_answer_with_the_roles_reversed_is_withdrawn():
    assert wrong_relation("Which method does PointMLP outperform?", "PointKAN", ABSTRACT)
    assert not wrong_relation("Which method does PointKAN outperform?", "PointMLP", ABSTRACT)
    # A source that never states the comparison does not answer it either.
    assert "no source sentence" in wrong_relation("Which method does PointMLP outperform?", "x", "PointMLP is a baseline.")


def test_a_number_given_for_a_change_the_other_way_is_withdrawn():
    assert wrong_relation("By how much does PointKAN increase parameters?", "30%", ABSTRACT)
    assert wrong_relation("By how much does PointKAN degrade accuracy?", "by 2.1%", ABSTRACT)
    assert not wrong_relation("By how much does PointKAN reduce parameters?", "By 30%.", ABSTRACT)
    assert not wrong_relation("By how much does PointKAN improve accuracy?", "2.1%", ABSTRACT)
    assert not wrong_relation("By how much does PointKAN cut parameters?", "by 30%", ABSTRACT)  # a synonym


def test_check_claim_withdraws_a_reversed_relation_and_keeps_a_stated_one():
    reversed_ = check_claim("By how much does PointKAN increase parameters?", "PointKAN increases parameters by 30%.",
                            [1], ["PointKAN"], [ABSTRACT], min_support=0.5)
    assert reversed_.refusal is Refusal.WRONG_RELATION and "other way" in reversed_.reason
    stated = check_claim("By how much does PointKAN reduce parameters?", "PointKAN reduces parameters by 30%.",
                         [1], ["PointKAN"], [ABSTRACT], min_support=0.5)
    assert stated.refusal is None and stated.kept == [1]


def test_a_subject_of_several_words_does_not_hide_the_asked_verb():
    abstract = "Extensive experiments demonstrate that OMG reduces storage requirements by nearly 50%."
    question = 'By how much does the paper "Optimized Minimal 3D Gaussian Splatting" increase storage requirements?'
    assert wrong_relation(question, "50%: OMG reduces storage requirements by nearly 50%", abstract)
    assert not wrong_relation(question.replace("increase", "reduce"), "by nearly 50%", abstract)


def test_a_number_given_for_the_asked_change_of_another_quantity_is_withdrawn():
    source = "Sleep-time compute can reduce the amount of test-time compute needed to reach the same accuracy by ~5x."
    assert "something other than" in wrong_relation("By how much does sleep-time compute reduce accuracy?",
                                                     "By ~5x", source)
    assert not wrong_relation("By how much does sleep-time compute reduce the test-time compute?", "5x", source)


def test_a_change_word_after_the_number_or_a_direction_free_modifier_reads_as_stated():
    assert not wrong_relation("By how much does AutoQ reduce latency?", "54%",
                              "AutoQ gives a 54% reduction in latency, improving throughput.")
    assert not wrong_relation("By how much does AutoQ reduce memory?", "50%",
                              "AutoQ reduces memory by more than 50%, improving throughput.")


def test_a_comparison_answer_must_sit_on_the_other_side_of_the_asked_subject():
    source = "We compare TALR with SFT. TALR consistently outperforms these baselines."
    assert "no source sentence states that SFT" in wrong_relation("Which method does SFT outperform?",
                                                                   "TALR: TALR consistently outperforms", source)
    assert not wrong_relation("Which method does TALR outperform?", "these baselines", source)
    # A subject given as the paper itself is written "we" or "our method" in its abstract: silent.
    assert not wrong_relation('Which method does the paper "Trade-offs" outperform?', "SFT", source)


def test_a_number_the_source_gives_for_no_change_or_for_a_neighbouring_quantity_answers_no_change():
    source = "Experiments achieve top-1 accuracies of 91.67% for ALPR and 66.67% for make recognition."
    assert "no change" in wrong_relation('By how much does the paper "Vehicles" degrade results?', "91.67%", source)
    source = "FinTextSim increases intratopic similarity by 81% and reduces intertopic similarity by 100%."
    assert wrong_relation("By how much does FinTextSim increase intertopic similarity?", "81%", source)
    assert not wrong_relation("By how much does FinTextSim increase intratopic similarity?", "81%", source)


def test_a_comparison_answered_with_its_own_subject_or_a_name_on_the_wrong_side_is_withdrawn():
    assert "names only GPT-5" in wrong_relation("Which method does GPT-5 outperform?", "GPT-5: LLMs such as GPT-5.",
                                                "LLMs such as GPT-5 outperform clinicians on some questions.")
    source = "Mixture-Embedding RAG does not outperform vanilla RAG."
    assert wrong_relation("Which method does RAG outperform?", "Mixture-Embedding RAG", source)


def test_a_quoted_title_with_a_colon_and_a_do_does_not_make_a_question_yes_no():
    from rag.questions import is_yes_no

    assert not is_yes_no('By how much does the paper "TL;DR: Too Long, Do Re-weighting" increase output tokens?')
    assert is_yes_no('Does the paper "TL;DR: Too Long, Do Re-weighting" reduce output tokens?')


def test_a_number_inside_a_name_is_not_a_change_and_the_asked_quantity_may_say_where():
    # "C4" after "improves" is a dataset's name, not 4 for an increase; "the training cost" is the
    # asked quantity, which the question places "of T5 at 500M parameters"
    source = ("At a 500M parameter size, Primer improves the original T5 architecture on C4 auto-regressive "
              "language modeling, reducing the training cost by 4X.")
    asked = "By how much does Primer reduce the training cost of T5 at 500M parameters?"
    assert wrong_relation(asked, "4X", source) == ""
    assert wrong_relation("By how much does Primer reduce accuracy?", "4X", source).startswith("the source gives 4")
