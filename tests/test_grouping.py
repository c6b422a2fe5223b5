"""Topic headings for a long digest (no model)."""

import numpy as np

from rag.grouping import cluster, group_count, topic_name, topics


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_separate_directions_become_separate_groups_whatever_the_order():
    vectors = unit([[1, 0.1, 0], [0, 1, 0.1], [1, 0, 0.1], [0.1, 1, 0], [0.9, 0.1, 0.1], [0, 0.9, 0.2]])
    labels = cluster(vectors, 2)
    assert labels[0] == labels[2] == labels[4] != labels[1] == labels[3] == labels[5]
    assert cluster(vectors, 2) == labels  # the same papers always get the same groups


def test_group_count_grows_with_the_digest_but_stays_readable():
    assert [group_count(n) for n in (9, 21, 40, 200)] == [2, 3, 6, 6]


def test_a_group_is_named_by_words_its_papers_share_and_the_others_do_not():
    fuzzing = ["Fuzzing deep learning compilers", "Coverage-guided fuzzing of tensor compilers"]
    vision = ["Open-vocabulary object detection", "Mobile object detection architectures"]
    assert topic_name(fuzzing, vision).split(", ")[:2] == ["compilers", "fuzzing"]
    assert topic_name(vision, fuzzing).startswith("detection")
    assert topic_name(["Alpha beta", "Gamma delta"], fuzzing) == ""  # nothing shared: no name


def test_topics_cover_every_paper_once_largest_group_first():
    titles = ["Fuzzing DL compilers", "Fuzzing tensor compilers", "Compilers fuzzing at scale",
              "Object detection on mobile", "Mobile object detection search"]
    vectors = unit([[1, 0], [0.9, 0.1], [1, 0.2], [0, 1], [0.1, 1]])
    found = topics([f"p{i}" for i in range(5)], titles, [""] * 5, vectors)
    assert [t.paper_ids for t in found] == [["p0", "p1", "p2"], ["p3", "p4"]]
    assert "fuzzing" in found[0].name and "detection" in found[1].name
