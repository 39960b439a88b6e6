"""The import rules of docs/architecture.md, checked on the source: the data flow stays visible, the core pure."""

from __future__ import annotations

import ast
from pathlib import Path

import durable_storage

PACKAGE = Path(__file__).resolve().parents[1] / "durable_storage"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(*parts: str) -> list[Path]:
    return sorted(PACKAGE.joinpath(*parts).rglob("*.py"))


# The host loads users' Functions apps, so it uses their packages' types (HttpRequest, TimerRequest, FunctionApp);
# never a storage SDK.
_APP_PACKAGES = ("azure.functions", "azure.durable_functions")


def test_only_the_storage_layer_imports_an_azure_sdk() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            n
            for n in imports_of(path)
            if n.split(".")[0] == "azure" and not ("host" in path.parts and n.startswith(_APP_PACKAGES))
        )
        for path in modules()
        if "_storage" not in path.parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_pure_modules_do_no_io() -> None:
    impure = {"asyncio", "time", "random", "os", "threading", "socket", "subprocess", "aiohttp", "azure", "secrets"}
    pure = [
        PACKAGE / name
        for name in (
            "history.py",
            "_envelope.py",
            "_runtime_state.py",
            "_event_text.py",
            "_names.py",
            "models.py",
            "_orchestration_status.py",
            "_entity_values.py",
            "_dotnet_json.py",
            "_datetimes.py",
            "_settings.py",
            "_redact.py",
        )
    ]
    pure.append(PACKAGE / "_storage" / "codec.py")
    pure.append(PACKAGE / "host" / "_cron.py")
    pure += [
        PACKAGE / "client" / f"_{name}.py" for name in ("queries", "validation", "outgoing", "pages", "management")
    ]
    pure += [*modules("replay"), *modules("entities"), PACKAGE / "_json.py"]
    found = {
        str(path.relative_to(PACKAGE)): sorted(n for n in imports_of(path) if n.split(".")[0] in impure)
        for path in pure
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_the_replay_engine_never_imports_storage_or_the_worker() -> None:
    found = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in imports_of(path) if n.startswith(("durable_storage._storage", "durable_storage.worker"))
        )
        for path in modules("replay")
    }
    assert modules("replay"), "the replay package is missing"
    assert {k: v for k, v in found.items() if v} == {}


def test_the_storage_layer_never_imports_the_replay_engine_or_the_worker() -> None:
    found = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in imports_of(path) if n.startswith(("durable_storage.replay", "durable_storage.worker"))
        )
        for path in modules("_storage")
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_errors_module_imports_nothing_from_the_package() -> None:
    assert not any(n.startswith("durable_storage") for n in imports_of(PACKAGE / "errors.py"))


def test_the_client_never_imports_the_worker_or_the_replay_engine() -> None:
    client = modules("client")
    found = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in imports_of(path) if n.startswith(("durable_storage.replay", "durable_storage.worker"))
        )
        for path in client
    }
    assert len(client) > 1
    assert {k: v for k, v in found.items() if v} == {}


def test_the_public_names_are_defined_outside_the_storage_layer() -> None:
    defined_in = {name: getattr(getattr(durable_storage, name), "__module__", "") for name in durable_storage.__all__}
    assert {n: m for n, m in defined_in.items() if m.startswith("durable_storage._storage")} == {}
