"""Calling a user's function as the Python worker does: every binding a keyword argument, ``context`` if declared.

The worker passes bindings by keyword (``function(**args)``), a ``func.Context`` to a parameter named ``context``,
an ``Out`` object to a named output binding, and the durable client binding as its JSON string, from which the
published SDK builds its client (functions-host.md §1.3, §3.4). Sync functions run in a thread, so a slow one
never holds the event loop that serves HTTP and runs the worker; async ones run on the loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import azure.functions as func
from azure.functions.timer import TimerRequest

from durable_storage.client import DurableOrchestrationClient
from durable_storage.host._functions import CLIENT_TYPES, Binding, FunctionSpec
from durable_storage.host._timers import TimerTrigger

__all__ = ["Invoker", "OutValue", "timer_functions"]

T = TypeVar("T")


class OutValue(func.Out[T], Generic[T]):
    """The ``func.Out`` a named output binding's parameter gets: ``set(value)``, read back after the call."""

    def __init__(self) -> None:
        self._value: T | None = None

    def set(self, val: T) -> None:
        self._value = val

    def get(self) -> T:
        return self._value  # type: ignore[return-value]  # None until set, as the worker's Out


class _Context(func.Context):
    """What a parameter named ``context`` receives (the worker's ``func.Context``)."""

    def __init__(self, spec: FunctionSpec) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._spec = spec
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._spec.name

    @property
    def function_directory(self) -> str:
        return self._spec.directory

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


@dataclass(frozen=True)
class Invoker:
    """Calls functions with their bindings filled in.

    Args:
        client_json: the durable client binding JSON for a function's client binding (``binding.py``).
        client: our client, for apps written on ``durable_storage.App`` (their client parameter gets it).
    """

    client_json: Callable[[FunctionSpec, Binding], str]
    client: DurableOrchestrationClient

    async def call(self, spec: FunctionSpec, arguments: dict[str, Any]) -> Any:
        """Call ``spec``'s function with ``arguments`` (its trigger and output parameters) and the client bindings."""
        kwargs = dict(arguments)
        for binding in spec.bindings:
            if binding.kind in CLIENT_TYPES:
                kwargs[binding.name] = self.client if spec.native_client else self.client_json(spec, binding)
        function = spec.function
        if "context" in _parameters(function) and "context" not in kwargs:
            kwargs["context"] = _Context(spec)
        if _is_async(function):
            return await function(**kwargs)
        # to_thread copies the context variables, as the worker's thread pool does.
        return await asyncio.to_thread(functools.partial(function, **kwargs))


def _parameters(function: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # a builtin or C callable: it declares no context
        return set()


def _is_async(function: Callable[..., Any]) -> bool:
    # A callable object with ``async def __call__`` counts too.
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(type(function).__call__)


def timer_functions(specs: list[FunctionSpec], invoker: Invoker) -> list[TimerTrigger]:
    """The timer triggers of ``specs``, each with an ``invoke(payload_json)`` that calls it with a TimerRequest."""
    return [_timer(spec, invoker) for spec in specs]


def _timer(spec: FunctionSpec, invoker: Invoker) -> TimerTrigger:
    trigger = spec.trigger

    async def invoke(payload_json: str) -> None:
        # The same fields as azure.functions' TimerRequestConverter reads from the host's JSON.
        info = json.loads(payload_json)
        request = TimerRequest(
            past_due=bool(info.get("IsPastDue", False)),
            schedule_status=info.get("ScheduleStatus") or {},
            schedule=info.get("Schedule") or {},
        )
        await invoker.call(spec, {trigger.name: request})

    return TimerTrigger(
        function_name=spec.name,
        schedule=str(trigger.fields.get("schedule", "")),
        run_on_startup=_truthy(trigger.fields.get("runOnStartup"), default=False),
        use_monitor=_truthy(trigger.fields.get("useMonitor"), default=True),
        invoke=invoke,
    )


def _truthy(value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
