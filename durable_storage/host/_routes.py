"""HTTP trigger route templates, as ASP.NET Core parses them for the Functions host; pure.

``orders/{id:int}/{action?}``, ``files/{*path}``, ``items/{kind=all}``, constraints chained with ``:``
(``{n:int:min(1)}``). Literal text matches case-insensitively; parameter values reach the function as strings in
``route_params`` (functions-host.md §5). Complex segments (``{name}.{ext}``) work as well: as in ASP.NET, the
last literal wins (``a.b.txt`` gives ``name=a.b``, ``ext=txt``). Braces inside a regex constraint are not supported.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from durable_storage.errors import ConfigurationError

__all__ = ["RouteTemplate"]

_PARAMETER = re.compile(r"\{([^{}]*)\}")
_CONSTRAINT = re.compile(r"^(\w+)(?:\((.*)\))?$", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

Check = Callable[[str], bool]


def _integer(bounds: tuple[int, int]) -> Check:
    def check(value: str) -> bool:
        return re.fullmatch(r"[+-]?\d+", value) is not None and bounds[0] <= int(value) <= bounds[1]

    return check


def _number(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value) is not None


def _datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_SIMPLE: dict[str, Check] = {
    "int": _integer(_INT32),
    "long": _integer(_INT64),
    "bool": lambda v: v.lower() in ("true", "false"),
    "datetime": _datetime,
    "decimal": _number,
    "double": _number,
    "float": _number,
    "guid": _guid,
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "required": lambda v: v != "",
}


def _arguments(template: str, name: str, text: str, count: tuple[int, ...]) -> list[int]:
    parts = [part.strip() for part in text.split(",")] if text else []
    if len(parts) not in count or not all(re.fullmatch(r"-?\d+", part) for part in parts):
        raise ConfigurationError(
            f"route {template!r}: constraint {name}({text}) is invalid: needs {' or '.join(map(str, count))} integers"
        )
    return [int(part) for part in parts]


def _constraint(template: str, text: str) -> Check:
    found = _CONSTRAINT.match(text)
    if found is None:
        raise ConfigurationError(f"route {template!r}: constraint {text!r} is invalid")
    name, argument = found[1].lower(), found[2]
    if name in _SIMPLE and argument is None:
        return _SIMPLE[name]
    if name == "regex" and argument is not None:
        try:
            pattern = re.compile(argument, re.IGNORECASE)
        except re.error as bad:
            raise ConfigurationError(f"route {template!r}: regex({argument}) is invalid: {bad}") from None
        return lambda v: pattern.search(v) is not None
    if name in ("min", "max"):
        (limit,) = _arguments(template, name, argument or "", (1,))
        number = _integer(_INT64)
        return lambda v: number(v) and (int(v) >= limit if name == "min" else int(v) <= limit)
    if name == "range":
        low, high = _arguments(template, name, argument or "", (2,))
        number = _integer(_INT64)
        return lambda v: number(v) and low <= int(v) <= high
    if name in ("minlength", "maxlength", "length"):
        limits = _arguments(template, name, argument or "", (1, 2) if name == "length" else (1,))
        if name == "minlength":
            return lambda v: len(v) >= limits[0]
        if name == "maxlength":
            return lambda v: len(v) <= limits[0]
        return lambda v: limits[0] <= len(v) <= limits[-1]
    allowed = "int, long, bool, datetime, decimal, double, float, guid, alpha, required, min(n), max(n), "
    raise ConfigurationError(
        f"route {template!r}: constraint {text!r} is unknown: must be one of {allowed}range(a,b), "
        "minlength(n), maxlength(n), length(n[,m]), regex(expr)"
    )


@dataclass(frozen=True)
class _Parameter:
    name: str
    optional: bool
    catch_all: bool
    default: str | None
    checks: tuple[Check, ...]


def _parameter(template: str, text: str) -> _Parameter:
    catch_all = text.startswith("*")
    text = text.lstrip("*")
    # A regex constraint may contain ':' or '=', so split the name off before the first ':' only.
    head, _, constraints = text.partition(":")
    pieces = _split_constraints(constraints) if constraints else []
    default: str | None = None
    last = pieces[-1] if pieces else head
    if "=" in last and not last.startswith("regex("):
        last, _, default = last.partition("=")
    optional = last.endswith("?")
    last = last.removesuffix("?")
    if pieces:
        pieces[-1] = last
    else:
        head = last
    if not _NAME.match(head):
        raise ConfigurationError(f"route {template!r}: parameter {{{text}}} is invalid: needs a name of letters/digits")
    checks = tuple(_constraint(template, piece) for piece in pieces)
    return _Parameter(head, optional or catch_all, catch_all, default, checks)


def _split_constraints(text: str) -> list[str]:
    pieces: list[str] = []
    depth, current = 0, ""
    for char in text:
        if char == ":" and depth == 0:
            pieces.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    pieces.append(current)
    return pieces


class RouteTemplate:
    """One parsed route template; :meth:`match` a request path against it.

    Raises:
        ConfigurationError: the template is malformed (names the template and the part at fault).
    """

    def __init__(self, template: str) -> None:
        self.template = template
        self._parameters: dict[str, _Parameter] = {}
        self._regex = re.compile("^" + self._compile(template.strip("/")) + "/?$", re.IGNORECASE | re.DOTALL)

    def _compile(self, template: str) -> str:
        if not template:
            return ""
        pattern = ""
        segments = template.split("/")
        for index, segment in enumerate(segments):
            if segment == "":
                raise ConfigurationError(f"route {self.template!r} is invalid: it has an empty segment ('//')")
            whole = _PARAMETER.fullmatch(segment)
            if whole is not None:
                parameter = self._add(whole[1])
                if parameter.catch_all and index != len(segments) - 1:
                    raise ConfigurationError(f"route {self.template!r}: a catch-all must be the last segment")
                value = ".*" if parameter.catch_all else "[^/]+"
                group = f"(?P<{parameter.name}>{value})"
                pattern += f"(?:/{group})?" if parameter.optional or parameter.default is not None else f"/{group}"
                continue
            pattern += "/" + self._complex(segment)
        return pattern

    def _complex(self, segment: str) -> str:
        pattern, position = "", 0
        for found in _PARAMETER.finditer(segment):
            pattern += re.escape(segment[position : found.start()])
            parameter = self._add(found[1])
            if parameter.catch_all or parameter.optional:
                raise ConfigurationError(
                    f"route {self.template!r}: {{{found[1]}}} shares a segment, so it cannot be optional or catch-all"
                )
            pattern += f"(?P<{parameter.name}>[^/]+)"
            position = found.end()
        rest = segment[position:]
        if "{" in rest or "}" in rest:
            raise ConfigurationError(f"route {self.template!r}: segment {segment!r} has an unbalanced brace")
        return pattern + re.escape(rest)

    def _add(self, text: str) -> _Parameter:
        parameter = _parameter(self.template, text)
        if parameter.name.lower() in (name.lower() for name in self._parameters):
            raise ConfigurationError(f"route {self.template!r}: parameter {parameter.name!r} appears twice")
        self._parameters[parameter.name] = parameter
        return parameter

    @property
    def literal_segments(self) -> int:
        """How many segments are plain text: a route with more of them is tried first, as ASP.NET prefers it."""
        return sum(1 for segment in self.template.strip("/").split("/") if segment and "{" not in segment)

    @property
    def has_catch_all(self) -> bool:
        """True when the last segment takes the rest of the path."""
        return any(parameter.catch_all for parameter in self._parameters.values())

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters when ``path`` (decoded, after the route prefix) matches, else None."""
        found = self._regex.match("/" + path.strip("/") if path.strip("/") else "")
        if found is None:
            return None
        values: dict[str, str] = {}
        for name, parameter in self._parameters.items():
            raw = found.group(name)
            if raw is None or raw == "":
                if parameter.default is not None:
                    values[name] = parameter.default
                continue
            if not all(check(raw) for check in parameter.checks):
                return None
            values[name] = raw
        return values

    def __repr__(self) -> str:
        return f"RouteTemplate({self.template!r})"
