"""The Newtonsoft.Json shapes of DurableTask.Core values: ``$type`` names, member order and nulls; pure.

Rules from history-event-fields.md §1-3: ``$type`` first; .NET fields, then the class's own
properties, then the base class's; every member written even when null; enums as numbers; DateTimes as in
:mod:`durable_storage._datetimes`. The History table stores the complex members with the same layout minus the
``$type``s (history-event-fields.md §4), so :mod:`durable_storage._storage.codec` builds its JSON columns here too.

A :class:`Contract` lists a class's members; :func:`encode_object` and :func:`decode_object` walk it. An object decoded
with a ``_source`` field keeps its JSON object, and :func:`encode_object` then follows that source: its member order,
its exact ``$type``/``__type`` strings, the members it left out and the unknown members a newer writer put in.

Safety (reliability.md §4.3): a ``$type`` is only ever compared with a closed set of names; nothing is imported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, Generic, TypeVar

from durable_storage._datetimes import format_datetime, parse_datetime
from durable_storage.errors import MessageFormatError
from durable_storage.history import (
    EVENT_CLASSES,
    DistributedTraceContext,
    EventType,
    FailureDetails,
    HistoryEvent,
    OrchestrationInstance,
    ParentInstance,
)
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = [
    "BOOLEAN",
    "EVENT",
    "EVENT_CONTRACTS",
    "INT32",
    "INT64",
    "INSTANCE",
    "KINDS",
    "STRING",
    "STRING_DICTIONARY",
    "Contract",
    "Kind",
    "Member",
    "contract",
    "decode_event",
    "decode_object",
    "dotnet_name",
    "dotnet_text",
    "dump_json",
    "encode_event",
    "encode_object",
    "expect_object",
    "parse_json",
]

T = TypeVar("T")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
TYPE_KEYS = ("$type", "__type")  # Newtonsoft's hint, and DataContractJsonSerializer's (history-event-fields.md §5)


# --- JSON text -------------------------------------------------------------------------------------------------


def parse_json(text: str, what: str, *, max_chars: int | None = None) -> object:
    """Parse untrusted JSON ``text`` (reliability.md §4.3); ``what`` names it in errors.

    Raises:
        MessageFormatError: too long, not JSON, nested too deeply, NaN/Infinity, an integer over 4,300 digits, or a
            lone surrogate (which .NET would have turned into U+FFFD).
    """
    if max_chars is not None and len(text) > max_chars:
        raise MessageFormatError(f"{what} has {len(text)} characters: more than the {max_chars} allowed")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
        # json.loads turns a lone "\ud800" escape into a str that is not valid UTF-8; writing it back finds it.
        # Only a \uDxxx escape can produce one, so the (costly) check runs only when the text has such an escape.
        if _SURROGATE_ESCAPE.search(text):
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise MessageFormatError(f"{what} is nested too deeply to decode") from None
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise MessageFormatError(f"{what} contains the lone surrogate {bad!r}: it is not valid UTF-8") from None
    except ValueError as exc:
        raise MessageFormatError(f"{what} is not valid JSON: {exc}") from None
    return value


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number .NET can read")


def dotnet_text(text: str) -> str:
    """``text`` as .NET's Encoding.UTF8 writes it: each lone surrogate becomes U+FFFD instead of failing."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def dump_json(value: object) -> str:
    """Compact JSON as Newtonsoft writes it: no spaces, non-ASCII kept as is.

    Raises:
        ValueError: NaN or Infinity (.NET rejects them), or a lone surrogate (not valid UTF-8).
    """
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise ValueError(f"cannot write the lone surrogate {bad!r}: it is not valid UTF-8") from None
    except ValueError as exc:
        raise ValueError(f"cannot write {exc}: .NET rejects NaN and Infinity") from None
    return text


# --- $type hints -----------------------------------------------------------------------------------------------


