"""Fan-out/fan-in: one activity per file, all at once, then one result from all of them.

The Durable Functions "backup site content" sample (E2), measuring instead of copying: an activity lists the
``*.py`` files under a directory, the orchestrator starts one ``measure_file`` activity per file without waiting
in between (fan-out), and ``task_all`` waits for every one of them and hands back their results in order (fan-in).

Run it with ``python -m samples.fan_out_fan_in``: it measures the ``durable_storage`` package's own source.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import durable_storage as df
from samples import _run

app = df.App()


@app.orchestration_trigger(context_name="context")
def backup_site_content(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    root_directory = context.get_input()
    files = yield context.call_activity("get_file_list", root_directory)

    tasks = [context.call_activity("measure_file", path) for path in files]
    sizes = yield context.task_all(tasks)

    # As in Durable Functions, task_all of no tasks is None, not [].
    return {"files": len(files), "bytes": sum(sizes or [])}


@app.activity_trigger(input_name="root_directory")
def get_file_list(root_directory: str) -> list[str]:
    """The ``*.py`` files under ``root_directory``, sorted."""
    return sorted(str(path) for path in Path(root_directory).rglob("*.py") if path.is_file())


@app.activity_trigger(input_name="path")
def measure_file(path: str) -> int:
    """The size of one file in bytes (the original sample copies it to blob storage here)."""
    return Path(path).stat().st_size


async def workload(
    client: df.DurableOrchestrationClient, *, root: str | None = None, instance_id: str | None = None
) -> bool:
    """Measure the files under ``root`` (default: the durable_storage package); True when it completed."""
    root = root or str(Path(df.__file__).parent)
    instance_id = await client.start_new("backup_site_content", instance_id, root)
    status = await client.wait_for_completion(instance_id, timeout=120, poll_interval=0.2)
    if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed:
        print(f"fan-out/fan-in: backup_site_content {_run.describe(status)}")
        return False
    result: dict[str, Any] = status.output
    print(
        f"fan-out/fan-in: {result['files']} files under {root} measured by {result['files']} parallel activities: "
        f"{result['bytes']:,} bytes in all"
    )
    return True


def main() -> int:
    """Run the sample on a local worker; the exit code is 0 when the orchestration completed."""
    return _run.main(app, workload)


if __name__ == "__main__":
    sys.exit(main())
