"""The SDK credential of a :class:`~durable_storage._connection.StorageConnection` (reliability.md §4.2).

The async SDK clients take the credential object directly; an ``azure.identity.aio`` credential owns an HTTP
session, so whoever builds one closes it (``StorageAccount.close``).
"""

from __future__ import annotations

from typing import TypeAlias

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from durable_storage._connection import StorageConnection

__all__ = ["StorageCredential", "build_credential"]

StorageCredential: TypeAlias = AzureNamedKeyCredential | AzureSasCredential | AsyncTokenCredential


def build_credential(conn: StorageConnection) -> StorageCredential:
    """The credential the async queue, table and blob clients accept for ``conn``.

    No token is requested here: identity credentials fetch one at the first storage call.

    Args:
        conn: the parsed connection.

    Returns:
        ``AzureNamedKeyCredential`` for a shared key, ``AzureSasCredential`` for a SAS token,
        ``ManagedIdentityCredential(client_id=...)`` for ``credential=managedidentity``, and otherwise
        ``DefaultAzureCredential``, told the user-assigned identity's client ID when one is configured.
    """
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
