"""host.json as the Functions host reads it: one flat, case-insensitive map that environment variables override.

The host loads host.json into .NET configuration under the ``AzureFunctionsJobHost`` section: keys become
case-insensitive paths (``extensions:durableTask:hubName``), array items are numbered (``functions:0``), and an
environment variable ``AzureFunctionsJobHost__extensions__durableTask__hubName`` sets the same path and wins
(functions-host.md §7.3). We keep that model: a path is a tuple of lowercased keys, an override replaces the one
entry it names, and the typed readers accept a JSON value or its text (every .NET configuration value is text).
Pure apart from reading the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from durable_storage.errors import ConfigurationError

__all__ = ["OVERRIDE_PREFIX", "Entry", "HostConfig", "parse_timespan", "read_json_file"]

OVERRIDE_PREFIX = "AzureFunctionsJobHost"

# A JSON string (kept whole, so a '//' inside a URL is no comment) or a comment.
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
# .NET TimeSpan.Parse forms we accept: [d.]hh:mm[:ss[.fffffff]] (a bare number, days to .NET, is refused below).
_TIMESPAN = re.compile(
    r"(?:(?P<days>\d{1,8})\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{1,2})(?::(?P<seconds>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?)?"
)
_INTEGER = re.compile(r"[+-]?\d{1,10}")
_SHOWN_LENGTH = 40


def read_json_file(path: Path) -> object | None:
    """The JSON document in ``path``, or None when there is no such file.

    Comments (``//`` and ``/* */``) are allowed and a UTF-8 byte order mark is skipped, as the host's JSON reader
    (Newtonsoft) allows them; the error for invalid JSON names the file, line and column, never the text.

    Raises:
        ConfigurationError: the file cannot be read, is not UTF-8, or is not valid JSON.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"{path} cannot be read: {exc.strerror or type(exc).__name__}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path} is not UTF-8 text: invalid byte at offset {exc.start}") from None
    try:
        document: object = json.loads(_blank_comments(text))
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    return document


def _blank_comments(text: str) -> str:
    """``text`` with each comment turned into spaces; newlines are kept, so error positions stay right."""

    def blank(match: re.Match[str]) -> str:
        token = match.group(0)
        return token if token.startswith('"') else re.sub(r"[^\n]", " ", token)

    return _STRING_OR_COMMENT.sub(blank, text)


@dataclass(frozen=True)
class Entry:
    """One configuration value and where it came from.

    Attributes:
        value: a JSON scalar from host.json, or the text of an environment variable.
        spelled: the path as written (original case), for messages.
        variable: the environment variable that set it, or None when it comes from host.json.
    """

    value: object
    spelled: tuple[str, ...]
    variable: str | None = None

    def label(self, depth: int | None = None) -> str:
        """Where this value is set: ``host.json a.b.c`` (the first ``depth`` keys), or the variable's name."""
        if self.variable is not None:
            return self.variable
        return "host.json " + ".".join(self.spelled[:depth])

    def shown(self) -> str:
        """The value for an error message, cut short (only for settings that hold no secret: numbers, flags)."""
        text = repr(self.value)
        return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 3] + "..."


class HostConfig:
    """host.json flattened to lowercased paths, with the ``AzureFunctionsJobHost__`` overrides applied."""

    def __init__(self, entries: Mapping[tuple[str, ...], Entry], *, found: bool = True) -> None:
        self._entries = dict(entries)
        self.found = found
        """False when the app folder has no host.json (every setting then has its default)."""

    @classmethod
    def load(cls, path: Path, environ: Mapping[str, str]) -> HostConfig:
        """Read ``path`` (host.json) and apply the overrides found in ``environ``.

        Raises:
            ConfigurationError: the file is not valid JSON or does not hold an object.
        """
        document = read_json_file(path)
        if document is not None and not isinstance(document, dict):
            raise ConfigurationError(f"{path} is invalid: must hold a JSON object")
        entries: dict[tuple[str, ...], Entry] = {}
        _flatten(document or {}, (), entries)
        entries.update(_overrides(environ))
        return cls(entries, found=document is not None)

    def get(self, *path: str) -> Entry | None:
        """The entry at ``path`` (lowercased keys), or None."""
        return self._entries.get(path)

    def under(self, *prefix: str) -> list[tuple[tuple[str, ...], Entry]]:
        """Every entry below ``prefix``, with its path relative to it, in source order."""
        size = len(prefix)
        return [
            (path[size:], entry) for path, entry in self._entries.items() if len(path) > size and path[:size] == prefix
        ]


