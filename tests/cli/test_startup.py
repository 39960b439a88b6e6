"""Start-up cost: ``--help`` and usage errors answer without importing the Azure SDK (0.6 s of a 1 s start).

Checked on ``sys.modules`` in a fresh interpreter rather than with a timer, which a loaded machine would make flaky.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import durable_storage

_HEAVY = ("azure", "aiohttp")

_PROBE = """
import contextlib, io, json, sys
from durable_storage.__main__ import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
heavy = sorted({name.split(".")[0] for name in sys.modules if name.split(".")[0] in ("azure", "aiohttp")})
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _imports_of(*args: str) -> dict[str, object]:
    ran = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, object] = json.loads(ran.stdout)
    return result


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["no-such-command"], 2),
        (["--partition-count", "99", "list"], 2),
    ],
)
def test_help_and_usage_errors_do_not_import_the_azure_sdk(args: list[str], code: int) -> None:
    assert _imports_of(*args) == {"code": code, "heavy": []}


def test_importing_the_package_is_lazy_and_every_public_name_resolves() -> None:
    probe = "import sys, durable_storage; print(sorted(n for n in sys.modules if n.startswith(('azure', 'aiohttp'))))"
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert ran.stdout.strip() == "[]"
    for name in durable_storage.__all__:
        assert getattr(durable_storage, name) is not None, name
    assert set(dir(durable_storage)) >= set(durable_storage.__all__)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = durable_storage.no_such_name  # type: ignore[attr-defined]


def test_the_lazy_table_the_type_checking_imports_and_all_name_the_same_things() -> None:
    tree = ast.parse(Path(durable_storage.__file__).read_text(encoding="utf-8"))
    guarded = next(node for node in tree.body if isinstance(node, ast.If))
    typed = {
        (node.module, alias.name)
        for node in ast.walk(guarded)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    lazy = {(module, name) for module, names in durable_storage._EXPORTS.items() for name in names}
    assert typed == lazy
    assert sorted(name for _, name in lazy) == durable_storage.__all__
