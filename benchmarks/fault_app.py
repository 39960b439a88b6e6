"""The workload of ``benchmarks/faults.py``: a three-step chain whose activity records every execution.

``ledgered`` appends one line per execution to the file named by ``FAULTS_LEDGER``, so duplicate executions
(at-least-once activities after a crash) can be counted across worker processes, including killed ones.
"""

from __future__ import annotations

import os
from typing import Any

import durable_storage as df

LEDGER_VARIABLE = "FAULTS_LEDGER"
STEPS = 3

app = df.App()


@app.activity_trigger(input_name="step")
def ledgered(step: str) -> str:
    """Record this execution, then return the step in upper case."""
    path = os.environ.get(LEDGER_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as ledger:
            ledger.write(step + "\n")  # one short append: whole even with several processes
    return step.upper()


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext) -> Any:
    """``STEPS`` activities in sequence, each named after the instance and the step."""
    results = []
    for step in range(STEPS):
        results.append((yield context.call_activity("ledgered", f"{context.instance_id}/{step}")))
    return results


def expected(instance_id: str) -> list[str]:
    """What ``chain`` returns."""
    return [f"{instance_id}/{step}".upper() for step in range(STEPS)]
