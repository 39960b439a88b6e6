"""Storage fault injection for tests (reliability.md §5.1, T06): fail storage requests on purpose, reproducibly.

:class:`FaultInjectingTransport` wraps the SDK's ``AioHttpTransport`` below the storage layer's retry policy and,
per (service, operation, resource) :class:`FaultRule`, answers with a synthetic ``503 ServerBusy`` or
``500 OperationTimedOut``, fails the connection before sending (``ServiceRequestError``), or sends the request
and drops its response (``execute_then_fail``: ``ServiceResponseError`` after the service applied it). A seeded
:class:`FaultPlan` decides, counts every fault and logs it on this module's logger.

A task hub injects faults when it is given a plan; a worker process, when its command line carries the plan's
JSON::

    plan = FaultPlan([FaultRule(service="queue", operation="put_message", execute_then_fail=0.2)], seed=7)
    hub = TaskHub.from_connection_string(conn_str, faults=plan)        # in this process
    command = [..., "worker", "my_app:app", "--faults", plan.to_json()]  # python -m durable_storage ... worker

Every storage client of that hub then sends through the transport (one plan, one RNG, one tally); the faults it
injected are counted on the plan and logged as ``durable_storage.testing.faults`` lines ("injected <kind> into
...").
The implementation lives in the storage layer, the only one that imports the Azure SDK.
"""

from __future__ import annotations

from durable_storage._storage.faults import (
    FAULT_KINDS,
    FaultInjectingTransport,
    FaultPlan,
    FaultRule,
    RequestKind,
    classify,
)

__all__ = [
    "FAULT_KINDS",
    "FaultInjectingTransport",
    "FaultPlan",
    "FaultRule",
    "RequestKind",
    "classify",
]
