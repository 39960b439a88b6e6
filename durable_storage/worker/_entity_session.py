"""An entity's batch: load its state, run the operations off the event loop (``_entity_episode``), commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from durable_storage._storage.message_channel import Received
from durable_storage.app import App, FunctionKind
from durable_storage.errors import ReplayDeadlineError
from durable_storage.taskhub import TaskHub
from durable_storage.worker._commit import Committer
from durable_storage.worker._entity_episode import entity_id_of, failing_entity, run_entity_episode
from durable_storage.worker._reports import UnregisteredNames
from durable_storage.worker._screening import event_of
from durable_storage.worker._session import OffLoop

__all__ = ["EntitySession"]

_log = logging.getLogger(__name__)
_CONFIRMED_ENTITIES = 10_000  # entities whose last batch's deletes we remember (oldest forgotten first)


class EntitySession:
    """Runs the batches of the entities whose partitions this worker owns."""

    def __init__(
        self, hub: TaskHub, app: App, committer: Committer, *, off_loop: OffLoop, unregistered: UnregisteredNames
    ) -> None:
        self._hub = hub
        self._unregistered = unregistered
        self._app = app
        self._committer = committer
        self._off_loop = off_loop
        self._confirmed: dict[str, list[str]] = {}  # entity -> redelivery keys of its last batch, now deleted

    async def run(self, instance_id: str, batch: list[Received]) -> None:
        """Run ``batch`` (ordered) as one episode of the entity ``instance_id``."""
        loaded, row = await asyncio.gather(self._hub.history.load(instance_id), self._committer.row_before(instance_id))
        now = self._hub.clock()
        entity_episode = partial(
            run_entity_episode,
            instance_id=instance_id,
            history=loaded.events,
            messages=[event_of(r) for r in batch],
            now=now,
            confirmed=self._confirmed.pop(instance_id, ()),
        )
        what = f"entity {entity_id_of(instance_id).name!r} of instance {instance_id!r}"
        try:
            episode, outcome = await self._off_loop(entity_episode, self._entity(instance_id), what=what)
        except ReplayDeadlineError as error:
            # Every operation of the batch fails with the error (callers get it) and the state stays as it was.
            episode, outcome = entity_episode(failing_entity(error))
        for reason in outcome.rejected:
            _log.error("entity %s: a message was not understood and is dropped: %s", instance_id, reason)
        if not await self._committer.commit(instance_id, episode, etag=loaded.etag, row=row, inbound=batch, now=now):
            return
        # Every inbound message is deleted now: the next batch can forget their redelivery keys.
        self._confirmed[instance_id] = outcome.processed
        while len(self._confirmed) > _CONFIRMED_ENTITIES:
            self._confirmed.pop(next(iter(self._confirmed)))

    def _entity(self, instance_id: str) -> Callable[..., Any]:
        name = entity_id_of(instance_id).name
        try:
            entity: Callable[..., Any] = self._app.get(FunctionKind.ENTITY, name).function
        except LookupError as error:
            self._unregistered.report(FunctionKind.ENTITY, name)
            message = str(error)

            def missing(context: Any) -> None:
                raise LookupError(message)

            return missing
        return entity
