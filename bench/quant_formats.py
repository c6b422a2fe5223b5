"""How fast does this CPU evaluate a prompt in each quantisation format? (bare llama.cpp, issue 13)

    python bench/quant_formats.py [--model NAME] [--formats Q4_K_M,Q4_0,IQ4_NL,Q8_0] [--runs 3]

The shipped Q4_K_M file is converted once into each format with llama.cpp's quantize API
(``allow_requantize``: a Q4_0 made from Q4_K_M is a second rounding, so its quality must be
measured separately before it could ship) into a temporary directory. Each file is then loaded
alone with the pipeline's settings (n_ctx 4096, n_batch 512, physical cores) and given the same
prompt: the seeds' first three abstracts as a source block and a question (the token count is reported).
Reported per format: file size, median prompt evaluation time and tokens/s over ``--runs`` cold
evaluations (the KV cache reset each time), and generation tokens/s over 32 tokens; with
``--flash-attn`` each format again with llama.cpp's flash attention.
"""

import argparse
import ctypes
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import llama_cpp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.llm.quantize import physical_cores  # noqa: E402
from rag.loaders import load_path  # noqa: E402
from rag.models import resolve  # noqa: E402
from rag.settings import Settings  # noqa: E402


def converted(source: Path, fmt: str, directory: Path) -> Path:
    if fmt == "Q4_K_M":
        return source
    target = directory / f"{source.stem}.{fmt.lower()}.gguf"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{fmt}")
    params.allow_requantize = True
    params.nthread = physical_cores()
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if status != 0:
        raise RuntimeError(f"quantising to {fmt} failed ({status})")
    return target


def prompt_text() -> str:
    papers = load_path(ROOT / "seeds" / "digest-2023-03-11.txt").papers[:3]
    sources = "\n\n".join(f"[{n}] {p.title}\n{p.abstract}" for n, p in enumerate(papers, 1))
    return f"<|im_start|>user\nSources:\n{sources}\n\nQuestion: Which paper uses k-means cross-attention?<|im_end|>\n" \
           "<|im_start|>assistant\n"


def measure(path: Path, prompt: str, runs: int, **options) -> dict:
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=4096, n_batch=512, n_threads=physical_cores(), verbose=False,
                          **options)
    tokens = llm.tokenize(prompt.encode())
    evals = []
    for _ in range(runs):
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        evals.append(time.perf_counter() - started)
    # The prompt is in the KV cache now (llama-cpp-python reuses the matching prefix): time the
    # 32 tokens after the first one, so only generation is measured.
    generated, started = 0, None
    for _ in llm.generate(tokens, temp=0.0):
        generated += 1
        started = started or time.perf_counter()
        if generated == 33:
            break
    generation = time.perf_counter() - started
    prompt_s = statistics.median(evals)
    return {"file_mb": round(path.stat().st_size / 2**20), "prompt_tokens": len(tokens),
            "prompt_eval_s": [round(x, 3) for x in evals], "median_prompt_eval_s": round(prompt_s, 3),
            "prompt_tokens_per_s": round(len(tokens) / prompt_s), "generation_tokens_per_s": round(32 / generation, 1)}


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--formats", default="Q4_K_M,Q4_0,IQ4_NL,Q8_0")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--flash-attn", action="store_true", help="also measure each format with flash attention")
    args = parser.parse_args()
    settings = Settings()
    _, source = resolve(args.model or settings.model, settings.model_cache_dir)
    prompt = prompt_text()
    out = {"model": source.name, "threads": physical_cores()}
    with tempfile.TemporaryDirectory(prefix="rag-quant-") as tmp:
        for fmt in args.formats.split(","):
            path = converted(source, fmt, Path(tmp))
            out[fmt] = measure(path, prompt, args.runs)
            if args.flash_attn:
                out[f"{fmt}+flash_attn"] = measure(path, prompt, args.runs, flash_attn=True)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
