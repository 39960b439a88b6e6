"""Two payloads of the Functions host protocol, as azure-functions-durable models them: the durable client binding
and an orchestrator's result. Our worker needs neither (it replays orchestrators itself); apps and their tests that
build or read them do. Pure.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

__all__ = ["DurableOrchestrationBindings", "OrchestratorState"]


class DurableOrchestrationBindings:
    """The ``durableClient`` binding JSON: the hub, the creation and management URL templates, the RPC base URL.

    Unknown keys land in ``client_data``, as the SDK's.
    """

    def __init__(
        self,
        taskHubName: str,
        creationUrls: dict[str, str],
        managementUrls: dict[str, str],
        rpcBaseUrl: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._task_hub_name = taskHubName
        self._creation_urls = creationUrls
        self._management_urls = managementUrls
        self._rpc_base_url = rpcBaseUrl
        self._client_data = SimpleNamespace(**kwargs)

    @classmethod
    def from_json(cls, json_string: str) -> DurableOrchestrationBindings:
        """The bindings of the binding's JSON text."""
        return cls(**json.loads(json_string))

    @property
    def task_hub_name(self) -> str:
        """The task hub."""
        return self._task_hub_name

    @property
    def creation_urls(self) -> dict[str, str]:
        """``createNewInstancePostUri`` and ``createAndWaitOnNewInstancePostUri``."""
        return self._creation_urls

    @property
    def management_urls(self) -> dict[str, str]:
        """The management URL templates, the instance ID as the placeholder ``INSTANCEID``."""
        return self._management_urls

    @property
    def rpc_base_url(self) -> str | None:
        """Where the client sends its requests."""
        return self._rpc_base_url

    @property
    def client_data(self) -> SimpleNamespace:
        """The binding's other keys."""
        return self._client_data


def _plain(action: Any) -> Any:
    return action.to_json() if hasattr(action, "to_json") else action


class OrchestratorState:
    """What an orchestrator invocation returns to the Functions host: done or not, the actions, output, error."""

    def __init__(  # noqa: PLR0917 - the SDK's signature
        self,
        is_done: bool,
        actions: list[list[Any]],
        output: Any,
        replay_schema: int = 0,
        error: str | None = None,
        custom_status: Any = None,
    ) -> None:
        self._is_done = is_done
        self._actions = actions
        self._output = output
        self._replay_schema = int(getattr(replay_schema, "value", replay_schema))
        self._error = error
        self._custom_status = custom_status

    is_done = property(lambda self: self._is_done, doc="Whether the orchestration ended (or continued as new).")
    actions = property(lambda self: self._actions, doc="The actions, one list per replayed step.")
    output = property(lambda self: self._output, doc="The output.")
    error = property(lambda self: self._error, doc="The error message, when the orchestrator failed.")
    custom_status = property(lambda self: self._custom_status, doc="The custom status.")
    schema_version = property(lambda self: self._replay_schema, doc="The replay schema version.")

    def to_json(self) -> dict[str, Any]:
        """The host's JSON: ``isDone``, ``actions``, and ``output``/``error``/``customStatus`` when set."""
        result: dict[str, Any] = {"isDone": self._is_done}
        if self._replay_schema:
            result["schemaVersion"] = self._replay_schema
        result["actions"] = [[_plain(a) for a in step] for step in self._actions]
        if self._output is not None:
            result["output"] = self._output
        if self._error:
            result["error"] = self._error
        if self._custom_status:
            result["customStatus"] = self._custom_status
        return result

    def to_json_string(self) -> str:
        """``to_json()`` as JSON text."""
        return json.dumps(self.to_json())
