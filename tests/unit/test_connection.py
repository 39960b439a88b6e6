"""Connection strings, Functions-style identity settings and SDK credentials (reliability.md §4.1, §4.2)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential
from hypothesis import given
from hypothesis import strategies as st

from durable_storage._connection import DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, StorageConnection, parse_connection_string
from durable_storage._connection_settings import from_environment
from durable_storage._storage import credentials
from durable_storage._storage.credentials import build_credential
from durable_storage.errors import ConfigurationError

KEY = "c2VjcmV0LWtleS1ieXRlcy1vZi10aGUtYWNjb3VudC0wMTIzNDU2Nzg5QUJDREVGR0g+/w=="  # base64, ends in '=='
SAS = "sv=2022-11-02&ss=bqt&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=S3cr3tS1gnature%2Bxyz%3D"
PORTAL = f"DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey={KEY};EndpointSuffix=core.windows.net"
AZURITE_PORTS = (
    f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_ACCOUNT_KEY};"
    "BlobEndpoint=http://127.0.0.1:41000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:41002/devstoreaccount1;"
)
SERVICES = ("queue", "table", "blob")
TABLE_AND_BLOB = "TableEndpoint=https://t.example;BlobEndpoint=https://b.example"
ENDPOINTS_AND_SAS = (
    "BlobEndpoint=https://myacct.blob.core.windows.net/;QueueEndpoint=https://myacct.queue.core.windows.net/;"
    f"TableEndpoint=https://myacct.table.core.windows.net/;SharedAccessSignature={SAS}"
)


def endpoints(conn: StorageConnection) -> tuple[str, str, str]:
    return conn.queue_endpoint, conn.table_endpoint, conn.blob_endpoint


def config_error(text: str) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        parse_connection_string(text)
    return caught.value


# --- development storage --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["UseDevelopmentStorage=true", "UseDevelopmentStorage=true;", "  usedevelopmentstorage = TRUE ; "]
)
def test_development_storage_is_devstoreaccount1_on_the_fixed_azurite_ports(text: str) -> None:
    conn = parse_connection_string(text)
    assert conn.account_name == DEV_ACCOUNT_NAME == "devstoreaccount1"
    assert (conn.auth, conn.account_key) == ("shared_key", DEV_ACCOUNT_KEY)
    assert endpoints(conn) == (
        "http://127.0.0.1:10001/devstoreaccount1",
        "http://127.0.0.1:10002/devstoreaccount1",
        "http://127.0.0.1:10000/devstoreaccount1",
    )


def test_a_development_storage_proxy_keeps_the_fixed_ports_on_the_proxy_host() -> None:
    conn = parse_connection_string("UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://emulator.local")
    assert conn.queue_endpoint == "http://emulator.local:10001/devstoreaccount1"
    assert conn.blob_endpoint == "http://emulator.local:10000/devstoreaccount1"


def test_development_storage_must_be_true() -> None:
    message = str(config_error("UseDevelopmentStorage=false"))
    assert message.startswith("UseDevelopmentStorage 'false' is invalid: must be true")


def test_development_storage_does_not_combine_with_account_settings() -> None:
    message = str(config_error(f"UseDevelopmentStorage=true;AccountName=x;AccountKey={KEY}"))
    assert message.startswith("UseDevelopmentStorage=true cannot be combined with AccountKey, AccountName: only")
    assert KEY not in message


# --- account key ----------------------------------------------------------------------------------------------


def test_a_portal_connection_string_derives_the_three_public_endpoints() -> None:
    conn = parse_connection_string(PORTAL)
    assert (conn.account_name, conn.auth, conn.account_key) == ("myacct", "shared_key", KEY)
    assert endpoints(conn) == (
        "https://myacct.queue.core.windows.net",
        "https://myacct.table.core.windows.net",
        "https://myacct.blob.core.windows.net",
    )


def test_protocol_defaults_to_https_and_the_suffix_to_core_windows_net() -> None:
    conn = parse_connection_string(f"AccountName=myacct;AccountKey={KEY}")
    assert conn.table_endpoint == "https://myacct.table.core.windows.net"


def test_a_sovereign_cloud_suffix_and_http_protocol_are_used() -> None:
    text = f"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.chinacloudapi.cn"
    assert parse_connection_string(text).blob_endpoint == "http://acct.blob.core.chinacloudapi.cn"


def test_explicit_endpoints_on_any_port_are_kept_without_a_trailing_slash() -> None:
    conn = parse_connection_string(AZURITE_PORTS.replace("41001/devstoreaccount1", "41001/devstoreaccount1/"))
    assert conn.account_name == "devstoreaccount1"
    assert endpoints(conn) == (
        "http://127.0.0.1:41001/devstoreaccount1",
        "http://127.0.0.1:41002/devstoreaccount1",
        "http://127.0.0.1:41000/devstoreaccount1",
    )


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1", "but no TableEndpoint or BlobEndpoint"),
        ("QueueEndpoint=https://q.example;TableEndpoint=https://t.example", "but no BlobEndpoint"),
    ],
)
def test_some_endpoints_without_the_others_are_refused_not_sent_to_public_azure(given: str, missing: str) -> None:
    # Deriving the others from AccountName sent an emulator's table and blob calls to *.core.windows.net.
    text = f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT_NAME};AccountKey={DEV_ACCOUNT_KEY};{given}"
    error = str(config_error(text))
    assert missing in error and "give all three endpoints, or none to derive them from AccountName" in error
    assert DEV_ACCOUNT_KEY not in error


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../x", "AccountName '../../x' is invalid"),
        ("acct\x00x", "AccountName 'acct\\x00x' is invalid"),
        ("MyAccount", "AccountName 'MyAccount' is invalid"),
        ("ab", "AccountName 'ab' is invalid"),
        ("a" * 25, "AccountName 'aaaaaaaaaaaaaaaaaaaaaaaaa' is invalid"),
        (KEY.rstrip("="), "AccountName (a value that is not shown) is invalid"),
    ],
)
def test_an_account_name_that_azure_would_not_allow_is_refused(name: str, shown: str) -> None:
    error = str(config_error(f"AccountName={name};AccountKey={KEY}"))
    assert error == f"{shown}: must be 3-24 lowercase letters or digits"


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:10001/dev\x00x", "http://127.0.0.1:10001/a b", "http://127.0.0.1:10001/../../x"],
)
def test_an_endpoint_with_control_characters_spaces_or_dot_segments_is_refused(endpoint: str) -> None:
    text = f"QueueEndpoint={endpoint};{TABLE_AND_BLOB};SharedAccessSignature={SAS}"
    error = str(config_error(text))
    assert error.startswith("QueueEndpoint ") and "without spaces, control characters or '.'/'..' path" in error


def test_a_connection_built_directly_refuses_an_invalid_account_name() -> None:
    with pytest.raises(ConfigurationError, match="account_name 'a/b' is invalid: must be 3-24 lowercase"):
        StorageConnection(
            account_name="a/b", queue_endpoint=Q, table_endpoint=T, blob_endpoint=B, auth="sas", sas_token="sig=1"
        )


def test_keys_are_case_insensitive_whitespace_is_ignored_and_values_keep_their_equals_signs() -> None:
    text = f"  defaultendpointsprotocol = https ;\taccountNAME=myacct ; ACCOUNTKEY = {KEY} ;;"
    assert parse_connection_string(text) == parse_connection_string(PORTAL)


def test_file_and_secondary_endpoints_are_accepted_and_ignored() -> None:
    text = f"{PORTAL};FileEndpoint=https://myacct.file.core.windows.net;QueueSecondaryEndpoint=https://x.example"
    assert parse_connection_string(text) == parse_connection_string(PORTAL)


# --- shared access signature ----------------------------------------------------------------------------------


def test_a_sas_connection_string_with_endpoints() -> None:
    conn = parse_connection_string(ENDPOINTS_AND_SAS)
    assert (conn.auth, conn.sas_token, conn.account_key) == ("sas", SAS, None)
    assert conn.account_name == "myacct"  # recognised in the endpoint host
    assert conn.blob_endpoint == "https://myacct.blob.core.windows.net"


def test_a_leading_question_mark_is_dropped_from_the_sas() -> None:
    conn = parse_connection_string(ENDPOINTS_AND_SAS.replace("SharedAccessSignature=", "SharedAccessSignature=?"))
    assert conn.sas_token == SAS


def test_a_sas_with_an_account_name_derives_the_endpoints() -> None:
    conn = parse_connection_string(f"AccountName=myacct;SharedAccessSignature={SAS}")
    assert conn.queue_endpoint == "https://myacct.queue.core.windows.net"


# --- malformed strings: the message names the part and the rule, never the secret -----------------------------

MALFORMED = [
    ("", "connection string is empty: expected Key=Value settings separated by ';'"),
    ("  ;  ", "connection string is empty"),
    (f"AccountName=myacct;AccountKey {KEY[:-2]}", "connection string part 2 is invalid: must be Key=Value"),
    (f"=x;AccountKey={KEY}", "connection string part 1 is invalid: must be Key=Value"),
    (
        f"DefaultEndpointsProtocol=ftp;AccountName=acct;AccountKey={KEY}",
        "DefaultEndpointsProtocol 'ftp' is invalid: must",
    ),
    ("DefaultEndpointsProtocol=https;AccountName=myacct", "connection string has no credential: needs AccountKey"),
    (f"AccountKey={KEY}", "connection string has AccountKey but no AccountName"),
    (f"SharedAccessSignature={SAS}", "connection string has no QueueEndpoint, TableEndpoint or BlobEndpoint and no"),
    (
        f"QueueEndpoint=https://q.example;SharedAccessSignature={SAS}",
        "connection string has QueueEndpoint but no TableEndpoint or BlobEndpoint: a task hub uses all three",
    ),
    (
        f"{PORTAL};QueueEndpoint=ftp://q.example;{TABLE_AND_BLOB}",
        "QueueEndpoint 'ftp://q.example' is invalid: must be an http or https",
    ),
    (
        f"{PORTAL};TableEndpoint=localhost;QueueEndpoint=https://q.example;BlobEndpoint=https://b.example",
        "TableEndpoint 'localhost' is invalid: must be an http or https URL",
    ),
    (
        f"{PORTAL};BlobEndpoint=https://b.example/?{SAS};QueueEndpoint=https://q.example;TableEndpoint=https://t.x",
        "BlobEndpoint is invalid: must not carry a query string",
    ),
    (f"{PORTAL};SharedAccessSignature={SAS}", "connection string sets both AccountKey and SharedAccessSignature"),
    (f"{PORTAL};AccountKy={KEY}", "connection string setting 'AccountKy' is not supported: must be one of"),
    (f"{KEY}", "connection string setting (a name that is not shown) is not supported"),
    (f"{PORTAL};accountkey={KEY}", "connection string sets AccountKey twice: each setting may appear once"),
    ("AccountName=myacct;AccountKey=", "connection string setting AccountKey is empty: must have a value"),
    (f"AccountName=myacct;AccountKey={KEY[:-3]}!", "AccountKey is invalid: must be base64 (value not shown)"),
    (f"AccountName=acct;SharedAccessSignature={SAS.replace('sig=', 'sog=')}", "SharedAccessSignature is invalid: must"),
    (f"{PORTAL[:-16]}core/windows", "EndpointSuffix 'core/windows' is invalid: must be a DNS suffix"),
]


@pytest.mark.parametrize(("text", "expected"), MALFORMED)
def test_a_malformed_connection_string_names_the_bad_part_and_the_rule(text: str, expected: str) -> None:
    assert str(config_error(text)).startswith(expected)


@pytest.mark.parametrize(("text", "expected"), MALFORMED)
def test_no_error_ever_contains_the_key_or_the_signature(text: str, expected: str) -> None:
    error = config_error(text)
    for secret in (KEY, KEY[:20], KEY[:-3], "S3cr3tS1gnature"):
        assert secret not in str(error)
        assert secret not in repr(error)


@given(
    secret=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=32),
    template=st.sampled_from(
        [
            "AccountName=a;{s}",
            "{s}=",
            "AccountKey={s}!",
            "AccountKey={s}",
            "UseDevelopmentStorage=true;AccountKey={s}",
            "QueueEndpoint=https://q/?sig={s};SharedAccessSignature=sig={s}",
            "AccountName=a;SharedAccessSignature=sv=1&sog={s}",
            "AccountName=a;AccountKey={s}==;SharedAccessSignature=sig={s}",
        ]
    ),
)
def test_no_malformed_string_leaks_its_secret_into_the_error(secret: str, template: str) -> None:
    error = config_error(template.format(s=secret))
    assert secret not in str(error)
    assert secret not in repr(error)


# --- repr and description -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [PORTAL, ENDPOINTS_AND_SAS, "UseDevelopmentStorage=true"])
def test_repr_and_str_show_the_account_and_endpoints_but_mask_the_key_and_sas(text: str) -> None:
    conn = parse_connection_string(text)
    for shown in (repr(conn), str(conn), conn.describe()):
        assert KEY not in shown and DEV_ACCOUNT_KEY not in shown and "S3cr3tS1gnature" not in shown
        assert str(conn.account_name) in shown and conn.queue_endpoint in shown
    assert "***" in repr(conn)


def test_describe_is_one_readable_line() -> None:
    assert parse_connection_string(PORTAL).describe() == (
        "storage account 'myacct' using a shared key: queue https://myacct.queue.core.windows.net, "
        "table https://myacct.table.core.windows.net, blob https://myacct.blob.core.windows.net"
    )


# --- direct construction keeps the same invariants ------------------------------------------------------------

Q, T, B = "https://a.queue.x.net", "https://a.table.x.net", "https://a.blob.x.net"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"auth": "shared_key", "account_name": "acct"}, "auth 'shared_key' is incomplete: needs account_key"),
        ({"auth": "sas", "account_name": "acct"}, "auth 'sas' is incomplete: needs sas_token"),
        ({"auth": "sas", "account_name": None, "sas_token": "sig=1", "account_key": KEY}, "account_key must be None"),
        ({"auth": "identity", "account_name": "acct"}, "auth 'identity' is incomplete: needs credential"),
        ({"auth": "identity", "account_name": "acct", "credential": "cli"}, "credential 'cli' is invalid: must be"),
        ({"auth": "token", "account_name": "acct"}, "auth 'token' is invalid: must be shared_key, sas, identity"),
    ],
)
def test_a_connection_built_directly_is_checked_too(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        StorageConnection(queue_endpoint=Q, table_endpoint=T, blob_endpoint=B, **fields)
    assert expected in str(caught.value)
    assert KEY not in str(caught.value)


def test_an_identity_connection_refuses_http_endpoints() -> None:
    with pytest.raises(ConfigurationError, match="queue_endpoint 'http://a' is invalid: identity-based connections"):
        StorageConnection(
            account_name="acct",
            queue_endpoint="http://a",
            table_endpoint=T,
            blob_endpoint=B,
            auth="identity",
            credential="default",
        )


# --- from_environment -----------------------------------------------------------------------------------------


def test_the_variable_is_read_as_a_connection_string() -> None:
    assert from_environment(environ={"AzureWebJobsStorage": PORTAL}) == parse_connection_string(PORTAL)


def test_another_connection_name_is_honoured_and_names_match_case_insensitively() -> None:
    conn = from_environment("MyStorage", environ={"MYSTORAGE": "UseDevelopmentStorage=true"})
    assert conn.account_name == "devstoreaccount1"


def test_os_environ_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", PORTAL)
    assert from_environment().account_name == "myacct"


def test_a_bad_connection_string_variable_is_named_in_the_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        from_environment(environ={"AzureWebJobsStorage": f"AccountKey={KEY}"})
    assert str(caught.value) == (
        "AzureWebJobsStorage: connection string has AccountKey but no AccountName: a shared key needs both"
    )


def test_an_account_name_means_the_default_credential_on_public_azure() -> None:
    conn = from_environment(environ={"AzureWebJobsStorage__accountName": "myacct"})
    assert (conn.auth, conn.credential, conn.client_id, conn.account_name) == ("identity", "default", None, "myacct")
    assert endpoints(conn) == (
        "https://myacct.queue.core.windows.net",
        "https://myacct.table.core.windows.net",
        "https://myacct.blob.core.windows.net",
    )


def test_a_user_assigned_managed_identity() -> None:
    env = {
        "AzureWebJobsStorage__accountName": "myacct",
        "AzureWebJobsStorage__credential": "ManagedIdentity",
        "AzureWebJobsStorage__clientId": "00000000-1111-2222-3333-444444444444",
    }
    conn = from_environment(environ=env)
    assert (conn.credential, conn.client_id) == ("managedidentity", "00000000-1111-2222-3333-444444444444")


def test_three_service_uris_for_a_sovereign_cloud() -> None:
    env = {f"AzureWebJobsStorage__{s}ServiceUri": f"https://acct.{s}.core.usgovcloudapi.net/" for s in SERVICES}
    conn = from_environment(environ=env)
    assert conn.account_name == "acct"
    assert conn.table_endpoint == "https://acct.table.core.usgovcloudapi.net"


def test_the_connection_string_wins_over_identity_settings() -> None:
    env = {"AzureWebJobsStorage": PORTAL, "AzureWebJobsStorage__accountName": "other"}
    assert from_environment(environ=env).auth == "shared_key"


def env_error(env: dict[str, str], name: str = "AzureWebJobsStorage") -> str:
    with pytest.raises(ConfigurationError) as caught:
        from_environment(name, environ=env)
    return str(caught.value)


def test_nothing_set_names_every_variable_looked_for() -> None:
    assert env_error({"Unrelated": "x"}, "Store") == (
        "no storage connection is configured: set Store to a connection string, or Store__accountName, "
        "or Store__queueServiceUri, Store__tableServiceUri and Store__blobServiceUri"
    )


def test_an_empty_connection_string_variable_counts_as_unset() -> None:
    assert env_error({"AzureWebJobsStorage": " "}).startswith("no storage connection is configured")


def test_service_uris_need_all_three() -> None:
    env = {"AzureWebJobsStorage__queueServiceUri": "https://a.queue.core.windows.net"}
    assert env_error(env) == (
        "AzureWebJobsStorage__tableServiceUri and AzureWebJobsStorage__blobServiceUri not set: identity-based "
        "connections by service URI need all three of AzureWebJobsStorage__queueServiceUri, "
        "AzureWebJobsStorage__tableServiceUri and AzureWebJobsStorage__blobServiceUri"
    )


def test_identity_connections_refuse_http() -> None:
    env = {f"AzureWebJobsStorage__{s}ServiceUri": f"https://a.{s}.core.windows.net" for s in SERVICES}
    env["AzureWebJobsStorage__blobServiceUri"] = "http://127.0.0.1:10000/devstoreaccount1"
    assert env_error(env) == (
        "AzureWebJobsStorage__blobServiceUri 'http://127.0.0.1:10000/devstoreaccount1' is invalid: "
        "identity-based connections must use https, so the token never travels over plain http"
    )


def test_an_unknown_credential_kind_is_refused() -> None:
    env = {"AzureWebJobsStorage__accountName": "myacct", "AzureWebJobsStorage__credential": "clientsecret"}
    assert env_error(env) == (
        "AzureWebJobsStorage__credential 'clientsecret' is invalid: must be managedidentity, "
        "or unset for the default credential chain"
    )


def test_an_invalid_account_name_is_refused() -> None:
    assert env_error({"AzureWebJobsStorage__accountName": "My-Account"}) == (
        "AzureWebJobsStorage__accountName 'My-Account' is invalid: must be 3-24 lowercase letters or digits"
    )


# --- SDK credentials (built, never used: no token is requested and nothing touches the network) ----------------


def test_a_shared_key_becomes_a_named_key_credential() -> None:
    credential = build_credential(parse_connection_string(PORTAL))
    assert isinstance(credential, AzureNamedKeyCredential)
    assert (credential.named_key.name, credential.named_key.key) == ("myacct", KEY)


def test_a_sas_becomes_a_sas_credential() -> None:
    credential = build_credential(parse_connection_string(ENDPOINTS_AND_SAS))
    assert isinstance(credential, AzureSasCredential)
    assert credential.signature == SAS


class Recorder:
    """Stands in for an azure.identity class and records how it was constructed."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


