"""Where the storage account is and how to authenticate: connection strings and service URLs.

Functions-style settings (``AzureWebJobsStorage`` and its identity-based forms) are read by
``_connection_settings``, on top of this module.

Pure parsing, no azure import: ``_storage/credentials.py`` turns a :class:`StorageConnection` into an SDK
credential. No error message, ``repr`` or ``str`` here ever contains an account key or a SAS signature
(reliability.md §4.1): errors name the setting and the rule, never the secret value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from durable_storage.errors import ConfigurationError

__all__ = [
    "DEFAULT_CONNECTION_SETTING",
    "DEV_ACCOUNT_KEY",
    "DEV_ACCOUNT_NAME",
    "DEV_PORTS",
    "AuthKind",
    "IdentityKind",
    "StorageConnection",
    "from_service_url",
    "parse_connection_string",
]

AuthKind = Literal["shared_key", "sas", "identity", "supplied"]
IdentityKind = Literal["default", "managedidentity"]

DEFAULT_CONNECTION_SETTING = "AzureWebJobsStorage"
DEV_ACCOUNT_NAME = "devstoreaccount1"
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""The public, well-known key of the storage emulator; still masked like any key, so there is one code path."""

_SERVICES = ("queue", "table", "blob")
# UseDevelopmentStorage=true is hard-mapped to these ports by every SDK (toolchain.md §3).
DEV_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
_DEFAULT_SUFFIX = "core.windows.net"
_MASK = "***"

# The spelling used in messages, by lowercased key (connection string keys are case-insensitive).
_KEY_NAMES: tuple[str, ...] = (
    "UseDevelopmentStorage",
    "DevelopmentStorageProxyUri",
    "DefaultEndpointsProtocol",
    "EndpointSuffix",
)
_KEY_NAMES += ("AccountName", "AccountKey", "SharedAccessSignature", "QueueEndpoint", "TableEndpoint", "BlobEndpoint")
_KEYS = {key.lower(): key for key in _KEY_NAMES}
# Valid in Azure connection strings but unused by a task hub: accepted and ignored.
_IGNORED_KEYS = {"fileendpoint", *(f"{s}secondaryendpoint" for s in ("queue", "table", "blob", "file"))}
# Every setting name is letters only and at most 26 long; a pasted key or signature is longer or has digits.
_SETTING_NAME = re.compile(r"[A-Za-z]{1,30}")
_ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
# Spaces and control characters (NUL included), which no service URL holds.
_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True, kw_only=True)
class StorageConnection:
    """One storage account: its three service endpoints and how to authenticate to them.

    Build one with :func:`parse_connection_string` or :func:`from_environment`. ``repr`` and ``str`` show
    the account name and endpoints only; a key or SAS is shown as ``***``.

    Attributes:
        account_name: the account name, or None when neither given nor recognisable in the endpoints.
        queue_endpoint: the queue service URL, no trailing ``/`` (Azurite: ``http://127.0.0.1:10001/devstoreaccount1``).
        table_endpoint: the table service URL, no trailing ``/``.
        blob_endpoint: the blob service URL, no trailing ``/``.
        auth: ``shared_key`` (account key), ``sas`` (SAS token), ``identity`` (Microsoft Entra token), or
            ``supplied``: the caller hands the SDK credential object to the storage layer itself
            (:func:`from_service_url`), so this object holds no secret at all.
        account_key: the base64 account key, for ``shared_key``.
        sas_token: the SAS token without a leading ``?``, for ``sas``.
        credential: for ``identity``: ``default`` (the DefaultAzureCredential chain) or ``managedidentity``.
        client_id: for ``identity``: the client ID of a user-assigned managed identity, or None.
    """

    account_name: str | None
    queue_endpoint: str
    table_endpoint: str
    blob_endpoint: str
    auth: AuthKind
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    credential: IdentityKind | None = None
    client_id: str | None = None

    def __post_init__(self) -> None:
        if self.account_name is not None:
            _check_account_name("account_name", self.account_name)
        _check_auth(self)
        https_only = self.auth == "identity"
        for service in _SERVICES:
            name = f"{service}_endpoint"
            # Normalises a trailing '/' away, so the stored endpoints compare and join predictably.
            object.__setattr__(self, name, _endpoint(name, getattr(self, name), https_only=https_only))

    def describe(self) -> str:
        """A one-line, secret-free description: account, authentication and endpoints."""
        return (
            f"storage account {self.account_name or '(unnamed)'!r} using {self._auth_description()}: "
            f"queue {self.queue_endpoint}, table {self.table_endpoint}, blob {self.blob_endpoint}"
        )

    def _auth_description(self) -> str:
        if self.auth == "shared_key":
            return "a shared key"
        if self.auth == "sas":
            return "a SAS token"
        if self.auth == "supplied":
            return "a credential supplied by the caller"
        kind = "a managed identity" if self.credential == "managedidentity" else "the default Azure credential"
        return f"{kind} (client ID {self.client_id})" if self.client_id else kind

    def __repr__(self) -> str:
        key = _MASK if self.account_key is not None else None
        sas = _MASK if self.sas_token is not None else None
        return (
            f"StorageConnection(account_name={self.account_name!r}, auth={self.auth!r}, "
            f"queue_endpoint={self.queue_endpoint!r}, table_endpoint={self.table_endpoint!r}, "
            f"blob_endpoint={self.blob_endpoint!r}, account_key={key!r}, sas_token={sas!r}, "
            f"credential={self.credential!r}, client_id={self.client_id!r})"
        )

    def __str__(self) -> str:
        return self.describe()


