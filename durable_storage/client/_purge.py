"""Purge: delete an instance's History rows, payload blobs and Instances row (storage-layout.md §9.5)."""

from __future__ import annotations

import asyncio
import logging

from durable_storage._names import unescape_key
from durable_storage.client._queries import InstanceQuery
from durable_storage.taskhub import TaskHub

__all__ = ["purge_instance", "purge_matching"]

_log = logging.getLogger(__name__)
_PAGE_SIZE = 100
_CONCURRENCY = 8


async def purge_instance(hub: TaskHub, instance_id: str) -> bool:
    """Delete everything of ``instance_id``; True when it had an Instances row (it counts as deleted)."""
    escaped = hub.escape(instance_id)
    row = await hub.instances.read(instance_id, escaped, fetch_payloads=False)
    # Only blobs named for this very instance: the reference's prefix "{id}" also takes "abcd"'s blobs for "abc"
    # and misses the history blobs of IDs that escaping changes (storage-layout.md §9.5).
    blobs = await hub.large.blob_names_of(instance_id)
    await asyncio.gather(hub.history.delete(escaped), hub.large.delete_blobs(blobs))
    # The row goes last: if anything above failed, the instance is still listed, so the purge can be repeated.
    if row is not None:
        await hub.instances.delete(escaped)
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
