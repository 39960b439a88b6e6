"""Operations jobs written as Durable Functions users write them: a df.DFApp with a timer-started singleton,
an HTTP probe, a retried activity and an entity.

``OPS_TICK_SCHEDULE`` (once a year in local.settings.json; the environment wins) drives ``record_tick``, which
logs every occurrence it runs in the ``tick_log`` entity, so that a test can count occurrences across processes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from datetime import datetime, timedelta, timezone
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

TICKER_ID = "ticker-singleton"
_TIMER_CALLS: list[dict[str, Any]] = []  # what the timer functions got, per call in this process
_ATTEMPTS: dict[str, int] = {}  # per key: the first attempt of flaky_step fails


def _json(value: Any, status_code: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status_code, mimetype="application/json")


@app.timer_trigger(schedule="*/1 * * * * *", arg_name="timer", run_on_startup=True)
@app.durable_client_input(client_name="client")
async def keep_ticker_running(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Starts the eternal ticker unless it runs already (the singleton pattern)."""
    _TIMER_CALLS.append({"function": "keep_ticker_running", "past_due": timer.past_due})
    status = await client.get_status(TICKER_ID)
    running = (df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending)
    if not status or status.runtime_status not in running:
        await client.start_new("ticker", TICKER_ID, 0)


@app.orchestration_trigger(context_name="context")
def ticker(context: df.DurableOrchestrationContext) -> Generator[Any, Any, None]:
    count: int = context.get_input() or 0
    context.set_custom_status({"count": count})
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=300))
    context.continue_as_new(count + 1)


@app.route(route="ticker", methods=["GET"])
@app.durable_client_input(client_name="client")
async def ticker_state(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    started = await client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Running])
    status = await client.get_status(TICKER_ID)
    return _json(
        {
            "count": (status.custom_status or {}).get("count") if status else None,
            "runtime_status": status.runtime_status.name if status and status.runtime_status else None,
            "running_tickers": sorted(s.instance_id for s in started if s.name == "ticker"),
            "timer_calls": _TIMER_CALLS,
        }
    )


@app.route(route="probe", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_probe(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    # Orchestrators must be deterministic, so the URL from the settings travels as the orchestration's input.
    target = {"url": os.environ["OPS_PROBE_URL"], "body": req.get_json()}
    instance_id = await client.start_new("probe", None, target)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def probe(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    target = context.get_input()
    response = yield context.call_http("POST", target["url"], content=target["body"])
    return {"statusCode": response["statusCode"], "content": json.loads(response["content"])}


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    payload = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(req.route_params["functionName"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def retried(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    result: str = yield context.call_activity_with_retry("flaky_step", retry, context.get_input())
    return result


@app.activity_trigger(input_name="key")
def flaky_step(key: str) -> str:
    _ATTEMPTS[key] = _ATTEMPTS.get(key, 0) + 1
    if _ATTEMPTS[key] == 1:
        raise ConnectionError(f"{key}: the first attempt fails")
    return f"{key} succeeded on attempt {_ATTEMPTS[key]}"


@app.entity_trigger(context_name="context", entity_name="counter")
def counter(context: df.DurableEntityContext) -> None:
    value: int = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    elif context.operation_name == "reset":
        value = 0
    context.set_state(value)
    context.set_result(value)


@app.route(route="counters/{key}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal_counter(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    entity = df.EntityId("counter", req.route_params["key"])
    await client.signal_entity(entity, req.route_params["operation"], req.get_json() if req.get_body() else None)
    return func.HttpResponse(status_code=202)


@app.route(route="entities/{name}/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read_entity(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    state = await client.read_entity_state(df.EntityId(req.route_params["name"], req.route_params["key"]))
    if not state.entity_exists:
        return _json({"error": "no such entity"}, status_code=404)
    return _json(state.entity_state)


@app.timer_trigger(schedule="%OPS_TICK_SCHEDULE%", arg_name="timer")
@app.durable_client_input(client_name="client")
async def record_tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    # An every-second occurrence runs within a second of its time, so the second it runs in names it.
    now = datetime.now(timezone.utc)
    entry = {"at": now.replace(microsecond=0).isoformat(), "late_ms": now.microsecond // 1000, "pid": os.getpid()}
    await client.signal_entity(df.EntityId("tick_log", "ticks"), "record", entry)


@app.timer_trigger(schedule="0 0 3 * * *", arg_name="timer")
def nightly_report(timer: func.TimerRequest) -> None:
    _TIMER_CALLS.append({"function": "nightly_report", "past_due": timer.past_due, "status": timer.schedule_status})


@app.entity_trigger(context_name="context")
def tick_log(context: df.DurableEntityContext) -> None:
    entries: list[dict[str, Any]] = context.get_state(lambda: [])
    if context.operation_name == "record":
        entries.append(context.get_input())
    context.set_state(entries)
