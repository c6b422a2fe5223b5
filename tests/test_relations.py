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
    # A source that never puts the two in one sentence says nothing either way: the rule is silent.
    assert not wrong_relation("Which method does PointMLP outperform?", "x", "PointMLP is a baseline.")


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
