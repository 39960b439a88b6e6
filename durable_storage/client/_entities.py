"""Entity operations of the client: signal, read, list and clean (Durable Functions semantics, our storage).

A signal is an EventRaised ``op`` message (``op@<due>`` when scheduled) to the entity's instance, with the request
as JSON text in its input; the worker starts the entity at its first message. The state is read from the Instances
row, whose ``Input`` is the scheduler state the entity's last batch continued with (entity-messages.md §1).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from durable_storage import _json
from durable_storage._entity_values import entity_id_of
from durable_storage._envelope import MessageData, TaskMessage
from durable_storage._names import unescape_key
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.client._core import ClientCore
from durable_storage.client._outgoing import CLIENT_SENDER, MAX_START_DELAY
from durable_storage.client._pages import DEFAULT_PAGE_SIZE, EntityPage, EntityPager, decode_token, encode_token
from durable_storage.client._purge import purge_instance
from durable_storage.client._queries import InstanceQuery
from durable_storage.client._status import is_terminal
from durable_storage.client._validation import (
    check_flag,
    check_name,
    check_page_size,
    check_stored_time,
    check_text,
    encode_payload,
)
from durable_storage.entities import (
    OPERATION,
    RELEASE,
    ReleaseMessage,
    RequestMessage,
    SchedulerState,
    scheduled_name,
)
from durable_storage.errors import ConfigurationError, MessageFormatError
from durable_storage.history import EventRaisedEvent, OrchestrationInstance
from durable_storage.models import (
    CleanEntityStorageResult,
    EntityId,
    EntityMetadata,
    EntityStateResponse,
)
from durable_storage.taskhub import TaskHub

__all__ = [
    "EntityOperations",
    "check_entity_id",
    "entity_records",
    "metadata_of",
    "send_release",
    "send_signal",
    "state_of",
]

_log = logging.getLogger(__name__)
_FORBIDDEN_IN_KEYS = frozenset("/\\#?")


def check_entity_id(entity_id: object) -> EntityId:
    """``entity_id`` (ours or azure.durable_functions') as our EntityId, if Durable Functions accepts its key (no
    ``/ \\ # ?``, no controls)."""
    try:
        entity_id = entity_id_of(entity_id, "entity_id")
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    for what, text in (("name", entity_id.name), ("key", entity_id.key)):
        bad = sorted({c for c in text if c in _FORBIDDEN_IN_KEYS or ord(c) < 32 or 127 <= ord(c) < 160})
        if bad or (what == "name" and "@" in text):
            shown = bad or ["@"]
            raise ConfigurationError(
                f"entity {what} {text!r} is invalid: must not contain {shown} (Durable Functions refuses / \\ # ?, "
                "control characters, and @ in names)"
            )
    return entity_id


async def send_signal(
    hub: TaskHub,
    entity_id: EntityId,
    operation: str,
    payload: str,
    *,
    scheduled_time: datetime | None,
    now: datetime,
) -> None:
    """Send a one-way operation request to the entity, delivered at ``scheduled_time`` (or now)."""
    instance_id = str(entity_id)
    request = RequestMessage(
        operation=operation, id=str(uuid.uuid4()), is_signal=True, input=payload, scheduled_time=scheduled_time
    )
    name = scheduled_name(scheduled_time) if scheduled_time is not None else OPERATION
    delay = 0.0
    if scheduled_time is not None:
        # A signal beyond the queue's 7 days surfaces early and the worker hides it again (storage-layout.md §8).
        delay = min(max(scheduled_time - now, timedelta(0)), MAX_START_DELAY).total_seconds()
    await _send_event(hub, instance_id, name, request.to_json(), now=now, delay=delay)


async def send_release(hub: TaskHub, entity_id: EntityId, holder: str, now: datetime) -> None:
    """Release the lock ``holder`` has on the entity (the repair .NET sends for an orphaned lock)."""
    release = ReleaseMessage(parent_instance_id=holder, id="fix-orphaned-lock")
    await _send_event(hub, str(entity_id), RELEASE, release.to_json(), now=now)


async def _send_event(
    hub: TaskHub, instance_id: str, name: str, payload: str, *, now: datetime, delay: float = 0.0
) -> None:
    message = MessageData(
        activity_id=uuid.uuid4(),
        task_message=TaskMessage(
            event=EventRaisedEvent(timestamp=now, name=name, input=payload),
            orchestration_instance=OrchestrationInstance(instance_id, None),
        ),
        sender=CLIENT_SENDER,
    )
    await hub.messages.send(hub.control_queue_of(instance_id), message, visible_in=delay)


def scheduler_state(record: InstanceRecord | None) -> SchedulerState:
    """The scheduler state in an entity's Instances row (a new entity when there is no row)."""
    if record is None:
        return SchedulerState()
    if "Input" in record.unreadable:
        _log.warning("entity %s has an unreadable state: %s", record.instance_id, record.unreadable["Input"])
        return SchedulerState()
    try:
        return SchedulerState.from_json(record.input)
    except MessageFormatError as error:
        _log.warning("entity %s has an unreadable state: %s", record.instance_id, error)
        return SchedulerState()


def state_of(record: InstanceRecord | None) -> EntityStateResponse:
    """What ``read_entity_state`` returns for the entity's row."""
    scheduler = scheduler_state(record)
    if not scheduler.exists:
        return EntityStateResponse(entity_exists=False)
    return EntityStateResponse(entity_exists=True, entity_state=_json.loads(scheduler.state))


def metadata_of(record: InstanceRecord, *, include_state: bool) -> EntityMetadata | None:
    """One ``list_entities`` entry, or None for a row that is no entity's (logged and skipped).

    Such a row (``@@``, ``@name@`` or a state that is not JSON, written by an older version or by hand) must not
    make the listing, or ``clean_entity_storage``, fail for every other entity of the hub.
    """
    scheduler = scheduler_state(record)
    name, _, key = record.instance_id[1:].partition("@")
    try:
        entity_id = EntityId(name, key)
        state = _json.loads(scheduler.state) if include_state and scheduler.exists else None
    except ValueError as error:
        _log.warning(
            "instance %r is not a readable entity, left out of the entity listing: %s", record.instance_id, error
        )
        return None
    return EntityMetadata(
        entity_id=entity_id,
        exists=scheduler.exists,
        state=state,
        last_modified_time=record.last_updated_time,
        locked_by=scheduler.locked_by,
        backlog_queue_size=len(scheduler.queue),
    )


def entity_query(entity_name: str | None) -> InstanceQuery:
    """The Instances query of every entity, or of the entities named ``entity_name``."""
    prefix = f"@{entity_name.lower()}@" if entity_name else "@"
    return InstanceQuery(instance_id_prefix=prefix)


async def entity_records(
    hub: TaskHub, query: InstanceQuery, *, page_size: int, continuation: dict[str, str] | None
) -> tuple[list[InstanceRecord], dict[str, str] | None]:
    """One page of entity rows, with their inputs (the scheduler states)."""
    return await hub.instances.query_page(
        query.to_filter(), unescape=unescape_key, page_size=page_size, continuation=continuation, fetch_payloads=True
    )


async def all_entity_records(hub: TaskHub, query: InstanceQuery) -> AsyncIterator[InstanceRecord]:
    """Every entity row matching ``query``."""
    continuation: dict[str, str] | None = None
    while True:
        records, continuation = await entity_records(hub, query, page_size=500, continuation=continuation)
        for record in records:
            yield record
        if not continuation:
            return


class EntityOperations(ClientCore):
    """The client's entity signals, state reads, listing and cleaning."""

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
        return state_of(await hub.instances.read(instance_id))

    def list_entities(
        self,
        *,
        entity_name: str | None = None,
        include_state: bool = True,
        include_deleted: bool = False,
        page_size: int = DEFAULT_PAGE_SIZE,
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
        check_page_size(page_size)
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
                holder = await hub.instances.read(entity.locked_by, fetch_payloads=False)
                if holder is None or is_terminal(holder.runtime_status):
                    await send_release(hub, entity.entity_id, entity.locked_by, hub.clock())
                    released += 1
            elif remove and not entity.exists and not entity.backlog_queue_size and entity.locked_by is None:
                removed += int(await purge_instance(hub, record.instance_id))
        return CleanEntityStorageResult(removed, released)
