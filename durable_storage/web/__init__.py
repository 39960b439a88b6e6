"""The Durable Functions HTTP management API and a dashboard, served over a task hub (``durable-storage serve``).

``create_app(client, token=...)`` builds the aiohttp application; ``ManagementServer`` runs it on a port as an
async context manager. Both serve one task hub, the client's, with no worker: start, query, signal, purge.
"""

from durable_storage.web._app import create_app
from durable_storage.web._security import is_loopback
from durable_storage.web._server import ManagementServer

__all__ = ["ManagementServer", "create_app", "is_loopback"]
