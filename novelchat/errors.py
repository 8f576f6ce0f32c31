"""One error family: every failure a reader should see as one friendly line derives from ``NovelChatError``.

The UI and the CLIs show ``error.friendly`` for these; anything else is a bug, logged with its traceback."""

from __future__ import annotations


class NovelChatError(Exception):
    """A failure the user can act on. ``friendly`` is the one line they see (bilingual where the UI is)."""

    def __init__(self, friendly: str, *, detail: str = "") -> None:
        super().__init__(friendly if not detail else f"{friendly} ({detail})")
        self.friendly = friendly
        self.detail = detail
