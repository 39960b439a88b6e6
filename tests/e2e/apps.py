"""The orchestrators and activities of the end-to-end tests, in one App.

In-process workers and worker processes (``python -m durable_storage worker tests.e2e.apps:app``) serve the same
``app``. Activities that must fail a given number of times count their attempts per key in this module, which
only an in-process worker shares with the test.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import durable_storage as df

app = df.App()

LEDGER_VARIABLE = "DURABLE_STORAGE_TEST_LEDGER"
attempts: Counter[str] = Counter()
"""Calls of ``flaky`` per key, in this process."""


# --- activities -------------------------------------------------------------------------------------------------


@app.activity_trigger(input_name="n")
def square(n: int) -> int:
    return n * n


@app.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


@app.activity_trigger(input_name="request")
def flaky(request: dict[str, Any]) -> str:
    """Fails the first ``failures`` calls for ``key``, then succeeds."""
    key = request["key"]
    attempts[key] += 1
    if attempts[key] <= request["failures"]:
        raise RuntimeError(f"flaky failure {attempts[key]} of {key}")
    return f"{key} succeeded on attempt {attempts[key]}"


@app.activity_trigger(input_name="seconds")
async def slow_double(seconds: float) -> float:
    """Sleeps ``seconds`` (async, on the worker's loop), then doubles them."""
    await asyncio.sleep(seconds)
    return seconds * 2


@app.activity_trigger(input_name="item")
def slow_label(item: int) -> str:
    """A blocking activity (it runs in the worker's thread pool) that takes a moment."""
    time.sleep(0.5)
    return f"item {item}"


@app.activity_trigger(input_name="step")
def ledgered(step: str) -> str:
    """Records each execution of ``step`` in the ledger file named by DURABLE_STORAGE_TEST_LEDGER (if set)."""
    time.sleep(0.05)
    path = os.environ.get(LEDGER_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as ledger:
            ledger.write(step + "\n")  # one short append: whole even with several worker processes
    return step.upper()


@app.activity_trigger(input_name="request")
def slow_ledgered(request: dict[str, Any]) -> str:
    """Records ``step`` in the ledger like ``ledgered``, then takes ``seconds`` to finish."""
    path = os.environ.get(LEDGER_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as ledger:
            ledger.write(request["step"] + "\n")
    time.sleep(request["seconds"])
    return str(request["step"]).upper()


def released(ledger: str) -> Path:
    """The file whose existence lets ``held_locally`` and ``held_remotely`` return (next to the ledger)."""
    return Path(f"{ledger}.released")


def _hold(name: str) -> str:
    """Note ``held <name>`` in the ledger, then block until the test creates :func:`released` (at most an hour)."""
    path = os.environ.get(LEDGER_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as ledger:
            ledger.write(f"held {name}\n")
        deadline = time.monotonic() + 3600
        while not released(path).exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the worker holds what it received meanwhile (the test kills it)
    return name.upper()


@app.activity_trigger(input_name="name", local=True)
def held_locally(name: str) -> str:
    """Runs inside its orchestration's episode: a holding worker holds the episode's control messages."""
    return _hold(name)


@app.activity_trigger(input_name="name")
def held_remotely(name: str) -> str:
    """A work item: a holding worker holds it."""
    return _hold(name)


# --- orchestrators ----------------------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def held(context: df.DurableOrchestrationContext) -> Any:
    """One activity, local (input true) or queued, then the event ``go``."""
    local = context.get_input()
    result = yield context.call_activity("held_locally" if local else "held_remotely", context.instance_id)
    go = yield context.wait_for_external_event("go")
    return [result, go]


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext) -> Any:
    squares = yield context.task_all([context.call_activity("square", n) for n in range(context.get_input())])
    return sum(squares)


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext) -> Any:
    """Human interaction: an "Approval" event, or a durable timer of ``input`` seconds, whichever comes first."""
    decision = context.wait_for_external_event("Approval")
    deadline: Any = context.create_timer(timedelta(seconds=context.get_input()))
    winner = yield context.task_any([decision, deadline])
    if winner is decision:
        deadline.cancel()
        return f"approved by {decision.result}"
    return "escalated: nobody approved in time"


@app.orchestration_trigger(context_name="context")
def monitor(context: df.DurableOrchestrationContext) -> Any:
    """Checks every ``interval`` seconds; each check is a new generation (continue-as-new) until ``last``."""
    state = context.get_input()
    yield context.create_timer(timedelta(seconds=state["interval"]))
    checked = yield context.call_activity("echo", state["generation"])
    context.set_custom_status(f"checked generation {checked}")
    if checked < state["last"]:
        context.continue_as_new({**state, "generation": checked + 1})
        return None
    return f"monitored {checked + 1} generations"


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext) -> Any:
    doubled = yield context.call_activity("square", context.get_input())
    return {"instance_id": context.instance_id, "parent": context.parent_instance_id, "square": doubled}


@app.orchestration_trigger(context_name="context")
def failing_child(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("echo", "before the failure")
    raise ValueError(f"child {context.instance_id} gave up")


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext) -> Any:
    """Two children, one with an explicit instance ID; then a failing child whose failure it catches."""
    named = context.call_sub_orchestrator("child", 3, instance_id=f"{context.instance_id}-named-child")
    unnamed = context.call_sub_orchestrator("child", 4)
    results = yield context.task_all([named, unnamed])
    try:
        yield context.call_sub_orchestrator("failing_child")
    except df.TaskFailedError as error:
        return {"children": results, "caught": str(error)}
    return {"children": results, "caught": None}


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext) -> Any:
    """``flaky`` with up to ``max_attempts`` attempts, 100 ms apart."""
    request = context.get_input()
    options = df.RetryOptions(100, request["max_attempts"])
    return (yield context.call_activity_with_retry("flaky", options, request))


