"""Features: sub-orchestrations, custom status, entities, custom objects, IDs, time, is_replaying and HTTP.

Modelled on azure-functions-durable's test_sub_orchestrator(_with_retry), test_sequential_orchestrator_custom_status,
test_entity, test_serialization, tasks/test_new_uuid, test_is_replaying_flag and test_call_http
(python-api.md §3.1).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ..harness import H, Scenario
from .activities import sequence

CHILD_FAILED = "Orchestrator function 'Child' failed: no child"
CHILD_DETAILS = '{"Message": "no child"}'
COUNTER = "@counter@myCounter"


# --- sub-orchestrations ----------------------------------------------------------------------------------------


def parent(context: Any) -> Any:
    tokyo = yield context.call_sub_orchestrator("Child", "Tokyo")
    seattle = yield context.call_sub_orchestrator("Child", "Seattle", "child-seattle")
    return [tokyo, seattle]


def parent_with_retry(context: Any, api: Any) -> Any:
    result = yield context.call_sub_orchestrator_with_retry("Child", api.RetryOptions(5000, 3), "Tokyo", "child-1")
    return result


def parent_fan_out(context: Any) -> Any:
    children = [context.call_sub_orchestrator("Child", city, f"child-{city}") for city in ("Tokyo", "Seattle")]
    results = yield context.task_all(children)
    return results


def tokyo_child() -> H:
    return H("parent-1").started("parent").sub_orchestration_created("Child", "parent-1:0000", "Tokyo")


SUB_ORCHESTRATIONS = [
    Scenario("sub-orchestration: started without an instance id", parent, H("parent-1").new().started("parent")),
    Scenario(
        "sub-orchestration: done, next one with an instance id",
        parent,
        tokyo_child().wake().sub_orchestration_completed(0, "Hello Tokyo!"),
    ),
    Scenario(
        "sub-orchestration: both done",
        parent,
        tokyo_child()
        .episode()
        .sub_orchestration_completed(0, "Hello Tokyo!")
        .sub_orchestration_created("Child", "child-seattle", "Seattle")
        .wake()
        .sub_orchestration_completed(1, "Hello Seattle!"),
    ),
    Scenario(
        "sub-orchestration: failure fails the parent",
        parent,
        tokyo_child().wake().sub_orchestration_failed(0, CHILD_FAILED, CHILD_DETAILS),
    ),
    Scenario(
        "sub-orchestration: with retry, failure creates the retry timer",
        parent_with_retry,
        H("parent-2")
        .started("o")
        .sub_orchestration_created("Child", "child-1", "Tokyo")
        .wake()
        .sub_orchestration_failed(0, CHILD_FAILED, CHILD_DETAILS),
    ),
    Scenario(
        "sub-orchestration: with retry, the second attempt succeeds",
        parent_with_retry,
        H("parent-2")
        .started("o")
        .sub_orchestration_created("Child", "child-1", "Tokyo")
        .episode()
        .sub_orchestration_failed(0, CHILD_FAILED, CHILD_DETAILS)
        .timer_created(datetime(2024, 1, 1, 0, 0, 10, tzinfo=timezone.utc))
        .episode()
        .timer_fired(1)
        .sub_orchestration_created("Child", "child-1", "Tokyo")
        .wake()
        .sub_orchestration_completed(2, "Hello Tokyo!"),
    ),
    Scenario("sub-orchestration: fan-out", parent_fan_out, H("parent-3").new().started("o")),
]


# --- custom status ---------------------------------------------------------------------------------------------


def status_of(value: Any) -> Any:
    def orchestrator(context: Any) -> Any:
        yield context.call_activity("Hello", "Tokyo")
        context.set_custom_status(value)
        yield context.call_activity("Hello", "Seattle")
        return "done"

    return orchestrator


def status_then_raise(context: Any) -> Any:
    context.set_custom_status({"stage": "about to fail"})
    yield context.call_activity("Hello", "Tokyo")
    raise RuntimeError("after status")


def tokyo_done() -> H:
    return H("status-1").started("o").scheduled("Hello", "Tokyo").wake().completed(0, "Hello Tokyo!")


CUSTOM_STATUS = [
    Scenario("custom status: a string", status_of("Tokyo done"), tokyo_done()),
    Scenario("custom status: an object", status_of({"city": "Tokyo", "done": [1, 2]}), tokyo_done()),
    Scenario("custom status: falsy 0 is not published", status_of(0), tokyo_done()),
    Scenario("custom status: falsy {} is not published", status_of({}), tokyo_done()),
    Scenario("custom status: kept when the orchestrator fails", status_then_raise, tokyo_done()),
]


# --- entities --------------------------------------------------------------------------------------------------


def add_to_counter(context: Any, api: Any) -> Any:
    value = yield context.call_entity(api.EntityId("Counter", "myCounter"), "add", 5)
    return value


def add_to_counter_caught(context: Any, api: Any) -> Any:
    try:
        yield context.call_entity(api.EntityId("Counter", "myCounter"), "add", 5)
    except Exception as error:
        return f"caught: {error}"
    return "no error"


def signal_then_call(context: Any, api: Any) -> Any:
    context.signal_entity(api.EntityId("Counter", "c1"), "reset")
    done = yield context.call_activity("Hello", "after signal")
    return done


def entity_asked() -> H:
    return H("ent-1").started("o").entity_request_sent(COUNTER, "add", "req-1").wake()


ENTITIES = [
    Scenario("entity call: sends the request", add_to_counter, H("ent-1").new().started("o")),
    Scenario("entity call: waiting for the response", add_to_counter, entity_asked().event_raised("Other", 1)),
    Scenario("entity call: the response is the result", add_to_counter, entity_asked().entity_responded("req-1", 5)),
    Scenario(
        "entity call: an operation exception, unhandled",
        add_to_counter,
        entity_asked().entity_responded("req-1", "Counter overflow", exception_type="System.Exception"),
        deviation="entity errors name the entity and the operation (issue 7); DF raises Exception(message)",
    ),
    Scenario(
        "entity call: an operation exception, caught",
        add_to_counter_caught,
        entity_asked().entity_responded("req-1", "Counter overflow", exception_type="System.Exception"),
        deviation="entity errors name the entity and the operation (issue 7); DF raises Exception(message)",
    ),
    Scenario(
        "entity call: a host timeout, caught",
        add_to_counter_caught,
        entity_asked().event_raised("req-1", {"result": "Timeout value of 00:01:00 was exceeded by function: add"}),
        deviation="entity errors name the entity and the operation (issue 7); DF raises Exception(message)",
    ),
    Scenario("entity signal: recorded at once", signal_then_call, H("ent-2").new().started("o")),
    Scenario(
        "entity signal: replayed",
        signal_then_call,
        H("ent-2")
        .started("o")
        .entity_request_sent("@counter@c1", "reset", "sig-1", signal=True)
        .scheduled("Hello", "after signal")
        .wake()
        .completed(1, "Hello!"),
    ),
]


# --- custom objects --------------------------------------------------------------------------------------------


class Pet:
    """A class with to_json/from_json, the custom-object protocol of both SDKs."""

    def __init__(self, name: str, age: int) -> None:
        self.name, self.age = name, age

    @staticmethod
    def to_json(obj: Pet) -> dict[str, Any]:
        return {"name": obj.name, "age": obj.age}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Pet:
        return Pet(data["name"], data["age"])


def wire(pet: Pet) -> dict[str, Any]:
    return {"__class__": "Pet", "__module__": Pet.__module__, "__data__": Pet.to_json(pet)}


def groom(context: Any) -> Any:
    pet = context.get_input()
    groomed = yield context.call_activity("Groom", pet)
    return f"{groomed.name} is {groomed.age}"


def adopt(context: Any) -> Any:
    pet = yield context.call_activity("Adopt", None)
    return pet


CUSTOM_OBJECTS = [
    Scenario(
        "custom object: an input passed on to an activity", groom, H("pet-1").new().started("g", wire(Pet("Rex", 3)))
    ),
    Scenario(
        "custom object: an activity result",
        groom,
        H("pet-1").started("g", wire(Pet("Rex", 3))).scheduled("Groom").wake().completed(0, wire(Pet("Rex", 4))),
    ),
    Scenario(
        "custom object: as the output",
        adopt,
        H("pet-2").started("a").scheduled("Adopt").wake().completed(0, wire(Pet("Tom", 1))),
        deviation="a custom-class output is encoded with to_json, as inputs are; DF 1.7 rejects it (a regression)",
    ),
]


# --- IDs, time, replay flag, identity --------------------------------------------------------------------------

ODD_START = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)  # microseconds, to pin the formatting


def uuids(context: Any) -> Any:
    first = context.new_uuid()
    yield context.call_activity("Hello", first)
    return [first, context.new_uuid(), context.new_uuid()]


def guids(context: Any) -> Any:
    first = str(context.new_guid())
    yield context.call_activity("Hello", first)
    return [first, str(context.new_guid()), context.new_uuid()]


def clock(context: Any) -> Any:
    seen = [context.current_utc_datetime.isoformat()]
    for city in ("Tokyo", "Seattle"):
        yield context.call_activity("Hello", city)
        seen.append(context.current_utc_datetime.isoformat())
    return seen


def replay_flags(context: Any) -> Any:
    flags = [context.is_replaying]
    for city in ("Tokyo", "Seattle", "London"):
        yield context.call_activity("Hello", city)
        flags.append(context.is_replaying)
        context.set_custom_status(flags)
    return flags


def replay_flags_all(context: Any) -> Any:
    flags = [context.is_replaying]
    yield context.task_all([context.call_activity("Hello", c) for c in ("Tokyo", "Seattle")])
    flags.append(context.is_replaying)
    return flags


def identity(context: Any) -> Any:
    return [context.instance_id, context.parent_instance_id, context.version, context.get_input()]


def chained(start: datetime = datetime(2024, 1, 1, tzinfo=timezone.utc), step: timedelta = timedelta(seconds=1)) -> H:
    """Tokyo and Seattle done over two episodes, the second completion new."""
    return (
        H("clock-1", start=start, step=step)
        .started("o")
        .scheduled("Hello", "Tokyo")
        .episode()
        .completed(0)
        .scheduled("Hello", "Seattle")
        .wake()
        .completed(1)
    )


IDS_AND_TIME = [
    Scenario(
        "new_uuid: values across episodes",
        uuids,
        H("uuid-1", start=ODD_START).started("u").scheduled("Hello").wake().completed(0),
    ),
    Scenario(
        "new_guid: values, sharing new_uuid's counter",
        guids,
        H("guid-1", start=ODD_START).started("g").scheduled("Hello").wake().completed(0),
    ),
    Scenario("current_utc_datetime: moves with each episode", clock, chained()),
    Scenario("current_utc_datetime: identical timestamps", clock, chained(step=timedelta(0))),
    Scenario("current_utc_datetime: with microseconds", clock, chained(start=ODD_START)),
    Scenario("is_replaying: the first episode", replay_flags, sequence(0, "flags-1", "replay_flags")),
    Scenario("is_replaying: one episode replayed", replay_flags, sequence(1, "flags-1", "replay_flags")),
    Scenario("is_replaying: two episodes replayed", replay_flags, sequence(2, "flags-1", "replay_flags")),
    Scenario(
        "is_replaying: inside task_all, one past one new",
        replay_flags_all,
        H("flags-2")
        .started("o")
        .scheduled("Hello", "Tokyo")
        .scheduled("Hello", "Seattle")
        .episode()
        .completed(1)
        .wake()
        .completed(0),
    ),
    Scenario(
        "identity: instance id, parent, version, input",
        identity,
        H("child-7").new().started("child", {"a": 1}, version="2.0", parent=("parent-7", "exec-7", 3)),
    ),
]


# --- HTTP ------------------------------------------------------------------------------------------------------


def http_get(context: Any) -> Any:
    response = yield context.call_http("GET", "https://example.com/api/items")
    return [response["statusCode"], response["content"]]


def http_post(context: Any) -> Any:
    response = yield context.call_http(
        "POST", "https://example.com/api/items", content={"name": "Rex"}, headers={"X-Trace": "1"}
    )
    return response["statusCode"]


HTTP_REQUEST = {"method": "GET", "uri": "https://example.com/api/items", "content": None, "headers": None}

HTTP = [
    Scenario("http: GET scheduled", http_get, H("http-1").new().started("o")),
    Scenario("http: POST with a JSON body and headers", http_post, H("http-2").new().started("o")),
    Scenario(
        "http: the response is a dict",
        http_get,
        H("http-1")
        .started("o")
        .scheduled("BuiltIn::HttpActivity", HTTP_REQUEST)
        .wake()
        .completed(0, {"statusCode": 200, "headers": {}, "content": "ok"}),
    ),
]

SCENARIOS = [*SUB_ORCHESTRATIONS, *CUSTOM_STATUS, *ENTITIES, *CUSTOM_OBJECTS, *IDS_AND_TIME, *HTTP]
