"""A Functions host for durable apps: settings, app loading (v1 folders, v2 decorators), HTTP triggers, timers."""
