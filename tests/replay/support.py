"""The vocabulary of the replay specification tests: build a history, replay it, read the outcome.

Histories are data: ``H("order-1").new().started("hello").scheduled("say_hello")...`` builds the events of an
instance, ``new()`` marks where the episode being replayed begins, and :func:`run` replays an orchestrator over
them exactly as the worker does. Golden histories (``golden/*.json``) pin the trickiest outcomes as .NET JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from durable_storage._envelope import decode_event
from durable_storage.history import FailureDetails, HistoryEvent
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import ReplayOptions, ReplayResult, replay
from durable_storage.testing.history import HistoryBuilder as H

__all__ = ["GOLDEN", "T0", "Golden", "H", "failure_of", "load_golden", "output_of", "run"]

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
"""When the builder's first event happens (its default start)."""

GOLDEN = Path(__file__).parent / "golden"


def run(orchestrator: Callable[..., Any], history: H, *, options: ReplayOptions | None = None) -> ReplayResult:
    """Replay ``orchestrator`` over ``history``: the events before ``new()`` are past, the rest this episode's."""
    return replay(
        orchestrator,
        instance_id=history.instance_id,
        past_events=history.past,
        new_events=history.new_events,
        options=options,
    )


def output_of(result: ReplayResult) -> Any:
    """The decoded output of an orchestration that completed successfully."""
    assert result.completion is not None, "the orchestration is still running"
    assert result.completion.status is OrchestrationRuntimeStatus.Completed, result.completion
    return None if result.completion.output is None else json.loads(result.completion.output)


def failure_of(result: ReplayResult) -> FailureDetails:
    """The failure details of an orchestration that failed."""
    assert result.completion is not None, "the orchestration is still running"
    assert result.completion.status is OrchestrationRuntimeStatus.Failed, result.completion
    assert result.completion.failure_details is not None
    return result.completion.failure_details


@dataclass(frozen=True)
class Golden:
    """A golden history: the events as Durable Functions' host writes them, and the pinned outcome.

    The file holds ``description``, ``instance_id``, ``orchestrator`` (the name of the test's orchestrator that
    replays it), ``past`` and ``new`` (history events in .NET JSON, as ``decode_event`` reads them) and
    ``expected`` (``status``, ``error_type``, ``error_message``).
    """

    description: str
    instance_id: str
    orchestrator: str
    past: list[HistoryEvent]
    new: list[HistoryEvent]
    expected: dict[str, Any]


def load_golden(name: str) -> Golden:
    """Read ``golden/{name}.json``."""
    data = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return Golden(
        description=data["description"],
        instance_id=data["instance_id"],
        orchestrator=data["orchestrator"],
        past=[decode_event(json.dumps(event)) for event in data["past"]],
        new=[decode_event(json.dumps(event)) for event in data["new"]],
        expected=data["expected"],
    )
