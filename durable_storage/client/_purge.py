"""Purge: delete an instance's History rows, payload blobs and Instances row (storage-layout.md §9.5)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from durable_storage._names import unescape_key
from durable_storage.client._core import ClientCore
from durable_storage.client._queries import InstanceQuery
from durable_storage.client._validation import check_aware, check_instance_id, runtime_statuses
from durable_storage.errors import ConfigurationError
from durable_storage.models import OrchestrationRuntimeStatus, PurgeHistoryResult
from durable_storage.taskhub import TaskHub

__all__ = ["PurgeOperations", "purge_instance", "purge_matching"]

_log = logging.getLogger(__name__)
_TERMINAL = tuple(s for s in OrchestrationRuntimeStatus if s.is_terminal)
_PAGE_SIZE = 100
_CONCURRENCY = 8


async def purge_instance(hub: TaskHub, instance_id: str) -> bool:
    """Delete everything of ``instance_id``; True when it had an Instances row (it counts as deleted)."""
    row = await hub.instances.read(instance_id, fetch_payloads=False)
    # Only blobs named for this very instance: the reference's prefix "{id}" also takes "abcd"'s blobs for "abc"
    # and misses the history blobs of IDs that escaping changes (storage-layout.md §9.5).
    blobs = await hub.large.blob_names_of(instance_id)
    await asyncio.gather(hub.history.delete(instance_id), hub.large.delete_blobs(blobs))
    # The row goes last: if anything above failed, the instance is still listed, so the purge can be repeated.
    if row is not None:
        await hub.instances.delete(instance_id)
    return row is not None


async def purge_matching(hub: TaskHub, query: InstanceQuery) -> int:
    """Purge every instance ``query`` matches, page by page, a few at a time; returns how many were deleted.

    As the reference does, an instance that fails to purge is logged and skipped; the others go on.
    """
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def purge_one(instance_id: str) -> bool:
        async with limit:
            try:
                return await purge_instance(hub, instance_id)
            except Exception:
                _log.warning("purge of %s failed; it is skipped", instance_id, exc_info=True)
                return False

    deleted = 0
    continuation: dict[str, str] | None = None
    while True:
        records, continuation = await hub.instances.query_page(
            query.to_filter(), unescape=unescape_key, page_size=_PAGE_SIZE, continuation=continuation
        )
        deleted += sum(await asyncio.gather(*(purge_one(r.instance_id) for r in records)))
        if continuation is None:
            return deleted


class PurgeOperations(ClientCore):
    """The client's purges, by instance and by filter."""

    async def purge_instance_history(
        self, instance_id: str, task_hub_name: str | None = None, connection_name: str | None = None
    ) -> PurgeHistoryResult:
        """Delete everything of the instance: History rows, Instances row, and every blob of its payloads.

        The status is not checked (a running instance is purged too), as in Durable Functions. Idempotent:
        an unknown instance gives ``instances_deleted == 0``.
        """
        self._check_target(task_hub_name, connection_name)
        check_instance_id(instance_id)
        await self._ensure_hub()
        return PurgeHistoryResult(int(await purge_instance(self._hub, instance_id)))

    async def purge_instance_history_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationRuntimeStatus] | None = None,
    ) -> PurgeHistoryResult:
        """Purge every instance created in the time range whose status is one of the given **terminal** ones.

        Only Completed, Failed, Terminated and Canceled are purged; other statuses in ``runtime_status`` are
        ignored. When none is left (``runtime_status`` None or empty, or only non-terminal ones), **nothing** is
        purged: the .NET provider would then purge every instance of the range, running ones included
        (storage-layout.md §9.5). An instance that fails to purge is logged and skipped.

        Raises:
            ConfigurationError: ``created_time_from`` missing (a ``ValueError``, as azure-functions-durable raises)
                or naive, or an unknown status.
        """
        if created_time_from is None:
            raise ConfigurationError("created_time_from None is invalid: must be a timezone-aware datetime")
        query = InstanceQuery(
            created_time_from=check_aware(created_time_from, "created_time_from"),
            created_time_to=check_aware(created_time_to, "created_time_to"),
            runtime_status=[s for s in runtime_statuses(runtime_status) if s.is_terminal],
        )
        if not query.runtime_status:
            _log.info("purge by filter purged nothing: it needs at least one of %s", [s.name for s in _TERMINAL])
            return PurgeHistoryResult(0)
        return PurgeHistoryResult(await purge_matching(await self._ensure_hub(), query))
