"""A Functions host for durable apps: app loading, HTTP triggers, the durable client binding, timers, settings."""
