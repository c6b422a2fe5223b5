"""Language models: the protocol the pipeline uses, and the in-process llama.cpp model.

- ``protocol``: ``LLM``, the one ``Options`` object every call takes, ``Choice``.
- ``local``: ``LocalLLM``, a GGUF file run by llama.cpp in this process.
- ``scheduler``: questions before background work on the one model.
- ``states``: what the context holds, the prompt cache of saved states.
- ``batch``: several completions of one prompt decoded together.
- ``quantize``: converting a model into another llama.cpp format.
- ``events``: the instrumentation hook (timings and token counts of every completion).

Only ``local``, ``states``, ``batch`` and ``quantize`` import llama_cpp, and only when called.
"""

from . import events
from .local import LocalLLM
from .protocol import LLM, Choice, Options

__all__ = ["LLM", "Choice", "LocalLLM", "Options", "events"]