def _flatten(node: object, spelled: tuple[str, ...], out: dict[tuple[str, ...], Entry]) -> None:
    if isinstance(node, dict):
        for key, child in node.items():
            _flatten(child, (*spelled, key), out)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            _flatten(child, (*spelled, str(index)), out)
    elif node is not None and spelled:
        # Keys differing only in case are one key to .NET configuration: the later one wins, as there.
        out[tuple(key.lower() for key in spelled)] = Entry(node, spelled)


def _overrides(environ: Mapping[str, str]) -> dict[tuple[str, ...], Entry]:
    """The entries set by ``AzureFunctionsJobHost__a__b`` variables (``:`` separates too, as in .NET)."""
    found: dict[tuple[str, ...], Entry] = {}
    for name, value in environ.items():
        prefix, *spelled = re.split(r"__|:", name)
        if prefix.lower() != OVERRIDE_PREFIX.lower() or not spelled or not all(spelled):
            continue
        found[tuple(key.lower() for key in spelled)] = Entry(value, tuple(spelled), name)
    return found


def read_text(entry: Entry) -> str:
    """A string setting; JSON numbers, booleans and the like are refused."""
    if not isinstance(entry.value, str):
        raise ConfigurationError(f"{entry.label()} {entry.shown()} is invalid: must be a string")
    return entry.value


def read_int(entry: Entry, low: int, high: int | None = None) -> int:
    """An integer setting from ``low`` to ``high``: a JSON integer or its text (``"4"``)."""
    value = entry.value
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None or number < low or (high is not None and number > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ConfigurationError(f"{entry.label()} {entry.shown()} is invalid: must be an integer {allowed}")
    return number


def read_bool(entry: Entry) -> bool:
    """A flag: JSON true/false or the text ``true``/``false`` in any case (as .NET's ``bool.Parse``)."""
    value = entry.value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigurationError(f"{entry.label()} {entry.shown()} is invalid: must be true or false")


def read_seconds(entry: Entry, low: float, high: float | None = None) -> float:
    """A TimeSpan setting in seconds, from ``low`` to ``high`` inclusive."""
    if not isinstance(entry.value, str):
        raise ConfigurationError(
            f'{entry.label()} {entry.shown()} is invalid: must be a TimeSpan string such as "00:00:30"'
        )
    try:
        seconds = parse_timespan(entry.value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{entry.label()}: {exc}") from None
    if seconds < low or (high is not None and seconds > high):
        allowed = f"from {_format(low)} to {_format(high)}" if high is not None else f"at least {_format(low)}"
        raise ConfigurationError(f"{entry.label()} {entry.shown()} is invalid: must be {allowed}")
    return seconds


def parse_timespan(text: str) -> float:
    """Seconds in a .NET TimeSpan string: ``hh:mm:ss``, ``d.hh:mm:ss``, ``hh:mm``, with optional ``.fffffff``.

    A bare number is refused: .NET reads ``"30"`` as 30 days, which is never what a setting meant.
    ``24:00:00`` is refused too (.NET reads it as 24 days); write ``1.00:00:00``.

    Raises:
        ConfigurationError: the text is not one of those forms (the message names it and the forms).
    """
    match = _TIMESPAN.fullmatch(text.strip())
    if match is None:
        bare = " (a bare number means days to the Functions host)" if text.strip().isdigit() else ""
        raise ConfigurationError(
            f"TimeSpan {text!r} is invalid: must be hh:mm:ss such as 00:00:30, or d.hh:mm:ss such as 1.00:00:00{bare}"
        )
    days, hours, minutes, seconds = (int(match.group(name) or 0) for name in ("days", "hours", "minutes", "seconds"))
    if hours > 23:
        raise ConfigurationError(
            f"TimeSpan {text!r} is invalid: hours must be 0-23 (write 1.00:00:00 for one day; "
            "the Functions host reads 24:00:00 as 24 days)"
        )
    if minutes > 59 or seconds > 59:
        raise ConfigurationError(f"TimeSpan {text!r} is invalid: minutes and seconds must be 0-59")
    fraction = float(f"0.{match.group('fraction')}") if match.group("fraction") else 0.0
    return days * 86_400 + hours * 3600 + minutes * 60 + seconds + fraction


def _format(seconds: float) -> str:
    """Seconds as a TimeSpan string, for messages (``00:01:00``, ``7.00:00:00``, ``00:00:00.001``)."""
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    if seconds != whole:
        text += f"{seconds - whole:.7f}".rstrip("0")[1:]
    return f"{days}.{text}" if days else text
