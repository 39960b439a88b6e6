"""Text from storage or user code made safe to print or log: what a terminal would act on is shown escaped; pure."""

from __future__ import annotations

import re

__all__ = ["visible"]

# C0 and C1 controls and DEL; zero-width and bidirectional formatting characters (text that reads other than it
# prints); line and paragraph separators; lone surrogates, which no terminal encoding (nor a log handler) can write.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def visible(value: str, *, lines: bool = False) -> str:
    """``value`` with every character a terminal would act on, or hide, shown as its escape (``\\x1b``).

    Args:
        value: text from storage or user code, or a message that quotes some.
        lines: keep newlines (and tabs) as they are, for a multi-line message of our own.
    """

    def escape(match: re.Match[str]) -> str:
        char = match[0]
        return char if lines and char in "\n\t" else repr(char)[1:-1]

    return _INVISIBLE.sub(escape, value)
