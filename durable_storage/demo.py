"""`make demo`: create a task hub on a local Azurite and show what it is made of.

Starts Azurite on the default ports (10000-10002) when nothing listens there, and stops it again at the end.
The worker-and-client issue turns this into the real workload.
"""

from __future__ import annotations

import asyncio
import sys

from durable_storage.taskhub import TaskHub, TaskHubInfo
from durable_storage.testing import Azurite, azurite_listening

DEMO_HUB = "DemoHub"


def render(info: TaskHubInfo) -> str:
    """A readable summary of a task hub's resources."""
    lines = [f"Task hub {info.name}: {info.partition_count} partitions", "", "Queues (approximate messages):"]
    lines += [f"  {name:<32} {count if count is not None else 'missing'}" for name, count in info.queues.items()]
    lines += ["", "Tables:"]
    lines += [f"  {name:<32} {'present' if ok else 'missing'}" for name, ok in info.tables.items()]
    lines += ["", "Blob containers:"]
    # The lease containers belong to .NET's blob-lease partition managers; a table-managed hub has none.
    lines += [f"  {name:<32} present" for name, ok in info.containers.items() if ok]
    return "\n".join(lines)


async def show_hub(connection_string: str) -> TaskHubInfo:
    """Create the demo hub if needed and return what storage holds of it."""
    async with TaskHub.from_connection_string(connection_string, task_hub=DEMO_HUB) as hub:
        await hub.create_if_not_exists()
        return await hub.info()


def main() -> int:
    """Run the demo; returns the process exit code."""
    azurite: Azurite | None = None
    if azurite_listening():
        print("Using the Azurite already listening on 127.0.0.1:10000-10002")
    else:
        print("Starting Azurite on 127.0.0.1:10000-10002 (in memory, telemetry off)")
        azurite = Azurite(blob_port=10000, queue_port=10001, table_port=10002).start()
    try:
        info = asyncio.run(show_hub("UseDevelopmentStorage=true"))
        print(render(info))
    finally:
        if azurite is not None:
            azurite.stop()
            print("\nStopped the Azurite this demo started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
