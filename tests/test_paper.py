import pytest

from rag import InputError
from rag.paper import arxiv_id, make_paper, paper_from_dict

ABSTRACT = "An abstract long enough to be one."


@pytest.mark.parametrize("text,expected", [
    ("https://arxiv.org/abs/2206.08657v3", ("2206.08657", 3)),
    ("arXiv:1904.00962", ("1904.00962", 0)),
    ("2103.12345v2", ("2103.12345", 2)),
    ("http://arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
    ("10.1145/3368089.3409718", None),
])
def test_arxiv_ids(text, expected):
    assert arxiv_id(text) == expected


def test_id_precedence_arxiv_then_doi_then_title():
    assert make_paper("T", ABSTRACT, url="https://arxiv.org/abs/2206.08657v2", id_hints=("10.1/x",)).id \
        == "arxiv:2206.08657"
    assert make_paper("T", ABSTRACT, id_hints=("", "https://doi.org/10.1000/X.Y")).id == "doi:10.1000/x.y"
    a, b = make_paper("Deep  Learning!", ABSTRACT), make_paper("deep learning", ABSTRACT)
    assert a.id == b.id and a.id.startswith("title:")


def test_content_hash_tracks_abstract():
    assert make_paper("T", ABSTRACT).content_hash != make_paper("T", ABSTRACT + " More.").content_hash
    assert make_paper("T", ABSTRACT).content_hash == make_paper(" T ", ABSTRACT + "  ").content_hash


def test_missing_fields_name_the_record():
    with pytest.raises(InputError, match="missing title") as info:
        paper_from_dict({"abstract": ABSTRACT}, path="f.json", record="item 3")
    assert str(info.value).startswith("f.json: item 3")
    with pytest.raises(InputError, match="expected an object"):
        paper_from_dict(["not", "a", "dict"], path="f.json", record="item 1")
