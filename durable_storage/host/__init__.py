"""A Functions host for durable apps: ``durable-storage host`` runs an unmodified Durable Functions Python app.

Needs ``azure-functions`` (and ``azure-functions-durable`` for apps on the published SDK), as the app does.
"""

from durable_storage.host._functions import Binding, FunctionSpec, HttpFunction, LoadedApp, TimerFunction, build
from durable_storage.host._server import FunctionsHost, load_functions, start_timers

__all__ = [
    "Binding",
    "FunctionSpec",
    "FunctionsHost",
    "HttpFunction",
    "LoadedApp",
    "TimerFunction",
    "build",
    "load_functions",
    "start_timers",
]
