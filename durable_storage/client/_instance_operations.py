"""The client's operations on an orchestration instance: start, restart, events, terminate, suspend, resume, rewind.

Each checks its arguments first, so bad input never leaves half a write; then it starts an
execution (``_start``), rewrites a failed history (``_rewind``), or sends a message to the instance's control queue
for the worker to apply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from durable_storage._datetimes import to_utc
from durable_storage.client._core import ClientCore
from durable_storage.client._outgoing import instance_message, new_id
from durable_storage.client._rewind import rewind_history
from durable_storage.client._start import start_instance
from durable_storage.client._status import is_terminal, status_name
from durable_storage.client._validation import (
    check_flag,
    check_name,
    check_orchestration_id,
    check_stored_time,
    check_text,
    encode_payload,
)
from durable_storage.errors import InstanceStateError
from durable_storage.history import (
    EventRaisedEvent,
    ExecutionResumedEvent,
    ExecutionSuspendedEvent,
    ExecutionTerminatedEvent,
    GenericEvent,
    HistoryEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["InstanceOperations"]

_log = logging.getLogger(__name__)
_Status = OrchestrationRuntimeStatus


class InstanceOperations(ClientCore):
    """The client's start, restart, raise_event, terminate, suspend, resume and rewind."""

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

    async def _send(self, instance_id: str, event: HistoryEvent) -> None:
        await self._hub.messages.send(self._hub.control_queue_of(instance_id), instance_message(instance_id, event))

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
