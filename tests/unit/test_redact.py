"""Secrets never reach a log: keys, SAS and SharedKey signatures, tokens, strings to sign (reliability.md §4.1)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from durable_storage._connection import DEV_ACCOUNT_KEY
from durable_storage._redact import SecretMaskingFilter, redact

KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SIG = "pEfh1y0f7mZ3Z%2BxQk%2FqJq0aVb6u%2Ff8k9QG3xgA%3D"
SHARED_KEY_SIG = "5q3lMW6cM0D+AWv4mD9pmrR3sM0zCq1lp0P8vQ6oZq4="
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3N0b3JhZ2UuYXp1cmUuY29tIn0.c2lnbmF0dXJl-_x"
STRING_TO_SIGN = "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Tue, 24 Nov 2026 10:00:00 GMT\nx-ms-version:2026-10-06\n/acct/q"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.windows.net",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=core.windows.net",
        ),
        (
            f"BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig={SIG};"
            "QueueEndpoint=https://acct.queue.core.windows.net/",
            "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=***;"
            "QueueEndpoint=https://acct.queue.core.windows.net/",
        ),
        (
            f"Request URL: 'https://acct.blob.core.windows.net/hub-largemessages/x.gz?sv=2022-11-02&sig={SIG}&se=2030'",
            "Request URL: 'https://acct.blob.core.windows.net/hub-largemessages/x.gz?sv=2022-11-02&sig=***&se=2030'",
        ),
        (
            f"x-ms-copy-source: https://a.blob.core.windows.net/c/b%3Fsv%3D2022%26sig%3D{SIG}%26se%3D2030",
            "x-ms-copy-source: https://a.blob.core.windows.net/c/b%3Fsv%3D2022%26sig%3D***%26se%3D2030",
        ),
        (
            f"    'Authorization': 'SharedKey devstoreaccount1:{SHARED_KEY_SIG}'",
            "    'Authorization': 'SharedKey devstoreaccount1:***'",
        ),
        (f"Authorization: SharedKeyLite acct:{SHARED_KEY_SIG}", "Authorization: SharedKeyLite acct:***"),
        (f"'Authorization': 'Bearer {JWT}'", "'Authorization': 'Bearer ***'"),
        (f"authorization=bearer {JWT}", "authorization=bearer ***"),
        (
            "GET /runtime/webhooks/durabletask/instances?token=s3cret&top=5",
            "GET /runtime/webhooks/durabletask/instances?token=***&top=5",
        ),
        ("b'/?Token=abc%2Fdef x'", "b'/?Token=*** x'"),
    ],
)
def test_every_kind_of_secret_is_masked_and_the_rest_kept(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_403_error_keeps_status_and_code_but_loses_the_mac_and_the_string_to_sign() -> None:
    # The shape azure-storage's process_storage_error produces from an AuthenticationFailed body.
    text = (
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
        "correctly including the signature.\nRequestId:1b2c3d4e-0001-0000-0000-000000000000\n"
        "Time:2026-11-24T10:00:00.0000000Z\nErrorCode:AuthenticationFailed\n"
        f"authenticationerrordetail:The MAC signature found in the HTTP request '{SHARED_KEY_SIG}' is not the same "
        f"as any computed signature. Server used following string to sign: '{STRING_TO_SIGN}'.\nContent: ..."
    )
    masked = redact(text)
    assert SHARED_KEY_SIG not in masked and "x-ms-date" not in masked
    assert "the HTTP request '***' is not the same" in masked
    assert "string to sign: '***'.\nContent: ..." in masked
    assert "ErrorCode:AuthenticationFailed" in masked and "RequestId:1b2c3d4e" in masked


def test_a_string_to_sign_with_quoted_table_keys_is_masked_whole() -> None:
    text = (
        "<AuthenticationErrorDetail>Server used following string to sign: 'PUT\n\napplication/json\n"
        "/acct/HubInstances(PartitionKey='abc',RowKey='')'.</AuthenticationErrorDetail>"
    )
    assert redact(text) == (
        "<AuthenticationErrorDetail>Server used following string to sign: '***'.</AuthenticationErrorDetail>"
    )


def test_a_string_to_sign_inside_json_with_escaped_newlines_is_masked() -> None:
    text = '{"odata.error":{"message":{"value":"Server used following string to sign: \'GET\\n\\n/acct/T\'."}}}'
    assert redact(text) == '{"odata.error":{"message":{"value":"Server used following string to sign: \'***\'."}}}'


def test_a_truncated_string_to_sign_is_masked_to_the_end() -> None:
    truncated = "Server used following string to sign: 'GET\n\n/acct/q"
    assert redact(truncated) == "Server used following string to sign: '***"


@pytest.mark.parametrize(
    "text",
    [
        "queue myhub-control-00 not found (404, QueueNotFound)",
        "https://acct.blob.core.windows.net/c/design.txt?comp=list&restype=container",
        "signature verified; signal=3; design=ok",
        "partition myhub-control-03 acquired by worker-1",
    ],
)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_redacting_twice_changes_nothing_more() -> None:
    text = f"AccountKey={KEY};x sig={SIG} Bearer {JWT} SharedKey a:{SHARED_KEY_SIG}"
    assert redact(redact(text)) == redact(text)


# --- the logging filter ---------------------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger under ``azure`` whose handler carries the filter, as the filter's docstring asks."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretMaskingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("azure.core.pipeline.policies.test_redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_the_filter_masks_secrets_passed_as_arguments(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    headers = {"Authorization": f"SharedKey devstoreaccount1:{SHARED_KEY_SIG}", "x-ms-version": "2019-02-02"}
    logger.debug("Request headers: %s, url %r", headers, f"https://a.table.core.windows.net/T?sig={SIG}")
    output = stream.getvalue()
    assert SHARED_KEY_SIG not in output and SIG not in output
    assert "SharedKey devstoreaccount1:***" in output and "sig=***" in output and "2019-02-02" in output


def test_the_filter_masks_the_exception_text(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise RuntimeError(f"Server used following string to sign: '{STRING_TO_SIGN}'. AccountKey={DEV_ACCOUNT_KEY}")
    except RuntimeError:
        logger.warning("request failed", exc_info=True)
    output = stream.getvalue()
    assert "x-ms-date" not in output and DEV_ACCOUNT_KEY not in output
    assert "RuntimeError: Server used following string to sign: '***'. AccountKey=***" in output


def test_the_filter_keeps_every_record_and_masks_a_message_that_does_not_format() -> None:
    record = logging.LogRecord("azure", logging.INFO, __file__, 1, "key %s %s", (f"AccountKey={KEY}",), None)
    assert SecretMaskingFilter().filter(record) is True
    assert KEY not in record.getMessage()
    assert "AccountKey=***" in record.getMessage()


def test_the_filter_masks_the_stack_info() -> None:
    record = logging.LogRecord("azure", logging.INFO, __file__, 1, "m", (), None, sinfo=f"Stack: sig={SIG}")
    SecretMaskingFilter().filter(record)
    assert record.stack_info == "Stack: sig=***"


def test_a_filter_given_a_secret_masks_it_and_its_url_encoded_forms_wherever_they_appear() -> None:
    secret = "tok/en+with space"
    record = logging.LogRecord(
        "aiohttp.server",
        logging.ERROR,
        __file__,
        1,
        "seen %s, %s and %s",
        (secret, "tok%2Fen%2Bwith%20space", "tok%2Fen%2Bwith+space"),
        None,
    )
    SecretMaskingFilter([secret]).filter(record)
    assert record.getMessage() == "seen ***, *** and ***"
