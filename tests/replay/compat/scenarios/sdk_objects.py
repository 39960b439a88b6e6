"""An app written on azure.durable_functions, run by our engine: the published SDK's objects given to our context.

The host (issue 18) runs such an app's orchestrators on our replay engine, so what the user's generator passes to
``context`` is the SDK's: ``df.RetryOptions``, ``df.EntityId``, ``df.ManagedIdentityTokenSource``, the v2
decorators' ``FunctionBuilder`` in place of a name, and its custom-object envelope. Every scenario of the other
modules whose orchestrator builds such objects from its ``api`` is run again here with the SDK's objects under both
engines (:data:`REPLAYED`); the scenarios below add what those do not cover.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from ..harness import H, Scenario
from .features import Pet, wire

# A v2 app: its decorators return azure.functions' FunctionBuilder, which the orchestrators pass to call_activity.
# (Renamed ones, by function_name or the trigger's argument, resolve differently: tests/replay/test_sdk_objects.py.)
sdk_app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@sdk_app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@sdk_app.orchestration_trigger(context_name="context")
def greet_child(context: Any) -> Any:
    return (yield context.call_activity(say_hello, context.get_input()))


# --- v2-decorated functions in place of names ------------------------------------------------------------------


def by_function(context: Any, api: Any) -> Any:
    first = yield context.call_activity(say_hello, "Tokyo")
    second = yield context.call_activity_with_retry(say_hello, api.RetryOptions(1000, 2), "Seattle")
    third = yield context.call_sub_orchestrator(greet_child, "London", "child-1")
    return [first, second, third]


def by_wrong_trigger(context: Any) -> Any:
    yield context.call_activity(greet_child, "Tokyo")  # an orchestrator where an activity is expected


FUNCTIONS = [
    Scenario("SDK objects: call_activity(fn) of a v2 app", by_function, H("fn-1").new().started("o")),
    Scenario(
        "SDK objects: call_activity_with_retry(fn) and call_sub_orchestrator(fn) of a v2 app",
        by_function,
        H("fn-1")
        .started("o")
        .scheduled("say_hello", "Tokyo")
        .episode()
        .completed(0, "Hello Tokyo!")
        .scheduled("say_hello", "Seattle")
        .episode()
        .completed(1, "Hello Seattle!")
        .sub_orchestration_created("greet_child", "child-1", "London")
        .wake()
        .sub_orchestration_completed(2, "Hello London!"),
    ),
    Scenario("SDK objects: a v2 function with the wrong trigger", by_wrong_trigger, H("fn-2").new().started("o")),
]


# --- call_http with a token source -----------------------------------------------------------------------------

ARM = "https://management.azure.com/subscriptions?api-version=2022-12-01"


def http_with_token(context: Any, api: Any) -> Any:
    token = api.ManagedIdentityTokenSource("https://management.core.windows.net/")
    response = yield context.call_http("GET", ARM, headers={"Accept": "application/json"}, token_source=token)
    return [response["statusCode"], response["headers"], response["content"]]


HTTP_REQUEST = {
    "method": "GET",
    "uri": ARM,
    "content": None,
    "headers": {"Accept": "application/json"},
    "tokenSource": {"resource": "https://management.core.windows.net/", "kind": "AzureManagedIdentity"},
}

HTTP = [
    Scenario(
        "SDK objects: call_http with a ManagedIdentityTokenSource",
        http_with_token,
        H("http-3").new().started("o"),
        sdk_objects=True,
    ),
    Scenario(
        "SDK objects: call_http's response, a 202 with its Location",
        http_with_token,
        H("http-3")
        .started("o")
        .scheduled("BuiltIn::HttpActivity", HTTP_REQUEST)
        .wake()
        .completed(0, {"statusCode": 202, "headers": {"Location": "https://example.com/op/1"}, "content": ""}),
        sdk_objects=True,
    ),
]


# --- the custom-object envelope --------------------------------------------------------------------------------


def pass_objects(context: Any, api: Any) -> Any:
    pets = context.get_input()
    litter = yield context.call_activity("Register", {"pets": pets, "retry": api.RetryOptions(500, 3)})
    return [pet.name for pet in litter]


LITTER = [wire(Pet("Rex", 3)), wire(Pet("Tom", 1))]

OBJECTS = [
    Scenario(
        "SDK objects: custom objects nested in lists and dicts, and df.RetryOptions as a payload",
        pass_objects,
        H("pets-3").new().started("o", LITTER),
        sdk_objects=True,
    ),
    Scenario(
        "SDK objects: a list of custom objects as an activity result",
        pass_objects,
        H("pets-3").started("o", LITTER).scheduled("Register").wake().completed(0, LITTER),
        sdk_objects=True,
    ),
]


def replayed(scenarios: list[Scenario]) -> list[Scenario]:
    """Every scenario whose orchestrator takes an ``api``, again with azure.durable_functions' objects in ours."""
    return [
        replace(s, name=f"{s.name} [SDK objects]", sdk_objects=True)
        for s in scenarios
        if s.takes_api and not s.sdk_objects
    ]


SCENARIOS = [*FUNCTIONS, *HTTP, *OBJECTS]
