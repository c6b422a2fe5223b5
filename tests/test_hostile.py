"""Hostile files through the real loaders, store and CLI: mis-encoded, mistyped, huge, nested."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from rag import InputError, Paper
from rag.loaders import load_path

GOOD = [{"id": f"good-{i}", "title": f"Sparse gossip averaging, part {i}",
         "abstract": f"We study sparse gossip averaging for decentralised ranking, variant {i}."} for i in range(6)]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_an_undecodable_file_is_skipped_with_its_likely_encoding(tmp_path, library):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "good.jsonl", GOOD)
    (folder / "latin1.jsonl").write_bytes(json.dumps({"id": "x", "title": "Résumé", "abstract": "Café."})
                                          .encode("utf-8").decode("unicode_escape").encode("latin-1"))
    (folder / "utf16.jsonl").write_bytes(json.dumps(GOOD[0]).encode("utf-16"))
    with pytest.raises(InputError, match="Latin-1"):
        library.ingest([folder])
    assert library.stats().papers == 0  # nothing written before the error
    summary = library.ingest([folder], skip_bad=True)
    assert summary.added == 6
    reasons = " ".join(str(p) for p in summary.skipped)
    assert "latin1.jsonl" in reasons and "Latin-1" in reasons
    assert "utf16.jsonl" in reasons and "UTF-16" in reasons


@pytest.mark.parametrize("field, value, message", [
    ("authors", 5, "field 'authors' must be a list"),
    ("authors", [["nested"]], "field 'authors' must hold names"),
    ("title", {"text": "x"}, "field 'title' must be text"),
    ("abstract", ["a", "b"], "field 'abstract' must be text"),
    ("published", True, "field 'published' must be text"),
])
def test_a_mistyped_field_names_file_record_and_field(tmp_path, field, value, message):
    rows = GOOD[:2] + [{**GOOD[2], field: value}]
    path = write_jsonl(tmp_path / "typed.jsonl", rows)
    with pytest.raises(InputError, match=message) as caught:
        load_path(path)
    assert "typed.jsonl: line 3" in str(caught.value)
    loaded = load_path(path, skip_bad=True)
    assert len(loaded.papers) == 2 and len(loaded.problems) == 1


def test_deeply_nested_json_is_a_bad_file_not_a_crash(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        load_path(path)
    assert load_path(path, skip_bad=True).problems


def test_a_huge_abstract_is_a_bad_record_and_its_good_neighbours_are_stored(tmp_path, library):
    rows = GOOD[:3] + [{"id": "huge", "title": "A pasted book", "abstract": "word " * 1_000_000}]
    path = write_jsonl(tmp_path / "huge.jsonl", rows)
    with pytest.raises(InputError, match="over the limit"):
        library.ingest([path])
    summary = library.ingest([path], skip_bad=True)
    assert summary.added == 3 and "huge.jsonl: line 4" in str(summary.skipped[0])
    with pytest.raises(InputError, match="title is"):
        library.add([{"id": "t", "title": "T" * 600, "abstract": "An abstract."}])


def test_writes_are_split_by_the_stores_max_batch(library, monkeypatch):
    store = library.store
    monkeypatch.setattr(store, "_max_batch", lambda: 3)
    calls = []
    real = store._collection.upsert
    monkeypatch.setattr(store._collection, "upsert", lambda **kw: (calls.append(len(kw["ids"])), real(**kw))[1])
    library.add([Paper(id=f"p{i}", title=f"Title {i}", abstract=f"Abstract number {i} about ranking.")
                 for i in range(8)])
    assert calls and max(calls) <= 3 and sum(calls) >= 8
    assert library.stats().papers == 8


def test_nul_bytes_are_dropped_in_every_format(tmp_path):
    path = write_jsonl(tmp_path / "nul.jsonl", [{**GOOD[0], "title": "Sparse\u0000 gossip"}])
    assert "\x00" not in load_path(path).papers[0].title
    csv = tmp_path / "nul.csv"
    csv.write_bytes(b"title,abstract\nSparse\x00 gossip,An abstract about gossip.\n")
    assert "\x00" not in load_path(csv).papers[0].title


def test_cli_skips_an_undecodable_file_and_exits_zero(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "good.jsonl", GOOD)
    (folder / "bad.jsonl").write_bytes(b'{"id": "x", "title": "R\xe9sum\xe9", "abstract": "Caf\xe9."}\n')
    env_store = str(tmp_path / "store")
    run = lambda *a: subprocess.run([sys.executable, "-m", "rag", "--store", env_store, *a],
                                    capture_output=True, text=True, cwd=ROOT, timeout=300)
    failed = run("ingest", str(folder))
    assert failed.returncode == 1 and "bad.jsonl" in failed.stderr and "Traceback" not in failed.stderr
    done = run("ingest", str(folder), "--skip-bad")
    assert done.returncode == 0 and "added 6" in done.stdout and "bad.jsonl" in done.stdout + done.stderr


def test_renaming_a_file_records_the_new_source_without_re_embedding(tmp_path, library, monkeypatch):
    first = write_jsonl(tmp_path / "export.jsonl", GOOD)
    assert library.ingest([first]).added == 6
    renamed = first.rename(tmp_path / "renamed.jsonl")
    embedded = []
    real_embed = library.embedder.embed
    monkeypatch.setattr(library.embedder, "embed", lambda texts: (embedded.append(len(texts)), real_embed(texts))[1])
    summary = library.ingest([renamed])
    assert summary.relabelled == 6 and summary.updated == 0 and summary.added == 0 and not embedded
    assert {p.source for p in library.papers()} == {"renamed.jsonl"}
    assert library.search("sparse gossip averaging", source="renamed.jsonl")
    chunks = library.store._collection.get(include=["metadatas"])["metadatas"]
    assert {m["source"] for m in chunks} == {"renamed.jsonl"} and all("position" in m for m in chunks)
    assert library.ingest([renamed]).unchanged == 6


def test_duplicate_ids_in_one_file_are_reported(tmp_path):
    path = write_jsonl(tmp_path / "dupes.jsonl", [GOOD[0], GOOD[1], {**GOOD[0], "abstract": "Another text."}])
    with pytest.raises(InputError, match=r"dupes.jsonl: line 3: duplicate id 'good-0', already given by line 1"):
        load_path(path)
    loaded = load_path(path, skip_bad=True)
    assert [p.id for p in loaded.papers] == ["good-0", "good-1"] and len(loaded.problems) == 1


ABSTRACT = ("We propose kMaX-DeepLab, which reformulates cross-attention as k-means clustering of pixels, "
            "and reach 58.0% PQ on COCO val with a simple mask transformer.")


def test_the_same_paper_under_two_ids_is_stored_once_and_found_by_either(tmp_path, library):
    arxiv = tmp_path / "export.xml"
    arxiv.write_text(f"""<feed xmlns="http://www.w3.org/2005/Atom"><entry>