# The fields each auth kind needs, and the optional fields it allows besides those.
_AUTH_FIELDS: dict[str, tuple[str, ...]] = {
    "shared_key": ("account_name", "account_key"),
    "sas": ("sas_token",),
    "identity": ("credential",),
    "supplied": (),
}
_AUTH_OPTIONAL: dict[str, tuple[str, ...]] = {
    "shared_key": (),
    "sas": ("account_name",),
    "identity": ("account_name", "client_id"),
    "supplied": ("account_name",),
}


def _check_auth(conn: StorageConnection) -> None:
    """The invariants of each auth kind, for objects built directly rather than parsed."""
    if conn.auth not in _AUTH_FIELDS:
        raise ConfigurationError(f"auth {conn.auth!r} is invalid: must be shared_key, sas, identity or supplied")
    needed, optional = _AUTH_FIELDS[conn.auth], _AUTH_OPTIONAL[conn.auth]
    if missing := [name for name in needed if not getattr(conn, name)]:
        raise ConfigurationError(f"auth {conn.auth!r} is incomplete: needs {' and '.join(missing)}")
    others = ("account_key", "sas_token", "credential", "client_id")
    if extra := [name for name in others if name not in needed + optional and getattr(conn, name) is not None]:
        raise ConfigurationError(f"auth {conn.auth!r} is inconsistent: {' and '.join(extra)} must be None")
    if conn.credential not in (None, "default", "managedidentity"):
        raise ConfigurationError(f"credential {conn.credential!r} is invalid: must be 'default' or 'managedidentity'")


def _endpoint(label: str, value: str, *, https_only: bool = False) -> str:
    """A validated service endpoint without a trailing ``/``; ``label`` names the setting in errors."""
    try:
        parts = urlsplit(value.strip())
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ConfigurationError(f"{label} is invalid: must be an http or https URL (value not shown)") from None
    if parts.query or parts.fragment or parts.username is not None:
        # Checked first and never echoed: a SAS 'sig' or a password would be in exactly these parts.
        raise ConfigurationError(
            f"{label} is invalid: must not carry a query string, fragment or user info "
            "(put a SAS in SharedAccessSignature; value not shown)"
        )
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{label} {value.strip()!r} is invalid: must be an http or https URL")
    if _UNSAFE_IN_URL.search(value.strip()) or {".", ".."} & set(parts.path.split("/")):
        # A NUL, a space or a '..' segment would reach the SDK, which would quote it or resolve it elsewhere.
        raise ConfigurationError(
            f"{label} {value.strip()!r} is invalid: must be an http or https URL without spaces, control "
            "characters or '.'/'..' path segments"
        )
    if https_only and parts.scheme.lower() != "https":
        raise ConfigurationError(
            f"{label} {value.strip()!r} is invalid: identity-based connections must use https, "
            "so the token never travels over plain http"
        )
    return f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}"


def _account_from_endpoint(url: str) -> str | None:
    """The account name in ``https://{name}.queue.…``, or the first path segment of a path-style (Azurite) URL."""
    parts = urlsplit(url)
    labels = (parts.hostname or "").split(".")
    virtual_host = len(labels) >= 3 and labels[1] in _SERVICES
    name = labels[0] if virtual_host else parts.path.strip("/").split("/", 1)[0]
    # Only a guess, shown in descriptions: a custom domain's first path segment is no account name.
    return name if _ACCOUNT_NAME.fullmatch(name) else None


def _split_settings(text: str) -> dict[str, str]:
    """``Key=Value;...`` as a dict keyed by lowercased key. Values keep any ``=`` (base64 keys end in ``==``)."""
    parts = [part for part in text.split(";") if part.strip()] if isinstance(text, str) else []
    if not parts:
        raise ConfigurationError(
            "connection string is empty: expected Key=Value settings separated by ';', e.g. UseDevelopmentStorage=true"
        )
    settings: dict[str, str] = {}
    for number, part in enumerate(parts, start=1):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigurationError(
                f"connection string part {number} is invalid: must be Key=Value (the part is not shown: "
                "it may hold a secret)"
            )
        settings.update(_one_setting(key, value.strip(), settings))
    return settings


