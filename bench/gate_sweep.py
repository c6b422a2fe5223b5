"""Sweep the answerability gate alone (no model) over PubMedQA dev with half the abstracts indexed.

    python bench/gate_sweep.py   # writes /tmp/calib.json: (present, similarity, chunk coverage, abstract coverage, missing names)
"""
import tempfile, numpy as np
from pathlib import Path
from rag import Library
from rag.evaluation import load_pubmedqa
from rag.grounding import content_terms, specific_terms, mentions
papers, items = load_pubmedqa('/work/shared/eval/pubmedqa_dev.jsonl')
present = {p.id for p in papers[::2]}
lib = Library(Path(tempfile.mkdtemp())/'s'); lib.add(papers[::2])
rows=[]
for it in items:
    hits = lib.search(it.question, k=3)
    text = "\n".join(h.text for h in hits)
    full = "\n".join(lib.get(h.paper_id).abstract for h in hits)
    terms = content_terms(it.question)
    cov = len(terms & content_terms(text))/len(terms) if terms else 0
    covf = len(terms & content_terms(full))/len(terms) if terms else 0
    miss = sum(1 for t in specific_terms(it.question) if not mentions(full, t))
    sim = max([h.dense_similarity or 0 for h in hits] or [0])
    rows.append((it.paper_id in present, sim, cov, covf, miss))
import json; json.dump(rows, open('/tmp/calib.json','w'))
