"""Functions written as Durable Functions users write them, on ``azure.durable_functions``, run by our worker.

The v1 model's handles (``main = df.Orchestrator.create(fn)``, ``df.Entity.create(fn)``) are registered in our App
the way the host's loader does it (``app.orchestration(name, main)``), and the code passes the published SDK's
objects to our context: ``df.RetryOptions``, ``df.EntityId``, ``df.ManagedIdentityTokenSource`` and a custom class
with ``to_json``/``from_json``. ``fetch`` is the same ``call_http`` on our own API, with our timeout extension.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import azure.durable_functions as adf

import durable_storage as df

app = df.App()
attempts: Counter[str] = Counter()


class Parcel:
    """A custom payload class, as in Durable Functions' serialize_arguments sample."""

    def __init__(self, label: str, weight: int) -> None:
        self.label, self.weight = label, weight

    @staticmethod
    def to_json(obj: Parcel) -> dict[str, Any]:
        return {"label": obj.label, "weight": obj.weight}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Parcel:
        return Parcel(data["label"], data["weight"])


# --- written on azure.durable_functions (v1 layout: one handle per function) -------------------------------------


def weigh(parcel: Parcel) -> Parcel:
    """Fails the first call per label, so that the retry options matter."""
    attempts[parcel.label] += 1
    if attempts[parcel.label] == 1:
        raise RuntimeError(f"scale not ready for {parcel.label}")
    return Parcel(parcel.label.upper(), parcel.weight * 2)


def counter(context: adf.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
        context.set_state(value)
    context.set_result(value)


def ship(context: adf.DurableOrchestrationContext) -> Any:
    parcel: Parcel = context.get_input()
    weighed = yield context.call_activity_with_retry("Weigh", adf.RetryOptions(100, 3), parcel)
    tally = adf.EntityId("Tally", parcel.label)
    context.signal_entity(tally, "add", 1)
    total = yield context.call_entity(tally, "add", weighed.weight)
    return {"parcel": weighed, "tally": total}


def fetch_with_token(context: adf.DurableOrchestrationContext) -> Any:
    request = context.get_input()
    token = adf.ManagedIdentityTokenSource(request["resource"])
    response = yield context.call_http("GET", request["uri"], token_source=token)
    return response


app.activity("Weigh", weigh)
app.entity("Tally", adf.Entity.create(counter))
app.orchestration("Ship", adf.Orchestrator.create(ship))
app.orchestration("FetchWithToken", adf.Orchestrator.create(fetch_with_token))


# --- the same call on our own API -------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def fetch(context: df.DurableOrchestrationContext) -> Any:
    """``call_http`` with the input's method, uri, content, headers, and ``timeout`` seconds; a failure is caught."""
    request = context.get_input()
    timeout = timedelta(seconds=request["timeout"]) if "timeout" in request else None
    try:
        response = yield context.call_http(
            request["method"], request["uri"], request.get("content"), request.get("headers"), timeout=timeout
        )
    except Exception as error:
        return {"failed": str(error)}
    return df.DurableHttpResponse.from_json(response).to_json()