def _one_setting(key: str, value: str, seen: Mapping[str, str]) -> dict[str, str]:
    lowered = key.lower()
    if lowered in _IGNORED_KEYS:
        return {}
    if lowered not in _KEYS:
        # A raw key pasted by mistake would parse as a long 'key'; echo only what looks like a setting name.
        shown = repr(key) if _SETTING_NAME.fullmatch(key) else "(a name that is not shown)"
        raise ConfigurationError(
            f"connection string setting {shown} is not supported: must be one of {', '.join(_KEYS.values())}"
        )
    if lowered in seen:
        raise ConfigurationError(f"connection string sets {_KEYS[lowered]} twice: each setting may appear once")
    if not value:
        raise ConfigurationError(f"connection string setting {_KEYS[lowered]} is empty: must have a value")
    return {lowered: value}


def parse_connection_string(text: str) -> StorageConnection:
    """Parse an Azure Storage connection string.

    Accepted forms: ``UseDevelopmentStorage=true`` (optionally with ``DevelopmentStorageProxyUri``);
    ``AccountName`` + ``AccountKey`` (+ ``DefaultEndpointsProtocol``, default https, + ``EndpointSuffix``,
    default core.windows.net); ``SharedAccessSignature``; and explicit ``QueueEndpoint``/``TableEndpoint``/
    ``BlobEndpoint`` (any host and port, e.g. Azurite), the missing ones derived from ``AccountName``.
    Keys are case-insensitive and whitespace around keys and values is ignored.

    Args:
        text: the connection string.

    Returns:
        The parsed connection.

    Raises:
        ConfigurationError: the string is malformed, misses a required part, or has an invalid endpoint or
            protocol. The message names the setting and the rule, never a key or signature.
    """
    settings = _split_settings(text)
    if "usedevelopmentstorage" in settings:
        return _development_storage(settings)
    return _account(settings)


def _development_storage(settings: Mapping[str, str]) -> StorageConnection:
    if settings["usedevelopmentstorage"].lower() != "true":
        raise ConfigurationError(
            f"UseDevelopmentStorage {settings['usedevelopmentstorage']!r} is invalid: must be true "
            "(leave it out to connect to an account)"
        )
    others = sorted(_KEYS[k] for k in settings if k not in ("usedevelopmentstorage", "developmentstorageproxyuri"))
    if others:
        raise ConfigurationError(
            f"UseDevelopmentStorage=true cannot be combined with {', '.join(others)}: "
            "only DevelopmentStorageProxyUri may accompany it"
        )
    base = "http://127.0.0.1"
    if "developmentstorageproxyuri" in settings:
        proxy = urlsplit(_endpoint("DevelopmentStorageProxyUri", settings["developmentstorageproxyuri"]))
        # As .NET does: the proxy's scheme and host, with the emulator's fixed ports.
        host = f"[{proxy.hostname}]" if ":" in (proxy.hostname or "") else proxy.hostname
        base = f"{proxy.scheme}://{host}"
    endpoints = {s: f"{base}:{DEV_PORTS[s]}/{DEV_ACCOUNT_NAME}" for s in _SERVICES}
    return _build(DEV_ACCOUNT_NAME, endpoints, auth="shared_key", account_key=DEV_ACCOUNT_KEY)


def _check_account_name(label: str, name: object) -> None:
    if isinstance(name, str) and _ACCOUNT_NAME.fullmatch(name):
        return
    # A key pasted into the wrong setting is long: only a value of a name's length is echoed (control characters
    # escaped by repr).
    shown = repr(name) if isinstance(name, str) and len(name) <= 30 else "(a value that is not shown)"
    raise ConfigurationError(f"{label} {shown} is invalid: must be 3-24 lowercase letters or digits")


def _account(settings: Mapping[str, str]) -> StorageConnection:
    name = settings.get("accountname")
    if name is not None:
        _check_account_name("AccountName", name)
    key = settings.get("accountkey")
    sas = settings.get("sharedaccesssignature")
    if key is not None and sas is not None:
        raise ConfigurationError("connection string sets both AccountKey and SharedAccessSignature: use one")
    if sas is not None:
        return _build(name, _account_endpoints(settings, name), auth="sas", sas_token=_sas_token(sas))
    if key is None:
        raise ConfigurationError(
            "connection string has no credential: needs AccountKey (with AccountName) or SharedAccessSignature"
        )
    if name is None:
        raise ConfigurationError("connection string has AccountKey but no AccountName: a shared key needs both")
    try:
        base64.b64decode(key, validate=True)
    except binascii.Error:
        raise ConfigurationError("AccountKey is invalid: must be base64 (value not shown)") from None
    return _build(name, _account_endpoints(settings, name), auth="shared_key", account_key=key)


