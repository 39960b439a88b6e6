"""The loaders: v2 scripts indexed with the real decorators, v1 folders, our own App, and what they refuse.

Each test writes its app into ``tmp_path`` under a script name of its own, so that the modules it imports never
collide with another test's in ``sys.modules``.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from durable_storage.app import App, FunctionKind
from durable_storage.errors import ConfigurationError
from durable_storage.host import build
from durable_storage.host._invoke import Invoker, timer_functions
from durable_storage.host._loader_v1 import load_v1
from durable_storage.host._loader_v2 import load_v2
from durable_storage.host._server import load_functions


def _script(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
    return f"{name}.py"


def test_a_v2_script_is_indexed_with_durable_names_routes_and_bindings(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "indexed_app",
        """
        import azure.functions as func
        import azure.durable_functions as df

        bp = df.Blueprint()

        @bp.route(route="start/{name}", methods=["POST"])
        @bp.durable_client_input(client_name="client")
        async def starter(req, client):
            return None

        @bp.orchestration_trigger(context_name="context", orchestration="RenamedOrchestrator")
        def orchestrator(context):
            yield context.call_activity("hello", "x")

        app = func.FunctionApp()
        app.register_functions(bp)

        @app.function_name("hello")
        @app.activity_trigger(input_name="name")
        def say_hello(name):
            return name

        @app.entity_trigger(context_name="context", entity_name="Counter")
        def counter(context):
            pass

        @app.route()
        def ping(req):
            return "pong"

        @app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=True)
        def every_five_minutes(timer):
            pass
        """,
    )
    found = load_v2(tmp_path, script)
    loaded = build(found.specs)

    assert loaded.app.names(FunctionKind.ORCHESTRATOR) == ["RenamedOrchestrator"]
    assert loaded.app.names(FunctionKind.ACTIVITY) == ["hello"]
    assert loaded.app.names(FunctionKind.ENTITY) == ["counter"]  # entity names are lower-case
    # The user's generator, not the SDK's handle: our engine drives it.
    assert loaded.app.get(FunctionKind.ORCHESTRATOR, "RenamedOrchestrator").function.__name__ == "orchestrator"
    routes = {f.spec.name: (f.template.template, f.methods) for f in loaded.http}
    assert routes == {"starter": ("start/{name}", frozenset({"POST"})), "ping": ("ping", None)}
    starter = next(f for f in loaded.http if f.spec.name == "starter")
    assert [b.kind for b in starter.spec.bindings] == ["durableclient", "httptrigger", "http"]
    assert [s.name for s in loaded.timer_specs] == ["every_five_minutes"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x = 1", "Could not find top level function app instances"),
        ("import azure.functions as func\na = func.FunctionApp()\nb = func.FunctionApp()", "More than one"),
    ],
)
def test_a_v2_script_needs_exactly_one_app(tmp_path: Path, body: str, message: str) -> None:
    script = _script(tmp_path, f"apps_{abs(hash(body))}", body)
    with pytest.raises(ConfigurationError, match=message):
        load_v2(tmp_path, script)


def test_a_bad_script_file_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=re.escape("PYTHON_SCRIPT_FILE_NAME '../x.py' is invalid")):
        load_v2(tmp_path, "../x.py")


_UNSUPPORTED = """
import azure.functions as func

app = func.FunctionApp()

@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def from_queue(msg):
    pass

@app.route()
@app.blob_output(arg_name="out", path="c/b", connection="AzureWebJobsStorage")
def writes_blob(req, out):
    pass

@app.route()
def fine(req):
    return "ok"
