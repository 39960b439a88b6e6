"""A failure as the dashboard shows it: its message once, and the traceback trimmed to the user's frames; pure.

What the worker stores is Python's text. An orchestration that let a ``TaskFailedError`` through has the
activity's whole traceback inside its message too (``"{reason} \\n {details}"``, the Durable Functions SDK's
format), and its StackTrace repeats that message: shown as stored, one error reads three times. So the message is
cut where the embedded traceback starts, and the trace keeps only the frames of the user's code, from every
traceback in the text (the orchestrator's, then its cause's), most recent call last. The full text stays
``details``, a click away on the page.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["failure_view", "split_message", "user_frames"]

_EMBEDDED = re.compile(r"\s*\n\s*Traceback \(most recent call last\):")
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]*)", line \d+')
# The runtime's frames: this package (from a checkout or site-packages), Python's own library (not what was
# installed into it), frozen modules, and the Azure SDKs a Functions app runs under. What is left is the user's.
_RUNTIME = re.compile(
    r"""[\\/]durable_storage[\\/]
      | [\\/]lib[\\/]python\d+(\.\d+)?[\\/](?!site-packages[\\/]|dist-packages[\\/])
      | [\\/](site|dist)-packages[\\/](azure|aiohttp|tenacity)[\\/]
      | ^<frozen""",
    re.VERBOSE,
)


def split_message(message: str) -> tuple[str, str | None]:
    """``message`` without the traceback a TaskFailedError carries in it, and that traceback (or None)."""
    found = _EMBEDDED.search(message)
    if found is None:
        return message.rstrip(), None
    return message[: found.start()].rstrip(), message[found.start() :].strip()


def user_frames(trace: str) -> str | None:
    """The user's frames of every traceback in ``trace`` (each ``File`` line and its source lines); None if none."""
    kept: list[str] = []
    keeping = False
    for line in trace.splitlines():
        frame = _FRAME.match(line)
        if frame is not None:
            keeping = _RUNTIME.search(frame.group("path")) is None
            if keeping:
                kept.append(line)
        elif keeping and line.startswith("    "):
            kept.append(line)  # the frame's source line, and the ^^^ under it
        else:
            keeping = False
    return "\n".join(kept) or None


def failure_view(message: str | None, trace: str | None) -> dict[str, Any]:
    """``{message, userFrames, details}``: the message once, the user's frames, and the full text to expand."""
    text, embedded = split_message(message or "")
    full = trace or embedded
    return {"message": text or None, "userFrames": user_frames(full) if full else None, "details": full}
