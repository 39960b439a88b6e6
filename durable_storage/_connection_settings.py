"""A connection from Functions-style settings: ``AzureWebJobsStorage`` as a connection string, or its
identity-based forms (``__accountName``, the three ``__{service}ServiceUri``, ``__credential``, ``__clientId``).

Pure, like ``_connection`` whose parsing and checks it reuses: errors name the setting, never a secret value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from durable_storage._connection import (
    _DEFAULT_SUFFIX,
    _SERVICES,
    DEFAULT_CONNECTION_SETTING,
    IdentityKind,
    StorageConnection,
    _build,
    _check_account_name,
    _endpoint,
    parse_connection_string,
)
from durable_storage.errors import ConfigurationError

__all__ = ["from_environment", "lookup_setting"]


def from_environment(
    name: str = DEFAULT_CONNECTION_SETTING, environ: Mapping[str, str] | None = None
) -> StorageConnection:
    """Read a connection as Durable Functions reads ``AzureWebJobsStorage`` (reliability.md §4.2).

    The variable ``name`` is read as a connection string. Without it, the identity-based settings are read:
    ``{name}__accountName`` (public Azure), or all three of ``{name}__queueServiceUri``,
    ``{name}__tableServiceUri`` and ``{name}__blobServiceUri`` (https only), with ``{name}__credential``
    (``managedidentity``, or unset for the default credential chain) and ``{name}__clientId`` (a user-assigned
    identity). Variable names match case-insensitively, as .NET configuration keys do.

    Args:
        name: the connection setting name.
        environ: the variables to read; ``os.environ`` when None.

    Returns:
        The connection.

    Raises:
        ConfigurationError: nothing is set (the message lists the variables looked for), or a setting is
            invalid (the message names the variable).
    """
    env = os.environ if environ is None else environ
    text = lookup_setting(env, name)
    if text is not None and text.strip():
        try:
            return parse_connection_string(text)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None
    return _identity_connection(name, env)


def lookup_setting(env: Mapping[str, str], key: str) -> str | None:
    """The value of setting ``key``: the exact name first, else any case of it (.NET configuration keys)."""
    if key in env:
        return env[key]
    lowered = key.lower()
    return next((value for k, value in env.items() if k.lower() == lowered), None)


def _identity_connection(name: str, env: Mapping[str, str]) -> StorageConnection:
    account = (lookup_setting(env, f"{name}__accountName") or "").strip()
    uris = {s: lookup_setting(env, f"{name}__{s}ServiceUri") for s in _SERVICES}
    if not account and not any(uris.values()):
        raise ConfigurationError(
            f"no storage connection is configured: set {name} to a connection string, or {name}__accountName, "
            f"or {name}__queueServiceUri, {name}__tableServiceUri and {name}__blobServiceUri"
        )
    if account:
        _check_account_name(f"{name}__accountName", account)
    if any(uris.values()):
        endpoints = _service_uris(name, uris)
    else:
        endpoints = {s: f"https://{account}.{s}.{_DEFAULT_SUFFIX}" for s in _SERVICES}
    client_id = (lookup_setting(env, f"{name}__clientId") or "").strip() or None
    return _build(
        account or None, endpoints, auth="identity", credential=_identity_kind(name, env), client_id=client_id
    )


def _service_uris(name: str, uris: Mapping[str, str | None]) -> dict[str, str]:
    if missing := [f"{name}__{s}ServiceUri" for s, uri in uris.items() if not uri]:
        raise ConfigurationError(
            f"{' and '.join(missing)} not set: identity-based connections by service URI need all three of "
            f"{name}__queueServiceUri, {name}__tableServiceUri and {name}__blobServiceUri"
        )
    return {s: _endpoint(f"{name}__{s}ServiceUri", uri or "", https_only=True) for s, uri in uris.items()}


def _identity_kind(name: str, env: Mapping[str, str]) -> IdentityKind:
    value = lookup_setting(env, f"{name}__credential")
    if not value:
        return "default"
    if value.strip().lower() == "managedidentity":
        return "managedidentity"
    raise ConfigurationError(
        f"{name}__credential {value!r} is invalid: must be managedidentity, or unset for the default credential chain"
    )
