"""The neutral function model both loaders produce, and how the host sorts it: durable, HTTP, timer, unsupported.

A loader (v2 decorators, v1 ``function.json`` folders, or our own ``App``) turns each function into a
:class:`FunctionSpec`: its name, the callable the Python worker would invoke, and its bindings as JSON. :func:`build`
then registers orchestrators, activities and entities in a :class:`durable_storage.App` for our worker (unwrapping
the published SDK's handles, functions-host.md §3.3), keeps HTTP and timer triggers for the host, and names every
trigger or binding type it does not implement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from durable_storage.app import App
from durable_storage.errors import ConfigurationError
from durable_storage.host._routes import RouteTemplate

__all__ = [
    "CLIENT_TYPES",
    "Binding",
    "FunctionSpec",
    "HttpFunction",
    "LoadedApp",
    "build",
]

_log = logging.getLogger(__name__)

CLIENT_TYPES = frozenset({"durableclient", "orchestrationclient"})  # the second is the legacy name (EXT keeps it)
_DURABLE_TRIGGERS = frozenset({"orchestrationtrigger", "activitytrigger", "entitytrigger"})
_TRIGGERS = _DURABLE_TRIGGERS | {"httptrigger", "timertrigger"}
_DIRECTIONS = frozenset({"in", "out", "inout"})
_RESERVED_ROUTES = ("admin", "runtime")  # the Functions host refuses routes under these (ScriptHost.cs)
_ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class Binding:
    """One binding of a function as its JSON says it (``type``, ``direction``, ``name`` and the rest in ``fields``)."""

    type: str
    direction: str
    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The type in lower case: binding types are case-insensitive."""
        return self.type.lower()

    @classmethod
    def from_json(cls, raw: object, where: str) -> Binding:
        """Validate one binding object of a ``function.json`` or of the v2 indexer's raw bindings."""
        if not isinstance(raw, Mapping):
            raise ConfigurationError(f"{where}: binding {raw!r} is invalid: must be a JSON object")
        kind, name = raw.get("type"), raw.get("name")
        direction = str(raw.get("direction", "in")).lower()
        if not isinstance(kind, str) or not kind:
            raise ConfigurationError(f"{where}: binding {dict(raw)!r} has no 'type'")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"{where}: binding of type {kind!r} has no 'name'")
        if direction not in _DIRECTIONS:
            raise ConfigurationError(f"{where}: binding {name!r} has direction {direction!r}: must be in or out")
        return cls(kind, direction, name, dict(raw))


@dataclass(frozen=True)
class FunctionSpec:
    """A function as a loader found it, before the host decides what to do with it."""

    name: str
    function: Callable[..., Any]
    bindings: tuple[Binding, ...]
    source: str  # where it was declared, for messages: "function_app.py" or "HttpStart/function.json"
    directory: str  # func.Context.function_directory
    native_client: bool = False  # an App of ours: the client parameter gets our DurableOrchestrationClient

    @property
    def trigger(self) -> Binding:
        """The function's one trigger binding."""
        triggers = [b for b in self.bindings if b.kind.endswith("trigger")]
        if len(triggers) != 1:
            found = [b.type for b in triggers] or "none"
            raise ConfigurationError(f"function {self.name!r} ({self.source}) needs exactly one trigger, has {found}")
        return triggers[0]


@dataclass(frozen=True)
class HttpFunction:
    """An HTTP-triggered function: its route, its methods (None = all) and where its response comes from."""

    spec: FunctionSpec
    trigger: Binding
    template: RouteTemplate
    methods: frozenset[str] | None
    output: Binding | None  # the ``http`` out binding: ``$return`` or a named ``Out`` parameter


@dataclass
class LoadedApp:
    """What the host runs: the durable functions (for the worker), the HTTP and timer triggers, and what it skipped."""

    app: App
    http: list[HttpFunction]
    timer_specs: list[FunctionSpec]
    skipped: list[str]


def _unsupported(spec: FunctionSpec) -> str | None:
    trigger = spec.trigger
    if trigger.kind not in _TRIGGERS:
        return f"function {spec.name!r} ({spec.source}): trigger type {trigger.type!r} is not supported"
    for binding in spec.bindings:
        if (
            binding is trigger
            or binding.kind in CLIENT_TYPES
            or (binding.kind == "http" and binding.direction == "out")
        ):
            continue
        return (
            f"function {spec.name!r} ({spec.source}): binding {binding.name!r} of type {binding.type!r} "
            f"(direction {binding.direction}) is not supported"
        )
    return None


