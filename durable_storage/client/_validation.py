"""Argument checks of the client, run before anything is sent or written (reliability.md §4.4); pure.

Every error is a :class:`~durable_storage.errors.ConfigurationError` (a ``ValueError``; instance IDs raise its
subclass ``InvalidNameError``) naming the argument, its value and the rule.

Naive datetimes are refused rather than assumed to be UTC: ``datetime.now()`` is local time, and reading it as UTC
would shift a scheduled start or a query window by the machine's UTC offset without any sign of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from durable_storage import _json
from durable_storage import _settings as settings
from durable_storage._datetimes import STORABLE_RANGE, is_storable
from durable_storage._names import validate_instance_id, validate_orchestration_id
from durable_storage._settings import show
from durable_storage.errors import ConfigurationError
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = [
    "check_aware",
    "check_flag",
    "check_instance_id",
    "check_name",
    "check_orchestration_id",
    "check_page_size",
    "check_seconds",
    "check_stored_time",
    "check_target",
    "check_text",
    "encode_payload",
    "runtime_statuses",
]


def check_instance_id(instance_id: object) -> str:
    """``instance_id`` if it can be stored: a non-empty str whose escaped table key fits in 1 KiB."""
    validate_instance_id(instance_id)
    assert isinstance(instance_id, str)
    return instance_id


def check_orchestration_id(instance_id: object) -> str:
    """``instance_id`` if an orchestration may have it: a storable ID that does not start with ``@`` (entities')."""
    validate_orchestration_id(instance_id)
    assert isinstance(instance_id, str)
    return instance_id


def check_name(value: object, what: str) -> str:
    """``value`` if it is a non-empty str (an orchestrator or event name) without lone surrogates."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{what} {show(value)} is invalid: must be a non-empty str")
    return _without_lone_surrogates(value, what)


def check_text(value: object, what: str) -> str | None:
    """``value`` if it is a str or None (a reason, a version) without lone surrogates."""
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"{what} {show(value)} is invalid: must be a str or None")
    return None if value is None else _without_lone_surrogates(value, what)


def _without_lone_surrogates(value: str, what: str) -> str:
    # A name or reason travels as message JSON that must be UTF-8 (a payload is escaped to ASCII and may hold one).
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise ConfigurationError(
            f"{what} {show(value)} is invalid: must not contain lone surrogates (U+D800-U+DFFF), which UTF-8 cannot "
            "encode"
        )
    return value


def check_flag(value: object, what: str) -> bool:
    """``value`` if it is a bool."""
    if not isinstance(value, bool):
        raise ConfigurationError(f"{what} {show(value)} is invalid: must be True or False")
    return value


def check_page_size(page_size: object) -> int:
    """``page_size`` if it is an integer from 1 to 1000 (the table service's page limit)."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 1000:
        raise ConfigurationError(f"page_size {page_size!r} is invalid: must be an integer from 1 to 1000")
    return page_size


def encode_payload(value: Any, what: str) -> str:
    """``value`` as JSON text, custom classes through ``to_json`` (as azure-functions-durable encodes payloads)."""
    try:
        return _json.dumps(value)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(
            f"{what} {show(value)} is invalid: must be JSON-serializable (plain JSON values, or objects whose "
            f"class defines to_json and from_json): {error}"
        ) from None


def check_aware(value: object, what: str) -> datetime | None:
    """``value`` if it is None or a timezone-aware datetime; naive ones are refused (see the module docstring)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ConfigurationError(f"{what} {show(value)} is invalid: must be a datetime or None")
    if value.utcoffset() is None:
        raise ConfigurationError(
            f"{what} {value.isoformat()} is invalid: must be timezone-aware, e.g. datetime.now(timezone.utc) "
            "(a naive datetime could be local time or UTC)"
        )
    return value


def check_stored_time(value: object, what: str) -> datetime | None:
    """``value`` if it is None or an aware datetime that a table can hold (a time we write into a row)."""
    aware = check_aware(value, what)
    if aware is not None and not is_storable(aware):
        raise ConfigurationError(f"{what} {aware.isoformat()} is invalid: must be from {STORABLE_RANGE}")
    return aware


def check_seconds(value: object, what: str, *, positive: bool = False) -> float | None:
    """``value`` if it is None or a finite number of seconds, >= 0 (> 0 when ``positive``)."""
    return None if value is None else settings.check_seconds(value, what, high=None, above=positive)


def _status(value: object, what: str) -> OrchestrationRuntimeStatus:
    if isinstance(value, OrchestrationRuntimeStatus):
        return value
    if isinstance(value, str) and value in OrchestrationRuntimeStatus.__members__:
        return OrchestrationRuntimeStatus[value]
    names = ", ".join(OrchestrationRuntimeStatus.__members__)
    raise ConfigurationError(
        f"{what} {show(value)} is invalid: must be an OrchestrationRuntimeStatus or one of {names}"
    )


def runtime_statuses(value: object, what: str = "runtime_status") -> tuple[OrchestrationRuntimeStatus, ...]:
    """The statuses of ``value``: None, one status (or its name), or an iterable of them; duplicates dropped."""
    if value is None:
        return ()
    items: Iterable[object] = (
        [value] if isinstance(value, (str, OrchestrationRuntimeStatus)) else _iterable(value, what)
    )
    return tuple(dict.fromkeys(_status(item, what) for item in items))


def _iterable(value: object, what: str) -> Iterable[object]:
    if not isinstance(value, Iterable):
        raise ConfigurationError(f"{what} {show(value)} is invalid: must be a status, a list of statuses or None")
    return value


# The Functions host's name for the default connection (AzureWebJobsStorage), which a binding may pass.
_DEFAULT_CONNECTION_NAMES = ("Storage", "AzureWebJobsStorage")


def check_target(hub: str, connection: str | None, task_hub_name: object, connection_name: object) -> None:
    """Refuse a ``task_hub_name``/``connection_name`` (azure-functions-durable's arguments) naming another hub.

    One client serves one hub on one account; another hub is another client, and the error says how to build it.
    """
    if task_hub_name is not None and task_hub_name != hub:
        raise ConfigurationError(
            f"task_hub_name {show(task_hub_name)} is not this client's task hub {hub!r}: use a client of that hub, "
            f"e.g. DurableOrchestrationClient.from_env(task_hub={show(task_hub_name)})"
        )
    known = (*_DEFAULT_CONNECTION_NAMES, connection) if connection else _DEFAULT_CONNECTION_NAMES
    if connection_name is not None and connection_name not in known:
        raise ConfigurationError(
            f"connection_name {show(connection_name)} is not this client's connection ({known[-1]!r}): use a "
            f"client of that account, e.g. DurableOrchestrationClient.from_env({show(connection_name)})"
        )
