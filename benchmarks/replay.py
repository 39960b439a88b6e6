"""Replay cost per episode: how long the pure engine takes to replay a long sequential orchestration (issue 4, #9).

    python -m benchmarks.replay              # a table
    python -m benchmarks.replay --json       # the same figures as JSON
    python -m benchmarks.replay --repeat 10  # more runs per case (the table shows the best and the median)

Cases:

* ``final episode``: the last episode of a 5,000-activity sequence, replayed as the worker replays it: new is the
  last completion (with its OrchestratorStarted when framed), past is everything before; the orchestration
  completes. ``compact`` is the
  issue's 10,000-event history (TaskScheduled + TaskCompleted per step); ``framed`` adds the episode framing that
  the Azure Storage provider writes (OrchestratorStarted, the completion, the next TaskScheduled,
  OrchestratorCompleted: 4 events per step).
* ``mid-run episode at N``: one mid-run episode of the same orchestration when its framed history has reached about N
  events; the cost a worker pays per episode as the history grows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from durable_storage.history import HistoryEvent
from durable_storage.replay import DurableOrchestrationContext, replay
from durable_storage.testing.history import HistoryBuilder

ACTIVITIES = 5_000
EPISODE_SIZES = (1_000, 5_000, 10_000)
_INSTANCE = "benchmark-sequence"


def sequence(context: DurableOrchestrationContext) -> Generator[Any, Any, int]:
    """The orchestrator under test: as many activities as its input says, each given the previous one's result."""
    value = 0
    for _ in range(context.get_input()):
        value = yield context.call_activity("step", value)
    return value


@dataclass(frozen=True, slots=True)
class Case:
    """One history to replay, split into past and new events as a worker would hand them over."""

    name: str
    past: list[HistoryEvent]
    new: list[HistoryEvent]


@dataclass(frozen=True, slots=True)
class Figure:
    """The timings of one case."""

    case: str
    events: int
    new_events: int
    best_s: float
    median_s: float
    events_per_s: float


def compact_history(activities: int) -> HistoryBuilder:
    """Start, then TaskScheduled + TaskCompleted per activity; the last completion is this episode's new event."""
    builder = HistoryBuilder(_INSTANCE).started("sequence", input=activities)
    for step in range(activities - 1):
        builder.scheduled("step", step, id=step).completed(step, step + 1)
    last = activities - 1
    return builder.scheduled("step", last, id=last).new().completed(last, activities)


def framed_history(activities: int, *, completed: int) -> HistoryBuilder:
    """The provider's history when activity ``completed - 1`` has just answered: that episode is the new one.

    Episode k writes OrchestratorStarted, TaskCompleted(k - 1), TaskScheduled(k), OrchestratorCompleted.
    """
    builder = HistoryBuilder(_INSTANCE).started("sequence", input=activities).scheduled("step", 0, id=0)
    for step in range(completed - 1):
        builder.episode().completed(step, step + 1).scheduled("step", step + 1, id=step + 1)
    return builder.orchestrator_completed().new().orchestrator_started().completed(completed - 1, completed)


def cases() -> list[Case]:
    """Every case, in the order the table shows them."""
    compact = compact_history(ACTIVITIES)
    framed = framed_history(ACTIVITIES, completed=ACTIVITIES)
    built = [
        Case(f"final episode, compact ({ACTIVITIES:,} activities)", compact.past, compact.new_events),
        Case(f"final episode, framed ({ACTIVITIES:,} activities)", framed.past, framed.new_events),
    ]
    for size in EPISODE_SIZES:
        # A history after k completions holds 4k + 2 framed events.
        history = framed_history(ACTIVITIES, completed=max(1, round((size - 2) / 4)))
        built.append(Case(f"mid-run episode at {size:,} events", history.past, history.new_events))
    return built


def measure(case: Case, repeat: int, clock: Callable[[], float] = time.perf_counter) -> Figure:
    """Replay ``case`` ``repeat`` times; the rate is computed from the median run."""
    runs = []
    for _ in range(repeat):
        started = clock()
        replay(sequence, instance_id=_INSTANCE, past_events=case.past, new_events=case.new)
        runs.append(clock() - started)
    events = len(case.past) + len(case.new)
    median = statistics.median(runs)
    return Figure(case.name, events, len(case.new), min(runs), median, events / median)


def check(case: Case) -> None:
    """Stop unless ``case`` replays as intended: a benchmark of a failing replay measures nothing."""
    result = replay(sequence, instance_id=_INSTANCE, past_events=case.past, new_events=case.new)
    completion = result.completion
    if completion is not None and completion.failure_details is not None:
        raise SystemExit(f"case {case.name!r} fails to replay: {completion.failure_details.error_message}")
    # Each episode either schedules the next step or completes the orchestration.
    if (completion is None) == (len(result.actions) != 1):
        raise SystemExit(f"case {case.name!r} replays to {result.actions!r}, completion {completion!r}")


def render(figures: Sequence[Figure]) -> str:
    """The figures as a plain-text table."""
    header = f"{'case':<44} {'events':>8} {'new':>4} {'best s':>9} {'median s':>9} {'events/s':>11}"
    rows = [
        f"{f.case:<44} {f.events:>8,} {f.new_events:>4} {f.best_s:>9.4f} {f.median_s:>9.4f} {f.events_per_s:>11,.0f}"
        for f in figures
    ]
    return "\n".join([header, "-" * len(header), *rows])


def main(argv: Sequence[str] | None = None) -> None:
    """Build the histories, replay each case ``--repeat`` times and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="runs per case (default: 5)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat} is invalid: must be at least 1")
    all_cases = cases()
    for case in all_cases:
        check(case)
    figures = [measure(case, args.repeat) for case in all_cases]
    print(json.dumps([asdict(f) for f in figures], indent=2) if args.json else render(figures))


if __name__ == "__main__":
    main()