@pytest.mark.parametrize(
    ("settings", "cls_name", "kwargs"),
    [
        ({}, "DefaultAzureCredential", {}),
        ({"clientId": "cid"}, "DefaultAzureCredential", {"managed_identity_client_id": "cid"}),
        ({"credential": "managedidentity"}, "ManagedIdentityCredential", {"client_id": None}),
        ({"credential": "managedidentity", "clientId": "cid"}, "ManagedIdentityCredential", {"client_id": "cid"}),
    ],
)
def test_identity_settings_map_to_the_azure_identity_credential(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], cls_name: str, kwargs: dict[str, Any]
) -> None:
    monkeypatch.setattr(credentials, cls_name, Recorder)
    credential = build_credential(from_environment(environ=identity_env(**settings)))
    assert isinstance(credential, Recorder)
    assert credential.kwargs == kwargs


async def test_identity_credentials_are_the_async_azure_identity_types() -> None:
    managed = build_credential(from_environment(environ=identity_env(credential="managedidentity", clientId="cid")))
    assert isinstance(managed, ManagedIdentityCredential)
    await managed.close()
    default = build_credential(from_environment(environ=identity_env()))
    assert isinstance(default, DefaultAzureCredential)
    await default.close()


def identity_env(**settings: str) -> dict[str, str]:
    return {"AzureWebJobsStorage__accountName": "myacct"} | {
        f"AzureWebJobsStorage__{k}": v for k, v in settings.items()
    }
