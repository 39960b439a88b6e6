"""DurableHttpRequest, DurableHttpResponse and ManagedIdentityTokenSource: the wire forms and their checks."""

from __future__ import annotations

from datetime import timedelta

import azure.durable_functions as adf
import pytest

import durable_storage as df
from durable_storage.client._entities import check_entity_id


def test_a_request_reads_the_extensions_json_also_as_dotnets_one_element_list() -> None:
    wire = {
        "method": "POST",
        "uri": "https://example.com/x",
        "content": "{}",
        "headers": {"Accept": ["a", "b"]},
        "tokenSource": {"resource": "https://r/", "kind": "AzureManagedIdentity"},
        "timeout": "1.02:03:04.5000000",
    }

    for data in (wire, [wire]):
        request = df.DurableHttpRequest.from_json(data)
        assert request.timeout == timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500)
        assert request.token_source == df.ManagedIdentityTokenSource("https://r/")
        assert request.to_json() == wire


def test_the_sdks_token_source_is_accepted_and_other_kinds_are_refused() -> None:
    request = df.DurableHttpRequest("GET", "https://x", token_source=adf.ManagedIdentityTokenSource("https://r/"))
    assert request.token_source == df.ManagedIdentityTokenSource("https://r/")

    with pytest.raises(ValueError, match="token_source of type dict is invalid: must be a ManagedIdentityTokenSource"):
        df.DurableHttpRequest("GET", "https://x", token_source={"kind": "Other", "resource": "r"})


def test_a_request_repr_shows_neither_headers_nor_the_query() -> None:
    request = df.DurableHttpRequest("GET", "https://x/api?code=k3y", headers={"Authorization": "Bearer s3cret"})

    assert repr(request) == "DurableHttpRequest('GET', 'https://x/api')"


def test_a_response_is_the_dict_the_orchestrator_gets_typed() -> None:
    wire = {"statusCode": 202, "headers": {"Location": "https://x/op/1"}, "content": ""}

    response = df.DurableHttpResponse.from_json(wire)

    assert (response.status_code, response.headers["Location"]) == (202, "https://x/op/1")
    assert response.to_json() == wire


def test_the_client_takes_the_sdks_entity_id() -> None:
    assert check_entity_id(adf.EntityId("Counter", "k")) == df.EntityId("counter", "k")
    with pytest.raises(df.ConfigurationError, match="entity_id 'counter' is invalid: must be an EntityId"):
        check_entity_id("counter")
