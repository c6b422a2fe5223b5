"""One settings object; every default has a reason and a ``RAG_*`` override."""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

_CHECKOUT = Path(__file__).resolve().parent.parent


def shipped(folder: str) -> Path:
    """A top-level folder of the repository ("models", "seeds"). A wheel ships it inside the
    package (rag/_models, pyproject.toml maps it), so an installed copy finds it anywhere; an
    editable install or a checkout reads it beside the package."""
    packaged = importlib.resources.files(__package__) / f"_{folder}"
    return Path(str(packaged)) if packaged.is_dir() else _CHECKOUT / folder


def _default_store_dir() -> Path:
    # Per-user data dir so the store survives reinstalls and is not inside the checkout.
    return Path(user_data_dir("rag-abstracts", appauthor=False)) / "store"


@dataclass(frozen=True)
class Settings:
    # Where the Chroma files and the keyword index live.
    store_dir: Path = field(default_factory=_default_store_dir)
    # Name of the Chroma collection; one store directory holds one library.
    collection: str = "abstracts"
    # Chroma server URL (http://host:port); empty keeps vectors embedded in store_dir. The
    # catalogue and BM25 index stay in store_dir either way (docs/deploy.md says why).
    chroma_url: str = ""
    # all-MiniLM-L6-v2 was trained on 256-token inputs; longer ones are truncated.
    embed_max_tokens: int = 256
    # Texts per request to an embeddings server (embed_url): large enough to amortise a request.
    # The bundled MiniLM sets its own (one text a call in its integer form).
    embed_batch_size: int = 32
    # Run the bundled MiniLM converted for int8 matrix products (converted once, offline, into
    # model_cache_dir): about twice the ingest rate at cosine >= 0.99 to the fp32 reference
    # (docs/benchmarks.md). A store records which form built it; 0 opens stores built before it.
    embed_integer_matmul: bool = True
    # Chunk size in embedder tokens, leaving room for the title and [CLS]/[SEP].
    chunk_tokens: int = 200
    # Overlap between neighbouring chunks of a long text, in embedder tokens.
    chunk_overlap: int = 40
    # Neighbours Chroma's HNSW search explores. Its default, 100, found 87% of the exact 10 nearest
    # chunks at 40,000 papers; this value was chosen by recall against exact search at 40,000 and
    # 80,000 papers, where it barely costs time: most of a dense query is Chroma's own reading of
    # the results (bench/search_scale.py, docs/benchmarks.md).
    hnsw_ef_search: int = 800
    # Candidates each retriever contributes before fusion; more costs latency.
    candidates: int = 50
    # BM25 leaves out a question's words found in more than this share of the chunks and in more
    # than 1,000 of them (keeping its rarest): such words barely change the ranking, but FTS5
    # scores every chunk holding any word, so "the" alone costs a scan of the whole index. At
    # 80,000 papers, BM25's p95 was 38.5 ms at 0.1 and 21.9 ms at 0.05 (docs/benchmarks.md).
    keyword_max_share: float = 0.05
    # Reciprocal rank fusion constant; 60 is the value from Cormack et al. 2009.
    rrf_k: int = 60
    # Papers written to the store per batch: bounds memory and work lost to a kill.
    ingest_batch_papers: int = 64
    # Longest title accepted, in characters: real titles are under 300; a longer one is a
    # paragraph pasted into the wrong field.
    max_title_chars: int = 500
    # Longest abstract accepted, in characters: real abstracts are under 10 KB (2,000 words);
    # twice that allows long structured ones, while a 5 MB "abstract" would take minutes to embed.
    max_abstract_chars: int = 20_000

    # OpenAI-compatible model server (http://host:port); empty runs the GGUF model in-process.
    llm_url: str = ""
    # Model name sent to that server; empty sends the `model` setting's name.
    llm_model: str = ""
    # API key for the model server, when it wants one.
    llm_key: str = ""
    # Seconds to wait for the server to connect or send the next piece before giving up.
    llm_timeout: float = 60.0
    # Retries, with exponential backoff, of a request that failed to connect or got HTTP 5xx/429.
    llm_retries: int = 2
    # OpenAI-compatible /v1/embeddings server; empty uses the bundled MiniLM in-process. A store
    # records its embedder and refuses vectors from another one.
    embed_url: str = ""
    # Embedding model name sent to that server.
    embed_model: str = "default"

    # Where models assembled from their PyPI parts (or downloaded on request) are kept: a per-user
    # cache, outside the checkout and the venv, so a reinstall does not reassemble them.
    model_cache_dir: Path = field(
        default_factory=lambda: Path(user_cache_dir("rag-abstracts", appauthor=False)) / "models"
    )
    # GGUF model: a catalogue name (models/catalog.json), a path, or a file name in models/.
    model: str = "qwen2.5-coder-0.5b-instruct-q4_k_m"
    # llama.cpp format a catalogue `model` is converted to once, at assembly (a file you name is used
    # as it is). llama.cpp repacks Q4_0 at load for AVX2/AVX-512, so it reads prompts faster than the
    # shipped Q4_K_M at the same measured quality (docs/benchmarks.md); empty keeps the shipped file.
    model_format: str = "Q4_0"
    # Model that decides yes/no verdicts from the lead source's result sentences (a catalogue name
    # or path, like `model`; empty: the answer model). The 1.5B's plain argmax is right more often
    # than the 0.5B's with any margin, and it reads only a few sentences, so it costs less than the
    # answer prompt a yes/no question does not need (bench/verdict_prompts.py, docs/benchmarks.md).
    verdict_model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    # Format the verdict model is converted to, like `model_format`; empty keeps the shipped Q4_K_M,
    # on which the verdicts' accuracy was measured.
    verdict_model_format: str = ""
    # A "No" verdict needs log P(No) - log P(Yes) above this. 0: the model's own argmax, which
    # needs no labels; the 0.5B leans to "No" so much that it would need about 1.0.
    verdict_no_margin: float = 0.0
    # A verdict badge is shown only when the evidence's confidence (rag.verdict.Evidence) reaches
    # this; below it the answer is the quoted finding alone. The median of the five thresholds
    # that 5-fold cross-validation on PubMedQA dev chose for 80% precision (0.28-0.34;
    # bench/verdict_cv.py): no threshold was fitted to all of dev.
    verdict_min_confidence: float = 0.31
    # An open answer's draft in doubt (refused or withdrawn, or its cited sentence not found by the
    # verdict model to state it) is answered again by the verdict model (rag.second_opinion): the
    # 1.5B's accuracy where the 0.5B's draft is doubtful, its cost only there. Off: drafts stand.
    second_opinion: bool = True
    # The verdict model's probability that a draft's cited sentence states it, below which the draft
    # is in doubt. Set on the seed fact set (bench/seed_facts.py: every wrong draft of the 0.5B under
    # it, three of twenty right ones); on the factoid set it doubted 11 right figures and lost 3.
    draft_min_support: float = 0.7
    # Context window; llama-cpp's own default (512) is too small for sources plus answer.
    n_ctx: int = 2048
    # llama.cpp threads; 0: one per physical core. Two processes sharing the cores each with one
    # thread per core slow each other down far more than half: llama.cpp's threads spin-wait.
    llm_threads: int = 0
    # Fixed sampling seed so the same question gives the same answer.
    seed: int = 42
    # RAM (MB) for saved model states of recent answers' prompts, so a follow-up resumes its
    # conversation's evaluated prefix even after other users' questions, and of the papers read
    # ahead; enough for the read-ahead papers next to a few dozen answers. 0 disables.
    prompt_cache_mb: int = 384
    # Sources shown to the model per question: more raises recall but costs prompt time on CPU.
    answer_sources: int = 3
    # Tokens of the best source kept in the prompt: most abstracts fit whole, so the answer is
    # not trimmed away, and a follow-up about the same paper finds it in the block the previous
    # turn already evaluated (llama.cpp reuses that prompt prefix instead of re-reading it).
    lead_source_tokens: int = 320
    # Tokens of each other source kept (its most question-relevant sentences): each token is read
    # before the first word of the answer, and the answer sits in the lead source nearly always;
    # the smallest value that kept the dev sets' abstention, yes/no and factoid figures.
    source_tokens: int = 70
    # After the background summaries, the newest papers are read ahead as a question's best source
    # (system text and the paper as source [1]) and their states kept in the prompt cache, so a
    # first question about one reads only its other sources and itself (~5 MB each; the prompt
    # cache must hold them next to recent answers). 0 disables.
    read_ahead_papers: int = 32
    # The app makes the one-line summaries of the newest papers (``newest_papers``) and of any
    # digest asked for in the background (after start-up and each ingest), so a digest is ready
    # when asked for; questions keep priority over it.
    background_summaries: bool = True
    # The papers a digest and the background summaries cover unless told otherwise: the newest
    # day's, at most this many (a busy arXiv day in a few categories is ~250). Never the whole
    # library: at ~2.4 s a summary, 40,000 papers would take a day of CPU.
    newest_papers: int = 250
    # A digest of more papers than this is grouped under a few topic headings (embeddings clustered).
    digest_topics_over: int = 8
    # Longest answer generated, in tokens.
    answer_max_tokens: int = 160
    # Gate: relevance the sources must reach, the best source sentence's cosine similarity to the
    # question plus half the share of the question's terms they contain. Chosen with
    # bench/gate_sweep.py on PubMedQA dev and the factoid set together: high enough to refuse
    # questions whose abstract is absent, low enough that answerable ones pass.
    min_relevance: float = 0.90
    # A yes/no question not naming its paper is refused when its closest paper does not stand out
    # from the library's papers near it (its chunk's similarity minus the fifth-closest paper's,
    # rag.retrieval.standout) by min_standout, and holds less than standout_coverage of the
    # question's terms: a crowd of near-topic papers, none about the question, is what a library
    # without the asked paper looks like at 40,000 papers. Chosen by 5-fold cross-validation on
    # PubMedQA dev over the 40,717 arXiv distractors: every fold chose these two values.
    min_standout: float = 0.12
    standout_coverage: float = 0.75
    # Gate: share of the question's terms the sources must contain when the question's names
    # (Monolith, GPT-4) are all in them; the embedder may not know a name, so similarity is not asked.
    min_coverage: float = 0.6
    # Citation check: share of the answer's terms a cited source must contain. A yes/no answer's
    # claim is its question, so the one source its verdict rests on must hold this share of the
    # question's terms.
    min_support: float = 0.5
    # Papers a topic summary ("what do these abstracts say about X?") draws on: one model
    # call each (~2 s on 2 cores), so more costs time linearly.
    topic_sources: int = 4
    # Longest one-line summary generated, in tokens (about 30 words plus slack).
    summary_max_tokens: int = 60
    # One-line summaries generated together per paper (the greedy one and sampled ones), of which
    # the one most in agreement with the others, the title and the abstract is kept: the agreement
    # of samples picks better lines than the greedy one alone. Four cost the time of three: they
    # share one prompt evaluation, and llama.cpp's CPU kernels multiply four sequences by each
    # weight block at once, where a fifth costs a step of its own. 1: the greedy line alone.
    summary_candidates: int = 4
    # Temperature of the sampled summary candidates (the first candidate is always greedy).
    summary_temperature: float = 0.7

    # The arXiv API `rag fetch arxiv` asks (Atom, paged; a mirror or a test server can stand in).
    arxiv_api: str = "http://export.arxiv.org/api/query"
    # Hugging Face's daily papers API (`rag fetch hf-daily`).
    hf_api: str = "https://huggingface.co/api/daily_papers"
    # Seconds between requests to it: arXiv's API terms ask for at least 3.
    fetch_delay: float = 3.0
    # Retries of a failed request (connection, timeout, HTTP 429 or 5xx), each after twice the wait.
    fetch_retries: int = 3
    # Entries per request: the API serves up to 2,000, but large pages fail more often.
    fetch_page_size: int = 100

    # arXiv categories `rag daily` fetches, comma-separated ("cs.CL,cs.AI"); empty: it fetches none.
    daily_categories: str = ""
    # Where `rag daily` mails the digest; empty: it prints it.
    daily_email: str = ""
    # Papers of a new digest (`rag digest --new`) summarised before it is sent; the rest are listed
    # by title: at ~2.9 s a line, 20 take under a minute. Also how many lines of a background run
    # get every candidate: the rest get the greedy line (1.4x faster), so a day of 250 papers is
    # written in under 10 minutes on 2 cores.
    digest_top: int = 20
    # Mail server for digests: smtp://host:port (STARTTLS when offered) or smtps://host:port.
    smtp_url: str = ""
    # Login for it, when it wants one.
    smtp_user: str = ""
    smtp_password: str = ""
    # The digest's sender address.
    smtp_from: str = "rag-digest@localhost"

    # App: loopback only by default; exposing the app to a network is an explicit choice.
    host: str = "127.0.0.1"
    # App port; 7860 is Gradio's customary one.
    port: int = 7860
    # App login as "user:password"; empty means no login (fine on loopback).
    auth: str = ""
    # Largest upload the app accepts, in MB: a digest export is kilobytes, so this is generous.
    upload_max_mb: int = 20

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then ``RAG_<FIELD>`` environment variables, then ``overrides``."""
        values = {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(f"RAG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _coerce(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("store_dir", "model_cache_dir"):
            if key in values:
                values[key] = Path(values[key]).expanduser()
        return cls(**values)


def _coerce(f: dataclasses.Field, raw: str):
    kind = (
        f.type
        if isinstance(f.type, type)
        else {"int": int, "Path": Path, "str": str, "float": float, "bool": bool}.get(f.type, str)
    )
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    try:
        return kind(raw)
    except ValueError as exc:
        from .errors import RagError

        raise RagError(f"RAG_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