"""


def test_unsupported_triggers_and_bindings_are_named_with_their_type(tmp_path: Path) -> None:
    found = load_v2(tmp_path, _script(tmp_path, "unsupported_app", _UNSUPPORTED))
    with pytest.raises(ConfigurationError) as refused:
        build(found.specs)
    message = str(refused.value)
    assert "--skip-unsupported" in message
    assert "function 'from_queue' (unsupported_app.py): trigger type 'queueTrigger' is not supported" in message
    assert "binding 'out' of type 'blob' (direction out) is not supported" in message

    loaded = build(found.specs, skip_unsupported=True)
    assert [f.spec.name for f in loaded.http] == ["fine"]
    assert len(loaded.skipped) == 2


def test_routes_that_overlap_or_take_the_hosts_paths_are_refused(tmp_path: Path) -> None:
    conflict = _script(
        tmp_path,
        "conflict_app",
        """
        import azure.functions as func
        app = func.FunctionApp()

        @app.route(route="Items/{id}", methods=["GET"])
        def one(req): pass

        @app.route(route="items/{id}")
        def two(req): pass
        """,
    )
    with pytest.raises(ConfigurationError, match=re.escape("both answer route 'Items/{id}' for ['GET']")):
        build(load_v2(tmp_path, conflict).specs)
    reserved = _script(
        tmp_path,
        "reserved_app",
        "import azure.functions as func\napp = func.FunctionApp()\n@app.route(route='runtime/x')\ndef f(req): pass\n",
    )
    with pytest.raises(ConfigurationError, match="may not start with 'admin' or 'runtime'"):
        build(load_v2(tmp_path, reserved).specs)


def _folder(root: Path, name: str, bindings: list[dict[str, object]], code: str, **config: object) -> None:
    (root / name).mkdir()
    (root / name / "function.json").write_text(json.dumps({"bindings": bindings, **config}))
    (root / name / str(config.get("scriptFile", "__init__.py"))).write_text(textwrap.dedent(code))


def test_v1_folders_load_as_a_package_with_relative_imports_and_entry_points(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "__init__.py").write_text("PREFIX = 'hi '\n")
    activity = [{"type": "activityTrigger", "name": "name", "direction": "in"}]
    _folder(tmp_path, "Hi", activity, "from ..common import PREFIX\ndef main(name):\n    return PREFIX + name\n")
    _folder(tmp_path, "Other", activity, "def run(name):\n    return name\n", scriptFile="impl.py", entryPoint="run")
    _folder(tmp_path, "Off", activity, "def main(name):\n    return name\n")

    specs = load_v1(tmp_path, {"AzureWebJobs.Off.Disabled": "true"})

    assert [s.name for s in specs] == ["Hi", "Other"]
    assert specs[0].function("ada") == "hi ada"
    assert specs[0].function.__module__ == "__app__.Hi"
    assert specs[1].function.__module__ == "__app__.Other.impl"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("not json", "Broken/function.json cannot be read as JSON"),
        ('{"bindings": []}', "needs a non-empty 'bindings' array"),
        ('{"bindings": [{"type": "activityTrigger"}]}', "binding of type 'activityTrigger' has no 'name'"),
        ('{"bindings": [{"type": "t", "name": "n"}], "scriptFile": "../x.py"}', "is not a .py file in the app"),
        ('{"bindings": [{"type": "t", "name": "n"}], "entryPoint": "nope"}', "entry point 'nope'"),
    ],
)
def test_a_broken_v1_folder_is_refused_naming_it(tmp_path: Path, config: str, message: str) -> None:
    (tmp_path / "Broken").mkdir()
    (tmp_path / "Broken" / "function.json").write_text(config)
    (tmp_path / "Broken" / "__init__.py").write_text("def main(n): pass\n")
    with pytest.raises(ConfigurationError, match=message):
        load_v1(tmp_path, {})


def test_an_empty_folder_has_nothing_to_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=re.escape("has no function_app.py and no function folders")):
        load_functions(tmp_path, "function_app.py", skip_unsupported=False)


def test_an_app_on_our_api_gets_routes_and_its_durable_functions_as_registered(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "native_app",
        """
        import durable_storage as ds

        bp = ds.Blueprint()

        @bp.durable_client_input(client_name="client")
        @bp.route(route="go/{n:int}", methods=["POST"])
        async def go(req, client):
            return None

        app = ds.App()
        app.register_functions(bp)

        @app.route(binding_arg_name="res")
        @app.function_name("renamed")
        def plain(req, res):
            pass

        @app.activity_trigger(input_name="x", local=True)
        def quick(x):
            return x
        """,
    )
    found = load_v2(tmp_path, script)
    loaded = build(found.specs, app=found.native)

    assert loaded.app is found.native
    assert loaded.app.is_local_activity("quick")
    by_name = {f.spec.name: f for f in loaded.http}
    assert set(by_name) == {"go", "renamed"}
    assert by_name["go"].spec.native_client
    assert [b.name for b in by_name["go"].spec.bindings] == ["req", "$return", "client"]
    assert by_name["renamed"].output is not None and by_name["renamed"].output.name == "res"


def test_durable_client_input_without_a_route_is_refused() -> None:
    app = App()

    @app.durable_client_input(client_name="client")
    async def orphan(client: object) -> None:
        pass

    with pytest.raises(ConfigurationError, match="function 'orphan' has durable_client_input but no route"):
        app.http_functions()


async def test_a_timer_trigger_is_collected_for_the_timer_runner_and_invoked_with_a_timer_request(
    tmp_path: Path,
) -> None:
    script = _script(
        tmp_path,
        "timer_app",
        """
        import azure.functions as func

        app = func.FunctionApp()
        SEEN = []

        @app.timer_trigger(arg_name="timer", schedule="%EVERY%", run_on_startup=True, use_monitor=False)
        def tick(timer: func.TimerRequest) -> None:
            SEEN.append((timer.past_due, timer.schedule_status))
        """,
    )
    loaded = build(load_v2(tmp_path, script).specs)
    (timer,) = timer_functions(loaded.timer_specs, Invoker(lambda spec, binding: "", client=None))  # type: ignore[arg-type]

    assert (timer.function_name, timer.schedule, timer.run_on_startup, timer.use_monitor) == (
        "tick",
        "%EVERY%",  # the timer runner resolves %settings%
        True,
        False,
    )
    await timer.invoke('{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":true}')
    assert sys.modules["timer_app"].SEEN == [(True, {})]
