"""Which papers a question names: quoted titles and titles' lead names."""

from rag.naming import lead_name, names_paper, quoted_titles, search_words

DOCTER = "DocTer: Documentation Guided Fuzzing for Testing Deep Learning API Functions"
BREGMAN = "Prototypical Bregman Networks"


def test_a_quoted_title_names_its_paper_in_any_quotes_and_case():
    assert names_paper('Which datasets is the paper "Prototypical Bregman Networks" evaluated on?', BREGMAN)
    assert names_paper("What does “prototypical bregman networks” report?", BREGMAN)
    assert quoted_titles('Is "Prototypical Bregman Networks" new?') == ["prototypical bregman networks"]


def test_a_quoted_title_without_its_subtitle_names_it_but_a_quoted_word_pair_inside_does_not():
    assert names_paper('What does "Documentation Guided Fuzzing" find?', DOCTER)
    assert not names_paper('Which paper does "guided fuzzing" well?', DOCTER)
    assert not names_paper('Which datasets is the paper "Prototypical Networks" evaluated on?', BREGMAN)


def test_a_lead_name_written_like_a_name_names_its_paper():
    assert lead_name(DOCTER) == "DocTer"
    assert lead_name("Y-net: A Physics-constrained Approach") == "Y-net"
    assert lead_name("Frequency Principle: Fourier Analysis Sheds Light") == "Frequency Principle"
    assert names_paper("How does DocTer extract input constraints?", DOCTER)
    assert not names_paper("How does DocTerX extract input constraints?", DOCTER)
    assert not names_paper("How does docter extract input constraints?", DOCTER)


def test_an_ordinary_word_before_a_colon_is_a_topic_not_a_name():
    assert lead_name("Aripiprazole: a new risk factor for pathological gambling?") is None
    assert lead_name("Attention: a survey") is None
    assert lead_name("A title with no colon") is None
    assert not names_paper("Is Aripiprazole a risk factor?", "Aripiprazole: a new risk factor")


def test_a_question_asking_for_papers_does_not_name_the_one_it_mentions():
    bert = "BERT: Pre-training of Deep Bidirectional Transformers"
    assert names_paper("What does BERT pre-train on?", bert)
    assert not names_paper("Which papers improve on BERT?", bert)
    assert not names_paper("What work compares against BERT?", bert)


def test_search_words_hold_the_quoted_and_name_like_words_without_stopwords():
    words = search_words('Which datasets is the paper "Prototypical Bregman Networks" evaluated on, vs DocTer?')
    assert {"prototypical", "bregman", "networks", "docter"} <= set(words)
    assert "the" not in words


def test_a_title_or_subtitle_written_out_unquoted_names_its_paper_unless_many_are_asked_for():
    rewiring = "Deep Rewiring: Training very sparse deep networks"
    assert names_paper("Which paper proposes training very sparse deep networks?", rewiring)
    assert names_paper("What does deep rewiring training very sparse deep networks reach?", rewiring)
    assert not names_paper("Which papers study training very sparse deep networks?", rewiring)
    # Part of a subtitle is a topic, not the paper.
    assert not names_paper("Which paper proposes sparse deep networks?", rewiring)
    # A short subtitle is too common a phrase to pin one paper.
    assert not names_paper("Which paper uses deep networks?", "Rewire: Deep Networks")


def test_a_code_identifier_before_a_colon_is_a_name():
    assert names_paper("What accuracy does simple_rl reach on Cityscapes?",
                       "simple_rl: Reproducible Reinforcement Learning in Python")
