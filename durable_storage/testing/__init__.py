"""Helpers for tests of durable_storage and of users' own apps: a throwaway local Azurite."""

from durable_storage.testing.azurite import Azurite, AzuriteError, azurite_listening
from durable_storage.testing.hubs import unique_hub_name
from durable_storage.testing.waiting import wait_until

__all__ = ["Azurite", "AzuriteError", "azurite_listening", "unique_hub_name", "wait_until"]
