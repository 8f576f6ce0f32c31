"""书聊 NovelChat — the Streamlit UI. Layout and state only: retrieval, chains and models live elsewhere."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import streamlit as st
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from streamlit.delta_generator import DeltaGenerator

from novelchat.roleplay.card_draft import CardDraftError, draft_card, save_card
from novelchat.roleplay.cards import Persona, load_personas, parse_card
from novelchat.config import Settings, get_settings
from novelchat.index.build import BackgroundBuild
from novelchat.index.store import BookEntry
from novelchat.models.chat import LLMUnavailable, backend_status, friendly_error, load_chat_model, resolve_backend
from novelchat.chains import ChatTurn, answer_question, greeting, highlight, roleplay_reply, to_messages, transcript_markdown
from novelchat.retrieval.library import Library, NoIndexError
from novelchat.retrieval.scope import Scope
from novelchat.books.uploads import accept_upload
from novelchat.voice.speech import SpeechStream, VoiceError, missing_voice_tool, open_speech, warm

log = logging.getLogger(__name__)
POLL_S = 3.0  # how often an open page shows the build's progress while one runs (no timer otherwise)
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
    },
}


@st.cache_resource
def open_library(_settings: Settings) -> Library:
    return Library(_settings)


@st.cache_resource
def indexer(_settings: Settings) -> BackgroundBuild:
    """One background build per server; started once at launch to finish any pending vectors."""
    job = BackgroundBuild(_settings)
    job.start()
    return job


@st.cache_resource
def chat_model(_settings: Settings):
    """The configured chat model, or None with the reason (retrieval-only mode)."""
    try:
        return load_chat_model(_settings), None
    except LLMUnavailable as error:
        return None, str(error)


@st.cache_resource
def warm_voice() -> None:
    """Load the offline Japanese voice in the background once per server, if voice is ever used."""
    warm()


def cards(folder: Path) -> list[Persona]:
    """The persona cards of the folder, read again only when a card is added, edited or removed."""
    try:
        stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                      for p in sorted([*folder.glob("*.json"), *folder.glob("*.png")]))
    except OSError as error:  # a card removed while listing: read the folder afresh this time
        log.info("character folder changed while listing it (%s); reading it afresh", error)
        return load_personas(folder)
    return cards_as_of(str(folder), stamp)


@st.cache_resource(max_entries=4, show_spinner=False)
def cards_as_of(folder: str, stamp: tuple) -> list[Persona]:
    """The cards of a folder as they were at ``stamp`` (the cache key: each file's name, mtime and size)."""
    return load_personas(Path(folder))


@st.cache_data(ttl=30)
def server_status(_settings: Settings) -> tuple[bool, str]:
    """A model server's status: probed over the network, so at most every 30 s."""
    status = backend_status(_settings)
    return status.ready, status.message


def status_panel(settings: Settings, t: dict) -> None:
    """One short line on the chat model; with none, how to add one folds out. A server's status is probed at most
    every 30 s; a local model's is read afresh (it costs nothing, and it changes when the first answer loads it)."""
    backend = resolve_backend(settings)
    if backend == "none":
        st.caption(f"○ {t['retrieval_only']}")
        with st.expander(t["add_model"]):
            st.markdown(ADD_MODEL_HELP)
        return
    if backend == "openai":
        ready, message = server_status(settings)
    else:
        status = backend_status(settings)
        ready, message = status.ready, status.message
    st.caption(f"{t['backend']}: {'●' if ready else '○'} {message}")


ADD_MODEL_HELP = """任选一种 / any one of:
- **本地模型 / a local model**: `NOVELCHAT_LLM_MODEL=smollm2` (CPU, bundled), or a Hugging Face folder or id such as
  `internlm/internlm2_5-7b-chat` (GPU; 4-bit with `NOVELCHAT_LLM_LOAD_IN_4BIT=true`).
- **模型服务 / a server** (LMDeploy, vLLM, Ollama): `NOVELCHAT_LLM_BASE_URL=http://127.0.0.1:23333/v1` and
  `NOVELCHAT_LLM_MODEL=<name>`.

写进 `.env` 后重启 `python start.py` / put it in `.env`, then restart. See the README."""


def reading_scope(books: list[BookEntry], t: dict) -> Scope:
    """The reader's scope over ``books``, each with its own chapter limit set by its own slider.

    Each book's limit lives in the session under the book's title, so it survives switching book, mode or
    character and a book's chapter count changing as it is indexed. A slider starts at chapter 1 at the lowest;
    at its end, the whole book."""
    read_to: dict[str, int] = st.session_state.setdefault("read_to", {})
    many = len([b for b in books if b.last_chapter > 1]) > 1
    with st.expander(t["read_to_each"]) if many else st.container():
        for book in books:
            if book.last_chapter > 1:
                value = min(max(read_to.get(book.title, book.last_chapter), 1), book.last_chapter)
                label = f"《{book.title}》" if many else t["spoiler"]
                read_to[book.title] = st.slider(label, 1, book.last_chapter, value, key=f"read_to::{book.title}")
    return scope_read(books)


def scope_read(books: list[BookEntry]) -> Scope:
    """The books with the limits the reader's sliders hold (kept in the session): a chapter at a book's end, or never
    set, is no limit."""
    read_to: dict[str, int] = st.session_state.get("read_to", {})
    return Scope.of({book.title: None if read_to.get(book.title, book.last_chapter) >= book.last_chapter
                     else read_to[book.title] for book in books})


def sidebar(settings: Settings, library: Library, t: dict) -> dict:
    """The sidebar controls; returns the reader's choices, the reader's scope among them."""
    if "persona" in st.session_state:  # kept while its picker is not drawn, so switching back to role-play returns
        st.session_state["persona"] = st.session_state["persona"]  # to the same character (and conversation)
    with st.sidebar:
        st.radio(t["language"], ["zh", "en"], key="lang", horizontal=True,
                 format_func=lambda code: "中文" if code == "zh" else "English")
        books = library.books()
        titles = [b.title for b in books]
        book = st.selectbox(t["book"], [None, *titles], key="book", placeholder=t["choose"],
                            format_func=lambda title: t["all_books"] if title is None else f"《{title}》")
        mode = st.radio(t["mode"], ["qa", "roleplay"], key="mode", horizontal=True, format_func=lambda m: t[m])
        persona = None
        if mode == "roleplay":
            personas = [p for p in cards(settings.characters_dir) if not p.book or p.book in titles]
            persona = st.selectbox(t["character"], personas, key="persona", placeholder=t["choose"],
                                   format_func=lambda p: f"{p.name}（{p.book}）" if p.book else p.name)
            if titles:
                new_character_panel(settings, titles, book, t)
        if persona is not None:
            in_scope = [b for b in books if b.title == persona.book]
        else:
            in_scope = [b for b in books if b.title == book] or books
        scope = reading_scope(in_scope, t)
        voice_on = st.toggle(t["voice"], value=False, key="voice")
        if voice_on and (missing := missing_voice_tool()):
            st.caption(f":material/volume_off: {t['no_ffmpeg']} ({missing})")
        st.button(t["clear"], on_click=clear_conversation, width="stretch")
        export_slot = st.empty()  # filled once the page's conversation is complete
        status_slot = st.container()
        library_panel(settings, library, titles, t)
        with st.expander(t["settings"]):
            top_k = st.slider(t["top_k"], 1, 10, settings.top_k, key="top_k")
            manifest = library.manifest
            st.caption(f"{t['index']}: {settings.persist_dir} · {manifest.embedding or '-'} · "
                       f"{manifest.vector_store} · {sum(b.chunks for b in books)} chunks")
    return {"book": book, "mode": mode, "persona": persona, "scope": scope, "titles": titles, "voice": voice_on,
            "top_k": top_k, "export_slot": export_slot, "status_slot": status_slot}


def new_character_panel(settings: Settings, titles: list[str], book: str | None, t: dict) -> None:
    """Draft a card for any character of a book (its lines from the book; the rest by the chat model, if any)."""
    with st.expander(t["new_character"]):
        st.text_input(t["character_name"], key="new_character_name", placeholder="林晓")
        st.selectbox(t["book"], titles, index=titles.index(book) if book in titles else 0, key="new_character_book",
                     format_func=lambda title: f"《{title}》")
        st.button(t["create"], on_click=create_character, args=(settings, t), width="stretch")
        if note := st.session_state.pop("new_character_note", None):
            st.warning(note)
        if saved := st.session_state.pop("new_character_saved", None):
            st.success(t["card_saved"].format(path=saved), icon=":material/check_circle:")


def create_character(settings: Settings, t: dict) -> None:
    """Button callback: draft (from the chapters the reader has read), save and select the new character (runs
    before the page is drawn again); the page then says where the card was saved."""
    state, library = st.session_state, open_library(settings)
    try:
        scope = scope_read([library.find_book(state["new_character_book"])])
        with st.spinner(t["drafting"]):
            card = draft_card(state["new_character_name"], scope, library, chat_model(settings)[0])
        path = save_card(card, settings.characters_dir)
    except (CardDraftError, NoIndexError) as error:
        state["new_character_note"] = str(error)
        return
    except OSError as error:  # the characters folder cannot be written
        state["new_character_note"] = f"角色卡无法保存 / the card cannot be saved: {error}"
        return
    state["persona"], state["new_character_name"] = parse_card(card, path.name), ""
    state["new_character_saved"] = str(path)


@dataclass(frozen=True)
class Drawn:
    """What a page run drew: its number in the session, the builds finished by then, and the books it listed."""

    run: int
    builds: int
    titles: tuple[str, ...]


def library_panel(settings: Settings, library: Library, titles: list[str], t: dict) -> None:
    """Upload a novel or rescan corpus/; indexing runs in the background and shows its progress."""
    job = indexer(settings)
    state = st.session_state
    # No ``type=``: Streamlit checks it before the page script runs, so a file the browser should not have sent (a
    # .py renamed on the way) became a traceback in place of the page; accept_upload refuses it in one line.
    upload = st.file_uploader(t["upload"], key="upload")
    if upload is not None and state.get("uploaded") != upload.file_id:
        state["uploaded"] = upload.file_id
        state["upload_result"] = accept_upload(upload.name, upload.getvalue(), settings.corpus_dir,
                                               settings.max_file_mb)
        if state["upload_result"].accepted:
            job.start()
    if result := state.get("upload_result"):
        (st.success if result.accepted else st.error)(result.message)
    if st.button(t["rescan"], width="stretch") and not job.start():
        st.info(t["busy"])
    drawn = Drawn(st.session_state["page_runs"], job.finished, tuple(titles))
    progress = st.fragment(indexing_progress, run_every=POLL_S if job.running else None)
    progress(job, library, drawn, t)


def indexing_progress(job: BackgroundBuild, library: Library, drawn: Drawn, t: dict) -> None:
    """A progress bar while the background build runs; warnings and errors once it ends.

    A fragment, on a timer only while a build runs (an idle page makes no reruns). On a timer tick, when a build
    has ended or a new book is listed (its keyword index is in; its vectors follow), it reruns the page once: that
    lists the new book and stops the timer. A tick runs only between page runs, never inside one, so it can never
    cut a question or a reply short; the same check inside a page run would, so there it is skipped.
    """
    tick = st.session_state.get("progress_drawn") == drawn.run  # a later call for the same page run: a tick
    st.session_state["progress_drawn"] = drawn.run
    if job.running:
        fraction = min(job.done / job.total, 1.0) if job.total else 0.0
        st.progress(fraction, text=f"{t['indexing']}: {progress_text(job, t)}")
    if tick and (job.finished != drawn.builds or tuple(b.title for b in library.books()) != drawn.titles):
        st.rerun()
    if not job.running and job.error:
        st.error(job.error)
    if not job.running and job.report and job.report.changed:
        st.success(f"{t['indexed']} ({job.report.seconds:.0f} s)")
        for warning in job.report.warnings:
            st.warning(warning)


def progress_text(job: BackgroundBuild, t: dict) -> str:
    """What the build is doing, in words: which book of how many it reads, or how far a book's vectors are."""
    if not job.book or not job.total:
        return t["preparing"]
    if job.stage == "lexical":
        return f"{t['lexical']} {t['books_read'].format(done=job.done, total=job.total)}《{job.book}》"
    return f"{t['dense']}《{job.book}》 {t['chunks'].format(done=job.done, total=job.total)}"


def sources_panel(passages: list[dict], t: dict) -> None:
    """Under an answer: each passage with its citation, the words of the question highlighted."""
    if not passages:
        return
    with st.expander(f"{t['sources']} ({len(passages)})"):
        for number, passage in enumerate(passages, 1):
            marked = "".join(f"<mark>{as_html(piece)}</mark>" if hit else as_html(piece)
                             for piece, hit in passage["parts"])
            st.markdown(f"<div><b>[{number}] {as_html(passage['citation'])}</b></div>", unsafe_allow_html=True)
            st.markdown(f"<div class='passage'>{marked}</div>", unsafe_allow_html=True)


def avatar(role: str, choices: dict) -> str | None:
    """The character's picture (from a PNG card) beside its messages; Streamlit's default icon otherwise."""
    persona: Persona | None = choices["persona"]
    if role != "assistant" or persona is None or not persona.avatar:
        return None
    return persona.avatar


def conversation_key(choices: dict) -> tuple:
    """Which conversation the page shows: one per (book, mode, character), each kept while the reader switches."""
    persona: Persona | None = choices["persona"]
    return choices["book"], choices["mode"], persona.name if persona else None


def current_conversation(choices: dict, llm: BaseChatModel | None) -> list[dict]:
    """The messages of the conversation the choices select; a new one opens with the greeting."""
    conversations: dict[tuple, list[dict]] = st.session_state.setdefault("conversations", {})
    key = conversation_key(choices)
    fresh = key not in conversations or (choices["persona"] is None and len(conversations[key]) == 1)
    if fresh:  # the guide's hello is redrawn until the reader writes: it names the books and limits of now
        opening = greeting(choices["persona"], choices["scope"], llm)
        conversations[key] = [{"role": "assistant", "content": opening, "sources": []}]
    st.session_state["shown_conversation"] = key
    return conversations[key]


def clear_conversation() -> None:
    """Button callback: forget the conversation on screen (the others are kept); it opens again with a greeting."""
    st.session_state.get("conversations", {}).pop(st.session_state.get("shown_conversation"), None)


def main() -> None:
    settings = get_settings()
    st.session_state["page_runs"] = st.session_state.get("page_runs", 0) + 1
    st.set_page_config(page_title="书聊 NovelChat", page_icon="📖", layout="wide")
    st.markdown("<style>.passage{font-size:0.9em;color:#444}</style>", unsafe_allow_html=True)
    t = TEXT[st.session_state.get("lang", "zh")]
    library = open_library(settings)
    choices = sidebar(settings, library, t)
    t = TEXT[st.session_state.get("lang", "zh")]
    st.title(t["title"])
    llm, llm_error = chat_model(settings)
    if llm_error:
        st.warning(llm_error)
    if not choices["titles"]:
        st.info(t["no_books"])
    messages = current_conversation(choices, llm)
    persona = choices["persona"]
    prompt = st.chat_input(t["say"].format(name=persona.name) if persona else t["ask"], key="chat_input")
    prompt = prompt or st.session_state.pop("regenerate", None)
    if prompt:  # kept at once: if this run is cut short before the reply is written, the next run writes it
        messages.append({"role": "user", "content": prompt, "sources": []})
    conversation(messages, choices, library, llm, settings, t)
    if llm is not None and len(messages) >= 3 and messages[-1]["role"] == "assistant":
        st.button(t["regenerate"], on_click=regenerate, icon=":material/refresh:", type="tertiary")
    with choices["export_slot"]:  # drawn last, so both hold what the page now shows
        export_button(messages, choices, t)
    with choices["status_slot"]:
        status_panel(settings, t)


def conversation(messages: list[dict], choices: dict, library: Library, llm: BaseChatModel | None,
                 settings: Settings, t: dict) -> None:
    """Every message, and a reply written under each question that has none: the new one, or one whose reply a
    rerun cut short (in Streamlit the reader's next message, or any click, stops the run writing a reply)."""
    index = 0
    while index < len(messages):
        show_message(messages[index], choices, t)
        if unanswered(messages, index):
            messages.insert(index + 1, respond(messages[:index + 1], choices, library, llm, settings, t))
            index += 1  # shown while it was written
        index += 1


def unanswered(messages: list[dict], index: int) -> bool:
    """Whether the message at ``index`` is the reader's, with no reply after it."""
    following = messages[index + 1]["role"] if index + 1 < len(messages) else None
    return messages[index]["role"] == "user" and following != "assistant"


def show_message(message: dict, choices: dict, t: dict) -> None:
    """A kept message: its text, its audio if it was spoken, its sources."""
    with st.chat_message(message["role"], avatar=avatar(message["role"], choices)):
        show_text(st.empty(), message["content"], message.get("verbatim", False))
        if message.get("audio"):
            st.audio(message["audio"], format="audio/mp3")
        sources_panel(message["sources"], t)


def regenerate() -> None:
    """Button callback: drop the last reply and ask the same message again (a model gives another answer)."""
    messages = st.session_state["conversations"][st.session_state["shown_conversation"]]
    messages.pop()
    st.session_state["regenerate"] = messages.pop()["content"]


def respond(asked: list[dict], choices: dict, library: Library, llm: BaseChatModel | None, settings: Settings,
            t: dict) -> dict:
    """The reply to the last message of ``asked`` (the ones before it are the history): streamed (spoken if asked)
    with its sources, and returned to be kept."""
    prompt = asked[-1]["content"]
    history = to_messages([(m["role"], m["content"]) for m in asked[1:-1]])
    with st.chat_message("assistant", avatar=avatar("assistant", choices)):
        try:
            turn = reply(prompt, choices, library, llm, history, settings)
        except NoIndexError as error:
            turn = ChatTurn([], [], iter([str(error)]))
        except Exception as error:  # the reader gets one line, never a traceback
            turn = ChatTurn([], [], iter([f"⚠️ 出错了 / something went wrong: {friendly_error(error)}"]))
        for note in turn.notes:
            st.caption(f"ℹ️ {note}")
        speech = start_speech(choices, llm, settings, t) if choices["voice"] else None
        player, played = st.empty(), []
        verbatim, written, shown = llm is None, [], st.empty()  # with no model, the reply is the book's own text
        for piece in spoken(turn, speech, player, played):
            written.append(piece)
            show_text(shown, "".join(written), verbatim)
        audio = finish_speech(speech, player, played)
        sources = [{"citation": p.citation, "parts": highlight(p.text.strip(), prompt)} for p in turn.passages]
        sources_panel(sources, t)
    return {"role": "assistant", "content": "".join(written), "sources": sources, "audio": audio,
            "verbatim": verbatim}


def as_html(text: str) -> str:
    """Text as inert HTML: escaped, each line break a <br>, so Markdown never reads it (a blank line would end the
    HTML block and let the rest be parsed as Markdown)."""
    return html.escape(text).replace("\n", "<br>")


def show_text(slot: DeltaGenerator, text: str, verbatim: bool) -> None:
    """A reply in its slot. Book text (``verbatim``: a retrieval-only reply) is shown as written, never as Markdown or
    HTML; a model's reply is Markdown without images (a book or a prompt could make the reader's browser fetch any
    address)."""
    if verbatim:
        slot.markdown(f"<div class='verbatim'>{as_html(text)}</div>", unsafe_allow_html=True)
    else:
        slot.markdown(text.replace("![", "!\\["))


def export_button(messages: list[dict], choices: dict, t: dict) -> None:
    """Download the conversation on screen, each answer with its sources, as Markdown.

    The file is made with the page (a few kilobytes), drawn after the conversation so it holds every message shown.
    Made on click instead, its one-off file would be collected by the next script run of any page (a progress
    tick included) before the browser fetched it: the download failed with a 404.
    """
    persona: Persona | None = choices["persona"]
    speaker = {"user": t["reader"], "assistant": persona.name if persona else t["title"]}
    scope = f"《{choices['book']}》" if choices["book"] else t["all_books"]
    title = f"{t['title']} · {persona.name if persona else t['qa']} · {scope} · {datetime.now():%Y-%m-%d %H:%M}"
    turns = []
    for message in messages:
        sources = [(s["citation"], "".join(piece for piece, _ in s["parts"])) for s in message["sources"]]
        turns.append((speaker[message["role"]], message["content"], sources))
    st.download_button(t["export"], transcript_markdown(title, turns), mime="text/markdown", on_click="ignore",
                       file_name=f"novelchat-{datetime.now():%Y%m%d-%H%M}.md", icon=":material/download:",
                       width="stretch")


def start_speech(choices: dict, llm: BaseChatModel | None, settings: Settings, t: dict) -> SpeechStream | None:
    """A speech stream for this reply (the persona's voice, translated if the card asks), and which voice it is."""
    warm_voice()
    persona: Persona | None = choices["persona"]
    card = {"voice": persona.voice, "translate": persona.translate} if persona else None
    lang = (persona.voice.get("lang") if persona and not persona.translate else None) or "zh"
    try:
        speech = open_speech(settings, card, llm, reply_lang=lang)
    except VoiceError as error:
        st.caption(f":material/volume_off: {error}")
        return None
    if speech is not None:
        choice = speech.choice
        st.caption(f"{t['voice_in_use']}: {choice.engine.label} · {choice.voice}")
        if choice.warning:
            st.warning(f"{t['voice_poor']}: {choice.warning}")
    return speech


def spoken(turn: ChatTurn, speech: SpeechStream | None, player: DeltaGenerator, played: list[bool]
           ) -> Iterator[str]:
    """Pass the reply through while feeding the voice what it reads (``turn.spoken`` when set: a retrieval-only
    reply's answer sentence, never its citations); autoplay the first sentence once it is ready."""
    if speech is not None and turn.spoken is not None:
        speech.feed(turn.spoken)
    for piece in turn.stream:
        yield piece
        if speech is not None:
            if turn.spoken is None:
                speech.feed(piece)
            ready = speech.ready()
            if ready and not played:
                player.audio(ready[0].clip.audio, format=f"audio/{ready[0].clip.fmt}", autoplay=True)
                played.append(True)


def finish_speech(speech: SpeechStream | None, player: DeltaGenerator, played: list[bool]) -> bytes | None:
    """The whole reply as one mp3 under the message (its sentences were voiced while it was written)."""
    if speech is None:
        return None
    try:
        audio = speech.audio("mp3")
    except (VoiceError, OSError) as error:
        player.caption(f":material/volume_off: {error}")
        return None
    player.audio(audio, format="audio/mp3", autoplay=not played)
    return audio


def reply(
    prompt: str, choices: dict, library: Library, llm: BaseChatModel | None, history: list[BaseMessage],
    settings: Settings,
) -> ChatTurn:
    """The chain for the chosen mode."""
    if choices["persona"] is not None:
        return roleplay_reply(prompt, choices["persona"], library, llm, choices["scope"], history=history,
                              history_budget=settings.history_token_budget)
    return answer_question(prompt, library, llm, choices["scope"], k=choices["top_k"], history=history,
                           history_budget=settings.history_token_budget)
