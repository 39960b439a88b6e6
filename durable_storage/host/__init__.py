"""A Functions host for durable apps: ``durable-storage host`` runs an unmodified Durable Functions Python app.

Needs ``azure-functions`` (and ``azure-functions-durable`` for apps on the published SDK), as the app does.
"""

from durable_storage.host._functions import Binding, FunctionSpec, HttpFunction, LoadedApp, build
from durable_storage.host._server import FunctionsHost, load_functions
from durable_storage.host._settings import HostSettings, apply_local_settings, load_host_settings
from durable_storage.host._timers import TimerRunner, TimerTrigger

__all__ = [
    "Binding",
    "FunctionSpec",
    "FunctionsHost",
    "HostSettings",
    "HttpFunction",
    "LoadedApp",
    "TimerRunner",
    "TimerTrigger",
    "apply_local_settings",
    "build",
    "load_functions",
    "load_host_settings",
]
