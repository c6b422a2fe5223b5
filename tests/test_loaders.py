import json

import pytest

from rag import InputError, load_path
from rag.loaders import detect_format

ABSTRACT = ("We study how retrieval helps small language models answer questions about papers. "
            "Our method fuses dense vectors with BM25 scores and improves recall on three benchmarks "
            "while staying fast enough to run on a laptop CPU without any accelerator at all.")

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>arXiv Query</title>
  <entry>
    <id>http://arxiv.org/abs/2206.08657v2</id>
    <published>2022-06-17T09:00:00Z</published>
    <title>kMaX-DeepLab: k-means Mask
      Transformer</title>
    <summary>  {abstract}  </summary>
    <author><name>Qihang Yu</name></author>
    <author><name>Huiyu Wang</name></author>
    <link href="http://arxiv.org/abs/2206.08657v2" rel="alternate" type="text/html"/>
  </entry>
  <entry>
    <id>http://arxiv.org/abs/1904.00962v5</id>
    <published>2019-04-01T00:00:00Z</published>
    <title>Large Batch Optimization for Deep Learning</title>
    <summary>{abstract}</summary>
    <arxiv:doi>10.1000/lamb</arxiv:doi>
  </entry>
</feed>""".replace("{abstract}", ABSTRACT)

BIB = """@article{yu2022kmax,
  title = {{k}MaX-DeepLab: k-means Mask Transformer},
  author = {Yu, Qihang and Wang, Huiyu},
  year = {2022},
  eprint = {2206.08657},
  abstract = {ABSTRACT}
}
@inproceedings{doi2020,
  title = {A paper with a DOI},
  doi = {10.1145/3368089.3409718},
  year = {2020},
  abstract = {ABSTRACT}
}
""".replace("ABSTRACT", ABSTRACT)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_digest_page_seeds(tmp_path):
    from conftest import SEEDS

    result = load_path(SEEDS / "digest-2023-03-11.txt")
    titles = [p.title for p in result.papers]
    assert len(titles) == 21 and result.problems == []
    assert "kMaX-DeepLab: k-means Mask Transformer" in titles
    assert all(p.id.startswith("title:") and len(p.abstract) > 200 for p in result.papers)


def test_seed_jsonl_matches_digest():
    from conftest import SEEDS

    digest = load_path(SEEDS / "digest-2023-03-11.txt").papers
    jsonl = load_path(SEEDS / "papers.jsonl").papers
    assert [p.content_hash for p in digest] == [p.content_hash for p in jsonl]


def test_jsonl_good_and_bad_records(tmp_path):
    good = {"title": "Paper one", "abstract": ABSTRACT, "doi": "10.1000/ABC"}
    path = write(tmp_path, "papers.jsonl", "\n".join([
        json.dumps(good), "{not json", json.dumps({"title": "No abstract"}), ""]))
    with pytest.raises(InputError) as info:
        load_path(path)
    assert "papers.jsonl" in str(info.value) and "line 2" in str(info.value)
    result = load_path(path, skip_bad=True)
    assert [p.id for p in result.papers] == ["doi:10.1000/abc"]
    assert [(e.record, "abstract" in e.reason) for e in result.problems] == [("line 2", False), ("line 3", True)]


def test_json_list_and_wrapper(tmp_path):
    items = [{"title": "A", "abstract": ABSTRACT, "authors": ["X", {"name": "Y"}]}]
    assert load_path(write(tmp_path, "a.json", json.dumps(items))).papers[0].authors == ("X", "Y")
    assert len(load_path(write(tmp_path, "b.json", json.dumps({"papers": items}))).papers) == 1
    with pytest.raises(InputError, match="malformed JSON"):
        load_path(write(tmp_path, "c.json", '[{"title": '))


def test_csv(tmp_path):
    path = write(tmp_path, "p.csv", f'title,abstract,url\nGood one,"{ABSTRACT}",https://x.org/1\nMissing,,\n')
    result = load_path(path, skip_bad=True)
    assert [p.title for p in result.papers] == ["Good one"]
    assert result.problems[0].record == "row 3" and "abstract" in str(result.problems[0])
    with pytest.raises(InputError, match="header"):
        load_path(write(tmp_path, "q.csv", "name,text\na,b\n"))


def test_bibtex(tmp_path):
    papers = load_path(write(tmp_path, "refs.bib", BIB)).papers
    assert [p.id for p in papers] == ["arxiv:2206.08657", "doi:10.1145/3368089.3409718"]
    assert papers[0].title == "kMaX-DeepLab: k-means Mask Transformer"
    assert papers[0].authors == ("Yu, Qihang", "Wang, Huiyu") and papers[0].year == 2022


def test_bibtex_bad_entries(tmp_path):
    bad = BIB + "@article{broken,\n  title = {Unclosed\n" + "\n@article{noabs, title={Only a title}}\n"
    path = write(tmp_path, "bad.bib", bad)
    with pytest.raises(InputError):
        load_path(path)
    result = load_path(path, skip_bad=True)
    assert len(result.papers) == 2 and result.problems
    assert all("bad.bib" in str(problem) for problem in result.problems)


def test_arxiv_atom(tmp_path):
    papers = load_path(write(tmp_path, "query.xml", ATOM)).papers
    assert [(p.id, p.version) for p in papers] == [("arxiv:2206.08657", 2), ("arxiv:1904.00962", 5)]
    assert papers[0].title == "kMaX-DeepLab: k-means Mask Transformer"
    assert papers[0].authors == ("Qihang Yu", "Huiyu Wang") and papers[0].published == "2022-06-17"


def test_malformed_xml_names_file_and_line(tmp_path):
    with pytest.raises(InputError) as info:
        load_path(write(tmp_path, "broken.xml", ATOM[:400]))
    assert "broken.xml" in str(info.value) and "malformed XML" in str(info.value)


def test_wrong_encoding(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps({"title": "Caf\u00e9", "abstract": ABSTRACT}, ensure_ascii=False).encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as info:
        load_path(path)
    assert "latin1.jsonl" in str(info.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_path(tmp_path / "missing.jsonl")


def test_digest_title_without_abstract(tmp_path):
    text = f"Header\n\nFirst paper\n\n{ABSTRACT}\n\nOrphan title\n\nSecond paper\n\n{ABSTRACT}\n"
    result = load_path(write(tmp_path, "digest.txt", text), skip_bad=True)
    assert [p.title for p in result.papers] == ["First paper", "Second paper"]
    assert len(result.problems) == 1 and "Orphan title" in str(result.problems[0])


@pytest.mark.parametrize("text,expected", [
    ('{"a": 1}\n{"b": 2}\n', "jsonl"), ("[{}]", "json"), ("<feed/>", "atom"),
    ("@article{x, title={t}}", "bibtex"), ("title,abstract\n", "csv"), ("Title\n\nText", "digest"),
])
def test_format_sniffed_without_extension(tmp_path, text, expected):
    assert detect_format(tmp_path / "upload", text) == expected


def test_directory_loads_every_supported_file(tmp_path):
    write(tmp_path, "a.jsonl", json.dumps({"title": "A", "abstract": ABSTRACT}))
    write(tmp_path, "b.xml", ATOM)
    write(tmp_path, "notes.pdf", "ignored")
    assert len(load_path(tmp_path).papers) == 3
