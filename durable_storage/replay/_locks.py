"""Critical sections: the entity locks an orchestration holds, and the lock a ``with`` block releases; pure.

``lock_entities`` sends one lock request that travels through the lock set in order; the last entity's grant
completes the :class:`LockTask`, whose result is the :class:`EntityLock`. The execution holds at most one lock
set at a time (critical sections do not nest); the engine releases it when the execution ends, also by failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from durable_storage.entities._formats import RELEASE, ReleaseMessage
from durable_storage.models import EntityId
from durable_storage.replay._actions import SendEventAction
from durable_storage.replay._tasks import AtomicTask, EntityCallTask

if TYPE_CHECKING:
    from durable_storage.replay._runtime import ReplayRuntime

__all__ = ["CriticalSection", "EntityLock", "LockTask"]


class CriticalSection:
    """The lock set this execution holds, if any."""

    def __init__(self, runtime: ReplayRuntime) -> None:
        self._runtime = runtime
        self._held: EntityLock | None = None

    @property
    def held(self) -> EntityLock | None:
        """The lock held now, or None."""
        return self._held

    def enter(self, lock: EntityLock) -> None:
        """Hold ``lock``: its last entity granted it."""
        self._held = lock

    def release(self, lock: EntityLock | None = None) -> None:
        """Send a release to every entity of the held lock (only if it is ``lock``, when given); idempotent."""
        if lock is not None and lock is not self._held:
            return
        held, self._held = self._held, None
        if held is None:
            return
        instance_id = self._runtime.execution.instance_id
        message = ReleaseMessage(parent_instance_id=instance_id, id=held.request_id).to_json()
        for entity in held.entities:
            target = str(entity)

            def action(id_: int, target: str = target) -> SendEventAction:
                return SendEventAction(id=id_, instance_id=target, name=RELEASE, input=message)

            AtomicTask(action, f"entity release of {target}", awaits_result=False).schedule(self._runtime)


class EntityLock:
    """The locks of a critical section; leaving the ``with`` block (or :meth:`release`) releases them."""

    def __init__(self, section: CriticalSection, entities: tuple[EntityId, ...], request_id: str) -> None:
        self._section = section
        self.entities = entities
        self.request_id = request_id

    def describe(self) -> str:
        return ", ".join(str(e) for e in self.entities)

    def release(self) -> None:
        """Release every lock now (idempotent)."""
        self._section.release(self)

    def __enter__(self) -> EntityLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class LockTask(EntityCallTask):
    """A ``lock_entities``: done when the last entity of the lock set grants it; its result is the EntityLock."""

    def __init__(
        self,
        make_action: Callable[[int], SendEventAction],
        section: CriticalSection,
        entities: tuple[EntityId, ...],
    ) -> None:
        super().__init__(make_action, "lock on " + ", ".join(str(e) for e in entities))
        self._section = section
        self._entities = entities

    def complete(self, value: Any, *, failed: bool, is_played: bool) -> None:
        if not failed and not self.is_completed:
            value = EntityLock(self._section, self._entities, self.request_id or "")
            self._section.enter(value)
        super().complete(value, failed=failed, is_played=is_played)
