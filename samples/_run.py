"""What every sample's ``main()`` does: connect, start a worker for the sample's app, run its workload, exit.

The storage account is the one ``AzureWebJobsStorage`` names, as in Azure Functions (a connection string, or the
identity-based ``AzureWebJobsStorage__*`` settings); without it, the local Azurite of ``UseDevelopmentStorage=true``,
which is started on its default ports (in memory, stopped at exit) when nothing listens there. The task hub is
``DURABLE_TASK_HUB``, or else one of the sample's own (``SampleHumanInteraction``): a worker of another app on the
same hub (the quickstart's on ``TestHubName``) would take the sample's instances and fail them, as they are not in
its app. The hub's name is printed, for the ``--task-hub`` of the commands (``status``, ``history``, ``list``).

The outcome goes to stdout; what the runner itself does (starting Azurite, the hub, a timeout) goes to stderr. A
timeout also lists the instances the sample started that did not complete, with their status and reason.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import durable_storage as df
from durable_storage.testing import Azurite, azurite_listening

__all__ = ["CONNECTION_SETTING", "HUB_SETTING", "Workload", "describe", "hub_of", "main", "run", "status_name"]

CONNECTION_SETTING = "AzureWebJobsStorage"
HUB_SETTING = "DURABLE_TASK_HUB"
_DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"

Workload = Callable[[df.DurableOrchestrationClient], Awaitable[bool]]
"""Starts and drives a sample's orchestrations, prints the outcome; True when it is the expected one."""


def main(app: df.App, workload: Workload) -> int:
    """Run ``workload`` under an in-process worker for ``app``; returns the exit code (0: as expected)."""
    azurite = _start_azurite() if _uses_development_storage() and not azurite_listening() else None
    try:
        return 0 if asyncio.run(run(app, workload)) else 1
    except TimeoutError as error:
        print(f"the sample did not finish in time: {error}", file=sys.stderr)
        return 1
    finally:
        if azurite is not None:
            azurite.stop()


async def run(app: df.App, workload: Workload) -> bool:
    """Connect as ``main`` describes, serve ``app`` with a worker in this process, and run ``workload``."""
    hub = os.environ.get(HUB_SETTING) or hub_of(workload)
    print(f"task hub {hub} (set {HUB_SETTING} for another)", file=sys.stderr)
    if _uses_development_storage():
        client = df.DurableOrchestrationClient.from_connection_string(_DEVELOPMENT_STORAGE, task_hub=hub)
    else:
        client = df.DurableOrchestrationClient.from_env(CONNECTION_SETTING, task_hub=hub)
    async with client, df.Worker(client, app):
        # A second of margin: the instances' CreatedTime comes from this clock too, but at a coarser resolution.
        since = datetime.now(timezone.utc) - timedelta(seconds=1)
        try:
            return await workload(client)
        except TimeoutError:
            await _report_unfinished(client, since)
            raise


def hub_of(workload: Workload) -> str:
    """The sample's own task hub: ``SampleHumanInteraction`` for ``samples.human_interaction``."""
    module = sys.modules.get(workload.__module__)
    spec = getattr(module, "__spec__", None)  # run with `python -m`, the module is __main__ and its spec names it
    name = (spec.name if spec is not None else workload.__module__).rpartition(".")[2]
    return "Sample" + "".join(part.title() for part in name.split("_") if part.isalnum())


async def _report_unfinished(client: df.DurableOrchestrationClient, since: datetime) -> None:
    """Say what the instances this run started are doing, so that a timeout shows why (a failure at the start)."""
    for status in await client.get_status_by(created_time_from=since):
        if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed:
            waiting = f" (custom status: {status.custom_status})" if status.custom_status is not None else ""
            print(f"instance {status.instance_id} of {status.name}: {describe(status)}{waiting}", file=sys.stderr)


def status_name(status: df.DurableOrchestrationStatus) -> str:
    """The instance's runtime status as Durable Functions names it (``Completed``), or ``unknown``."""
    return status.runtime_status.value if status.runtime_status is not None else "unknown"


def describe(status: df.DurableOrchestrationStatus) -> str:
    """``Completed: <output>``; for a failure, its message without the stack trace that follows it."""
    output = status.output
    if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed and isinstance(output, str):
        output = output.split("\n", 1)[0].strip()
    return f"{status_name(status)}: {output}"


def _uses_development_storage() -> bool:
    prefix = f"{CONNECTION_SETTING}__"  # the identity-based settings
    if not any(name == CONNECTION_SETTING or name.startswith(prefix) for name in os.environ):
        return True
    value = os.environ.get(CONNECTION_SETTING, "")
    return value.replace(" ", "").rstrip(";").lower() == _DEVELOPMENT_STORAGE.lower()


def _start_azurite() -> Azurite:
    print("Starting Azurite on 127.0.0.1:10000-10002 (in memory, stopped at exit)", file=sys.stderr)
    return Azurite(blob_port=10000, queue_port=10001, table_port=10002).start()
