"""Member-by-member parity with the installed azure-functions-durable (issue 19, point 7).

Every public class, function and signature of the SDK's top level, ``models``, the orchestration and entity
contexts and the client is looked up on ours: the name must exist and take the SDK's parameters, by the same
names, in the same order, with the same kinds (ours may add keyword-only ones, and optional ones after the SDK's).
The deliberate differences are listed once, below, each with its reason; a new SDK release shows its new members
here as failures to look at.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import azure.durable_functions as sdk
import azure.durable_functions.models as sdk_models
import pytest

import durable_storage as ours
import durable_storage.models as our_models

# name -> why we differ. "module:" entries are whole names of a module; "Class.member" entries are members.
DEVIATIONS: dict[str, str] = {
    # Modules and helpers of the SDK's own packaging, not API.
    "top:constants": "an internal module of the SDK",
    "top:decorators": "the SDK's decorator package; ours are methods of App",
    "top:entity": "an internal module (Entity is exported)",
    "top:orchestrator": "an internal module (Orchestrator is exported)",
    "top:validate_extension_bundles": "checks a Functions host.json bundle at import; we have no extension bundle",
    "top:validate_v1_programming_model": "warns about function.json apps at import; `durable-storage host` loads them",
    "top:DurableFunctionsCompatibilityWarning": "the warning class of those two checks",
    "top:openai_agents": "the OpenAI-agents integration is not in this release (README deviations)",
    "models:ReplaySchema": "the SDK's host-protocol schema versions; our engine has one behaviour",
    "models:RpcManagementOptions": "the SDK's query-string builder for its HTTP client; ours calls storage",
    "models:TaskOrchestrationExecutor": "the SDK's replay executor; ours is durable_storage.replay",
    "models:FunctionContext": "a bag of attributes; ours is a types.SimpleNamespace (context.function_context)",
    "models:Task": "the SDK's task module (TaskBase is exported)",
    "models:actions": "the SDK's action classes; our actions are durable_storage.replay's",
    "models:entities": "the SDK's entity wire classes; ours are in durable_storage.entities",
    "models:history": "the SDK's history classes; ours are durable_storage.history (context.histories speaks both)",
    "models:utils": "the SDK's JSON helpers; ours is durable_storage._json",
    "models:OrchestrationRuntimeStatus": "",  # present: listed so that module names are checked, not skipped
    # Members.
    "DFApp.*": "App registers orchestrators, activities and entities (+ route, durable_client_input); the other "
    "Functions triggers and bindings of azure.functions.FunctionApp run under `durable-storage host`",
    "Blueprint.*": "as DFApp",
    "Orchestrator.handle": "the SDK runs the host's JSON through its own executor; our worker replays the function",
    "Entity.handle": "as Orchestrator.handle",
    "DurableOrchestrationStatus.add_attrib": "an import of the SDK's module, visible as an attribute",
}
DEVIATIONS.pop("models:OrchestrationRuntimeStatus")

CLASSES = [
    "DurableOrchestrationClient",
    "DurableOrchestrationContext",
    "DurableEntityContext",
    "DurableOrchestrationStatus",
    "EntityId",
    "RetryOptions",
    "PurgeHistoryResult",
    "EntityStateResponse",
    "OrchestrationRuntimeStatus",
    "Orchestrator",
    "Entity",
    "ManagedIdentityTokenSource",
    "DurableHttpRequest",
    "TokenSource",
    "DFApp",
    "Blueprint",
]


def _public(obj: object) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


def _module_names(module: Any) -> list[str]:
    # What the module defines or re-exports, not the modules and typing names it merely imports.
    names = getattr(module, "__all__", None) or _public(module)
    return [n for n in names if not inspect.ismodule(getattr(module, n)) or n in ("models",)]


def _sdk_class(name: str) -> Any:
    # Some top-level names of the SDK are its modules of the same name (DurableOrchestrationStatus): take the class.
    for where in (getattr(sdk, name, None), getattr(sdk_models, name, None)):
        found = getattr(where, name, None) if inspect.ismodule(where) else where
        if isinstance(found, type):
            return found
    raise LookupError(f"azure-functions-durable has no class {name}")


def _our_class(name: str) -> Any:
    return getattr(ours, name, None) or getattr(our_models, name, None)


def _members(cls: Any) -> Iterator[str]:
    for name in _public(cls):
        member = inspect.getattr_static(cls, name)
        if inspect.ismodule(member) or name in {"Any", "Dict", "List", "Optional", "Union", "Tuple", "datetime"}:
            continue
        if isinstance(member, type) and member.__module__.startswith("typing"):
            continue
        yield name


def _deviation(owner: str, member: str) -> bool:
    return f"{owner}.{member}" in DEVIATIONS or f"{owner}.*" in DEVIATIONS


@pytest.mark.parametrize(("scope", "module"), [("top", sdk), ("models", sdk_models)])
def test_every_exported_name_exists(scope: str, module: Any) -> None:
    ours_module = ours if scope == "top" else our_models
    missing = [
        n
        for n in _module_names(module)
        if f"{scope}:{n}" not in DEVIATIONS and not hasattr(ours_module, n) and not _deviation(n, "*")
    ]
    assert missing == [], f"azure-functions-durable's {scope} exports these and we do not: {missing}"


def _parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(function).parameters.values())
    return [p for p in parameters if p.name not in ("self", "cls") and p.kind is not p.VAR_KEYWORD]


def _signature_problem(theirs: Callable[..., Any], mine: Callable[..., Any]) -> str | None:
    try:
        wanted, have = _parameters(theirs), _parameters(mine)
    except (TypeError, ValueError):
        return None  # builtins and properties: nothing to compare
    if any(p.kind is p.VAR_POSITIONAL for p in have):
        return None
    names = [p.name for p in have[: len(wanted)]]
    if names != [p.name for p in wanted]:
        return f"takes {[p.name for p in have]}, the SDK {[p.name for p in wanted]}"
    for mine_p, theirs_p in zip(have, wanted, strict=False):
        if theirs_p.kind is not theirs_p.KEYWORD_ONLY and mine_p.kind is mine_p.KEYWORD_ONLY:
            return f"makes {mine_p.name!r} keyword-only; the SDK takes it positionally"
        if theirs_p.default is not inspect.Parameter.empty and mine_p.default is inspect.Parameter.empty:
            return f"requires {mine_p.name!r}; the SDK has a default"
    extra = [p for p in have[len(wanted) :] if p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD]
    if extra:
        return f"requires {[p.name for p in extra]}, which the SDK does not take"
    return None


@pytest.mark.parametrize("name", CLASSES)
def test_every_member_exists_with_the_sdks_signature(name: str) -> None:
    theirs, mine = _sdk_class(name), _our_class(name)
    assert mine is not None, f"{name} is missing"
    problems = []
    for member in _members(theirs):
        if _deviation(name, member):
            continue
        if not hasattr(mine, member) and not _instance_has(mine, member):
            problems.append(f"{name}.{member} is missing")
            continue
        their_member, my_member = getattr(theirs, member), getattr(mine, member, None)
        if callable(their_member) and callable(my_member) and not isinstance(their_member, type):
            problem = _signature_problem(their_member, my_member)
            if problem:
                problems.append(f"{name}.{member} {problem}")
    if callable(theirs) and not _deviation(name, "__init__"):
        problem = _signature_problem(theirs.__init__, mine.__init__)
        if problem and name not in _CONSTRUCTED_DIFFERENTLY:
            problems.append(f"{name}(...) {problem}")
    assert problems == []


# Classes whose constructor is not part of the promise: the SDK builds them from host JSON (from_json), we from
# storage; user code receives them and never constructs them.
_CONSTRUCTED_DIFFERENTLY = {
    "DurableOrchestrationClient": "built from the binding JSON in the SDK; from_connection_string/from_env here",
    "DurableOrchestrationContext": "from_json in both; the constructor is the engine's",
    "DurableEntityContext": "from_json in both; the constructor is the engine's",
    "DFApp": "App() takes http_auth_level as the SDK's does; the rest configures azure.functions",
    "Blueprint": "as DFApp",
}


def _instance_has(cls: Any, member: str) -> bool:
    # Attributes set in __init__ (will_continue_as_new, function_context) are instance members in both.
    if member in getattr(cls, "__dataclass_fields__", {}):
        return True
    try:
        return f"self.{member}" in inspect.getsource(cls.__init__)
    except (OSError, TypeError):
        return False
