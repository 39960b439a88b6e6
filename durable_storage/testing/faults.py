"""Storage fault injection for tests (reliability.md §5.1, T06): fail storage requests on purpose, reproducibly.

:class:`FaultInjectingTransport` wraps the SDK's ``AioHttpTransport`` below the storage layer's retry policy and,
per (service, operation, resource) :class:`FaultRule`, answers with a synthetic ``503 ServerBusy`` or
``500 OperationTimedOut``, fails the connection before sending (``ServiceRequestError``), or sends the request
and drops its response (``execute_then_fail``: ``ServiceResponseError`` after the service applied it). A seeded
:class:`FaultPlan` decides, counts every fault and logs it on this module's logger.

A worker process injects faults when the environment variable ``DS_FAULTS`` holds a plan's JSON::

    plan = FaultPlan([FaultRule(service="queue", operation="put_message", execute_then_fail=0.2)], seed=7)
    env = {**os.environ, FAULTS_VARIABLE: plan.to_json()}   # then start ``python -m durable_storage ... worker``

Every storage account of that process then sends through the transport (one plan, one RNG, one tally); the
faults it injected are the ``durable_storage.testing.faults`` log lines ("injected <kind> into ...").
The implementation lives in the storage layer, the only one that imports the Azure SDK.
"""

from __future__ import annotations

from durable_storage._storage.faults import (
    FAULT_KINDS,
    FAULTS_VARIABLE,
    FaultInjectingTransport,
    FaultPlan,
    FaultRule,
    RequestKind,
    classify,
)

__all__ = [
    "FAULTS_VARIABLE",
    "FAULT_KINDS",
    "FaultInjectingTransport",
    "FaultPlan",
    "FaultRule",
    "RequestKind",
    "classify",
]
