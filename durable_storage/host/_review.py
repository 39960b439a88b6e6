"""Which host.json keys mean something here: the worker options they map to, and warning lines for the rest.

Keys are compared lowercased (host.json keys are case-insensitive in the host). Each known key is read, or
ignored without a word because it changes nothing a user can observe here (logging, the extension bundle, the
extension's tuning knobs), or listed once at start when its value asks for behaviour we do not have. Unknown keys
are listed too (functions-host.md §7.2, §9.14). A warning names the key and never shows its value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from durable_storage.errors import ConfigurationError
from durable_storage.host._hostjson import Entry, HostConfig, read_bool, read_int, read_seconds
from durable_storage.worker import WorkerOptions

__all__ = ["DURABLE", "STORAGE", "review_host_json", "worker_options"]

DURABLE = ("extensions", "durabletask")
STORAGE = (*DURABLE, "storageprovider")
_HTTP = ("extensions", "http")


def _always(value: object) -> bool:
    return True


def _is_true(value: object) -> bool:
    return str(value).strip().lower() == "true"


def _is_false(value: object) -> bool:
    return str(value).strip().lower() == "false"


def _not_non_running(value: object) -> bool:
    return str(value).strip().lower() != "nonrunningstates"


class _Rule(NamedTuple):
    reason: str | None = None
    """Why the key is listed at start; None for a key that is read, or ignored because it changes nothing here."""
    when: Callable[[object], bool] = _always
    """Whether this value asks for the missing behaviour (e.g. only ``true`` for a feature flag)."""


_QUIET = _Rule()

_TOP: dict[str, _Rule] = {
    **dict.fromkeys(
        ("version", "extensionbundle", "logging", "extensions", "functions", "id", "healthmonitor", "aggregator"),
        _QUIET,
    ),
    **dict.fromkeys(
        ("watchdirectories", "watchfiles", "manageddependency", "singleton", "concurrency", "console", "telemetrymode"),
        _QUIET,
    ),
    "functiontimeout": _Rule("is not enforced here: functions run to completion"),
    "retry": _Rule("is not supported: host-level trigger retries are not applied"),
}

_DURABLE: dict[str, _Rule] = {
    **dict.fromkeys(
        ("hubname", "maxconcurrentactivityfunctions", "maxconcurrentorchestratorfunctions", "storageprovider"), _QUIET
    ),
    # The extension's tuning and diagnostics: no effect a user can observe here.
    **dict.fromkeys(
        ("extendedsessionidletimeoutinseconds", "httpsettings", "tracing", "maxgrpcmessagesizeinbytes"), _QUIET
    ),
    **dict.fromkeys(
        (
            "grpchttpclienttimeout",
            "usegracefulshutdown",
            "entitymessagereorderwindowinminutes",
            "maxorchestrationactions",
        ),
        _QUIET,
    ),
    **dict.fromkeys(("useapplease", "appleaseoptions", "maxentityoperationbatchsize"), _QUIET),
    "extendedsessionsenabled": _Rule(
        "is ignored: every episode replays the orchestration from its history (the Durable Functions extension, "
        "too, turns extended sessions off for Python apps)",
        _is_true,
    ),
    "localrpcendpointenabled": _Rule(
        "is ignored: the durable client binding always carries rpcBaseUrl, served by this host", _is_false
    ),
    "maxconcurrententityfunctions": _Rule(
        "is not a separate limit here: entity batches count against maxConcurrentOrchestratorFunctions"
    ),
    "overridableexistinginstancestates": _Rule(
        "is not supported: starting an instance ID that is running fails, as with NonRunningStates", _not_non_running
    ),
    "rollbackentityoperationsonexceptions": _Rule(
        "is not supported: a failed entity operation's changes are always rolled back", _is_false
    ),
    "notifications": _Rule("is not supported: no Event Grid lifecycle notifications are published"),
    **dict.fromkeys(
        ("defaultversion", "versionmatchstrategy", "versionfailurestrategy"),
        _Rule("is not supported: orchestration versioning rules are not applied"),
    ),
}

_STORAGE: dict[str, _Rule] = {
    **dict.fromkeys(("type", "connectionname", "connectionstringname", "partitioncount"), _QUIET),
    **dict.fromkeys(
        ("controlqueuevisibilitytimeout", "workitemqueuevisibilitytimeout", "maxqueuepollinginterval"), _QUIET
    ),
    **dict.fromkeys(("controlqueuebatchsize", "controlqueuebufferthreshold"), _QUIET),
    "usetablepartitionmanagement": _Rule(
        "is not supported: partitions are always leased in the {hub}Partitions table", _is_false
    ),
    "uselegacypartitionmanagement": _Rule(
        "is not supported: partitions are always leased in the {hub}Partitions table", _is_true
    ),
    **dict.fromkeys(
        ("trackingstoreconnectionname", "trackingstoreconnectionstringname", "trackingstorenameprefix"),
        _Rule("is not supported: History and Instances are always the task hub's own tables in its own account"),
    ),
    "fetchlargemessagesautomatically": _Rule("is not supported: large messages are always fetched", _is_false),
    "allowreplayingterminalinstances": _Rule("is not supported: terminal instances are never replayed", _is_true),
}

_HTTP_RULES: dict[str, _Rule] = {"routeprefix": _QUIET}
_HTTP_OTHER = _Rule("is not supported here: ignored (only routePrefix is read from extensions.http)")

# (level, its rules, a wrong level's rules and where such keys belong): the hint for a key written one level off.
_LEVELS: tuple[tuple[tuple[str, ...], dict[str, _Rule], dict[str, _Rule], str], ...] = (
    ((), _TOP, {"durabletask": _QUIET, "http": _QUIET}, "under extensions (the host.json 2.0 layout)"),
    (DURABLE, _DURABLE, _STORAGE, "under storageProvider"),
    (STORAGE, _STORAGE, _DURABLE, "directly under durableTask"),
)


def review_host_json(config: HostConfig) -> list[str]:
    """One warning line per unknown key, and per key whose value asks for behaviour we do not have."""
    warnings: list[str] = []
    for prefix, rules, elsewhere, where in _LEVELS:
        for key, entry, leaf in _keys(config, prefix):
            rule = rules.get(key)
            if rule is None:
                hint = f" (it belongs {where})" if key in elsewhere else ""
                warnings.append(
                    f"{entry.label(len(prefix) + 1)} is not a setting the Functions host knows{hint}: ignored"
                )
            elif rule.reason is not None and (not leaf or rule.when(entry.value)):
                warnings.append(f"{entry.label(len(prefix) + 1)} {rule.reason}")
    for key, entry, _leaf in _keys(config, _HTTP):
        if key not in _HTTP_RULES:
            warnings.append(f"{entry.label(len(_HTTP) + 1)} {_HTTP_OTHER.reason}")
    return warnings


def _keys(config: HostConfig, prefix: tuple[str, ...]) -> list[tuple[str, Entry, bool]]:
    """The distinct keys right below ``prefix``, each with its first entry and whether that entry is the key itself."""
    seen: dict[str, tuple[str, Entry, bool]] = {}
    for path, entry in config.under(*prefix):
        seen.setdefault(path[0], (path[0], entry, len(path) == 1))
    return list(seen.values())


def _polling(entry: Entry) -> float:
    return read_seconds(entry, 0.001)


# host.json key (below durableTask) -> WorkerOptions field, and how to read it. The extension's own ranges apply
# where it has one (controlQueueVisibilityTimeout: 1-60 minutes); our WorkerOptions check the rest.
_WORKER_FIELDS: tuple[tuple[tuple[str, ...], str, Callable[[Entry], Any]], ...] = (
    (("maxconcurrentactivityfunctions",), "max_concurrent_activities", lambda entry: read_int(entry, 1)),
    (("maxconcurrentorchestratorfunctions",), "max_concurrent_orchestrations", lambda entry: read_int(entry, 1)),
    (
        ("storageprovider", "controlqueuevisibilitytimeout"),
        "control_queue_visibility",
        lambda entry: read_seconds(entry, 60, 3600),
    ),
    (
        ("storageprovider", "workitemqueuevisibilitytimeout"),
        "work_item_visibility",
        lambda entry: read_seconds(entry, 1, 7 * 86_400),
    ),
    (("storageprovider", "maxqueuepollinginterval"), "max_polling_interval", _polling),
)


def worker_options(config: HostConfig) -> dict[str, Any]:
    """The :class:`WorkerOptions` keyword arguments host.json sets; checked by building them once.

    Options host.json does not set keep our defaults, not the extension's: e.g. an idle queue is polled at
    least every second here, where the extension waits up to 30 s.

    Raises:
        ConfigurationError: a value is invalid (the message names the key and the rule).
    """
    options: dict[str, Any] = {}
    for path, name, read in _WORKER_FIELDS:
        entry = config.get(*DURABLE, *path)
        if entry is not None:
            options[name] = read(entry)
    if (entry := config.get(*DURABLE, "extendedsessionsenabled")) is not None:
        read_bool(entry)  # ignored (see _DURABLE), but a value the host would refuse is refused here too
    # A polling interval shorter than our first wait is valid for the extension: start the backoff there.
    if options.get("max_polling_interval", WorkerOptions.min_polling_interval) < WorkerOptions.min_polling_interval:
        options["min_polling_interval"] = options["max_polling_interval"]
    try:
        WorkerOptions(**options)
    except ConfigurationError as exc:
        raise ConfigurationError(f"host.json extensions.durableTask: {exc}") from None
    return options
