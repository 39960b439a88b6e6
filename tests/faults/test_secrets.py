"""T23 (reliability.md §4.1, §5.2): no secret reaches a log record, an error, or a repr, at DEBUG.

For an account-key and for a SAS connection string, with every ``durable_storage`` and ``azure.*`` logger at DEBUG:
a whole orchestration (with a large message, so blobs are used too) and a 404, a 409 and a 403 (wrong key, or a
forged SAS signature) through the public client. No captured record, no ``str``/``repr``/traceback of any raised
exception (its suppressed context included), and no ``repr`` of the client, hub, account or connection holds the
key, the SAS ``sig``, ``SharedKey <account>:<MAC>``, a ``Bearer`` token or a 403's string to sign.

``tests/storage/test_errors.py`` already covers a wrong key on each storage verb and synthetic SDK log lines; this
adds the SAS case, the 404/409 paths, a full worker run, and the SDK's real wire trace: our API refuses
``logging_enable``, and when other code in the process turns it on, the masking filter still hides the secrets.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue.aio import QueueServiceClient

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._connection import DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME
from durable_storage._storage.tables import Row, Write, WriteMode
from durable_storage.errors import ConflictError, ResourceNotFoundError, StorageAuthenticationError, StorageError
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name
from tests.e2e import apps
from tests.e2e.support import fast_options
from tests.storage.test_connections import account_sas, endpoints
from tests.storage.test_errors import WRONG_KEY, with_wrong_key

pytestmark = pytest.mark.timeout(60)

# Secret shapes, whatever their value: a SharedKey MAC or a bearer token that is not masked.
_SHAPES = {
    "SharedKey MAC": re.compile(r"SharedKey(?:Lite)?\s+[^:\s'\"]+:(?!\*)[A-Za-z0-9+/=]{8,}"),
    "Bearer token": re.compile(r"Bearer\s+(?!\*)[A-Za-z0-9\-._~+/]{8,}"),
    "string to sign": re.compile(r"string to sign: '(?!\*)", re.IGNORECASE),
    "AuthenticationErrorDetail": re.compile(r"AuthenticationErrorDetail"),
}
_FORGED_SIG = "Zm9yZ2VkIHNpZ25hdHVyZSBvZiA0NCBjaGFyYWN0ZXJzIQ%3D%3D"


class Connection:
    """One way to connect: its connection string, the same with a bad secret, and the secret values."""

    def __init__(self, style: str, connection_string: str) -> None:
        self.style = style
        if style == "account key":
            self.good = connection_string
            self.bad = with_wrong_key(connection_string)
            self.secrets = [DEV_ACCOUNT_KEY, WRONG_KEY]
            self.sas: str | None = None
        else:
            self.sas = account_sas()
            signature = re.search(r"sig=([^&]+)", self.sas)
            assert signature is not None
            self.good = f"SharedAccessSignature={self.sas};{endpoints(connection_string)}"
            self.bad = self.good.replace(signature[1], _FORGED_SIG)
            self.secrets = [signature[1], unquote(signature[1]), _FORGED_SIG, unquote(_FORGED_SIG)]
        # The account key also signs a SAS: it must never show, whatever the connection style.
        self.secrets += [DEV_ACCOUNT_KEY, DEV_ACCOUNT_KEY[:20]]


@pytest.fixture(params=["account key", "shared access signature"])
def connection(request: pytest.FixtureRequest, connection_string: str) -> Connection:
    return Connection(request.param, connection_string)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of our loggers and the Azure SDK's, at DEBUG (whatever another test set on ``azure``)."""
    for name in (None, "azure", "durable_storage"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def exception_texts(error: BaseException) -> list[str]:
    """``str``, ``repr`` and the formatted traceback of ``error`` and of every exception chained to it, even
    a suppressed ``__context__`` (a tool may ignore ``from None``)."""
    texts: list[str] = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return texts


def leaks(texts: list[str], secrets: list[str]) -> list[str]:
    """What of ``secrets`` and of the secret shapes appears in ``texts`` (names only, never the value)."""
    joined = "\n".join(texts)
    found = [f"secret #{n} ({len(s)} chars)" for n, s in enumerate(secrets) if s and s in joined]
    return found + [name for name, shape in _SHAPES.items() if shape.search(joined)]


def record_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = [caplog.text]
    for record in caplog.records:
        texts += [record.getMessage(), record.exc_text or "", record.stack_info or ""]
        if record.exc_info and record.exc_info[1] is not None:
            texts += exception_texts(record.exc_info[1])
    return texts


async def test_no_secret_reaches_logs_errors_or_reprs_at_debug(
    connection: Connection, debug_logs: pytest.LogCaptureFixture
) -> None:
    hub_name = unique_hub_name()
    errors: list[StorageError] = []
    client = DurableOrchestrationClient.from_connection_string(connection.good, task_hub=hub_name, retry=FAST_RETRY)
    async with client:
        hub = client.task_hub
        async with Worker(client, apps.app, options=fast_options()) as worker:
            # Over 45 KiB: the start message, the activity's messages and the rows go through blobs too.
            payload = {"text": "x" * 50_000}
            await client.start_new("echo_orchestrator", "secret-run", payload)
            status = await client.wait_for_completion("secret-run", timeout=30, poll_interval=0.1)
            assert status.runtime_status is OrchestrationRuntimeStatus.Completed and status.output == payload
            reprs = [repr(client), str(client), repr(hub), str(hub), repr(hub.account), repr(worker)]
            reprs += [repr(hub.account.connection), str(hub.account.connection)]

        with pytest.raises(ResourceNotFoundError) as not_found:
            await hub.account.queues.count("no-such-queue")
        errors.append(not_found.value)
        with pytest.raises(ResourceNotFoundError) as no_blob:
            await hub.account.blobs.download_text(hub.names.large_messages_container, "no/such.json.gz")
        errors.append(no_blob.value)
        with pytest.raises(ConflictError) as conflict:
            row = Row(hub.escape("secret-run"), "", {"RuntimeStatus": "Running"})
            await hub.account.tables.write(hub.names.instances_table, Write(WriteMode.INSERT, row))
        errors.append(conflict.value)

        bad = DurableOrchestrationClient.from_connection_string(connection.bad, task_hub=hub_name, retry=FAST_RETRY)
        async with bad:
            with pytest.raises(StorageAuthenticationError) as refused:
                await bad.start_new("echo_orchestrator", "refused", 1)
            errors.append(refused.value)
            reprs += [repr(bad), repr(bad.task_hub.account.connection)]
        logging.getLogger("tests.secrets").exception("the calls failed", exc_info=refused.value)
        await hub.delete()

    assert [e.status for e in errors] == [404, 404, 409, 403]
    texts = reprs + [text for error in errors for text in exception_texts(error)] + record_texts(debug_logs)
    assert leaks(texts, connection.secrets) == []
    assert len(debug_logs.records) > 100, "DEBUG logging was not captured: the test proved nothing"


async def test_the_sdk_wire_trace_is_refused_by_our_api_and_masked_when_turned_on_elsewhere(
    connection: Connection, debug_logs: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(TypeError, match="logging_enable"):
        TaskHub.from_connection_string(connection.good, logging_enable=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="logging_enable"):
        DurableOrchestrationClient.from_connection_string(connection.good, logging_enable=True)  # type: ignore[call-arg]

    # Other code of the same process turns the trace on (it logs Authorization and full URLs at DEBUG). Building
    # any hub installs the masking filter on the SDK's loggers.
    await TaskHub.from_connection_string(connection.good, task_hub=unique_hub_name()).close()
    credential = (
        AzureNamedKeyCredential(DEV_ACCOUNT_NAME, DEV_ACCOUNT_KEY)
        if connection.sas is None
        else AzureSasCredential(connection.sas)
    )
    urls = dict(re.findall(r"(Queue|Table)Endpoint=([^;]+)", connection.good))
    tables = TableServiceClient(urls["Table"], credential=credential, logging_enable=True)
    queues = QueueServiceClient(urls["Queue"], credential=credential, logging_enable=True)
    async with tables, queues:
        await tables.create_table_if_not_exists("WireTrace")
        await queues.get_queue_client("wire-trace").create_queue()
        await tables.delete_table("WireTrace")
        await queues.get_queue_client("wire-trace").delete_queue()

    texts = record_texts(debug_logs)
    assert "Authorization" in "\n".join(texts) or "sig=*" in "\n".join(texts), "no wire trace was logged"
    assert leaks(texts, connection.secrets) == []
