"""Settings as the Functions host reads them: local.settings.json, host.json and the AzureFunctionsJobHost__ overrides.

:func:`apply_local_settings` runs before the app is imported: its ``Values`` become environment variables, as
under ``func start``. :func:`load_host_settings` then reads host.json, with the overrides, into
:class:`HostSettings` (functions-host.md §7). Keys are case-insensitive, as in the host's .NET configuration.
Unknown and unsupported keys become warning lines the caller prints once at start. No warning or error shows a
value that could be a secret: they name the setting, and show values only of numbers, flags and names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from durable_storage._connection import DEFAULT_CONNECTION_SETTING
from durable_storage._connection_settings import lookup_setting
from durable_storage._names import MAX_PARTITIONS, validate_task_hub_name
from durable_storage.errors import ConfigurationError
from durable_storage.host._hostjson import HostConfig, read_int, read_json_file, read_text
from durable_storage.host._review import DURABLE, STORAGE, review_host_json, worker_options
from durable_storage.taskhub import DEFAULT_TASK_HUB

__all__ = ["HostSettings", "apply_local_settings", "load_host_settings"]

LOCAL_SETTINGS_FILE = "local.settings.json"
HOST_JSON_FILE = "host.json"
DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_SCRIPT_FILE = "function_app.py"
SCRIPT_FILE_SETTING = "PYTHON_SCRIPT_FILE_NAME"

_LOCAL_KEYS = ("IsEncrypted", "Values", "ConnectionStrings", "Host")
_HUB_NAME_MAX = 45
_REFERENCE = re.compile(r"%([^%]+)%")
# What may be echoed of a %Setting%'s value: a name-like token, never a connection string, key or SAS.
_SHOWABLE = re.compile(r"[A-Za-z0-9_.-]{1,63}")
# Host IDs: 1-32 lowercase letters, digits and single dashes, no dash at either end (HOST HostIdValidator).
_HOST_ID = re.compile(r"[a-z0-9](?:-?[a-z0-9]){0,31}")
_ROUTE_PREFIX = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@/-]*")


@dataclass(frozen=True, kw_only=True)
class HostSettings:
    """What the host needs from an app folder's settings files and the environment.

    Attributes:
        app_dir: the app folder.
        hub_name: the task hub: host.json ``hubName`` (``%Setting%`` references resolved), else
            ``WEBSITE_SITE_NAME`` sanitised, else ``TestHubName``.
        hub_name_is_default: True when no ``hubName`` was configured (the name is the default's).
        partition_count: ``storageProvider.partitionCount``, or None when not configured.
        connection_setting: the setting that holds the storage connection, for
            :func:`durable_storage._connection_settings.from_environment` (``AzureWebJobsStorage`` unless
            ``storageProvider.connectionName`` says otherwise).
        route_prefix: the HTTP trigger prefix, ``api`` by default, ``""`` for none; no leading or trailing ``/``.
        worker_options: keyword arguments for :class:`durable_storage.worker.WorkerOptions`.
        host_id: host.json ``id``, or None.
        script_file: the v2 script, ``PYTHON_SCRIPT_FILE_NAME`` or ``function_app.py``.
        functions_allow_list: host.json ``functions``, or None to load every function.
        http_port: local.settings.json ``Host.LocalHttpPort``, or None (the caller's default then applies).
        warnings: unknown or unsupported keys, one line each, for the caller to print once at start.
    """

    app_dir: Path
    hub_name: str
    hub_name_is_default: bool = False
    partition_count: int | None = None
    connection_setting: str = DEFAULT_CONNECTION_SETTING
    route_prefix: str = DEFAULT_ROUTE_PREFIX
    worker_options: dict[str, Any] = field(default_factory=dict)
    host_id: str | None = None
    script_file: str = DEFAULT_SCRIPT_FILE
    functions_allow_list: tuple[str, ...] | None = None
    http_port: int | None = None
    warnings: tuple[str, ...] = ()


def apply_local_settings(app_dir: Path, environ: MutableMapping[str, str]) -> list[str]:
    """Copy local.settings.json ``Values`` (and ``ConnectionStrings``) into ``environ``, as ``func start`` does.

    A variable that already has a non-empty value keeps it. Connection strings become
    ``ConnectionStrings:{name}`` variables, where the host looks for a named connection first. Unlike Core Tools,
    a file without ``IsEncrypted`` is read as plain text (Core Tools would try to decrypt it and fail).

    Args:
        app_dir: the app folder; nothing happens when it has no local.settings.json.
        environ: the environment to update (``os.environ`` in the host).

    Returns:
        Messages for the caller to print: settings skipped, top-level keys not understood.

    Raises:
        ConfigurationError: the file is not valid JSON, is encrypted, or holds a non-string value (the message
            names the file and key, never the value).
    """
    local = _read_local_settings(Path(app_dir))
    if local is None:
        return []
    messages = list(local.notes)
    for name, value in local.values.items():
        if value is None:
            messages.append(f"Skipping '{name}' from local settings: its value is null")
        elif environ.get(name):
            # Core Tools' rule and wording: a non-empty variable wins; an empty one is replaced.
            messages.append(f"Skipping '{name}' from local settings as it's already defined in the environment")
        else:
            environ[name] = value
    return messages


def load_host_settings(app_dir: Path, environ: Mapping[str, str]) -> HostSettings:
    """Read host.json and its ``AzureFunctionsJobHost__`` overrides from ``environ`` into :class:`HostSettings`.

    Call :func:`apply_local_settings` first, so that overrides and ``%Setting%`` references in local.settings.json
    count. Every value is checked here, before anything is started or written.

    Raises:
        ConfigurationError: a file is not valid JSON, or a setting is invalid (the message names it and the rule).
    """
    app_dir = Path(app_dir)
    local = _read_local_settings(app_dir)
    config = HostConfig.load(app_dir / HOST_JSON_FILE, environ)
    hub_name, is_default = _hub_name(config, environ)
    notes = [] if config.found else [f"{app_dir / HOST_JSON_FILE} not found: every host.json setting has its default"]
    return HostSettings(
        app_dir=app_dir,
        hub_name=hub_name,
        hub_name_is_default=is_default,
        partition_count=_partition_count(config),
        connection_setting=_connection_setting(config, environ),
        route_prefix=_route_prefix(config),
        worker_options=worker_options(config),
        host_id=_host_id(config),
        script_file=_script_file(environ),
        functions_allow_list=_allow_list(config),
        http_port=None if local is None else _http_port(local),
        warnings=(*notes, *review_host_json(config), *([] if local is None else _review_local_host(local))),
    )


# --- local.settings.json ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LocalSettings:
    path: Path
    values: dict[str, str | None]
    host: dict[str, object]
    notes: list[str]


def _read_local_settings(app_dir: Path) -> _LocalSettings | None:
    path = app_dir / LOCAL_SETTINGS_FILE
    document = read_json_file(path)
    if document is None:
        return None
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path} is invalid: must hold a JSON object")
    encrypted = document.get("IsEncrypted", False)
    if not isinstance(encrypted, bool):
        raise ConfigurationError(f"{path} IsEncrypted {encrypted!r} is invalid: must be true or false")
    if encrypted:
        raise ConfigurationError(
            f"{path} has IsEncrypted: true: its values are encrypted with Windows DPAPI (func settings encrypt), "
            "which cannot be decrypted here; run `func settings decrypt`, or write the values in plain text and "
            "set IsEncrypted to false"
        )
    values = _values(path, document.get("Values"))
    values.update(_connection_strings(path, document.get("ConnectionStrings")))
    host = document.get("Host")
    if host is not None and not isinstance(host, dict):
        raise ConfigurationError(f"{path} Host is invalid: must be an object")
    known = ", ".join(_LOCAL_KEYS)
    notes = [
        f"{path.name}: key {key!r} is not known (keys are case-sensitive: {known}); ignored"
        for key in document
        if key not in _LOCAL_KEYS
    ]
    return _LocalSettings(path, values, host or {}, notes)


def _values(path: Path, section: object) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name, value in _section(path, "Values", section).items():
        _check_variable(path, f"Values key {name!r}", name)
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(
                f"{path} Values.{name} is invalid: must be a string, not a JSON {_json_type(value)} "
                "(write it in quotes; value not shown)"
            )
        if value is not None and "\0" in value:
            raise ConfigurationError(f"{path} Values.{name} is invalid: must not contain NUL (value not shown)")
        values[name] = value
    return values


def _connection_strings(path: Path, section: object) -> dict[str, str | None]:
    """``ConnectionStrings`` entries as ``ConnectionStrings:{name}`` variables (Core Tools' names for them)."""
    found: dict[str, str | None] = {}
    for name, value in _section(path, "ConnectionStrings", section).items():
        _check_variable(path, f"ConnectionStrings key {name!r}", name)
        text = value.get("ConnectionString") if isinstance(value, dict) else value
        if text is not None and (not isinstance(text, str) or "\0" in text):
            raise ConfigurationError(
                f"{path} ConnectionStrings.{name} is invalid: must be a string, or an object whose ConnectionString "
                "is a string (value not shown)"
            )
        found[f"ConnectionStrings:{name}"] = text
    return found


def _section(path: Path, name: str, section: object) -> dict[str, object]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigurationError(f"{path} {name} is invalid: must be an object of setting names and values")
    return section


def _check_variable(path: Path, what: str, name: str) -> None:
    # The names an environment can hold: os.environ refuses '=' and NUL, and an empty name.
    if not name or "=" in name or "\0" in name:
        raise ConfigurationError(f"{path} {what} is invalid: a setting name must be non-empty, without '=' or NUL")


def _json_type(value: object) -> str:
    kinds = ((bool, "boolean"), (int, "number"), (float, "number"), (list, "array"), (dict, "object"))
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _http_port(local: _LocalSettings) -> int | None:
    port = next((value for key, value in local.host.items() if key.lower() == "localhttpport"), None)
    if port is None or port == 0:  # Core Tools: 0 (unset) means its default port
        return None
    if isinstance(port, bool) or not isinstance(port, int | str) or not str(port).strip().isdigit():
        raise ConfigurationError(f"{local.path} Host.LocalHttpPort {port!r} is invalid: must be a port, 1-65535")
    number = int(str(port).strip())
    if not 1 <= number <= 65_535:
        raise ConfigurationError(f"{local.path} Host.LocalHttpPort {port!r} is invalid: must be a port, 1-65535")
    return number


def _review_local_host(local: _LocalSettings) -> list[str]:
    return [
        f"{local.path.name} Host.{key} is not supported here: ignored (use --host for the address)"
        for key in local.host
        if key.lower() != "localhttpport"
    ]


# --- host.json -------------------------------------------------------------------------------------------------


def _hub_name(config: HostConfig, environ: Mapping[str, str]) -> tuple[str, bool]:
    """The configured hub name, validated; or the default, sanitised as the extension sanitises it."""
    entry = config.get(*DURABLE, "hubname")
    if entry is None:
        site = environ.get("WEBSITE_SITE_NAME")
        return (sanitize_hub_name(site) if site else DEFAULT_TASK_HUB), True
    text = read_text(entry)
    resolved = _REFERENCE.sub(lambda match: _reference(match.group(1), environ, entry.label()), text)
    try:
        validate_task_hub_name(resolved)
    except ConfigurationError as exc:
        if resolved == text or _SHOWABLE.fullmatch(resolved):
            raise ConfigurationError(f"{entry.label()}: {exc}") from None
        raise ConfigurationError(
            f"{entry.label()} {text!r} resolves to an invalid task hub name (value not shown): "
            "must be 3-45 letters or digits, starting with a letter"
        ) from None
    return resolved, False


def _reference(name: str, environ: Mapping[str, str], label: str) -> str:
    """The value of ``%name%``: app settings are environment variables, matched case-insensitively (.NET)."""
    value = lookup_setting(environ, name)
    if not value:
        raise ConfigurationError(f"{label} refers to %{name}%, but no setting {name!r} is set")
    return value


def sanitize_hub_name(name: str) -> str:
    """A default hub name from a site name: the extension's ``IsSanitizedHubName`` (ASCII letters and digits)."""
    chars = [char for char in name if char.isascii() and char.isalnum()]
    if not chars:
        return "DefaultTaskHub"
    if chars[0].isdigit():
        chars.insert(0, "t")  # table names must start with a letter
    result = "".join(chars[:_HUB_NAME_MAX])
    return result if len(result) >= 3 else result + "Hub"


def _partition_count(config: HostConfig) -> int | None:
    entry = config.get(*STORAGE, "partitioncount")
    return None if entry is None else read_int(entry, 1, MAX_PARTITIONS)


def _connection_setting(config: HostConfig, environ: Mapping[str, str]) -> str:
    """The setting of the storage connection, found as WebJobs finds ``connectionName`` (default ``Storage``).

    ``AzureWebJobs{name}`` is tried before ``{name}``, and for each a ``ConnectionStrings:`` entry before the plain
    setting or its identity settings (``{name}__accountName`` ...).
    """
    provider = config.get(*STORAGE, "type")
    if provider is not None and read_text(provider).strip().lower() != "azurestorage":
        raise ConfigurationError(
            f"{provider.label()} {provider.value!r} is not supported: durable_storage is the Azure Storage "
            "provider (remove the key or set it to AzureStorage)"
        )
    entry = config.get(*STORAGE, "connectionname") or config.get(*STORAGE, "connectionstringname")
    name = "Storage" if entry is None else read_text(entry).strip()
    if entry is not None and (not name or "=" in name or ";" in name):
        # A connection string pasted where its setting's name belongs: say so without echoing it.
        raise ConfigurationError(
            f"{entry.label()} is invalid: must be the name of a setting that holds the connection, "
            "e.g. AzureWebJobsStorage (value not shown)"
        )
    for candidate in (f"AzureWebJobs{name}", name):
        for setting in (f"ConnectionStrings:{candidate}", candidate):
            prefix = f"{setting.lower()}__"
            if lookup_setting(environ, setting) or any(key.lower().startswith(prefix) for key in environ):
                return setting
    return DEFAULT_CONNECTION_SETTING if name.lower() == "storage" else name


def _route_prefix(config: HostConfig) -> str:
    entry = config.get("extensions", "http", "routeprefix")
    if entry is None:
        return DEFAULT_ROUTE_PREFIX
    prefix = read_text(entry).strip().strip("/")
    if not _ROUTE_PREFIX.fullmatch(prefix) or "//" in prefix:
        raise ConfigurationError(
            f"{entry.label()} {entry.value!r} is invalid: must be a URL path such as api or v1/api, without "
            "templates, query or fragment"
        )
    return prefix


def _host_id(config: HostConfig) -> str | None:
    entry = config.get("id")
    if entry is None:
        return None
    text = read_text(entry)
    if not _HOST_ID.fullmatch(text) or len(text) > 32:
        raise ConfigurationError(
            f"{entry.label()} {text!r} is invalid: a host ID must be 1-32 lowercase letters, digits and single "
            "dashes, not starting or ending with a dash"
        )
    return text


def _allow_list(config: HostConfig) -> tuple[str, ...] | None:
    """host.json ``functions`` (or ``AzureFunctionsJobHost__functions__0`` ...), in index order; None when empty."""
    items: list[tuple[int, str]] = []
    for path, entry in config.under("functions"):
        if len(path) != 1 or not path[0].isdigit():
            raise ConfigurationError(f"{entry.label(1)} is invalid: must be an array of function names")
        name = read_text(entry).strip()
        if not name:
            raise ConfigurationError(f"{entry.label()} is invalid: a function name must not be empty")
        items.append((int(path[0]), name))
    if (whole := config.get("functions")) is not None:
        raise ConfigurationError(f"{whole.label()} {whole.shown()} is invalid: must be an array of function names")
    return tuple(name for _, name in sorted(items)) or None


def _script_file(environ: Mapping[str, str]) -> str:
    name = environ.get(SCRIPT_FILE_SETTING) or DEFAULT_SCRIPT_FILE
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or path.suffix != ".py" or "\0" in name:
        raise ConfigurationError(
            f"{SCRIPT_FILE_SETTING} {name!r} is invalid: must be a .py file inside the app folder, e.g. function_app.py"
        )
    return name
