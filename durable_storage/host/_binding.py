"""The durable client binding: the JSON string a ``durableClient`` (or ``orchestrationClient``) parameter gets.

azure-functions-durable 1.7 builds its ``DurableOrchestrationClient`` from it and makes every call over HTTP to
``rpcBaseUrl`` (functions-host.md §1, §2); here that is this host's own webhooks, on the same origin as the HTTP
triggers, so that one process answers everything. The management URLs are ours too
(:func:`durable_storage.client._management.management_urls`), with the extension's ``INSTANCEID`` placeholder
that the SDK replaces with an instance's ID.
"""

from __future__ import annotations

import json
from typing import Any

from durable_storage.client._management import WEBHOOK_PATH, management_urls
from durable_storage.web._webhooks import RPC_PATH

__all__ = ["INSTANCE_PLACEHOLDER", "binding_json"]

INSTANCE_PLACEHOLDER = "INSTANCEID"  # the extension's; the SDK replaces managementUrls["id"]'s value everywhere
_CONNECTION = "Storage"  # what the extension writes for the Azure Storage provider's default connection


def binding_json(base_url: str, task_hub: str, *, rpc_base_url: str | None = None) -> str:
    """The binding JSON for a host listening at ``base_url`` (``http://127.0.0.1:7071``) on ``task_hub``.

    ``rpc_base_url``: where the SDK's client sends its calls, when not ``base_url`` (a loopback listener of the
    host, when the public one wants a token the SDK cannot send).
    """
    webhooks = f"{base_url}{WEBHOOK_PATH}"
    create = f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]"
    value: dict[str, Any] = {
        "taskHubName": task_hub,
        "connectionName": None,
        "creationUrls": {
            "createNewInstancePostUri": create,
            "createAndWaitOnNewInstancePostUri": f"{create}?timeout={{timeoutInSeconds}}"
            "&pollingInterval={intervalInSeconds}",
        },
        "managementUrls": management_urls(base_url, INSTANCE_PLACEHOLDER, task_hub),
        "baseUrl": webhooks,
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": f"{rpc_base_url or base_url}{RPC_PATH}/",
        "httpBaseUrl": None,
    }
    return json.dumps(value)
