"""DurableOrchestrationClient: start, query, signal and purge orchestration instances of a task hub.

The azure-functions-durable client API (python-api.md §1.7), served straight from Azure Storage instead of the
Functions host's HTTP endpoint, with the provider's semantics (storage-layout.md §9). Every operation checks its
arguments first, so bad input never leaves half a write (reliability.md §4.4), then makes sure the task hub
exists (once per client, as the provider's ``EnsureTaskHubAsync``), then builds messages and sends them or reads
and writes rows. Messages go to the instance's control queue; the worker applies them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from durable_storage._closing import AsyncClosing
from durable_storage._connection import DEFAULT_CONNECTION_SETTING, from_environment, from_service_url
from durable_storage._datetimes import to_utc
from durable_storage._names import unescape_key
from durable_storage._storage.credentials import StorageCredential
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.quarantine_table import QuarantinedMessage
from durable_storage._storage.retry import StorageRetryPolicy
from durable_storage.client._entities import (
    all_entity_records,
    check_entity_id,
    entity_query,
    entity_records,
    metadata_of,
    send_release,
    send_signal,
    state_of,
)
from durable_storage.client._http_responses import check_milliseconds, completion_response, json_response
from durable_storage.client._management import (
    DEFAULT_MANAGEMENT_BASE_URL,
    check_base_url,
    check_status_headers,
    management_urls,
)
from durable_storage.client._messages import instance_message, new_id
from durable_storage.client._pages import (
    EntityPage,
    EntityPager,
    InstancePage,
    InstancePager,
    decode_token,
    encode_token,
)
from durable_storage.client._purge import purge_instance, purge_matching
from durable_storage.client._queries import InstanceQuery
from durable_storage.client._repair import repaired
from durable_storage.client._rewind import rewind_history
from durable_storage.client._start import control_queue, start_instance
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
    check_name,
    check_orchestration_id,
    check_seconds,
    check_stored_time,
    check_target,
    check_text,
    encode_payload,
    runtime_statuses,
)
from durable_storage.errors import ConfigurationError, InstanceNotFoundError, InstanceStateError
from durable_storage.history import (
    EventRaisedEvent,
    ExecutionResumedEvent,
    ExecutionSuspendedEvent,
    ExecutionTerminatedEvent,
    GenericEvent,
    HistoryEvent,
)
from durable_storage.models import (
    CleanEntityStorageResult,
    DurableOrchestrationStatus,
    EntityId,
    EntityStateResponse,
    OrchestrationRuntimeStatus,
    PurgeHistoryResult,
)
from durable_storage.taskhub import DEFAULT_TASK_HUB, TaskHub

__all__ = ["DurableOrchestrationClient"]

_log = logging.getLogger(__name__)
_Status = OrchestrationRuntimeStatus
_TERMINAL = tuple(s for s in _Status if s.is_terminal)
_DEFAULT_PAGE_SIZE = 100


class DurableOrchestrationClient(AsyncClosing):
    """The client of one task hub: the azure-functions-durable ``DurableOrchestrationClient`` API, async.

    An async context manager; :meth:`close` is idempotent. ``repr`` shows the account and hub, never a secret.

    Instance IDs starting with ``@`` are entities' (``@name@key``): the orchestration operations (start, restart,
    raise_event, terminate, suspend, resume, rewind) refuse them with ``InvalidNameError``; status and purge
    accept them.

    Args:
        account_url: any service URL of the storage account (``https://ACCOUNT.queue.core.windows.net``); the
            other two services' URLs are derived from it.
        credential: an Azure credential for that account: an ``azure.identity.aio`` credential (for example
            ``DefaultAzureCredential()``), an ``AzureNamedKeyCredential`` or an ``AzureSasCredential``. It stays
            the caller's: closing the client does not close it.
        task_hub: the task hub name, 3-45 letters or digits (default ``TestHubName``, as Durable Functions).
        partition_count: the hub's control queues, 1-16, fixed when the hub is created. None (the default): the
            hub's recorded count, or 4 for a hub this client creates; a count given must match an existing hub's.
        retry: the retry policy of storage calls.
        management_base_url: where ``durable-storage serve`` answers the Durable Functions HTTP API; the URLs of
            :meth:`create_http_management_payload` start with it.

    Raises:
        ConfigurationError: an invalid URL, credential, hub name or partition count; nothing was contacted.
    """

    def __init__(
        self,
        account_url: str,
        credential: StorageCredential,
        *,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        management_base_url: str = DEFAULT_MANAGEMENT_BASE_URL,
    ) -> None:
        base_url = check_base_url(management_base_url)
        hub = TaskHub(
            from_service_url(account_url),
            credential=credential,
            task_hub=task_hub,
            partition_count=partition_count,
            retry=retry,
        )
        self._init(hub, base_url)

    def _init(self, hub: TaskHub, management_base_url: str, connection_name: str | None = None) -> None:
        self._hub = hub
        self._connection_name = connection_name  # the setting a from_env client was read from
        self._management_base_url = management_base_url
        self._ready = False
        self._ready_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    def _over(
        cls, hub: TaskHub, management_base_url: str, connection_name: str | None = None
    ) -> DurableOrchestrationClient:
        client = cls.__new__(cls)
        client._init(hub, management_base_url, connection_name)
        return client

    @classmethod
    def from_connection_string(
        cls,
        conn_str: str,
        *,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        management_base_url: str = DEFAULT_MANAGEMENT_BASE_URL,
    ) -> DurableOrchestrationClient:
        """A client of the account of an Azure Storage connection string (``UseDevelopmentStorage=true`` works)."""
        base_url = check_base_url(management_base_url)
        hub = TaskHub.from_connection_string(conn_str, task_hub=task_hub, partition_count=partition_count, retry=retry)
        return cls._over(hub, base_url)

    @classmethod
    def from_env(
        cls,
        name: str = DEFAULT_CONNECTION_SETTING,
        *,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        management_base_url: str = DEFAULT_MANAGEMENT_BASE_URL,
    ) -> DurableOrchestrationClient:
        """A client of the account named by the environment, read as Durable Functions reads ``AzureWebJobsStorage``.

        ``name`` holds a connection string, or the identity-based settings ``{name}__accountName`` (or the three
        ``{name}__*ServiceUri``) with ``{name}__credential`` and ``{name}__clientId``.
        """
        base_url = check_base_url(management_base_url)
        hub = TaskHub(from_environment(name), task_hub=task_hub, partition_count=partition_count, retry=retry)
        return cls._over(hub, base_url, name)

    @property
    def task_hub(self) -> TaskHub:
        """The storage resources of the hub; a ``Worker`` built on this client uses them."""
        return self._hub

    def _check_target(self, task_hub_name: object, connection_name: object) -> None:
        check_target(self._hub.name, self._connection_name, task_hub_name, connection_name)

    async def _ensure_hub(self) -> TaskHub:
        if not self._ready:
            async with self._ready_lock:
                if not self._ready:
                    await self._hub.create_if_not_exists()
                    self._ready = True
        return self._hub

    async def _record(self, instance_id: str, *, payloads: bool = False) -> InstanceRecord:
        hub = await self._ensure_hub()
        record = await hub.instances.read(instance_id, hub.escape(instance_id), fetch_payloads=payloads)
        if record is None:
            raise InstanceNotFoundError(
                f"instance {instance_id!r} was not found in task hub {hub.name!r}", instance_id=instance_id
            )
        return record

    # --- start ------------------------------------------------------------------------------------------------

    async def start_new(
        self,
        orchestration_function_name: str,
        instance_id: str | None = None,
        client_input: Any = None,
        version: str | None = None,
        *,
        start_at: datetime | None = None,
    ) -> str:
        """Start an orchestration instance; returns its instance ID.

        Re-using an ID: an instance that is **Pending, Running, Suspended or ContinuedAsNew** (or whose stored
        status is unknown) is left alone and :class:`~durable_storage.errors.InstanceAlreadyExistsError` is
        raised. An instance that ended (**Completed, Failed, Terminated, Canceled**) is re-created: a new
        execution replaces it, with the generation counted up. (Durable Functions' default; the .NET provider
        alone would overwrite a running instance too.)

        Args:
            orchestration_function_name: the orchestrator's registered name.
            instance_id: the ID to use; a new 32-hex-digit ID when None.
            client_input: the orchestrator's input: a JSON value, or an object whose class has ``to_json``.
            version: the orchestration version, stored with the instance.
            start_at: run no earlier than this (timezone-aware) time; the instance is Pending until then.

        Raises:
            ConfigurationError: an empty name, an invalid ID (empty, starting with ``@`` as entity IDs do, or a
                table key over 1 KiB once escaped), an input that is not JSON-serializable, or a ``start_at`` that
                is naive or outside 1601-9999; nothing was written.
            InstanceAlreadyExistsError: the ID belongs to an instance that has not ended.
        """
        name = check_name(orchestration_function_name, "orchestration_function_name")
        instance_id = new_id() if instance_id is None else check_orchestration_id(instance_id)
        input_text = encode_payload(client_input, "client_input")
        version = check_text(version, "version")
        scheduled = check_stored_time(start_at, "start_at")
        hub = await self._ensure_hub()
        return await start_instance(
            hub, name, instance_id, input_text, version=version, scheduled=to_utc(scheduled) if scheduled else None
        )

    async def restart(self, instance_id: str, restart_with_new_instance_id: bool = True) -> str:
        """Start the orchestration of ``instance_id`` again, with its (latest) input; returns the new instance's ID.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceAlreadyExistsError: ``restart_with_new_instance_id=False`` and the instance has not ended.
        """
        check_orchestration_id(instance_id)
        check_flag(restart_with_new_instance_id, "restart_with_new_instance_id")
        record = await self._record(instance_id, payloads=True)
        if not record.name:
            raise InstanceStateError(
                f"instance {instance_id!r} has no orchestrator name to restart", instance_id=instance_id
            )
        target = new_id() if restart_with_new_instance_id else instance_id
        return await start_instance(self._hub, record.name, target, record.input, version=record.version)

    # --- status ---------------------------------------------------------------------------------------------

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
        escaped = hub.escape(instance_id)
        record = await hub.instances.read(instance_id, escaped)
        if record is None:
            return not_found(instance_id)
        record = await repaired(hub, record)
        history = None
        if show_history:
            loaded = await hub.history.load(escaped)
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
        page_size: int = _DEFAULT_PAGE_SIZE,
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
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 1000:
            raise ConfigurationError(f"page_size {page_size!r} is invalid: must be an integer from 1 to 1000")
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
        return [event_to_json(e) for e in (await hub.history.load(hub.escape(instance_id))).events]

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

    # --- messages to an instance ----------------------------------------------------------------------------

    async def _send(self, instance_id: str, event: HistoryEvent) -> None:
        await self._hub.messages.send(control_queue(self._hub, instance_id), instance_message(instance_id, event))

    async def raise_event(
        self,
        instance_id: str,
        event_name: str,
        event_data: Any = None,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> None:
        """Send the external event ``event_name`` with ``event_data`` to a Pending, Running or Suspended instance.

        ``task_hub_name`` and ``connection_name`` (as azure-functions-durable's) may only name this client's own
        hub and connection; a client of another hub is built with ``from_env(..., task_hub=...)``.

        Raises:
            ConfigurationError: an empty event name or data that is not JSON-serializable.
            InstanceNotFoundError: no such instance.
            InstanceStateError: the instance has ended (Durable Functions' "410 Gone").
        """
        self._check_target(task_hub_name, connection_name)
        check_orchestration_id(instance_id)
        name = check_name(event_name, "event_name")
        data = encode_payload(event_data, "event_data")
        record = await self._record(instance_id)
        if is_terminal(record.runtime_status):
            raise InstanceStateError(
                f"instance {instance_id!r} is {status_name(record.runtime_status)}: events can only be raised to "
                "an instance that has not ended",
                instance_id=instance_id,
                runtime_status=record.runtime_status,
            )
        await self._send(instance_id, EventRaisedEvent(timestamp=self._hub.clock(), name=name, input=data))

    async def _signal(
        self, instance_id: str, reason: str, what: str, event: Callable[[datetime, str | None], HistoryEvent]
    ) -> None:
        check_orchestration_id(instance_id)
        text = check_text(reason, "reason")
        record = await self._record(instance_id)
        if is_terminal(record.runtime_status):
            # Durable Functions answers 410 Gone here, which its client treats as success: nothing to do.
            _log.info("%s of %s skipped: it is already %s", what, instance_id, status_name(record.runtime_status))
            return
        await self._send(instance_id, event(self._hub.clock(), text))

    async def terminate(
        self, instance_id: str, reason: str, task_hub_name: str | None = None, connection_name: str | None = None
    ) -> None:
        """Terminate the instance (also a Pending one, before it starts); nothing happens when it already ended.

        An instance that ended (Completed, Failed, Terminated, Canceled) is left as it is and the call returns
        without error, as the Durable Functions SDK's does: the HTTP API answers such a terminate 410 Gone, which
        the SDK counts as success. The same holds for :meth:`suspend` and :meth:`resume`; :meth:`raise_event`
        raises instead, as the SDK does on the same 410.

        Raises:
            InstanceNotFoundError: no such instance.
        """
        self._check_target(task_hub_name, connection_name)
        await self._signal(
            instance_id, reason, "terminate", lambda now, text: ExecutionTerminatedEvent(timestamp=now, input=text)
        )

    async def suspend(self, instance_id: str, reason: str) -> None:
        """Suspend the instance: new events are kept but not processed until :meth:`resume`.

        Nothing happens, and no error is raised, when the instance already ended (see :meth:`terminate`).

        Raises:
            InstanceNotFoundError: no such instance.
        """
        await self._signal(
            instance_id, reason, "suspend", lambda now, text: ExecutionSuspendedEvent(timestamp=now, reason=text)
        )

    async def resume(self, instance_id: str, reason: str) -> None:
        """Resume a suspended instance; nothing happens, and no error is raised, when it already ended.

        Raises:
            InstanceNotFoundError: no such instance.
        """
        await self._signal(
            instance_id, reason, "resume", lambda now, text: ExecutionResumedEvent(timestamp=now, reason=text)
        )

    async def rewind(
        self, instance_id: str, reason: str, task_hub_name: str | None = None, connection_name: str | None = None
    ) -> None:
        """Run a Failed instance again from its failures: failed activities and sub-orchestrations are retried.

        The provider's history-rewriting rewind (storage-layout.md §9.6): the failure rows become GenericEvents,
        the instance (and every failed sub-orchestration below it) goes back to Pending, and the deepest failed
        instances are woken with a message.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceStateError: the instance is not Failed, or has no history to rewind.
        """
        self._check_target(task_hub_name, connection_name)
        check_orchestration_id(instance_id)
        check_text(reason, "reason")
        record = await self._record(instance_id)
        if record.runtime_status is not _Status.Failed:
            raise InstanceStateError(
                f"instance {instance_id!r} is {status_name(record.runtime_status)}: only a Failed instance can be "
                "rewound",
                instance_id=instance_id,
                runtime_status=record.runtime_status,
            )
        now = self._hub.clock()
        leaves = await rewind_history(self._hub, instance_id, now)
        if not leaves:
            raise InstanceStateError(
                f"instance {instance_id!r} has no history to rewind",
                instance_id=instance_id,
                runtime_status=_Status.Failed,
            )
        for leaf in leaves:
            await self._send(leaf, GenericEvent(timestamp=now, data=reason))

    # --- purge ----------------------------------------------------------------------------------------------

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

    # --- entities -------------------------------------------------------------------------------------------

    async def signal_entity(
        self,
        entityId: EntityId,
        operation_name: str,
        operation_input: Any = None,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
        *,
        scheduled_time: datetime | None = None,
    ) -> None:
        """Send ``operation_name`` to the entity without waiting for it; the entity is created by its first one.

        ``scheduled_time`` (ours, as .NET's ``SignalEntityAsync(entity, time, ...)``): deliver it then.

        Raises:
            ConfigurationError: not an EntityId, a key Durable Functions refuses, an empty operation name, an
                input that is not JSON-serializable, or a ``scheduled_time`` that is naive or outside 1601-9999;
                nothing was sent.
        """
        self._check_target(task_hub_name, connection_name)
        entity_id = check_entity_id(entityId)
        operation = check_name(operation_name, "operation_name")
        payload = encode_payload(operation_input, "operation_input")
        due = check_stored_time(scheduled_time, "scheduled_time")
        hub = await self._ensure_hub()
        await send_signal(hub, entity_id, operation, payload, scheduled_time=due, now=hub.clock())

    async def read_entity_state(
        self, entityId: EntityId, task_hub_name: str | None = None, connection_name: str | None = None
    ) -> EntityStateResponse:
        """The entity's state after its latest batch of operations (``entity_exists`` False when it has none)."""
        self._check_target(task_hub_name, connection_name)
        entity_id = check_entity_id(entityId)
        hub = await self._ensure_hub()
        instance_id = str(entity_id)
        return state_of(await hub.instances.read(instance_id, hub.escape(instance_id)))

    def list_entities(
        self,
        *,
        entity_name: str | None = None,
        include_state: bool = True,
        include_deleted: bool = False,
        page_size: int = _DEFAULT_PAGE_SIZE,
    ) -> EntityPager:
        """The entities of the hub (or those named ``entity_name``), page by page, in instance ID order.

        ``async for entity in client.list_entities()`` yields :class:`EntityMetadata`; ``.by_page(token)`` yields
        pages with continuation tokens. Entities without state are left out unless ``include_deleted``.

        Raises:
            ConfigurationError: an invalid name or page size.
        """
        name = check_text(entity_name, "entity_name") or None
        if name is not None and "@" in name:
            raise ConfigurationError(f"entity_name {name!r} is invalid: must not contain '@'")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 1000:
            raise ConfigurationError(f"page_size {page_size!r} is invalid: must be an integer from 1 to 1000")
        with_state, deleted = check_flag(include_state, "include_state"), check_flag(include_deleted, "include_deleted")
        query = entity_query(name)

        async def fetch(token: str | None) -> EntityPage:
            hub = await self._ensure_hub()
            records, continuation = await entity_records(
                hub, query, page_size=page_size, continuation=decode_token(token)
            )
            entities = [metadata_of(r, include_state=with_state) for r in records]
            return EntityPage([e for e in entities if e and (e.exists or deleted)], encode_token(continuation))

        return EntityPager(fetch)

    async def clean_entity_storage(
        self, remove_empty_entities: bool = True, release_orphaned_locks: bool = True
    ) -> CleanEntityStorageResult:
        """Remove entities that have no state, lock or waiting request, and release locks whose holder ended.

        A lock is orphaned when the orchestration holding it has ended (terminated orchestrations never release
        their locks) or no longer exists; the release is sent to the entity, which applies it in its next batch.
        """
        remove, release = (
            check_flag(remove_empty_entities, "remove_empty_entities"),
            check_flag(release_orphaned_locks, "release_orphaned_locks"),
        )
        hub = await self._ensure_hub()
        removed = released = 0
        async for record in all_entity_records(hub, entity_query(None)):
            entity = metadata_of(record, include_state=False)
            if entity is None:
                continue
            if entity.locked_by is not None and release:
                holder = await hub.instances.read(entity.locked_by, hub.escape(entity.locked_by), fetch_payloads=False)
                if holder is None or is_terminal(holder.runtime_status):
                    await send_release(hub, entity.entity_id, entity.locked_by, hub.clock())
                    released += 1
            elif remove and not entity.exists and not entity.backlog_queue_size and entity.locked_by is None:
                removed += int(await purge_instance(hub, record.instance_id))
        return CleanEntityStorageResult(removed, released)

    # --- quarantine -----------------------------------------------------------------------------------------

    async def list_quarantined_messages(self) -> list[QuarantinedMessage]:
        """Messages the workers set aside because they could never be processed (oldest queue first)."""
        hub = await self._ensure_hub()
        return await hub.quarantine.list()

    async def requeue_quarantined_message(self, message_id: str, *, queue: str | None = None) -> bool:
        """Put a quarantined message back into its queue (after fixing its cause); False when there is none.

        Raises:
            ConfigurationError: an empty message ID, or a message ID in several queues and no ``queue``.
        """
        wanted = check_name(message_id, "message_id")
        hub = await self._ensure_hub()
        if queue is None:
            queues = {m.queue for m in await hub.quarantine.list() if m.message_id == wanted}
            if len(queues) > 1:
                raise ConfigurationError(f"message_id {wanted!r} is quarantined from {sorted(queues)}: name the queue")
            if not queues:
                return False
            queue = queues.pop()
        return await hub.quarantine.requeue(queue, wanted)

    # --- HTTP management URLs (served by `durable-storage serve`) --------------------------------------------

    @property
    def management_base_url(self) -> str:
        """Where the Durable Functions HTTP API is served (``management_base_url``), without a trailing ``/``."""
        return self._management_base_url

    def create_http_management_payload(self, instance_id: str) -> dict[str, str]:
        """The management URLs of ``instance_id`` under ``management_base_url``, as azure-functions-durable's.

        Keys: ``id, statusQueryGetUri, sendEventPostUri, terminatePostUri, rewindPostUri, purgeHistoryDeleteUri,
        restartPostUri, suspendPostUri, resumePostUri``. ``{eventName}`` and ``{text}`` are placeholders for the
        caller to fill in. Nothing is sent; the instance need not exist.
        """
        return self.get_client_response_links(None, instance_id)

    def get_client_response_links(self, request: Any, instance_id: str) -> dict[str, str]:
        """The management URLs of ``instance_id`` under ``management_base_url``.

        ``request`` (the HTTP request that started the instance) is accepted as in azure-functions-durable, which
        moves the URLs to the request's origin because under the Functions host that origin always serves the
        webhooks. Ours need not (a web framework of yours), so the URLs stay on ``management_base_url``, the
        address of ``durable-storage host`` or ``serve`` (``host`` gives its own to the clients it binds).
        """
        check_instance_id(instance_id)
        return management_urls(self._management_base_url, instance_id, self._hub.name)

    def create_check_status_response(self, request: Any, instance_id: str) -> Any:
        """A 202 Accepted response for an HTTP starter: ``Location`` = the status URL, body = the management URLs.

        An ``azure.functions.HttpResponse`` when ``azure.functions`` is importable (return it from an HTTP
        trigger as is), else a :class:`CheckStatusResponse` shaped like one.

        Args:
            request: the request that started the instance (see :meth:`get_client_response_links`).
            instance_id: the instance started.
        """
        payload = self.get_client_response_links(request, instance_id)
        return json_response(202, payload, check_status_headers(payload))

    async def wait_for_completion_or_create_check_status_response(
        self,
        request: Any,
        instance_id: str,
        timeout_in_milliseconds: int = 10000,
        retry_interval_in_milliseconds: int = 1000,
    ) -> Any:
        """Wait up to ``timeout_in_milliseconds`` for the instance to end; its result as an HTTP response.

        Completed: 200 with the output; Terminated or Canceled: 200 with the status JSON; Failed: 500 with the
        status JSON; still running at the deadline: the check-status 202 of :meth:`create_check_status_response`.

        Raises:
            ConfigurationError: a timeout or retry interval that is not a positive number, or an interval longer
                than the timeout (azure-functions-durable raises for that too).
        """
        check_instance_id(instance_id)
        timeout, interval = check_milliseconds(timeout_in_milliseconds, retry_interval_in_milliseconds)
        try:
            status = await self.wait_for_completion(instance_id, timeout=timeout, poll_interval=interval)
        except TimeoutError:
            return self.create_check_status_response(request, instance_id)
        return completion_response(status) or self.create_check_status_response(request, instance_id)

    # --- lifecycle ------------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the storage clients. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        await self._hub.close()

    def __repr__(self) -> str:
        return f"DurableOrchestrationClient({self._hub!r})"
