"""Converting a GGUF model into another llama.cpp quantisation format, and the facts that
stamp a converted file (the llama.cpp build that made it)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelError


def physical_cores() -> int:
    """Threads for llama.cpp: one per physical core (hyper-threads only contend for the same units)."""
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except ImportError:
        return os.cpu_count() or 1


def quantisation_formats() -> list[str]:
    """The formats llama.cpp can write a model in ("Q4_0", "Q4_K_M", ...)."""
    import llama_cpp

    prefix = "LLAMA_FTYPE_MOSTLY_"
    return sorted(name[len(prefix) :] for name in dir(llama_cpp) if name.startswith(prefix))


def engine_version() -> str:
    """llama.cpp's build as llama-cpp-python reports it: another build may quantise differently."""
    import llama_cpp

    return str(llama_cpp.__version__)


def quantize(source: Path, target: Path, fmt: str) -> None:
    """Write ``source`` re-quantised into llama.cpp format ``fmt`` at ``target``."""
    import ctypes

    import llama_cpp

    if fmt not in quantisation_formats():
        raise ModelError(
            f"unknown quantisation format {fmt!r}; llama.cpp writes {', '.join(quantisation_formats())}"
        )
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{fmt}")
    params.allow_requantize = True  # the shipped files are already quantised (Q4_K_M)
    params.nthread = physical_cores()
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if status != 0:
        raise ModelError(f"llama.cpp could not convert {source} to {fmt} (status {status})")
