"""Package attributes imported on first use (PEP 562), so that importing a package costs only what is used.

``import durable_storage.cli.x`` runs ``durable_storage/__init__.py`` first: were its names imported eagerly, every
command (``--help`` included) would wait 0.6 s for the Azure SDK.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, which provides ``exports`` (module -> names).

    Assign them under ``if not TYPE_CHECKING``, next to the real imports under ``if TYPE_CHECKING``: a type checker
    then sees the names, and a misspelt one stays an error instead of becoming ``Any``.
    """
    module_of = {name: module for module, names in exports.items() for name in names}

    def get(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next access is a plain lookup
        return value

    def names() -> list[str]:
        return sorted({*vars(sys.modules[package]), *module_of})

    return get, names
