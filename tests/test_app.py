"""The App registry: Durable Functions' decorators and names, without the Functions host."""

from __future__ import annotations

import azure.durable_functions as adf
import pytest

import durable_storage as df
from durable_storage.app import FunctionKind


def test_functions_are_registered_under_their_python_names() -> None:
    app = df.App()

    @app.orchestration_trigger(context_name="context")
    def hello(context):  # type: ignore[no-untyped-def]
        yield context.call_activity("say_hello", "Tokyo")

    @app.activity_trigger(input_name="city")
    def say_hello(city: str) -> str:
        return f"Hello {city}!"

    assert app.get(FunctionKind.ORCHESTRATOR, "hello").function is hello
    assert app.get(FunctionKind.ACTIVITY, "say_hello").function is say_hello
    assert say_hello("Tokyo") == "Hello Tokyo!"  # the decorator returns the function itself


@pytest.mark.parametrize("above", [True, False])
def test_function_name_renames_whether_above_or_below_the_trigger(above: bool) -> None:
    app = df.App()

    def activity(x: int) -> int:
        return x

    if above:
        app.function_name(name="Renamed")(app.activity_trigger(input_name="x")(activity))
    else:
        app.activity_trigger(input_name="x")(app.function_name(name="Renamed")(activity))

    assert app.names(FunctionKind.ACTIVITY) == ["Renamed"]
    assert activity.durable_function_name == "Renamed"  # type: ignore[attr-defined]


def test_entity_names_are_case_insensitive_and_stored_lower_case() -> None:
    app = df.DFApp(http_auth_level="ANONYMOUS")

    @app.entity_trigger(context_name="context", entity_name="Counter")
    def counter(context):  # type: ignore[no-untyped-def]
        pass

    assert app.names(FunctionKind.ENTITY) == ["counter"]
    assert app.get(FunctionKind.ENTITY, "COUNTER").function is counter


def test_blueprints_merge_and_legacy_handles_register() -> None:
    blueprint = df.Blueprint()

    @blueprint.activity_trigger(input_name="x")
    def double(x: int) -> int:
        return 2 * x

    def orchestrator(context):  # type: ignore[no-untyped-def]
        return (yield context.call_activity(double, 2))

    app = df.App()
    app.register_functions(blueprint)
    app.orchestration("legacy", df.Orchestrator.create(orchestrator))
    app.entity("Cart", df.Entity.create(lambda context: None))

    assert app.names(FunctionKind.ACTIVITY) == ["double"]
    assert app.get(FunctionKind.ORCHESTRATOR, "legacy").function is orchestrator
    assert app.names(FunctionKind.ENTITY) == ["cart"]


def test_an_unregistered_name_is_an_error_listing_what_is_registered() -> None:
    app = df.App()
    app.activity("known", lambda x: x)
    with pytest.raises(LookupError, match=r"activity 'unknown' is not registered .*registered: \['known'\]"):
        app.get(FunctionKind.ACTIVITY, "unknown")


def test_two_functions_under_one_name_are_refused() -> None:
    app = df.App()
    app.activity("same", lambda x: x)
    with pytest.raises(df.ConfigurationError, match="activity 'same' is registered twice"):
        app.activity("same", lambda x: x + 1)


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_empty_names_are_refused(bad: object) -> None:
    with pytest.raises(df.ConfigurationError, match="must be a non-empty string"):
        df.App().activity(bad, lambda x: x)  # type: ignore[arg-type]


def test_the_published_sdks_legacy_handles_register_the_users_functions() -> None:
    # A v1 app's __init__.py: main = df.Orchestrator.create(fn) / df.Entity.create(fn), of azure.durable_functions.
    def orchestrator(context):  # type: ignore[no-untyped-def]
        yield context.call_activity("a")

    def counter(context):  # type: ignore[no-untyped-def]
        context.set_result(0)

    app = df.App()
    app.orchestration("Legacy", adf.Orchestrator.create(orchestrator))
    app.entity("Counter", adf.Entity.create(counter))

    assert app.get(FunctionKind.ORCHESTRATOR, "Legacy").function is orchestrator
    assert app.get(FunctionKind.ENTITY, "counter").function is counter


def test_a_handle_that_is_not_callable_is_refused_naming_it() -> None:
    with pytest.raises(df.ConfigurationError, match=r"orchestrator 'main' is invalid: must be a function"):
        df.App().orchestration("o", "main")  # type: ignore[arg-type]
