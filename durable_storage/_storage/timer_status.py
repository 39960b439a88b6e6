"""The schedule status of timer-triggered functions: one small JSON blob per function, written conditionally.

The Functions host's schedule monitor keeps ``{"Last", "Next", "LastUpdated"}`` in
``azure-webjobs-hosts/timers/{hostId}/Host.Functions.<name>/status`` (functions-host.md §6). We keep the same
document under the same name, but in the hub's ``{hub}-leases`` container: the hub then owns everything it writes,
``TaskHub.delete`` removes it, and the .NET partition managers only read their own prefixes there (``default/``,
``intent/``, ``ownership/``, ``taskhub.json``).

Every write is conditioned on the ETag the writer read (or on the blob not existing yet), which is what lets
several host processes agree on who runs an occurrence: see ``durable_storage.host._timers``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from durable_storage._datetimes import format_datetime, parse_datetime
from durable_storage._storage.blobs import Blobs
from durable_storage.errors import ConfigurationError, ConflictError

__all__ = ["ScheduleStatus", "StoredScheduleStatus", "TimerStatusStore"]

_log = logging.getLogger(__name__)

_MAX_BYTES = 64 * 1024  # a status is about 150 bytes; anything much larger is not one
# Host ids and function names become blob path segments: keep them to what the Functions host allows.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}", re.ASCII)
_FIELDS = (("Last", "last"), ("Next", "next"), ("LastUpdated", "last_updated"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleStatus:
    """When a timer function last ran, when it runs next, and when the status was written (aware datetimes)."""

    last: datetime | None = None
    next: datetime | None = None
    last_updated: datetime | None = None

    def to_json(self) -> dict[str, str | None]:
        """The host's document: .NET DateTimes with their UTC offset, null when unknown."""
        values = {key: getattr(self, attribute) for key, attribute in _FIELDS}
        return {key: format_datetime(value, offset=True) if value else None for key, value in values.items()}

    @classmethod
    def from_json(cls, document: object) -> ScheduleStatus:
        """Read the host's document.

        Raises:
            ValueError: not an object of aware datetimes (or nulls) under Last, Next and LastUpdated.
        """
        if not isinstance(document, dict):
            raise ValueError(f"schedule status {document!r:.80} is invalid: must be a JSON object")
        values: dict[str, datetime | None] = {}
        for key, attribute in _FIELDS:
            text = document.get(key)
            value = parse_datetime(text) if isinstance(text, str) else None
            if value is not None and value.tzinfo is None:
                raise ValueError(f"schedule status {key} {text!r} is invalid: must carry a UTC offset")
            values[attribute] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class StoredScheduleStatus:
    """A status as read, with the ETag a conditional write must match."""

    status: ScheduleStatus
    etag: str


class TimerStatusStore:
    """The schedule status blobs of one task hub."""

    def __init__(self, blobs: Blobs, container: str) -> None:
        self._blobs = blobs
        self._container = container

    @staticmethod
    def blob_name(host_id: str, function_name: str) -> str:
        """``timers/{host_id}/Host.Functions.{function_name}/status``, as the host names it.

        Raises:
            ConfigurationError: the host id or function name cannot be part of a blob name.
        """
        for what, value in (("host id", host_id), ("function name", function_name)):
            if not isinstance(value, str) or _SEGMENT.fullmatch(value) is None or ".." in value:
                raise ConfigurationError(
                    f"timer {what} {value!r} is invalid: must be 1-128 ASCII letters, digits, '_', '-' or '.', "
                    "not starting with '.'"
                )
        return f"timers/{host_id}/Host.Functions.{function_name}/status"

    async def read(self, host_id: str, function_name: str) -> StoredScheduleStatus | None:
        """The stored status, or None when the function never ran. An unreadable blob reads as an empty status
        (so that the next conditional write replaces it)."""
        name = self.blob_name(host_id, function_name)
        blob = await self._blobs.read_versioned(self._container, name, max_bytes=_MAX_BYTES)
        if blob is None:
            return None
        try:
            if blob.data is None:
                raise ValueError(f"larger than {_MAX_BYTES} bytes")
            status = ScheduleStatus.from_json(json.loads(blob.data))
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors too
            _log.warning("schedule status %s/%s is unreadable, replacing it: %s", self._container, name, error)
            status = ScheduleStatus()
        return StoredScheduleStatus(status, blob.etag)

    async def try_write(
        self, host_id: str, function_name: str, status: ScheduleStatus, *, etag: str | None
    ) -> StoredScheduleStatus | None:
        """Write ``status`` if the blob is still at ``etag`` (None: if there is no blob yet).

        Returns the stored status with its new ETag, or None when another writer got there first.
        """
        name = self.blob_name(host_id, function_name)
        data = json.dumps(status.to_json()).encode("utf-8")
        try:
            new_etag = await self._blobs.write_if(self._container, name, data, etag=etag)
        except ConflictError:
            return None
        return StoredScheduleStatus(status, new_etag)