@app.orchestration_trigger(context_name="context")
def unhandled(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("echo", "step one")
    raise KeyError("the order has no customer")


@app.orchestration_trigger(context_name="context")
def flaky_then_done(context: df.DurableOrchestrationContext) -> Any:
    """Calls ``flaky`` without retries: a failure fails the instance (rewind runs it again)."""
    first = yield context.call_activity("echo", "first step")
    second = yield context.call_activity("flaky", context.get_input())
    return [first, second]


@app.orchestration_trigger(context_name="context")
def collect(context: df.DurableOrchestrationContext) -> Any:
    """Waits for ``input`` "Item" events, one after the other; returns their data in order."""
    items = []
    for _ in range(context.get_input()):
        items.append((yield context.wait_for_external_event("Item")))
    return items


@app.orchestration_trigger(context_name="context")
def echo_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """Passes its input through an activity: input, output and both messages carry the whole payload."""
    return (yield context.call_activity("echo", context.get_input()))


@app.orchestration_trigger(context_name="context")
def relay(context: df.DurableOrchestrationContext) -> Any:
    """Passes its input through three activities in turn: four episodes carry the payload."""
    value = context.get_input()
    for _ in range(3):
        value = yield context.call_activity("echo", value)
    return value


@app.orchestration_trigger(context_name="context")
def started_at(context: df.DurableOrchestrationContext) -> Any:
    """Its input and the time its first episode ran."""
    return {"input": context.get_input(), "ran_at": context.current_utc_datetime.isoformat()}


@app.activity_trigger(input_name="ignored")
def real_time(ignored: Any) -> float:
    """The machine's own wall clock (``time.time()``), which a skewed ``durable_storage._clock`` does not shift."""
    return time.time()


@app.orchestration_trigger(context_name="context")
def one_slow_step(context: df.DurableOrchestrationContext) -> Any:
    """``slow_ledgered`` once, for ``input`` seconds."""
    return (yield context.call_activity("slow_ledgered", {"step": context.instance_id, "seconds": context.get_input()}))


@app.orchestration_trigger(context_name="context")
def generations(context: df.DurableOrchestrationContext) -> Any:
    """Squares ``left``, adds it to ``total`` and continues as new until ``left`` is 0: sum of squares 1..n."""
    state = context.get_input()
    squared = yield context.call_activity("square", state["left"])
    state = {"left": state["left"] - 1, "total": state["total"] + squared}
    if state["left"] == 0:
        return state["total"]
    context.continue_as_new(state)
    return None


@app.orchestration_trigger(context_name="context")
def timer_then_time(context: df.DurableOrchestrationContext) -> Any:
    """A timer of ``input`` seconds from the episode's time, then the real time after it fired."""
    fire_at = context.current_utc_datetime + timedelta(seconds=context.get_input())
    yield context.create_timer(fire_at)
    woke = yield context.call_activity("real_time", None)
    return {"fire_at": fire_at.timestamp(), "woke": woke}


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext) -> Any:
    """Two slow activities in sequence, then a fan-out of three blocking ones."""
    seconds = context.get_input()
    first = yield context.call_activity("slow_double", seconds)
    second = yield context.call_activity("slow_double", first)
    labels = yield context.task_all([context.call_activity("slow_label", n) for n in range(3)])
    return [first, second, labels]


