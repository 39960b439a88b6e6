"""Loading a v1 app: one folder per function with a ``function.json`` (functions-host.md §4).

Each folder is imported as ``__app__.<Folder>`` (or ``__app__.<Folder>.<module>`` for another ``scriptFile``),
where ``__app__`` is a package whose search path is the app folder, exactly as the Python worker does, so that
``from ..shared_code import x`` inside a function resolves to the app's ``shared_code`` folder. The entry point is
``main`` unless ``entryPoint`` names another.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from durable_storage.errors import ConfigurationError
from durable_storage.host._functions import Binding, FunctionSpec

__all__ = ["PACKAGE", "load_v1"]

PACKAGE = "__app__"
_FOLDER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")  # the host's function name rule


def _install_package(app_dir: Path) -> None:
    root = str(app_dir.resolve())
    existing = sys.modules.get(PACKAGE)
    if existing is not None and list(getattr(existing, "__path__", [])) == [root]:
        return
    # Another app folder was loaded before (tests do): forget its modules, or its functions would be found again.
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    package = types.ModuleType(PACKAGE)
    package.__path__ = [root]
    package.__package__ = PACKAGE
    sys.modules[PACKAGE] = package
    if root not in sys.path:  # ``import shared_code`` works under the host too
        sys.path.insert(0, root)


def load_v1(app_dir: Path, environ: Mapping[str, str] = os.environ) -> list[FunctionSpec]:
    """The functions of the ``function.json`` folders of ``app_dir``, in folder-name order.

    A folder disabled with the app setting ``AzureWebJobs.<name>.Disabled=true`` is left out.

    Raises:
        ConfigurationError: a ``function.json`` that is not JSON or has no bindings, a script that is missing or
            outside the app folder, or an entry point that is not a callable (each names the folder).
    """
    _install_package(app_dir)
    specs: list[FunctionSpec] = []
    for folder in sorted(p for p in app_dir.iterdir() if (p / "function.json").is_file()):
        if environ.get(f"AzureWebJobs.{folder.name}.Disabled", "").lower() == "true":
            continue
        specs.append(_load_folder(app_dir, folder))
    return specs


def _read(folder: Path) -> dict[str, Any]:
    where = f"{folder.name}/function.json"
    try:
        config = json.loads((folder / "function.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as bad:
        raise ConfigurationError(f"{where} cannot be read as JSON: {bad}") from None
    if not isinstance(config, dict) or not isinstance(config.get("bindings"), list) or not config["bindings"]:
        raise ConfigurationError(f"{where} is invalid: needs a non-empty 'bindings' array")
    return config


def _load_folder(app_dir: Path, folder: Path) -> FunctionSpec:
    where = f"{folder.name}/function.json"
    if not _FOLDER_NAME.match(folder.name):
        raise ConfigurationError(f"function folder {folder.name!r} is invalid: must be letters, digits, '_' or '-'")
    config = _read(folder)
    bindings = tuple(Binding.from_json(raw, where) for raw in config["bindings"])
    script = (folder / str(config.get("scriptFile") or "__init__.py")).resolve()
    if script.suffix != ".py" or not script.is_file() or app_dir.resolve() not in script.parents:
        raise ConfigurationError(f"{where}: scriptFile {str(config.get('scriptFile'))!r} is not a .py file in the app")
    parts = script.relative_to(app_dir.resolve()).with_suffix("").parts
    module_name = ".".join((PACKAGE, *(parts[:-1] if parts[-1] == "__init__" else parts)))
    module = importlib.import_module(module_name)
    entry_point = str(config.get("entryPoint") or "main")
    function = getattr(module, entry_point, None)
    if not callable(function):
        raise ConfigurationError(f"{where}: entry point {entry_point!r} of {module_name} is not a callable")
    return FunctionSpec(folder.name, function, bindings, where, str(folder))