def _full_name(key: str, hint: str) -> str:
    if key == "__type":  # DataContract form: "TimerFiredEvent:#DurableTask.Core.History"
        name, _, namespace = hint.partition(":#")
        return f"{namespace}.{name}" if namespace else name
    return _strip_assembly(hint)


def _strip_assembly(hint: str) -> str:
    # "X, DurableTask.Core" → "X"; the commas inside a generic's [[...]] belong to the type arguments.
    depth = 0
    for index, char in enumerate(hint):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            return hint[:index].strip()
    return hint.strip()


def _check_type(obj: Mapping[str, object], allowed: Collection[str], where: str, expected: str) -> str | None:
    """The full .NET name in ``obj``'s type hint, or None when it has none; any name outside ``allowed`` is refused."""
    for key in TYPE_KEYS:
        hint = obj.get(key)
        if hint is None:
            continue
        if not isinstance(hint, str) or _full_name(key, hint) not in allowed:
            raise MessageFormatError(f"{where}: {key} {_show(hint)} is not accepted here: expected {expected}")
        return _full_name(key, hint)
    return None


# Newtonsoft's "simple" assembly format: .NET Core names System.Private.CoreLib, .NET Framework mscorlib
# (history-event-fields.md §1).
_DICTIONARY = "System.Collections.Generic.Dictionary`2[[System.String, {0}],[System.{1}, {0}]]"
_CORE_LIBRARIES = ("System.Private.CoreLib", "mscorlib")


# --- kinds of member values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kind:
    """How one kind of member value goes to JSON and back, and how a History table stores it."""

    encode: Callable[[Any, bool, object], object]  # (non-None value, write $types?, source JSON) → JSON value
    decode: Callable[[object, str], Any]  # (non-null JSON value, path for errors) → value
    column: str = "native"  # "native", "datetime", "enum" (the name) or "json" (history-event-fields.md §4)