@app.orchestration_trigger(context_name="context")
def ledger_chain(context: df.DurableOrchestrationContext) -> Any:
    """``ledgered`` for each of its input's steps, one after another: the ledger shows every execution."""
    results = []
    for step in range(context.get_input()):
        results.append((yield context.call_activity("ledgered", f"{context.instance_id}/{step}")))
    return results


# --- entities ---------------------------------------------------------------------------------------------------


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    """A counter: ``add`` (returns the new value), ``get``, ``add_then_fail`` (adds, then raises), ``delete``."""
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
    elif operation == "add_then_fail":
        context.set_state(value + context.get_input())
        raise ValueError(f"refused to add {context.get_input()}")
    elif operation == "delete":
        context.destruct_on_exit()
        return
    elif operation != "get":
        raise ValueError(f"counter has no operation {operation!r}")
    context.set_state(value)
    context.set_result(value)


@app.entity_trigger(context_name="context")
class Account(df.DurableEntity):
    """A bank account, class-based: one method per operation."""

    def deposit(self, amount: int) -> int:
        balance = self.get_state(int) + amount
        self.set_state(balance)
        return balance

    def withdraw(self, amount: int) -> int:
        balance = self.get_state(int)
        if amount > balance:
            raise ValueError(f"insufficient funds: {balance} < {amount}")
        self.set_state(balance - amount)
        return balance - amount

    def balance(self) -> int:
        return int(self.get_state(int))


@app.orchestration_trigger(context_name="context")
def count_up(context: df.DurableOrchestrationContext) -> Any:
    """Signals ``counter`` ``times`` times, then reads it back with a call."""
    target = df.EntityId("counter", context.get_input()["key"])
    for _ in range(context.get_input()["times"]):
        context.signal_entity(target, "add", 1)
    return (yield context.call_entity(target, "get"))


@app.orchestration_trigger(context_name="context")
def call_operation(context: df.DurableOrchestrationContext) -> Any:
    """Calls ``operation`` on an ``entity`` (a counter by default): returns its answer, or the failure's message."""
    request = context.get_input()
    target = df.EntityId(request.get("entity", "counter"), request["key"])
    try:
        return {"result": (yield context.call_entity(target, request["operation"], request.get("input")))}
    except df.TaskFailedError as failure:
        return {"error": str(failure)}


@app.orchestration_trigger(context_name="context")
def transfer(context: df.DurableOrchestrationContext) -> Any:
    """Moves ``amount`` between two accounts inside a critical section on both."""
    request = context.get_input()
    source, target = df.EntityId("Account", request["from"]), df.EntityId("Account", request["to"])
    with (yield context.lock_entities(source, target)):
        available = yield context.call_entity(source, "balance")
        if available < request["amount"]:
            return False
        yield context.call_entity(source, "withdraw", request["amount"])
        yield context.call_entity(target, "deposit", request["amount"])
    return True


@app.orchestration_trigger(context_name="context")
def audit(context: df.DurableOrchestrationContext) -> Any:
    """Reads both balances inside a critical section: no transfer can be half done while it looks."""
    accounts = [df.EntityId("Account", key) for key in context.get_input()]
    with (yield context.lock_entities(*accounts)):
        balances = []
        for account in accounts:
            balances.append((yield context.call_entity(account, "balance")))
    return sum(balances)


@app.orchestration_trigger(context_name="context")
def hold_lock(context: df.DurableOrchestrationContext) -> Any:
    """Locks one account and waits for an event that never comes (tests terminate it, orphaning the lock)."""
    with (yield context.lock_entities(df.EntityId("Account", context.get_input()))):
        yield context.wait_for_external_event("never")


@app.orchestration_trigger(context_name="context")
def guarded(context: df.DurableOrchestrationContext) -> Any:
    """Calls the activity named by its input and returns its result, or the failure's text."""
    try:
        return {"result": (yield context.call_activity(context.get_input(), "payload"))}
    except df.TaskFailedError as failure:
        return {"error": str(failure)}
