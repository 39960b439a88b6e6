"""Loading a v2 app: ``function_app.py`` (or ``PYTHON_SCRIPT_FILE_NAME``) with its decorators, indexed as the
Python worker indexes it (functions-host.md §3.1): the app folder on ``sys.path``, the script imported by its
stem, exactly one top-level ``azure.functions.FunctionRegister`` (``FunctionApp``, ``DFApp``), and its
``get_functions()``: one trigger each, an HTTP route defaulting to the function name, names unique.

An app written on our own ``durable_storage.App`` loads the same way; its orchestrators, activities and entities
go to the worker as registered, and its ``route`` functions get our client.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from durable_storage.app import App
from durable_storage.errors import ConfigurationError
from durable_storage.host._functions import Binding, FunctionSpec

__all__ = ["V2App", "load_v2"]

_SCRIPT_NAME = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_\-]*\.py$")  # the worker's check of PYTHON_SCRIPT_FILE_NAME


class V2App:
    """What a v2 script defines: the functions found, and our App when the script is written on ours."""

    def __init__(self, specs: list[FunctionSpec], native: App | None) -> None:
        self.specs = specs
        self.native = native


def import_script(app_dir: Path, script_file: str) -> ModuleType:
    """Import ``app_dir/script_file`` by its stem, with ``app_dir`` on ``sys.path`` (as the worker does).

    Raises:
        ConfigurationError: the name is not a valid script name, or the file does not exist.
    """
    if not _SCRIPT_NAME.match(script_file):
        raise ConfigurationError(
            f"PYTHON_SCRIPT_FILE_NAME {script_file!r} is invalid: must be a .py file name of letters, digits, '_', '-'"
        )
    path = app_dir / script_file
    if not path.is_file():
        raise ConfigurationError(f"{path} does not exist")
    root = str(app_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module(Path(script_file).stem)


def _registers(module: ModuleType) -> list[tuple[str, Any]]:
    published = [(name, value) for name, value in vars(module).items() if isinstance(value, func.FunctionRegister)]
    ours = [(name, value) for name, value in vars(module).items() if isinstance(value, App)]
    if len(ours) > 1:
        # Our Blueprint is our App: with blueprints at module level, the app is the one named ``app``.
        ours = [(name, value) for name, value in ours if name == "app"] or ours
    return published + ours


def load_v2(app_dir: Path, script_file: str) -> V2App:
    """The functions of the v2 app in ``app_dir``.

    Raises:
        ConfigurationError: no app instance, more than one, or the indexer refused the functions (the worker's
            messages, with the script's name).
    """
    module = import_script(app_dir, script_file)
    found = _registers(module)
    if not found:
        raise ConfigurationError(
            f"Could not find top level function app instances in {script_file}: define one func.FunctionApp, "
            "df.DFApp or durable_storage.App at module level"
        )
    if len(found) > 1:
        names = ", ".join(name for name, _ in found)
        raise ConfigurationError(f"More than one function app instance is defined in {script_file}: {names}")
    _, app = found[0]
    if isinstance(app, App):
        return V2App(_native_specs(app, app_dir, script_file), app)
    try:
        functions = app.get_functions()
    except ValueError as refused:  # duplicate names, a function with no trigger or two
        raise ConfigurationError(f"{script_file}: {refused}") from None
    specs = [_spec(function, app_dir, script_file) for function in functions]
    return V2App(specs, None)


def _spec(function: Any, app_dir: Path, script_file: str) -> FunctionSpec:
    name = function.get_function_name()
    where = f"{script_file} function {name!r}"
    bindings = tuple(Binding.from_json(json.loads(raw), where) for raw in function.get_raw_bindings())
    return FunctionSpec(name, function.get_user_function(), bindings, script_file, str(app_dir))


def _native_specs(app: App, app_dir: Path, script_file: str) -> list[FunctionSpec]:
    specs: list[FunctionSpec] = []
    for entry in app.http_functions():
        trigger: dict[str, Any] = {"type": "httpTrigger", "direction": "in", "name": entry.trigger_arg_name}
        trigger["route"] = entry.route or entry.name
        if entry.methods is not None:
            trigger["methods"] = list(entry.methods)
        bindings = [trigger, {"type": "http", "direction": "out", "name": entry.binding_arg_name}]
        if entry.client_name is not None:
            client: dict[str, Any] = {"type": "durableClient", "direction": "in", "name": entry.client_name}
            if entry.task_hub:
                client["taskHub"] = entry.task_hub
            bindings.append(client)
        where = f"{script_file} function {entry.name!r}"
        parsed = tuple(Binding.from_json(b, where) for b in bindings)
        specs.append(FunctionSpec(entry.name, entry.function, parsed, script_file, str(app_dir), native_client=True))
    return specs
