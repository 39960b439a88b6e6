"""The payload codec: inputs, outputs, event data and entity state as JSON text; pure.

Plain JSON values travel as they are. Custom classes travel as in azure-functions-durable: an object with
``to_json`` becomes ``{"__class__": name, "__module__": module, "__data__": obj.to_json(obj)}`` and is rebuilt with
the class's ``from_json``. Unlike azure-functions-durable, decoding never imports anything: the class is looked up
among modules already imported (the user's app imports its own classes), so a payload cannot make a worker import
a module of its choosing (reliability.md §4.3). No pickle.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from durable_storage.errors import MessageFormatError

__all__ = ["dumps", "loads"]

_CLASS, _MODULE, _DATA = "__class__", "__module__", "__data__"


def _encode_custom(value: Any) -> dict[str, Any]:
    to_json = getattr(type(value), "to_json", None)
    if to_json is None:
        raise TypeError(
            f"{type(value).__qualname__} object is not JSON serializable: payloads must be JSON values or objects "
            "whose class defines to_json and from_json"
        )
    return {_CLASS: type(value).__name__, _MODULE: type(value).__module__, _DATA: to_json(value)}


def dumps(value: Any, what: str | None = None) -> str:
    """``value`` as JSON text, custom objects through their ``to_json``.

    ``what`` (``"the orchestrator's output"``) starts the message of an error.

    Raises:
        TypeError: a value that is neither JSON nor a class with ``to_json``.
        ValueError: NaN or Infinity, which .NET readers reject, a value nested too deeply to write, or a ``to_json``
            that raised.
    """
    try:
        # Default separators, as azure-functions-durable's json.dumps writes them.
        return json.dumps(value, default=_encode_custom, allow_nan=False)
    except (TypeError, ValueError) as error:
        if what is None:
            raise
        reason = str(error)
        kind: type[Exception] = TypeError if isinstance(error, TypeError) else ValueError
    except RecursionError:
        reason = f"it is nested too deeply (over Python's recursion limit of {sys.getrecursionlimit()} levels)"
        kind = ValueError
    except Exception as error:  # a user's to_json failed: the user's error, as any other unwritable value
        reason, kind = f"{type(error).__name__}: {error}", ValueError
    raise kind(f"{what or type(value).__name__ + ' value'} cannot be written as JSON: {reason}") from None


def _decode_custom(obj: dict[str, Any], expected_type: type | None = None) -> Any:
    if _CLASS not in obj or _MODULE not in obj or _DATA not in obj:
        return obj
    cls: Any
    if expected_type is not None and expected_type.__name__ == obj[_CLASS]:
        cls = expected_type  # azure-functions-durable 1.7's expected_type: no module lookup at all
    else:
        module = sys.modules.get(str(obj[_MODULE]))
        cls = getattr(module, str(obj[_CLASS]), None) if module is not None else None
    from_json = getattr(cls, "from_json", None)
    if from_json is None:
        raise MessageFormatError(
            f"payload names class {obj[_CLASS]!r} of module {obj[_MODULE]!r}, which is not loaded or has no "
            "from_json: import the module in the worker's app (payload modules are never imported on demand)"
        )
    return from_json(obj[_DATA])


def loads(text: str | None, expected_type: type | None = None) -> Any:
    """The value of JSON ``text`` (None for None), custom objects rebuilt through ``from_json``.

    ``expected_type`` (a class with ``from_json``) decodes objects of that class name without a module lookup.

    Raises:
        MessageFormatError: not JSON, or it names a class that is not loaded.
    """
    if text is None:
        return None
    try:
        return json.loads(text, object_hook=lambda obj: _decode_custom(obj, expected_type))
    except (ValueError, RecursionError) as error:
        if isinstance(error, MessageFormatError):
            raise
        raise MessageFormatError(f"payload is not valid JSON: {error}") from None
