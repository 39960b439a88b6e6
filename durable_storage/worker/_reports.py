"""What a worker tells its operator at WARNING: an instance it failed, an activity that failed, work it cannot do.

A failure is stored in the instance's history, where nobody sees it until they look. Two apps sharing a task hub
fail each other's instances at once ("orchestrator ... is not registered"), so each of these is logged where it
happens, one line, with the names an operator searches for: the function, the instance and the task hub.
"""

from __future__ import annotations

import logging

from durable_storage._text import visible
from durable_storage.app import App, FunctionKind
from durable_storage.history import ExecutionCompletedEvent, FailureDetails
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.worker._episode import Episode

__all__ = ["UnregisteredNames", "log_activity_failed", "log_instance_failed", "one_line"]

_log = logging.getLogger("durable_storage.worker")

_PLURAL = {
    FunctionKind.ORCHESTRATOR: "orchestrators",
    FunctionKind.ACTIVITY: "activities",
    FunctionKind.ENTITY: "entities",
}
_LONGEST = 300  # characters of a reason in a log line; the whole text is in the instance's history


def one_line(text: str) -> str:
    """The first non-empty line of ``text``, cut at 300 characters (a traceback's first line is its message)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    # User and stored text reaches terminals and log pipes: controls and lone surrogates are shown escaped.
    first = visible(first)
    return first if len(first) <= _LONGEST else first[: _LONGEST - 1] + "…"


def _reason(details: FailureDetails | None, output: str | None) -> str:
    if details is None:
        return one_line(output or "no reason recorded")
    return f"{details.error_type}: {one_line(details.error_message)}"


def log_instance_failed(hub: str, instance_id: str, episode: Episode) -> None:
    """Log ``episode``'s failure, when it is the episode that ended ``instance_id`` as Failed."""
    ended = next((e for e in episode.appended if isinstance(e, ExecutionCompletedEvent)), None)
    if ended is None or ended.orchestration_status is not OrchestrationRuntimeStatus.Failed:
        return
    started = episode.state.started if episode.state is not None else None
    name = started.name if started is not None else "?"
    _log.warning(
        "orchestration %r instance %s failed (task hub %s): %s",
        visible(name),
        visible(instance_id),
        hub,
        _reason(ended.failure_details, ended.result),
        extra={"instance_id": instance_id},
    )


def log_activity_failed(hub: str, name: str, instance_id: str, error: BaseException) -> None:
    """Log that activity ``name``, scheduled by ``instance_id``, raised ``error`` (its TaskFailed goes back)."""
    _log.warning(
        "activity %r of instance %s failed (task hub %s): %s: %s",
        visible(name),
        visible(instance_id),
        hub,
        type(error).__name__,
        one_line(str(error)),
        extra={"instance_id": instance_id},
    )


class UnregisteredNames:
    """Says once per name that this worker received work for a function its app does not register.

    The usual cause is a second app on the same task hub: its instances reach this worker and fail here.
    """

    def __init__(self, hub: str, app: App) -> None:
        self._hub = hub
        self._app = app
        self._reported: set[tuple[FunctionKind, str]] = set()

    def report(self, kind: FunctionKind, name: str) -> None:
        if (kind, name) in self._reported:
            return
        self._reported.add((kind, name))
        registered = self._app.names(kind)
        _log.warning(
            "task hub %s has work for %s %r, which this worker's app does not register (it registers %s: %s); "
            "is another app using this task hub? Give each app a task hub of its own (--task-hub, or "
            "extensions.durableTask.hubName in host.json)",
            self._hub,
            kind.value,
            visible(name),
            _PLURAL[kind],
            ", ".join(repr(n) for n in registered) or "none",
        )
