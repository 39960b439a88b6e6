"""The SDK credential of a :class:`~durable_storage._connection.StorageConnection` (reliability.md §4.2).

The async SDK clients take the credential object directly; an ``azure.identity.aio`` credential owns an HTTP
session, so whoever builds one closes it (``StorageAccount.close``). A credential the caller supplied stays the
caller's: it is checked here, never closed by us.
"""

from __future__ import annotations

import inspect
from typing import TypeAlias

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from durable_storage._connection import StorageConnection
from durable_storage.errors import ConfigurationError

__all__ = [
    "StorageCredential",
    "build_credential",
    "check_supplied_credential",
    "check_token_credential",
    "default_token_credential",
]

StorageCredential: TypeAlias = AzureNamedKeyCredential | AzureSasCredential | AsyncTokenCredential


def check_supplied_credential(credential: object, conn: StorageConnection) -> StorageCredential:
    """``credential`` if the async SDK clients can use it for ``conn``'s endpoints.

    Raises:
        ConfigurationError: not a credential object; a synchronous token credential (``azure.identity`` instead of
            ``azure.identity.aio``); or a token credential over plain http, which would send the token in clear.
            The message names the type, never the credential's contents.
    """
    if isinstance(credential, (AzureNamedKeyCredential, AzureSasCredential)):
        return credential
    token_credential = check_token_credential(
        credential,
        "an async token credential (azure.identity.aio), an AzureNamedKeyCredential or an AzureSasCredential",
    )
    insecure = [e for e in (conn.queue_endpoint, conn.table_endpoint, conn.blob_endpoint) if e.startswith("http:")]
    if insecure:
        raise ConfigurationError(
            f"endpoint {insecure[0]!r} is invalid for a token credential: must be https, so the token never "
            "travels in clear"
        )
    return token_credential


def check_token_credential(
    credential: object, allowed: str = "an async token credential (azure.identity.aio)"
) -> AsyncTokenCredential:
    """``credential`` if it has an async ``get_token`` (an ``azure.identity.aio`` credential or a test's fake).

    Raises:
        ConfigurationError: it does not, or its ``get_token`` is synchronous; the message names the type, never
            the credential's contents.
    """
    get_token = getattr(credential, "get_token", None)
    kind = type(credential).__name__
    if get_token is None:
        raise ConfigurationError(f"credential of type {kind} is invalid: must be {allowed}")
    if not inspect.iscoroutinefunction(get_token):
        raise ConfigurationError(
            f"credential of type {kind} is invalid: its get_token is synchronous; the clients are async, so use the "
            "azure.identity.aio credential of the same name"
        )
    return credential  # type: ignore[return-value]  # duck-typed AsyncTokenCredential (a Protocol)


def default_token_credential() -> AsyncTokenCredential:
    """A new ``DefaultAzureCredential`` (environment, workload identity, managed identity, Azure CLI...).

    It owns an HTTP session: whoever asked for it closes it. No token is requested here.
    """
    return DefaultAzureCredential()


def build_credential(conn: StorageConnection, supplied: object = None) -> StorageCredential:
    """The credential the async queue, table and blob clients accept for ``conn``.

    No token is requested here: identity credentials fetch one at the first storage call.

    Args:
        conn: the parsed connection.
        supplied: the caller's credential object; required for ``auth="supplied"`` and refused otherwise (the
            connection already says how to authenticate).

    Returns:
        The supplied credential once checked; ``AzureNamedKeyCredential`` for a shared key,
        ``AzureSasCredential`` for a SAS token, ``ManagedIdentityCredential(client_id=...)`` for
        ``credential=managedidentity``, and otherwise ``DefaultAzureCredential``, told the user-assigned
        identity's client ID when one is configured.

    Raises:
        ConfigurationError: a credential missing for, or given besides, the connection's own authentication.
    """
    if conn.auth == "supplied":
        if supplied is None:
            raise ConfigurationError("credential None is invalid: a connection by account URL needs a credential")
        return check_supplied_credential(supplied, conn)
    if supplied is not None:
        raise ConfigurationError(
            f"credential of type {type(supplied).__name__} is invalid here: the connection string already "
            "authenticates; pass one or the other"
        )
    if conn.auth == "shared_key":
        # _check_auth guarantees both for shared_key; the asserts narrow the types.
        assert conn.account_name is not None and conn.account_key is not None
        return AzureNamedKeyCredential(conn.account_name, conn.account_key)
    if conn.auth == "sas":
        assert conn.sas_token is not None
        return AzureSasCredential(conn.sas_token)
    if conn.credential == "managedidentity":
        # client_id None means the system-assigned identity, as Functions does without __clientId.
        return ManagedIdentityCredential(client_id=conn.client_id)
    if conn.client_id:
        # Passing None would override AZURE_CLIENT_ID (azure-identity docs), so pass it only when set.
        return DefaultAzureCredential(managed_identity_client_id=conn.client_id)
    return DefaultAzureCredential()
