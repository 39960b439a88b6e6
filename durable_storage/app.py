"""The App registry: the Durable Functions decorators, without the Functions host.

    app = App()

    @app.orchestration_trigger(context_name="context")
    def hello(context): ...

    @app.activity_trigger(input_name="city")
    def say_hello(city: str) -> str: ...

HTTP starters run under ``durable-storage host``, as they do under the Functions host:

    @app.route(route="start/{name}", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def start(req, client):
        instance_id = await client.start_new(req.route_params["name"])
        return client.create_check_status_response(req, instance_id)

The client parameter of an App of ours gets our own :class:`~durable_storage.DurableOrchestrationClient` (the same
methods as azure-functions-durable's, talking to storage directly instead of over HTTP). Function names are the
Python names unless ``@app.function_name(name=...)`` (placed above or below the trigger
decorator) or the trigger's own ``orchestration=``/``activity=``/``entity_name=`` argument says otherwise. Entity
names are case-insensitive and stored lower-case, as in Durable Functions.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from durable_storage.errors import ConfigurationError

__all__ = ["App", "Blueprint", "DFApp", "Entity", "FunctionKind", "HttpRoute", "Orchestrator", "Registration"]

F = TypeVar("F", bound=Callable[..., Any])
_NAME_ATTRIBUTE = "durable_function_name"  # read by context.call_activity(fn) and call_sub_orchestrator(fn)
INPUT_TYPE_ATTRIBUTE = "durable_input_type"  # read by context.get_input(): orchestration_trigger(input_type=...)


class FunctionKind(enum.Enum):
    """What a registered function is."""

    ORCHESTRATOR = "orchestrator"
    ACTIVITY = "activity"
    ENTITY = "entity"


@dataclass(slots=True)
class Registration:
    """One registered function: its kind, its name in the task hub, and the Python callable."""

    kind: FunctionKind
    name: str
    function: Callable[..., Any]
    parameter: str | None = None  # context_name / input_name, kept for documentation and error messages
    local: bool = False  # an activity run inside its orchestration's episode (``activity_trigger(local=True)``)


@dataclass(slots=True)
class HttpRoute:
    """An HTTP-triggered function of an App (``route``, with ``durable_client_input`` for a client parameter)."""

    name: str
    function: Callable[..., Any]
    route: str | None = None  # None: the function name, as the Functions host does
    methods: tuple[str, ...] | None = None  # None: every method
    trigger_arg_name: str = "req"
    binding_arg_name: str = "$return"  # another name: an ``Out`` parameter the function calls ``.set()`` on
    client_name: str | None = None
    task_hub: str | None = None
    has_trigger: bool = False  # durable_client_input alone is not a function yet


class Orchestrator:
    """The legacy handle of azure-functions-durable: ``main = Orchestrator.create(fn)`` for ``app.orchestration``.

    ``create`` returns a callable with ``.orchestrator_function`` (the generator function), as the SDK's does;
    calling it with a context calls the function (the SDK's handle takes the host's JSON instead: our worker
    replays the function itself, so the handle is only how a v1 app names its orchestrator).
    """

    def __init__(self, activity_func: Callable[..., Any]) -> None:  # the SDK's parameter name
        self.orchestrator_function = activity_func

    def __call__(self, context: Any) -> Any:
        return self.orchestrator_function(context)

    @classmethod
    def create(cls, fn: Callable[..., Any]) -> Orchestrator:
        """The handle of an orchestrator function."""
        return cls(fn)


class Entity:
    """The legacy handle of azure-functions-durable: ``main = Entity.create(fn)`` for ``app.entity``.

    ``create`` returns a callable with ``.entity_function``, as the SDK's does; calling it with a context runs one
    operation of the function.
    """

    def __init__(self, entity_func: Callable[..., Any]) -> None:
        self.entity_function = entity_func

    def __call__(self, context: Any) -> Any:
        return self.entity_function(context)

    @classmethod
    def create(cls, fn: Callable[..., Any]) -> Entity:
        """The handle of an entity function."""
        return cls(fn)


def _check_name(name: object, kind: FunctionKind) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"{kind.value} name {name!r} is invalid: must be a non-empty string")
    return name


class App:
    """A registry of orchestrators, activities and entities, with the Durable Functions decorators.

    Args:
        http_auth_level: accepted for compatibility with ``DFApp``/``Blueprint`` and ignored.
    """

    def __init__(self, http_auth_level: Any = None) -> None:
        self._functions: dict[tuple[FunctionKind, str], Registration] = {}
        self._by_callable: dict[int, Registration] = {}
        self._http: dict[int, HttpRoute] = {}

    # --- decorators -----------------------------------------------------------------------------------------

    def orchestration_trigger(
        self, context_name: str, orchestration: str | None = None, input_type: type | None = None
    ) -> Callable[[F], F]:
        """Register a generator function as an orchestrator.

        ``input_type`` (a class with ``from_json``) is what ``context.get_input()`` decodes the input into when
        the call names no ``expected_type``, as in azure-functions-durable.
        """
        if input_type is not None and not isinstance(input_type, type):
            raise ConfigurationError(f"input_type {input_type!r} is invalid: must be a class or None")
        register = self._decorator(FunctionKind.ORCHESTRATOR, orchestration, context_name)

        def decorate(function: F) -> F:
            if input_type is not None:
                setattr(function, INPUT_TYPE_ATTRIBUTE, input_type)
            return register(function)

        return decorate

    def activity_trigger(
        self, input_name: str, activity: str | None = None, *, local: bool = False
    ) -> Callable[[F], F]:
        """Register a plain or ``async`` function as an activity; it receives the input as one argument.

        ``local=True`` (our extension, beyond Durable Functions) runs the activity inside the episode of the
        orchestration that calls it, on the worker that runs that episode, and checkpoints its result with the
        episode: no work-item message, no second episode, a few storage calls instead of about six per call. The
        orchestrator code does not change (``call_activity``). Meant for short activities: the episode's control
        message stays leased while it runs, other episodes of the worker wait for nothing, but a crash before the
        checkpoint runs the activity again (at least once, as any activity).
        """
        return self._decorator(FunctionKind.ACTIVITY, activity, input_name, local=local)

    def entity_trigger(self, context_name: str, entity_name: str | None = None) -> Callable[[F], F]:
        """Register an entity function (or class) that receives a ``DurableEntityContext``."""
        return self._decorator(FunctionKind.ENTITY, entity_name, context_name)

    def route(
        self,
        route: str | None = None,
        trigger_arg_name: str = "req",
        binding_arg_name: str = "$return",
        methods: Any = None,
        auth_level: Any = None,
    ) -> Callable[[F], F]:
        """Register an HTTP-triggered function, served by ``durable-storage host`` under ``/api/{route}``.

        The arguments are azure-functions' ``FunctionApp.route``'s: ``route`` defaults to the function name,
        ``methods`` (names or ``func.HttpMethod``) to all of them; ``auth_level`` is accepted and, as under
        ``func start``, not enforced.
        """
        chosen = None if methods is None else tuple(str(getattr(m, "value", m)).upper() for m in methods)

        def decorate(function: F) -> F:
            entry = self._http_entry(function)
            entry.route, entry.methods, entry.has_trigger = route, chosen, True
            entry.trigger_arg_name, entry.binding_arg_name = trigger_arg_name, binding_arg_name
            return function

        return decorate

    def durable_client_input(
        self, client_name: str, task_hub: str | None = None, connection_name: str | None = None
    ) -> Callable[[F], F]:
        """Give an HTTP function a client parameter named ``client_name``: our ``DurableOrchestrationClient``."""
        if not isinstance(client_name, str) or not client_name.isidentifier():
            raise ConfigurationError(f"client_name {client_name!r} is invalid: must be a Python parameter name")

        def decorate(function: F) -> F:
            entry = self._http_entry(function)
            entry.client_name, entry.task_hub = client_name, task_hub
            return function

        return decorate

    def http_functions(self) -> list[HttpRoute]:
        """The HTTP-triggered functions, in registration order.

        Raises:
            ConfigurationError: a function has ``durable_client_input`` but no ``route``.
        """
        for entry in self._http.values():
            if not entry.has_trigger:
                raise ConfigurationError(f"function {entry.name!r} has durable_client_input but no route (trigger)")
        return list(self._http.values())

    def _http_entry(self, function: Callable[..., Any]) -> HttpRoute:
        entry = self._http.get(id(function))
        if entry is None:
            name = getattr(function, _NAME_ATTRIBUTE, None) or getattr(function, "__name__", "function")
            entry = self._http[id(function)] = HttpRoute(str(name), function)
        return entry

    def function_name(self, name: str, setting_extra_fields: dict[str, Any] | None = None) -> Callable[[F], F]:
        """Give the decorated function another name in the task hub (above or below its trigger decorator).

        ``setting_extra_fields`` (extra fields of the Functions host's function metadata) is accepted and has no
        meaning without that host.
        """
        if setting_extra_fields is not None and not isinstance(setting_extra_fields, dict):
            raise ConfigurationError(
                f"setting_extra_fields {setting_extra_fields!r} is invalid: must be a dict or None"
            )
        _check_name(name, FunctionKind.ACTIVITY)

        def decorate(function: F) -> F:
            if id(function) in self._http:
                self._http[id(function)].name = name
            registration = self._by_callable.get(id(function))
            if registration is None:
                setattr(function, _NAME_ATTRIBUTE, name)  # the trigger decorator below will pick it up
                return function
            self._rename(registration, name)
            return function

        return decorate

    def _decorator(
        self, kind: FunctionKind, name: str | None, parameter: str, *, local: bool = False
    ) -> Callable[[F], F]:
        if not isinstance(local, bool):
            raise ConfigurationError(f"local {local!r} is invalid: must be True or False")

        def decorate(function: F) -> F:
            chosen = name or getattr(function, _NAME_ATTRIBUTE, None) or function.__name__
            self._add(Registration(kind, _check_name(chosen, kind), function, parameter, local=local))
            return function

        return decorate

    # --- legacy registration --------------------------------------------------------------------------------

    def orchestration(self, name: str, handle: Orchestrator | Callable[..., Any]) -> None:
        """Register ``Orchestrator.create(fn)`` (ours or azure.durable_functions'), or a function, as ``name``."""
        function = _unwrap(handle, "orchestrator_function")
        self._add(Registration(FunctionKind.ORCHESTRATOR, _check_name(name, FunctionKind.ORCHESTRATOR), function))

    def activity(self, name: str, function: Callable[..., Any]) -> None:
        """Register an activity function under ``name``."""
        self._add(Registration(FunctionKind.ACTIVITY, _check_name(name, FunctionKind.ACTIVITY), function))

    def entity(self, name: str, handle: Entity | Callable[..., Any]) -> None:
        """Register ``Entity.create(fn)`` (ours or azure.durable_functions') or a function or class under ``name``."""
        function = _unwrap(handle, "entity_function")
        self._add(Registration(FunctionKind.ENTITY, _check_name(name, FunctionKind.ENTITY), function))

    def register_functions(self, other: App) -> None:
        """Add every function of ``other`` (a Blueprint) to this app."""
        for registration in other._functions.values():
            self._add(replace(registration))
        for key, entry in other._http.items():
            self._http.setdefault(key, replace(entry))

    register_blueprint = register_functions

    # --- lookup ---------------------------------------------------------------------------------------------

    def is_local_activity(self, name: str) -> bool:
        """True when ``name`` is an activity registered with ``local=True``."""
        registration = self._functions.get((FunctionKind.ACTIVITY, _key(FunctionKind.ACTIVITY, name)))
        return registration is not None and registration.local

    def get(self, kind: FunctionKind, name: str) -> Registration:
        """The registration of ``name``.

        Raises:
            LookupError: nothing of that kind has that name; the message lists what is registered.
        """
        registration = self._functions.get((kind, _key(kind, name)))
        if registration is None:
            known = sorted(r.name for (k, _), r in self._functions.items() if k is kind)
            raise LookupError(
                f"{kind.value} {name!r} is not registered with this worker's app; registered: {known or 'none'}"
            )
        return registration

    def names(self, kind: FunctionKind) -> list[str]:
        """The names registered for ``kind``, sorted."""
        return sorted(r.name for (k, _), r in self._functions.items() if k is kind)

    # --- internals ------------------------------------------------------------------------------------------

    def _add(self, registration: Registration) -> None:
        key = (registration.kind, _key(registration.kind, registration.name))
        existing = self._functions.get(key)
        if existing is not None and existing.function is not registration.function:
            raise ConfigurationError(
                f"{registration.kind.value} {registration.name!r} is registered twice "
                f"({_describe(existing.function)} and {_describe(registration.function)}): names must be unique"
            )
        if registration.kind is FunctionKind.ENTITY:
            registration.name = registration.name.lower()
        self._functions[key] = registration
        self._by_callable[id(registration.function)] = registration
        _tag(registration.function, registration.name)

    def _rename(self, registration: Registration, name: str) -> None:
        del self._functions[(registration.kind, _key(registration.kind, registration.name))]
        registration.name = name
        self._add(registration)


def _unwrap(handle: Any, attribute: str) -> Callable[..., Any]:
    # azure.durable_functions' Orchestrator.create / Entity.create return a handle that runs the SDK's own replay
    # (or entity batch) over host JSON; the user's function it wraps is what our engine runs.
    function = getattr(handle, attribute, handle)
    if not callable(function):
        raise ConfigurationError(
            f"{attribute.split('_', maxsplit=1)[0]} {handle!r} is invalid: must be a function or a handle"
        )
    return function  # type: ignore[no-any-return]


def _key(kind: FunctionKind, name: str) -> str:
    return name.lower() if kind is FunctionKind.ENTITY else name


def _tag(function: Callable[..., Any], name: str) -> None:
    # Lets call_activity(say_hello) and call_sub_orchestrator(child) take the function instead of its name.
    # Builtins and some callables take no attributes; they can still be called by name.
    with contextlib.suppress(AttributeError, TypeError):
        setattr(function, _NAME_ATTRIBUTE, name)


def _describe(function: Callable[..., Any]) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


Blueprint = App
"""Durable Functions' name for a set of functions registered into an app with ``register_functions``."""
DFApp = App
"""Durable Functions' name for the app itself."""
