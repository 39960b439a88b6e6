"""The client's Durable Functions HTTP API side: management URLs and the responses of an HTTP starter.

The URLs point at ``durable-storage serve`` (or ``host``), which answers them; the responses are built by the pure
``_http_responses`` and ``_management`` modules.
"""

from __future__ import annotations

from typing import Any

from durable_storage.client._http_responses import check_milliseconds, completion_response, json_response
from durable_storage.client._management import check_status_headers, management_urls
from durable_storage.client._status_queries import StatusQueries
from durable_storage.client._validation import check_instance_id

__all__ = ["HttpManagement"]


class HttpManagement(StatusQueries):
    """The client's management URLs and HTTP starter responses (which wait through :class:`StatusQueries`)."""

    @property
    def management_base_url(self) -> str:
        """Where the Durable Functions HTTP API is served (``management_base_url``), without a trailing ``/``."""
        return self._management_base_url

    def create_http_management_payload(self, instance_id: str) -> dict[str, str]:
        """The management URLs of ``instance_id`` under ``management_base_url``, as azure-functions-durable's.

        Keys: ``id, statusQueryGetUri, sendEventPostUri, terminatePostUri, rewindPostUri, purgeHistoryDeleteUri,
        restartPostUri, suspendPostUri, resumePostUri``. ``{eventName}`` and ``{text}`` are placeholders for the
        caller to fill in. Nothing is sent; the instance need not exist.
        """
        return self.get_client_response_links(None, instance_id)

    def get_client_response_links(self, request: Any, instance_id: str) -> dict[str, str]:
        """The management URLs of ``instance_id`` under ``management_base_url``.

        ``request`` (the HTTP request that started the instance) is accepted as in azure-functions-durable, which
        moves the URLs to the request's origin because under the Functions host that origin always serves the
        webhooks. Ours need not (a web framework of yours), so the URLs stay on ``management_base_url``, the
        address of ``durable-storage host`` or ``serve`` (``host`` gives its own to the clients it binds).
        """
        check_instance_id(instance_id)
        return management_urls(self._management_base_url, instance_id, self._hub.name)

    def create_check_status_response(self, request: Any, instance_id: str) -> Any:
        """A 202 Accepted response for an HTTP starter: ``Location`` = the status URL, body = the management URLs.

        An ``azure.functions.HttpResponse`` when ``azure.functions`` is importable (return it from an HTTP
        trigger as is), else a :class:`CheckStatusResponse` shaped like one.

        Args:
            request: the request that started the instance (see :meth:`get_client_response_links`).
            instance_id: the instance started.
        """
        payload = self.get_client_response_links(request, instance_id)
        return json_response(202, payload, check_status_headers(payload))

    async def wait_for_completion_or_create_check_status_response(
        self,
        request: Any,
        instance_id: str,
        timeout_in_milliseconds: int = 10000,
        retry_interval_in_milliseconds: int = 1000,
    ) -> Any:
        """Wait up to ``timeout_in_milliseconds`` for the instance to end; its result as an HTTP response.

        Completed: 200 with the output; Terminated or Canceled: 200 with the status JSON; Failed: 500 with the
        status JSON; still running at the deadline: the check-status 202 of :meth:`create_check_status_response`.

        Raises:
            ConfigurationError: a timeout or retry interval that is not a positive number, or an interval longer
                than the timeout (azure-functions-durable raises for that too).
        """
        check_instance_id(instance_id)
        timeout, interval = check_milliseconds(timeout_in_milliseconds, retry_interval_in_milliseconds)
        try:
            status = await self.wait_for_completion(instance_id, timeout=timeout, poll_interval=interval)
        except TimeoutError:
            return self.create_check_status_response(request, instance_id)
        return completion_response(status) or self.create_check_status_response(request, instance_id)
