"""Hostile inputs and kills: does the store stay whole, and does every bad input get our message?

    python bench/reliability.py [--kills 11] [--papers 300]

1. Hostile files, each ingested with and without ``--skip-bad`` through ``Library.ingest``:
   mis-encoded, empty in every format, malformed, mistyped fields, huge, deeply nested, NUL
   bytes, duplicate ids, the same paper under two ids. Counted: inputs tried, inputs that raised
   anything but our ``InputError`` (a traceback to the user), good records lost next to bad ones.
2. Kills: ``rag ingest`` of PubMedQA abstracts killed with SIGKILL at a random moment, again and
   again, then run to the end. Counted: kills, papers missing or stored twice afterwards, and
   whether the catalogue and the vectors agree (every row's chunks present, no orphan chunks).
"""

import argparse
import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import InputError, Library  # noqa: E402

GOOD = [{"id": f"good-{i}", "title": f"Sparse gossip averaging, part {i}",
         "abstract": f"We study sparse gossip averaging for decentralised ranking, variant {i}."} for i in range(4)]
ABSTRACT = "We propose a clustering decoder for panoptic segmentation and reach 58.0% PQ on COCO val."


def jsonl(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def hostile_files() -> dict[str, bytes]:
    """File name -> bytes. Every file also holds the four good records where its format allows."""
    good = jsonl(GOOD)
    files = {
        "latin1.jsonl": good + '{"id": "x", "title": "Résumé", "abstract": "Café au lait."}\n'.encode("latin-1"),
        "utf16.jsonl": good.decode().encode("utf-16"),
        "binary.jsonl": os.urandom(4096),
        "malformed-line.jsonl": good + b"{not json\n",
        "authors-int.jsonl": good + jsonl([{**GOOD[0], "id": "a", "authors": 5}]),
        "title-object.jsonl": good + jsonl([{**GOOD[0], "id": "b", "title": {"t": 1}}]),
        "abstract-list.jsonl": good + jsonl([{**GOOD[0], "id": "c", "abstract": ["x"]}]),
        "huge-abstract.jsonl": good + jsonl([{"id": "h", "title": "Huge", "abstract": "word " * 1_000_000}]),
        "huge-title.jsonl": good + jsonl([{"id": "t", "title": "T" * 5000, "abstract": ABSTRACT}]),
        "nul.jsonl": good + jsonl([{"id": "n", "title": "Nul\u0000 title", "abstract": ABSTRACT}]),
        "duplicate-ids.jsonl": good + jsonl([{**GOOD[0], "abstract": "Another abstract entirely."}]),
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "not-a-list.json": b'"just a string"',
        "missing-abstract.json": json.dumps(GOOD + [{"id": "m", "title": "No abstract"}]).encode(),
        "no-header.csv": b"a,b\n1,2\n",
        "nul.csv": b"title,abstract\nNul\x00 title," + ABSTRACT.encode() + b"\n",
        "broken.bib": b"@article{a, title={T}, abstract={An abstract here.}\n@article{b title={Broken}\n",
        "broken.xml": b"<feed><entry><title>x</title>",
        "no-entries.xml": b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>',
        "chrome-only.txt": b"Trending papers\n\nNov 2026\n",
        "same-paper-two-ids.bib": ("@article{k, title={Clustering decoders}, doi={10.1000/cd.1}, abstract={"
                                   + ABSTRACT + "}}\n").encode(),
        "same-paper-two-ids.xml": ('<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/'
                                   '2301.00001v1</id><title>Clustering decoders</title><summary>' + ABSTRACT
                                   + "</summary></entry></feed>").encode(),
    }
    for suffix in ("jsonl", "json", "csv", "tsv", "bib", "xml", "txt", "md"):
        files[f"empty.{suffix}"] = b""
    return files


def hostile_inputs(folder: Path) -> dict:
    tried = tracebacks = lost = 0
    failures = []
    for name, data in hostile_files().items():
        path = folder / name
        path.write_bytes(data)
        for skip_bad in (False, True):
            library = Library(Path(tempfile.mkdtemp(prefix="rag-rel-")) / "store")
            tried += 1
            try:
                summary = library.ingest([path], skip_bad=skip_bad)
                whole_file_bad = name.startswith(("utf16", "binary", "empty", "latin1"))
                if skip_bad and name.endswith(".jsonl") and not whole_file_bad:
                    lost += max(0, len(GOOD) - summary.added - summary.unchanged)
            except InputError:
                pass
            except Exception as exc:  # anything else reaches the user as a traceback
                tracebacks += 1
                failures.append(f"{name} (skip_bad={skip_bad}): {type(exc).__name__}: {exc}")
            library.close()
    return {"inputs_tried": tried, "tracebacks": tracebacks, "good_records_lost": lost, "failures": failures}


def consistent(store: Path) -> dict:
    library = Library(store)
    audit = library.audit()
    library.close()
    return dataclasses.asdict(audit)


def kills(count: int, papers: int, seed: int = 0) -> dict:
    """Every round rewrites all abstracts (a revision mark), so each ingest has the whole store to
    update (delete old chunks, write new) and is killed somewhere inside that; the last round
    runs to the end. Afterwards every paper must hold the last revision, whole, exactly once."""
    rows = [json.loads(line) for line in open(ROOT.parent / "shared" / "eval" / "pubmedqa_dev.jsonl")][:papers]
    folder = Path(tempfile.mkdtemp(prefix="rag-kill-"))
    store, rng, done = folder / "store", random.Random(seed), 0

    def revision(number: int) -> Path:
        data = folder / f"papers-{number}.jsonl"
        data.write_text("".join(json.dumps({"id": f"pmid:{r['pmid']}", "title": f"PubMed {r['pmid']}",
                                            "abstract": f"{r['abstract']} (Revision {number}.)"}) + "\n"
                                for r in rows))
        return data

    def command(data: Path, target: Path = store) -> list[str]:
        return [sys.executable, "-m", "rag", "--store", str(target), "ingest", str(data)]

    # How long a whole ingest takes on this machine now, so the kills land all through one.
    started = time.perf_counter()
    subprocess.run(command(revision(0), folder / "timing-store"), cwd=ROOT, check=True, capture_output=True)
    whole = time.perf_counter() - started
    subprocess.run(command(revision(0)), cwd=ROOT, check=True, capture_output=True)
    for number in range(1, count + 1):
        process = subprocess.Popen(command(revision(number)), cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.15, 0.9) * whole)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            done += 1
        process.wait()
    final = subprocess.run(command(revision(count + 1)), cwd=ROOT, capture_output=True, text=True)
    state = consistent(store)
    library = Library(store)
    stale = sum(not p.abstract.endswith(f"(Revision {count + 1}.)") for p in library.papers())
    library.close()
    return {"kills": done, "whole_ingest_s": round(whole, 1), "final_ingest": final.stdout.strip(), **state,
            "papers_missing": papers - state["papers"], "papers_not_at_last_revision": stale}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=11)
    parser.add_argument("--papers", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rag-hostile-") as tmp:
        report = {"hostile_inputs": hostile_inputs(Path(tmp))}
    report["kills"] = kills(args.kills, args.papers)
    return report


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
