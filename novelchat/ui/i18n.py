"""The page's words in Chinese and English, and the language the reader chose."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from novelchat.index.store import BookEntry
from novelchat.ui.state import book_language

LANGUAGES = ("zh", "en")
_BILINGUAL = re.compile(r"(?P<zh>.*?[\u3400-\u9fff].*?) / (?P<en>[A-Za-z].*)", re.DOTALL)  # en may name a 书
TEXT = {
    "zh": {
        "title": "书聊", "book": "书", "all_books": "全部书", "mode": "模式", "qa": "问答", "roleplay": "角色扮演",
        "character": "角色", "spoiler": "我读到了第几章（之后的内容不会被引用）", "clear": "清空对话",
        "ask": "问点书里的事……", "say": "对{name}说……", "sources": "出处", "upload": "添加一本书（.txt/.md/.epub）",
        "rescan": "重新扫描 corpus/", "indexing": "正在建索引", "indexed": "索引完成", "backend": "对话模型",
        "no_books": "还没有书：上传一本，或把文件放进 corpus/ 后点“重新扫描”。", "language": "Language / 语言",
        "lexical": "关键词索引", "dense": "向量索引", "busy": "已有索引任务在进行", "settings": "设置",
        "top_k": "每次引用的段落数", "index": "索引",
        "voice": "朗读回复", "voice_in_use": "语音", "voice_poor": "此语言在本机没有好的离线语音",
        "export": "导出对话（Markdown）", "reader": "读者", "new_character": "从书中创建角色", "regenerate": "重新生成",
        "character_name": "角色名", "create": "创建角色卡", "drafting": "正在从书中整理这个角色……",
        "choose": "请选择", "read_to_each": "每本书我读到了第几章", "card_saved": "已创建角色卡，保存在 {path}",
        "retrieval_only": "未配置模型：仅检索模式（回复是书中的原句与段落）", "add_model": "如何接入对话模型",
        "preparing": "准备中……", "books_read": "第 {done}/{total} 本", "chunks": "{done}/{total} 段",
        "no_ffmpeg": "没有找到 ffmpeg：朗读需要它（apt install ffmpeg / brew install ffmpeg）",
        "ask_aloud": "语音提问", "transcribing": "正在识别语音……",
        "model_loading": "正在加载对话模型 {model}（已 {elapsed:.0f} 秒）。",
        "model_usually": "通常需要约 {seconds} 秒。",
        "model_meanwhile": "加载完成前，回复是书中的原句与段落（仅检索）。",
        "no_character": "《{book}》还没有角色卡：在下面“从书中创建角色”。",
    },
    "en": {
        "title": "NovelChat", "book": "Book", "all_books": "All books", "mode": "Mode", "qa": "Ask the book",
        "roleplay": "Role-play", "character": "Character",
        "spoiler": "I have read up to chapter (nothing later is used)",
        "clear": "Clear chat", "ask": "Ask about the book…", "say": "Say something to {name}…", "sources": "Sources",
        "upload": "Add a book (.txt/.md/.epub)", "rescan": "Rescan corpus/", "indexing": "Indexing",
        "indexed": "Indexed", "backend": "Chat model", "no_books": "No books yet: upload one, or copy it into "
        "corpus/ and press Rescan.", "language": "Language / 语言", "lexical": "keyword index",
        "dense": "vectors", "busy": "An indexing job is already running", "settings": "Settings",
        "top_k": "Passages per answer", "index": "Index",
        "voice": "Speak replies", "voice_in_use": "Voice", "voice_poor": "no good offline voice for this language here",
        "export": "Export chat (Markdown)", "reader": "Reader", "new_character": "New character from the book",
        "regenerate": "Regenerate", "character_name": "Name", "create": "Create card",
        "drafting": "Gathering this character from the book…",
        "choose": "Choose", "read_to_each": "How far I have read in each book", "card_saved": "Card created: {path}",
        "retrieval_only": "No chat model: retrieval-only (replies are the book's own sentences and passages)",
        "add_model": "How to add a chat model", "preparing": "Preparing…", "books_read": "book {done}/{total}",
        "chunks": "{done}/{total} passages",
        "no_ffmpeg": "ffmpeg not found: speaking replies needs it (apt install ffmpeg / brew install ffmpeg)",
        "ask_aloud": "Ask aloud", "transcribing": "Transcribing your question…",
        "model_loading": "Loading the chat model {model} ({elapsed:.0f} s so far).",
        "model_usually": "This usually takes about {seconds} s.",
        "model_meanwhile": "Until it is in, replies are the book's own sentences and passages (retrieval-only).",
        "no_character": "No character card for {book} yet: create one below (New character from the book).",
    },
}


ADD_MODEL_HELP = """任选一种 / any one of:
- **本地模型 / a local model**: `NOVELCHAT_LLM_MODEL=smollm2` (CPU, bundled), or a Hugging Face folder or id such as
  `internlm/internlm2_5-7b-chat` (GPU; 4-bit with `NOVELCHAT_LLM_LOAD_IN_4BIT=true`).
- **模型服务 / a server** (LMDeploy, vLLM, Ollama): `NOVELCHAT_LLM_BASE_URL=http://127.0.0.1:23333/v1` and
  `NOVELCHAT_LLM_MODEL=<name>`.

写进 `.env` 后重启 `python start.py` / put it in `.env`, then restart. See the README."""


def texts() -> dict[str, str]:
    """The words of the page's language (:func:`choose_language`; Chinese until one is set)."""
    return TEXT[st.session_state.get("lang", "zh")]


def for_page(line: str, lang: str | None = None) -> str:
    """A one-line "中文 / English" message (statuses, errors) as the page shows it: only the English half on an
    English page; whole on a Chinese one (the English half often holds details the Chinese one leaves out)."""
    match = _BILINGUAL.fullmatch(line)
    english = (lang or st.session_state.get("lang", "zh")) == "en"
    return match.group("en") if english and match else line


def page_language(chosen: str | None, book_languages: Sequence[str]) -> str:
    """The page's language: the reader's choice if any; else the language of the books in view, when they share
    one; else Chinese."""
    if chosen in LANGUAGES:
        return chosen
    found = set(book_languages)
    return found.pop() if len(found) == 1 and found <= set(LANGUAGES) else "zh"


def choose_language(books: list[BookEntry], persist_dir: Path) -> str:
    """Set the page's language for this run (the sidebar's switch shows it): the reader's choice, kept in the
    address (``?lang=en``) so a reload keeps it, else the language of the book chosen (or of all the books)."""
    selected = st.session_state.get("book")
    in_view = [b for b in books if b.title == selected] or books
    lang = page_language(st.query_params.get("lang"), [book_language(str(persist_dir), b.version_dir)
                                                       for b in in_view])
    st.session_state["lang"] = lang
    return lang


def keep_language() -> None:
    """The language switch's callback: the reader's choice goes into the address, so it survives a reload."""
    st.query_params["lang"] = st.session_state["lang"]
