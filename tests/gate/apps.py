"""The order pipeline as deployed (``v1``), and three changed versions a deployment must not ship while orders wait.

``v1.process_order`` validates (sequence 0), reserves (sequence 1), waits for the ``approved`` event (which takes no
sequence number), then ships (sequence 2). Each changed version breaks the instances that wait for approval:

- ``renamed``: the first activity is now ``validate_order`` (sequence 0 differs);
- ``inserted``: a ``notify_customer`` step runs before waiting (the code now does something at sequence 2, where the
  recorded run only waited);
- ``wall_clock``: an order placed over an hour ago is expedited, timed with ``datetime.now()`` instead of
  ``context.current_utc_datetime``: replayed later than it ran, it takes the other branch at sequence 1.

Only ``v1`` has activities: the replay gate runs orchestrators alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from durable_storage import App

EXPEDITE_AFTER = timedelta(hours=1)

v1 = App()
renamed = App()
inserted = App()
wall_clock = App()


@v1.activity_trigger(input_name="order")
def validate(order: dict[str, Any]) -> dict[str, Any]:
    return {**order, "valid": True}


@v1.activity_trigger(input_name="order")
def reserve(order: dict[str, Any]) -> str:
    return f"reserved {order['sku']}"


@v1.activity_trigger(input_name="reservation")
def ship(reservation: str) -> str:
    return f"shipped ({reservation})"


@v1.orchestration_trigger(context_name="context")
def process_order(context: Any) -> Any:
    order = yield context.call_activity("validate", context.get_input())
    reservation = yield context.call_activity("reserve", order)
    yield context.wait_for_external_event("approved")
    shipped = yield context.call_activity("ship", reservation)
    return shipped


@renamed.orchestration_trigger(context_name="context", orchestration="process_order")
def process_order_renamed(context: Any) -> Any:
    order = yield context.call_activity("validate_order", context.get_input())
    reservation = yield context.call_activity("reserve", order)
    yield context.wait_for_external_event("approved")
    shipped = yield context.call_activity("ship", reservation)
    return shipped


@inserted.orchestration_trigger(context_name="context", orchestration="process_order")
def process_order_inserted(context: Any) -> Any:
    order = yield context.call_activity("validate", context.get_input())
    reservation = yield context.call_activity("reserve", order)
    yield context.call_activity("notify_customer", reservation)
    yield context.wait_for_external_event("approved")
    shipped = yield context.call_activity("ship", reservation)
    return shipped


@wall_clock.orchestration_trigger(context_name="context", orchestration="process_order")
def process_order_wall_clock(context: Any) -> Any:
    placed = context.current_utc_datetime
    order = yield context.call_activity("validate", context.get_input())
    if datetime.now(timezone.utc) - placed > EXPEDITE_AFTER:  # the bug: the wall clock moves on during replay
        reservation = yield context.call_activity("expedite", order)
    else:
        reservation = yield context.call_activity("reserve", order)
    yield context.wait_for_external_event("approved")
    shipped = yield context.call_activity("ship", reservation)
    return shipped