def build(specs: Sequence[FunctionSpec], *, skip_unsupported: bool = False, app: App | None = None) -> LoadedApp:
    """Sort ``specs`` into the durable app, HTTP and timer triggers.

    ``app``: the user's own ``durable_storage.App``, whose durable functions are already registered.

    Raises:
        ConfigurationError: a function uses a trigger or binding type we do not implement (every one is named;
            with ``skip_unsupported`` they are left out with a warning instead), two functions share a name or an
            HTTP route and a method, or a route, method or durable name is invalid.
    """
    problems = [problem for spec in specs if (problem := _unsupported(spec)) is not None]
    if problems and not skip_unsupported:
        raise ConfigurationError(
            "the app uses triggers or bindings this host does not implement (start with --skip-unsupported to run "
            "the rest):\n  " + "\n  ".join(problems)
        )
    for problem in problems:
        _log.warning("skipped %s", problem)
    loaded = LoadedApp(app if app is not None else App(), [], [], problems)
    seen: dict[str, FunctionSpec] = {}
    for spec in specs:
        if _unsupported(spec) is not None:
            continue
        other = seen.setdefault(spec.name.lower(), spec)
        if other is not spec:
            raise ConfigurationError(f"function name {spec.name!r} is used twice ({other.source} and {spec.source})")
        _sort(loaded, spec)
    _check_route_conflicts(loaded.http)
    # More literal segments first, catch-alls last: the order ASP.NET's route precedence gives in practice.
    loaded.http.sort(key=lambda f: (f.template.has_catch_all, -f.template.literal_segments))
    return loaded


def _sort(loaded: LoadedApp, spec: FunctionSpec) -> None:
    trigger = spec.trigger
    kind = trigger.kind
    if kind == "orchestrationtrigger":
        name = trigger.fields.get("orchestration") or spec.name
        loaded.app.orchestration(name, getattr(spec.function, "orchestrator_function", spec.function))
    elif kind == "entitytrigger":
        name = trigger.fields.get("entityName") or spec.name
        loaded.app.entity(name, getattr(spec.function, "entity_function", spec.function))
    elif kind == "activitytrigger":
        loaded.app.activity(trigger.fields.get("activity") or spec.name, spec.function)
    elif kind == "httptrigger":
        loaded.http.append(_http_function(spec, trigger))
    else:
        loaded.timer_specs.append(spec)


def _http_function(spec: FunctionSpec, trigger: Binding) -> HttpFunction:
    route = trigger.fields.get("route") or spec.name
    if not isinstance(route, str):
        raise ConfigurationError(f"function {spec.name!r} ({spec.source}): route {route!r} is invalid: must be a str")
    if route.strip("/").split("/")[0].lower() in _RESERVED_ROUTES:
        raise ConfigurationError(
            f"function {spec.name!r} ({spec.source}): route {route!r} is invalid: routes may not start with "
            "'admin' or 'runtime' (the host's own)"
        )
    raw_methods = trigger.fields.get("methods") or []
    methods = frozenset(str(getattr(m, "name", m)).upper() for m in raw_methods)
    if methods - _ALL_METHODS:
        raise ConfigurationError(
            f"function {spec.name!r} ({spec.source}): methods {sorted(methods - _ALL_METHODS)} are invalid: "
            f"must be among {sorted(_ALL_METHODS)}"
        )
    outputs = [b for b in spec.bindings if b.kind == "http" and b.direction == "out"]
    return HttpFunction(spec, trigger, RouteTemplate(route), methods or None, outputs[0] if outputs else None)


def _check_route_conflicts(functions: Sequence[HttpFunction]) -> None:
    for index, first in enumerate(functions):
        for second in functions[index + 1 :]:
            same_route = first.template.template.strip("/").lower() == second.template.template.strip("/").lower()
            methods = (first.methods or _ALL_METHODS) & (second.methods or _ALL_METHODS)
            if same_route and methods:
                raise ConfigurationError(
                    f"functions {first.spec.name!r} and {second.spec.name!r} both answer route "
                    f"{first.template.template!r} for {sorted(methods)}: routes must not overlap"
                )
