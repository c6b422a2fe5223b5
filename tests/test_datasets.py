"""Unit tests (no model) of which-datasets answers: the names a source evaluates on, copied."""

import json

from rag import datasets, questions
from rag.qa import DATASETS_NAMED, check_answer
from rag.retrieval import Hit
from rag.settings import Settings
from rag.sources import Sources

ABSTRACT = ("Exploration in environments with sparse rewards is a key challenge for reinforcement learning. "
            "We learn to control visual abstractions with a Deep Q-Network (DQN). "
            "Our agent outperforms the baselines on several Atari games and on Montezuma's Revenge.")
TITLE = "Learning to Control Visual Abstractions for Structured Exploration in Deep Reinforcement Learning"
QUESTION = f'Which datasets is the paper "{TITLE}" evaluated on?'


def test_only_names_in_a_datasets_place_are_taken_and_the_question_s_words_are_left_out():
    assert datasets.evaluated_on(ABSTRACT, f"{QUESTION} {TITLE}") == ["Atari", "Montezuma's Revenge"]
    listing = "We report results on MNIST, CIFAR-10 and SVHN with ResNet-18 trained in 8-bit."
    assert datasets.evaluated_on(listing, "") == ["MNIST", "CIFAR-10", "SVHN"]
    assert datasets.evaluated_on("The WMT benchmark is hard. We use SGD.", "") == ["WMT"]
    assert datasets.evaluated_on("Reinforcement learning is hard. It is slow.", "") == []


def test_which_questions_ask_for_datasets():
    assert questions.asks_datasets(QUESTION)
    assert questions.asks_datasets("What benchmarks does LAMB report?")
    assert not questions.asks_datasets("Which method does LAMB outperform?")


def answer(text: str):
    hit = Hit("p1", TITLE, ABSTRACT, 0.03, dense_similarity=0.6)
    raw = json.dumps({"answer": text, "citations": [1]})
    return check_answer(QUESTION, raw, Sources((hit,), (ABSTRACT,), ()), Settings())


def test_an_answer_naming_no_dataset_becomes_the_datasets_its_source_names():
    wrong = answer("Deep Reinforcement Learning")
    assert not wrong.abstained and wrong.reason == DATASETS_NAMED
    last = "Our agent outperforms the baselines on several Atari games and on Montezuma's Revenge."
    assert wrong.text == f"Atari and Montezuma's Revenge: {last}"
    assert wrong.citations[0].sentence == last
    kept = answer("Atari")  # names one already: the model's answer stands
    assert kept.text.startswith("Atari: ") and kept.reason == ""


def test_a_name_of_several_words_spaced_unlike_its_listing_still_finds_its_sentence():
    source = "We study recurrent language models for text. Results are reported on the Penn  Treebank."
    hit = Hit("p2", "A study of models", source, 0.03, dense_similarity=0.6)
    question = 'Which datasets is the paper "A study of models" evaluated on?'
    raw = json.dumps({"answer": "recurrent language models for text", "citations": [1]})
    outcome = check_answer(question, raw, Sources((hit,), (source,), ()), Settings())
    assert outcome.text == "Penn Treebank: Results are reported on the Penn  Treebank."