<id>http://arxiv.org/abs/2207.04044v1</id><title>kMaX-DeepLab: k-means Mask Transformer</title>
<summary>{ABSTRACT}</summary><published>2022-07-08T00:00:00Z</published></entry></feed>""")
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{yu2022, title={{kMaX-DeepLab}: k-means Mask Transformer}, doi={10.1007/kmax.1},"
                   f" abstract={{{ABSTRACT}}}, year={{2022}}}}\n")
    summary = library.ingest([arxiv, bib])
    assert summary.added == 1 and summary.merged == [("doi:10.1007/kmax.1", "arxiv:2207.04044")]
    assert "merged doi:10.1007/kmax.1 into arxiv:2207.04044" in summary.report()
    assert len(library.search("k-means mask transformer", k=5)) == 1
    assert library.get("doi:10.1007/kmax.1").id == "arxiv:2207.04044"
    again = library.ingest([bib])  # later, the BibTeX file alone: still one paper
    assert again.added == 0 and again.merged and library.stats().papers == 1


@pytest.mark.parametrize("name, content", [("empty.jsonl", ""), ("empty.json", "[]"), ("empty.csv", "title,abstract\n"),
                                           ("empty.bib", ""), ("empty.txt", "\n\n"), ("empty.xml", "<feed/>")])
def test_a_file_without_records_is_the_same_bad_record_in_every_format(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=name):
        load_path(path)
    assert len(load_path(path, skip_bad=True).problems) == 1


def test_bibtex_errors_give_the_parsers_reason_and_print_nothing(tmp_path, capfd):
    path = tmp_path / "bad.bib"
    path.write_text("@article{a, title={T}, abstract={An abstract here.}\n@article{b title={Broken}\n")
    problems = load_path(path, skip_bad=True).problems
    assert problems and all("malformed BibTeX entry (" in str(p) and "()" not in str(p) for p in problems)
    assert "Expected comma after entry key" in " ".join(str(p) for p in problems)
    assert capfd.readouterr().err == ""


def test_app_refuses_an_empty_password_and_accepts_what_the_loaders_read():
    from rag import app as app_module

    with pytest.raises(SystemExit, match="non-empty"):
        app_module.parse_auth("user:")
    assert app_module.parse_auth("user:secret") == ("user", "secret") and app_module.parse_auth("") is None
    assert ".md" in app_module.UPLOAD_TYPES and ".bib" in app_module.UPLOAD_TYPES


def test_the_app_never_shows_raw_exception_text(library, monkeypatch):
    import gradio as gr

    from rag import app as app_module

    handlers = app_module.App(library)
    monkeypatch.setattr(library, "ingest", lambda *a, **k: (_ for _ in ()).throw(TypeError("'int' object is not iterable")))
    with pytest.raises(gr.Error) as caught:
        handlers.ingest(["/tmp/some-upload.jsonl"], True)
    assert "not iterable" not in str(caught.value) and "TypeError" in str(caught.value)
    monkeypatch.setattr(library, "ingest", lambda *a, **k: (_ for _ in ()).throw(InputError("bad record", "/tmp/x/up.jsonl", "line 2")))
    with pytest.raises(gr.Error, match="up.jsonl: line 2: bad record"):
        handlers.ingest(["/tmp/x/up.jsonl"], False)


def test_uploads_are_removed_after_ingest(tmp_path, library):
    from rag import app as app_module

    upload = write_jsonl(tmp_path / "upload.jsonl", GOOD[:1])
    report = app_module.App(library).ingest([str(upload)], False)
    assert "Added 1" in report and not upload.exists()
