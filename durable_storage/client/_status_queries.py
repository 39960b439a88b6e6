"""The client's reads of instances: status, queries page by page, history, and waiting for the end.

A status read repairs a row that a crashed worker left behind its history before showing it (``_repair``).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from durable_storage._names import unescape_key
from durable_storage.client._core import ClientCore
from durable_storage.client._pages import DEFAULT_PAGE_SIZE, InstancePage, InstancePager, decode_token, encode_token
from durable_storage.client._queries import InstanceQuery
from durable_storage.client._repair import repaired
from durable_storage.client._status import (
    event_to_json,
    history_for_status,
    is_terminal,
    not_found,
    status_from_record,
    status_name,
)
from durable_storage.client._validation import (
    check_aware,
    check_flag,
    check_instance_id,
    check_page_size,
    check_seconds,
    check_text,
    runtime_statuses,
)
from durable_storage.models import DurableOrchestrationStatus, OrchestrationRuntimeStatus

__all__ = ["StatusQueries"]


class StatusQueries(ClientCore):
    """The client's status reads, instance queries, history and waiting."""

    async def get_status(
        self,
        instance_id: str,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = True,
    ) -> DurableOrchestrationStatus:
        """The status of ``instance_id``; a **falsy** status (with a ``message``) when there is no such instance.

        A row that still says Pending, Running or Suspended while the execution's history already ended (a
        worker crashed between its History and Instances writes) is repaired from the history first
        (reliability.md §1.3).

        Args:
            instance_id: the instance.
            show_history: include the history events (Durable Functions' ``showHistory`` form).
            show_history_output: include the payloads of those events too.
            show_input: include the instance's input (the default, as the Functions host answers: the published
                client never sends ``showInput=false``); False leaves it out.
        """
        check_instance_id(instance_id)
        check_flag(show_history, "show_history")
        check_flag(show_history_output, "show_history_output")
        check_flag(show_input, "show_input")
        hub = await self._ensure_hub()
        record = await hub.instances.read(instance_id)
        if record is None:
            return not_found(instance_id)
        record = await repaired(hub, record)
        history = None
        if show_history:
            loaded = await hub.history.load(instance_id)
            history = history_for_status(loaded.events, show_output=show_history_output)
        return status_from_record(record, show_input=show_input, history=history)

    async def get_status_all(self) -> list[DurableOrchestrationStatus]:
        """The status of every orchestration instance of the hub (entities left out), inputs included."""
        return [status async for status in self.list_instances(show_input=True)]

    async def get_status_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationRuntimeStatus] | None = None,
        instance_id_prefix: str | None = None,
    ) -> list[DurableOrchestrationStatus]:
        """The statuses of the instances that match every condition (see :meth:`list_instances`), inputs included."""
        pager = self.list_instances(
            created_time_from, created_time_to, runtime_status, instance_id_prefix, show_input=True
        )
        return [status async for status in pager]

    def list_instances(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationRuntimeStatus] | None = None,
        instance_id_prefix: str | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        include_entities: bool = False,
        show_input: bool = False,
    ) -> InstancePager:
        """The instances that match every given condition, page by page.

        ``async for status in client.list_instances(...)`` yields them all; ``async for page in
        client.list_instances(...).by_page(token)`` yields pages, each with the ``continuation_token`` to resume
        from. Inputs are included only with ``show_input`` (as ``get_status``).

        Args:
            created_time_from: created at or after this (timezone-aware) time.
            created_time_to: created at or before this (timezone-aware) time.
            runtime_status: in one of these statuses (statuses or their names).
            instance_id_prefix: IDs that start with this.
            page_size: instances per request, 1-1000.
            include_entities: include durable entities' instances (IDs ``@name@key``); a prefix always applies
                as given.
            show_input: include each instance's input (the .NET query condition's ``ShowInput``).

        Raises:
            ConfigurationError: a naive datetime, an unknown status, an invalid page size or prefix.
        """
        query = InstanceQuery(
            created_time_from=check_aware(created_time_from, "created_time_from"),
            created_time_to=check_aware(created_time_to, "created_time_to"),
            runtime_status=runtime_statuses(runtime_status),
            instance_id_prefix=check_text(instance_id_prefix, "instance_id_prefix") or None,
            exclude_entities=not check_flag(include_entities, "include_entities"),
        )
        check_page_size(page_size)
        with_input = check_flag(show_input, "show_input")

        async def fetch(token: str | None) -> InstancePage:
            hub = await self._ensure_hub()
            records, continuation = await hub.instances.query_page(
                query.to_filter(),
                unescape=unescape_key,
                page_size=page_size,
                continuation=decode_token(token),
                fetch_payloads=True,
            )
            statuses = [status_from_record(r, show_input=with_input) for r in records if query.admits(r.instance_id)]
            return InstancePage(statuses, encode_token(continuation))

        return InstancePager(fetch)

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The current execution's history events, each a JSON-serializable dict (empty for an unknown instance).

        Members carry their .NET names (``EventType``, ``EventId``, ``Timestamp``, ``Name``, ``Input``, ...);
        ``EventType`` and statuses are names, times are ISO text, and payloads stay JSON text as stored.
        """
        check_instance_id(instance_id)
        hub = await self._ensure_hub()
        return [event_to_json(e) for e in (await hub.history.load(instance_id)).events]

    async def wait_for_completion(
        self, instance_id: str, *, timeout: float | None = None, poll_interval: float = 1.0
    ) -> DurableOrchestrationStatus:
        """Poll until the instance is Completed, Failed, Terminated or Canceled; returns that status.

        Args:
            instance_id: the instance.
            timeout: give up after this many seconds (None: wait for ever; 0: check once).
            poll_interval: seconds between status reads (> 0).

        Raises:
            TimeoutError: ``timeout`` passed first; the message names the instance and its last status.
        """
        check_instance_id(instance_id)
        limit = check_seconds(timeout, "timeout")
        interval = check_seconds(poll_interval, "poll_interval", positive=True)
        assert interval is not None
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            status = await self.get_status(instance_id)
            if is_terminal(status.runtime_status):
                return status
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                last = status_name(status.runtime_status) if status else "not found"
                raise TimeoutError(f"instance {instance_id!r} did not finish within {limit:g} s: it is {last}")
            await asyncio.sleep(interval if remaining is None else min(interval, remaining))
