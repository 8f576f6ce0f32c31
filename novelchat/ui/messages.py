"""What the reader sees when something fails: one line, never a traceback."""

from __future__ import annotations

import logging

from novelchat.errors import NovelChatError

log = logging.getLogger(__name__)
SOMETHING_WENT_WRONG = "出错了，详情已写入日志 / Something went wrong; details are in the log"


def friendly_message(error: BaseException) -> str:
    """The one line for ``error``: its own friendly text for a failure the reader can act on; for anything else (a
    bug), a generic line, the error logged with its traceback."""
    if isinstance(error, NovelChatError):
        return error.friendly
    log.error("unexpected failure: %s", error, exc_info=error)
    return SOMETHING_WENT_WRONG