def _sas_token(value: str) -> str:
    token = value.removeprefix("?")
    if "sig=" not in token:
        raise ConfigurationError(
            "SharedAccessSignature is invalid: must be a SAS token such as sv=...&sig=... (value not shown)"
        )
    return token


def _account_endpoints(settings: Mapping[str, str], name: str | None) -> dict[str, str]:
    """The explicit endpoints, the missing ones derived from the account name (``https://{name}.queue.{suffix}``)."""
    protocol = settings.get("defaultendpointsprotocol", "https").lower()
    if protocol not in ("http", "https"):
        raise ConfigurationError(
            f"DefaultEndpointsProtocol {settings['defaultendpointsprotocol']!r} is invalid: must be http or https"
        )
    suffix = settings.get("endpointsuffix", _DEFAULT_SUFFIX).strip(".")
    if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", suffix):
        raise ConfigurationError(
            f"EndpointSuffix {suffix!r} is invalid: must be a DNS suffix such as {_DEFAULT_SUFFIX}"
        )
    labels = {service: f"{service.capitalize()}Endpoint" for service in _SERVICES}
    given = [service for service in _SERVICES if f"{service}endpoint" in settings]
    if given:
        # All three or none: deriving the missing ones from AccountName would send an emulator's or a proxy's
        # table and blob calls to public Azure (https://NAME.table.core.windows.net) without a word.
        if missing := [labels[s] for s in _SERVICES if s not in given]:
            raise ConfigurationError(
                f"connection string has {' and '.join(labels[s] for s in given)} but no {' or '.join(missing)}: "
                "a task hub uses all three services, so give all three endpoints, or none to derive them from "
                "AccountName"
            )
        return {s: _endpoint(labels[s], settings[f"{s}endpoint"]) for s in _SERVICES}
    if name is None:
        raise ConfigurationError(
            "connection string has no QueueEndpoint, TableEndpoint or BlobEndpoint and no AccountName: give the "
            "three endpoints, or AccountName to derive them"
        )
    return {service: f"{protocol}://{name}.{service}.{suffix}" for service in _SERVICES}


def _build(
    name: str | None,
    endpoints: Mapping[str, str],
    *,
    auth: AuthKind,
    account_key: str | None = None,
    sas_token: str | None = None,
    credential: IdentityKind | None = None,
    client_id: str | None = None,
) -> StorageConnection:
    return StorageConnection(
        account_name=name or _account_from_endpoint(endpoints["queue"]),
        queue_endpoint=endpoints["queue"],
        table_endpoint=endpoints["table"],
        blob_endpoint=endpoints["blob"],
        auth=auth,
        account_key=account_key,
        sas_token=sas_token,
        credential=credential,
        client_id=client_id,
    )


def from_service_url(url: str) -> StorageConnection:
    """The three endpoints of the account that ``url`` (any one of its service URLs) belongs to.

    ``https://{account}.{queue|table|blob}.{suffix}`` gives the other two by swapping the service label, for
    any cloud's suffix. A path-style emulator URL (``http://127.0.0.1:10001/devstoreaccount1``) gives the other
    two by the emulator's fixed ports 10000-10002. The credential is not part of the result (``auth`` is
    ``supplied``): the caller passes the SDK credential object alongside.

    Args:
        url: a queue, table or blob service URL of the account, without a query string (no SAS in it).

    Raises:
        ConfigurationError: the URL is malformed, carries a query string, or is neither form above (then pass
            a connection string with explicit QueueEndpoint, TableEndpoint and BlobEndpoint instead).
    """
    endpoint = _endpoint("account URL", url)
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    labels = host.split(".")
    port = f":{parts.port}" if parts.port is not None else ""
    if len(labels) >= 3 and labels[1] in _SERVICES:
        suffix = ".".join(labels[2:])
        endpoints = {s: f"{parts.scheme}://{labels[0]}.{s}.{suffix}{port}" for s in _SERVICES}
        return _build(labels[0], endpoints, auth="supplied")
    dev_service = next((s for s, p in DEV_PORTS.items() if p == parts.port), None)
    account = parts.path.strip("/").split("/", 1)[0]
    if dev_service is not None and account:
        hostport = parts.netloc.rsplit(":", 1)[0]
        endpoints = {s: f"{parts.scheme}://{hostport}:{p}/{account}" for s, p in DEV_PORTS.items()}
        return _build(account, endpoints, auth="supplied")
    raise ConfigurationError(
        f"account URL {endpoint!r} is invalid: must be https://ACCOUNT.queue|table|blob.SUFFIX, or an emulator URL "
        "on port 10000-10002 with the account as its path; for other endpoints use a connection string with "
        "QueueEndpoint, TableEndpoint and BlobEndpoint"
    )