def _show(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def _primitive(check: Callable[[object], bool], expected: str) -> Kind:
    def decode(raw: object, where: str) -> object:
        if not check(raw):
            raise MessageFormatError(f"{where}: {_show(raw)} is invalid: must be {expected}")
        return raw

    return Kind(lambda value, typed, source: value, decode)


def _is_int(raw: object, bits: int) -> bool:
    limit = 1 << (bits - 1)
    return isinstance(raw, int) and not isinstance(raw, bool) and -limit <= raw < limit


def _decode_datetime(raw: object, where: str) -> object:
    try:
        return parse_datetime(STRING.decode(raw, where))
    except ValueError as exc:
        raise MessageFormatError(f"{where}: {exc}") from None


def _decode_status(raw: object, where: str) -> OrchestrationRuntimeStatus:
    try:
        return OrchestrationRuntimeStatus.from_wire_value(INT32.decode(raw, where))
    except ValueError as exc:
        raise MessageFormatError(f"{where}: {exc}") from None


def _decode_event_type(raw: object, where: str) -> EventType:
    number = INT32.decode(raw, where)
    try:
        event_type = EventType(number)
    except ValueError:
        raise MessageFormatError(f"{where}: EventType {number} is unknown: must be 0-{max(EventType)}") from None
    if event_type not in EVENT_CLASSES:
        raise MessageFormatError(f"{where}: EventType {number} ({event_type.name}) has no event class")
    return event_type


def _object_kind(get_contract: Callable[[], Contract[Any]]) -> Kind:
    # A thunk, because the contracts are built from KINDS, which holds these kinds.
    return Kind(
        lambda value, typed, source: encode_object(value, get_contract(), typed=typed, source=source),
        lambda raw, where: decode_object(get_contract(), raw, where),
        "json",
    )


def _dictionary_kind(value_type: str, check_value: Kind | None) -> Kind:
    names = frozenset(_DICTIONARY.format(corlib, value_type) for corlib in _CORE_LIBRARIES)
    default_name = _DICTIONARY.format(_CORE_LIBRARIES[0], value_type)  # a current writer runs on .NET Core

    def encode(value: Mapping[str, object], typed: bool, source: object) -> object:
        if isinstance(source, list):  # DataContract writes a dictionary as Key/Value pairs
            return [{"Key": key, "Value": item} for key, item in value.items()]
        if isinstance(source, Mapping):
            head = {key: source[key] for key in TYPE_KEYS if key in source}
        else:
            head = {"$type": default_name} if typed else {}
        return {**head, **value}

    def decode(raw: object, where: str) -> dict[str, object]:
        pairs = _pairs(raw, where, names, value_type)
        if check_value is not None:
            for key, item in pairs:
                check_value.decode(item, f"{where}.{key}")
        return dict(pairs)

    return Kind(encode, decode, "json")


def _pairs(raw: object, where: str, names: Collection[str], value_type: str) -> list[tuple[str, object]]:
    if isinstance(raw, list):
        items = [expect_object(item, f"{where}[{index}]") for index, item in enumerate(raw)]
        return [(STRING.decode(item.get("Key"), f"{where}.Key"), item.get("Value")) for item in items]
    obj = expect_object(raw, where)
    _check_type(obj, names, where, f"a dictionary of String to {value_type}")
    return [(key, item) for key, item in obj.items() if key not in TYPE_KEYS]


def _encode_state(value: str, typed: bool, source: object) -> object:
    return parse_json(value, "HistoryStateEvent.state")


STRING = _primitive(lambda raw: isinstance(raw, str), "a string")
INT32 = _primitive(lambda raw: _is_int(raw, 32), "a 32-bit integer")
INT64 = _primitive(lambda raw: _is_int(raw, 64), "a 64-bit integer")
BOOLEAN = _primitive(lambda raw: isinstance(raw, bool), "true or false")
DATETIME = Kind(lambda value, typed, source: format_datetime(value), _decode_datetime, "datetime")
DATETIME_OFFSET = Kind(lambda value, typed, source: format_datetime(value, offset=True), _decode_datetime, "datetime")
STATUS = Kind(lambda value, typed, source: value.wire_value, _decode_status, "enum")
EVENT_TYPE = Kind(lambda value, typed, source: int(value), _decode_event_type, "enum")
STRING_DICTIONARY = _dictionary_kind("String", STRING)
STATE = Kind(_encode_state, lambda raw, where: dump_json(raw), "json")  # OrchestrationState, opaque to us

_STRINGS = "name version input result reason details instance_id execution_id correlation client_span_id data"
_STRINGS += " parent_execution_id error_type error_message stack_trace trace_parent trace_state id span_id"
KINDS: Mapping[str, Kind] = {
    **dict.fromkeys(_STRINGS.split(), STRING),
    **dict.fromkeys(("event_id", "task_scheduled_id", "timer_id", "task_schedule_id", "generation"), INT32),
    **dict.fromkeys(("is_played", "generate_new_trace", "is_non_retriable"), BOOLEAN),
    **dict.fromkeys(("timestamp", "fire_at", "scheduled_start_time"), DATETIME),
    "activity_start_time": DATETIME_OFFSET,  # a DateTimeOffset: always "+hh:mm", never "Z"
    "event_type": EVENT_TYPE,
    "orchestration_status": STATUS,
    "orchestration_instance": _object_kind(lambda: INSTANCE),
    "parent_instance": _object_kind(lambda: _PARENT),
    "failure_details": _object_kind(lambda: _FAILURE),
    "inner_failure": _object_kind(lambda: _FAILURE),
    "parent_trace_context": _object_kind(lambda: _TRACE),
    "tags": STRING_DICTIONARY,
    "properties": _dictionary_kind("Object", None),
    "state": STATE,
}
"""The kind of every member, by attribute name: a name means the same thing in every class."""


# --- contracts -------------------------------------------------------------------------------------------------


def dotnet_name(attribute: str) -> str:
    """The .NET member name of an attribute: ``task_scheduled_id`` → ``TaskScheduledId``."""
    return "".join(part.capitalize() for part in attribute.split("_"))


@dataclass(frozen=True, slots=True)
class Member:
    """One serialized member: attribute, JSON name, kind, and default (``MISSING`` when required)."""

    attr: str
    key: str
    kind: Kind
    default: object
    init: bool = True  # False for EventType, which the class itself fixes


@dataclass(frozen=True, slots=True)
class Contract(Generic[T]):
    """A data contract: the class, its ``$type`` name and its members in the order a current .NET writer uses."""

    cls: type[T]
    type_name: str
    members: tuple[Member, ...]
    omit_when_default: frozenset[str] = frozenset()  # attributes with EmitDefaultValue = false
    keeps_source: bool = False


def contract(
    cls: type[T],
    type_name: str,
    kinds: Mapping[str, Kind],
    *,
    order: Iterable[str] | None = None,
    omit_when_default: Iterable[str] = (),
) -> Contract[T]:
    """The contract of dataclass ``cls``; members follow ``order`` or else the field order."""
    defaults = {f.name: f.default for f in fields(cls)}  # type: ignore[arg-type]
    names = list(order) if order is not None else [name for name in defaults if name != "_source"]
    # A name that is no field (EventType) is a ClassVar: the class constant is its default, and __init__ lacks it.
    members = tuple(
        Member(name, dotnet_name(name), kinds[name], defaults.get(name, getattr(cls, name, MISSING)), name in defaults)
        for name in names
    )
    return Contract(cls, type_name, members, frozenset(omit_when_default), "_source" in defaults)


def expect_object(raw: object, where: str) -> dict[str, object]:
    """``raw`` if it is a JSON object, else a MessageFormatError naming what it is."""
    if not isinstance(raw, dict):
        raise MessageFormatError(f"{where}: expected a JSON object, got {type(raw).__name__} {_show(raw)}")
    return raw


def encode_object(value: Any, contract: Contract[Any], *, typed: bool, source: object = None) -> dict[str, object]:
    """``value`` as a JSON object: a current writer's layout, or the layout of the source it was decoded from."""
    # An object with a _source field of its own was created by us when that is None: it gets the current layout.
    layout = value._source if contract.keeps_source else source
    src = layout if isinstance(layout, Mapping) else None
    canonical: dict[str, object] = {"$type": contract.type_name} if typed else {}
    defaulted: set[str] = set()
    for member in contract.members:
        item = getattr(value, member.attr)
        if member.default is not MISSING and item == member.default:
            if member.attr in contract.omit_when_default:
                continue
            defaulted.add(member.key)
        nested = src.get(member.key) if src is not None else None
        canonical[member.key] = None if item is None else member.kind.encode(item, typed, nested)
    return canonical if src is None else _follow_source(canonical, defaulted, src)


def _follow_source(
    canonical: dict[str, object], defaulted: set[str], source: Mapping[str, object]
) -> dict[str, object]:
    # The source's order, type hints and unknown members; our values for the members we know.
    result = {key: raw if key in TYPE_KEYS else canonical.get(key, raw) for key, raw in source.items()}
    # A member the source lacked (an older writer) comes back only if it now holds something.
    for key, value in canonical.items():
        if key not in result and key not in TYPE_KEYS and key not in defaulted:
            result[key] = value
    return result


def decode_object(contract: Contract[T], raw: object, where: str) -> T:
    """Build ``contract.cls`` from JSON ``raw``: missing members take their default, unknown ones are ignored.

    Raises:
        MessageFormatError: not an object, a foreign type hint, a required member missing or null, a bad value.
    """
    obj = expect_object(raw, where)
    _check_type(obj, {contract.type_name}, where, contract.type_name)
    return _build(contract, obj, where)


def _build(contract: Contract[T], obj: dict[str, object], where: str) -> T:
    values: dict[str, object] = {}
    for member in contract.members:
        if not member.init:
            continue
        if member.key not in obj:
            if member.default is MISSING:
                raise MessageFormatError(f"{where}: the required member {member.key!r} is missing")
            continue
        raw = obj[member.key]
        path = f"{where}.{member.key}"
        if raw is None and member.default is not None:
            raise MessageFormatError(f"{path} is null: it must hold a value")
        values[member.attr] = None if raw is None else member.kind.decode(raw, path)
    if contract.keeps_source:
        values["_source"] = obj
    return contract.cls(**values)


# --- helper types and events -----------------------------------------------------------------------------------

INSTANCE: Contract[OrchestrationInstance] = contract(
    OrchestrationInstance, "DurableTask.Core.OrchestrationInstance", KINDS
)
_PARENT: Contract[ParentInstance] = contract(ParentInstance, "DurableTask.Core.ParentInstance", KINDS)
_FAILURE: Contract[FailureDetails] = contract(FailureDetails, "DurableTask.Core.FailureDetails", KINDS)
_TRACE: Contract[DistributedTraceContext] = contract(
    DistributedTraceContext, "DurableTask.Core.Tracing.DistributedTraceContext", KINDS
)

_BASE_MEMBERS = ("event_id", "is_played", "timestamp")
# Newtonsoft writes [DataMember] fields before properties; only these two event members are .NET fields
# (history-event-fields.md §1).
_DOTNET_FIELDS = ("orchestration_instance", "data")


def _event_contract(cls: type[HistoryEvent]) -> Contract[HistoryEvent]:
    own = [f.name for f in fields(cls) if f.name not in (*_BASE_MEMBERS, "_source")]
    first = [name for name in own if name in _DOTNET_FIELDS]
    order = [*first, "event_type", *(name for name in own if name not in first), *_BASE_MEMBERS]
    return contract(cls, f"DurableTask.Core.History.{cls.__name__}", KINDS, order=order)


EVENT_CONTRACTS: Mapping[type[HistoryEvent], Contract[HistoryEvent]] = {
    cls: _event_contract(cls) for cls in EVENT_CLASSES.values()
}
_EVENTS_BY_NAME = {c.type_name: c for c in EVENT_CONTRACTS.values()}


def encode_event(event: HistoryEvent, *, typed: bool = True, source: object = None) -> dict[str, object]:
    """``event`` as the JSON object of a TaskMessage ``Event`` (history-event-fields.md §3)."""
    return encode_object(event, EVENT_CONTRACTS[type(event)], typed=typed, source=source)


def decode_event(raw: object, where: str) -> HistoryEvent:
    """The event in JSON ``raw``, its class chosen by ``$type``/``__type`` or, without one, by ``EventType``.

    Raises:
        MessageFormatError: an unknown type, an ``EventType`` that contradicts it, or any member error.
    """
    obj = expect_object(raw, where)
    name = _check_type(obj, _EVENTS_BY_NAME, where, "a DurableTask.Core.History event")
    number = obj.get("EventType")
    event_type = None if number is None else _decode_event_type(number, f"{where}.EventType")
    if name is not None:
        found = _EVENTS_BY_NAME[name]
        if event_type is not None and event_type != found.cls.event_type:
            raise MessageFormatError(f"{where}: EventType {int(event_type)} ({event_type.name}) contradicts {name}")
    elif event_type is not None:
        found = EVENT_CONTRACTS[EVENT_CLASSES[event_type]]
    else:
        raise MessageFormatError(f"{where}: neither a type hint nor an EventType says which event this is")
    return _build(found, obj, where)


EVENT = Kind(lambda value, typed, source: encode_event(value, typed=typed, source=source), decode_event, "json")
"""The kind of TaskMessage.Event: any history event, chosen by its type hint."""
