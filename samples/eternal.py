"""Eternal orchestration: a loop that restarts itself with ``continue_as_new`` instead of growing its history.

The Durable Functions periodic-cleanup sample: run a cleanup, sleep on a durable timer, then ``continue_as_new``,
which ends this execution and starts the next one, with a fresh history, under the same instance ID. A real eternal
orchestration loops for ever; this one stops after a given number of generations so that the demo ends.

Run it with ``python -m samples.eternal``: three generations, one second apart.
"""

from __future__ import annotations

import sys
import uuid
from datetime import timedelta

import durable_storage as df
from samples import _run

app = df.App()


@app.orchestration_trigger(context_name="context")
def periodic_cleanup_loop(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    state = context.get_input()
    yield context.call_activity("do_cleanup", state["generation"])
    state = {**state, "generation": state["generation"] + 1}
    context.set_custom_status(f"{state['generation']} cleanups done")
    if state["generation"] >= state["generations"]:
        return f"{state['generation']} cleanups in {state['generation']} generations"  # only the demo ends

    # Sleep until the next cleanup, then start over as a new generation with an empty history.
    next_cleanup = context.current_utc_datetime + timedelta(seconds=state["interval_seconds"])
    yield context.create_timer(next_cleanup)
    context.continue_as_new(state)


@app.activity_trigger(input_name="generation")
def do_cleanup(generation: int) -> str:
    """Would delete expired data."""
    return f"cleanup {generation} done"


async def workload(
    client: df.DurableOrchestrationClient,
    *,
    generations: int = 3,
    interval: float = 1.0,
    instance_id: str | None = None,
) -> bool:
    """Run ``generations`` generations ``interval`` seconds apart; True when the last one completed."""
    first = {"generation": 0, "generations": generations, "interval_seconds": interval}
    instance_id = instance_id or f"cleanup-{uuid.uuid4().hex[:8]}"
    await client.start_new("periodic_cleanup_loop", instance_id, first)
    status = await client.wait_for_completion(instance_id, timeout=generations * interval + 60, poll_interval=0.2)
    if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed:
        print(f"eternal orchestration: {instance_id} {_run.describe(status)}")
        return False
    history = await client.get_history(instance_id)
    print(
        f"eternal orchestration: {instance_id} Completed: {status.output}, {interval:g} s apart "
        f"(its history holds the last generation only: {len(history)} events)"
    )
    return bool(status.custom_status == f"{generations} cleanups done")


def main() -> int:
    """Run the sample on a local worker; the exit code is 0 when every generation ran."""
    return _run.main(app, workload)


if __name__ == "__main__":
    sys.exit(main())
