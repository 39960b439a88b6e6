"""Query-string values of the HTTP API: flags, times, statuses, page sizes; each bad value is a 400 naming it.

The Functions host silently ignores a value it cannot parse (``bool.TryParse`` and friends) and goes on with the
default, so that a typo such as ``showHistory=ture`` quietly hides the history; we answer 400 instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from multidict import MultiMapping

from durable_storage._datetimes import assume_utc, parse_datetime
from durable_storage.errors import ConfigurationError
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["InstanceFilter", "flag", "instance_filter", "page_size", "seconds", "statuses", "when"]

_DEFAULT_PAGE_SIZE = 100  # OrchestrationStatusQueryCondition.PageSize's default
_STATUSES = {status.name.lower(): status for status in OrchestrationRuntimeStatus}

Query = MultiMapping[str]


def flag(query: Query, name: str, default: bool) -> bool:
    """``true`` or ``false`` (any case); ``default`` when absent."""
    value = query.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigurationError(f"query parameter {name}={value!r} is invalid: must be true or false")


def when(query: Query, name: str) -> datetime | None:
    """An ISO 8601 time (``2024-05-01T12:00:00Z``, a date, or with an offset); one without an offset is UTC."""
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigurationError(
                f"query parameter {name}={value!r} is invalid: must be an ISO 8601 time such as 2024-05-01T12:00:00Z"
            ) from None
    return assume_utc(parsed)


def statuses(query: Query, name: str = "runtimeStatus") -> list[OrchestrationRuntimeStatus]:
    """The statuses named by every ``runtimeStatus`` value, each a comma-separated list (names in any case)."""
    found: list[OrchestrationRuntimeStatus] = []
    for value in query.getall(name, []):
        for item in filter(None, (part.strip() for part in value.split(","))):
            status = _STATUSES.get(item.lower())
            if status is None:
                names = ", ".join(s.name for s in OrchestrationRuntimeStatus)
                raise ConfigurationError(f"query parameter {name}={item!r} is invalid: must be one of {names}")
            if status not in found:
                found.append(status)
    return found


def page_size(query: Query, name: str = "top") -> int:
    """The page size, 1-1000 (default 100)."""
    value = query.get(name)
    if value is None or value == "":
        return _DEFAULT_PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise ConfigurationError(f"query parameter {name}={value!r} is invalid: must be an integer from 1 to 1000")
    return int(value)


def seconds(query: Query, name: str) -> float | None:
    """A number of seconds from 0 to 3600 (``timeout``, ``pollingInterval``); None when absent."""
    value = query.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 3600:  # also refuses nan
        raise ConfigurationError(f"query parameter {name}={value!r} is invalid: must be 0 to 3600 seconds")
    return number


@dataclass(frozen=True)
class InstanceFilter:
    """The conditions of an instance query (``GET .../instances``)."""

    created_time_from: datetime | None
    created_time_to: datetime | None
    runtime_status: list[OrchestrationRuntimeStatus]
    instance_id_prefix: str | None
    top: int


def instance_filter(query: Query) -> InstanceFilter:
    """The query of ``createdTimeFrom``, ``createdTimeTo``, ``runtimeStatus``, ``instanceIdPrefix`` and ``top``."""
    return InstanceFilter(
        created_time_from=when(query, "createdTimeFrom"),
        created_time_to=when(query, "createdTimeTo"),
        runtime_status=statuses(query),
        instance_id_prefix=query.get("instanceIdPrefix") or None,
        top=page_size(query),
    )
