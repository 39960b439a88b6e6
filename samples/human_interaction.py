"""Human interaction: wait for a person's approval, or escalate when a durable timer fires first.

The Durable Functions human-interaction pattern: the orchestrator asks for an approval (an activity), then races
the external event ``ApprovalEvent`` against a durable timer with ``context.task_any``. An approval that arrives in
time cancels the timer and is processed; otherwise the request is escalated. The client plays the approver: once
the orchestration's custom status says it is waiting, it sends the event with ``raise_event``.

Run it with ``python -m samples.human_interaction``: Alice approves an expense report that has 60 seconds.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import Any

import durable_storage as df
from durable_storage.testing import wait_until
from samples import _run

app = df.App()

WAITING = "waiting for approval"


@app.orchestration_trigger(context_name="context")
def approval_workflow(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    request = context.get_input()
    yield context.call_activity("request_approval", request["title"])
    context.set_custom_status(WAITING)

    due_time = context.current_utc_datetime + timedelta(seconds=request["timeout_seconds"])
    durable_timeout_task = context.create_timer(due_time)
    approval_event_task = context.wait_for_external_event("ApprovalEvent")

    winning_task = yield context.task_any([approval_event_task, durable_timeout_task])
    if winning_task == approval_event_task:
        durable_timeout_task.cancel()
        approval = {"title": request["title"], "approver": approval_event_task.result}
        outcome = yield context.call_activity("process_approval", approval)
    else:
        outcome = yield context.call_activity("escalate", request)
    context.set_custom_status("done")
    return outcome


@app.activity_trigger(input_name="title")
def request_approval(title: str) -> str:
    """Would notify the approvers (by mail, chat, ...); here it only says so."""
    return f"approval of {title!r} requested"


@app.activity_trigger(input_name="approval")
def process_approval(approval: dict[str, Any]) -> str:
    """Acts on the approval."""
    return f"{approval['title']} approved by {approval['approver']}"


@app.activity_trigger(input_name="request")
def escalate(request: dict[str, Any]) -> str:
    """Hands the request to someone else when nobody answered in time."""
    return f"{request['title']} escalated to a manager: nobody approved it within {request['timeout_seconds']:g} s"


async def workload(
    client: df.DurableOrchestrationClient,
    *,
    approver: str | None = "Alice",
    timeout: float = 60.0,
    instance_id: str | None = None,
) -> bool:
    """Ask for an approval that ``approver`` gives (None: nobody answers); True when the right branch ran."""
    request = {"title": "expense report #42", "timeout_seconds": timeout}
    started = time.monotonic()
    instance_id = await client.start_new("approval_workflow", instance_id, request)

    if approver is not None:

        async def waiting() -> df.DurableOrchestrationStatus | None:
            # An instance that ended instead (it failed at once) is not waited for: its status is printed below.
            status = await client.get_status(instance_id)
            ended = status.runtime_status is not None and status.runtime_status.is_terminal
            return status if ended or status.custom_status == WAITING else None

        status = await wait_until(waiting, timeout=60, interval=0.1, what=f"{instance_id} to wait for its approval")
        if status.custom_status == WAITING:
            await client.raise_event(instance_id, "ApprovalEvent", approver)

    status = await client.wait_for_completion(instance_id, timeout=timeout + 60, poll_interval=0.2)
    took = time.monotonic() - started
    if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed:
        print(f"human interaction: approval_workflow {_run.describe(status)}")
        return False
    print(f"human interaction: {status.output} (Completed after {took:.1f} s)")
    expected = f"approved by {approver}" if approver is not None else "escalated to a manager"
    return expected in str(status.output)


def main() -> int:
    """Run the sample on a local worker; the exit code is 0 when Alice's approval won the race."""
    return _run.main(app, workload)


if __name__ == "__main__":
    sys.exit(main())
