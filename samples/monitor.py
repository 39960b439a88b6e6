"""Monitor: poll with durable timers until a condition holds, or give up at a deadline.

The Durable Functions monitor pattern: the orchestrator checks a job's status with an activity, sleeps on a durable
timer (no process waits meanwhile) and checks again, until the job has completed (then it sends an alert) or its
expiry time has passed. Each check is published with ``set_custom_status``, for ``get_status`` to show progress.
The job here is simulated: it completes a few seconds after the client started it.

Run it with ``python -m samples.monitor``: a job of 3 seconds, checked every second, with a 30-second deadline.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import Any

import durable_storage as df
from samples import _run

app = df.App()


@app.orchestration_trigger(context_name="context")
def monitor_job(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    job = context.get_input()
    polling_interval = timedelta(seconds=job["polling_interval_seconds"])
    expiry_time = context.current_utc_datetime + timedelta(seconds=job["deadline_seconds"])

    checks = 0
    while context.current_utc_datetime < expiry_time:
        job_status = yield context.call_activity("get_job_status", job)
        checks += 1
        context.set_custom_status({"checks": checks, "job_status": job_status})
        if job_status == "Completed":
            yield context.call_activity("send_alert", f"job {job['id']} has completed")
            return {"job": job["id"], "status": "Completed", "checks": checks}

        # Sleep until the next check on a durable timer: the orchestration unloads until it fires.
        next_check = context.current_utc_datetime + polling_interval
        yield context.create_timer(next_check)

    return {"job": job["id"], "status": "Expired", "checks": checks}


@app.activity_trigger(input_name="job")
def get_job_status(job: dict[str, Any]) -> str:
    """The job's status: a simulated job completes at its ``done_at`` time (seconds since the epoch)."""
    return "Completed" if time.time() >= job["done_at"] else "Running"


@app.activity_trigger(input_name="message")
def send_alert(message: str) -> str:
    """Would page someone; here it only says what it would send."""
    return f"alert: {message}"


async def workload(
    client: df.DurableOrchestrationClient,
    *,
    job_seconds: float = 3.0,
    polling_interval: float = 1.0,
    deadline: float = 30.0,
    instance_id: str | None = None,
) -> bool:
    """Start a job of ``job_seconds`` and monitor it; True when the monitor saw it complete before ``deadline``."""
    job = {
        "id": "nightly-build",
        "done_at": time.time() + job_seconds,
        "polling_interval_seconds": polling_interval,
        "deadline_seconds": deadline,
    }
    instance_id = await client.start_new("monitor_job", instance_id, job)
    status = await client.wait_for_completion(instance_id, timeout=deadline + 60, poll_interval=0.2)
    if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed:
        print(f"monitor: monitor_job {_run.describe(status)}")
        return False
    result: dict[str, Any] = status.output
    every = f"checked every {polling_interval:g} s with a {deadline:g} s deadline"
    if result["status"] == "Completed":
        print(f"monitor: job {result['job']} completed; the monitor saw it at check {result['checks']} ({every})")
        return True
    print(f"monitor: job {result['job']} still running at the deadline after {result['checks']} checks ({every})")
    return False


def main() -> int:
    """Run the sample on a local worker; the exit code is 0 when the job was seen to complete in time."""
    return _run.main(app, workload)


if __name__ == "__main__":
    sys.exit(main())
