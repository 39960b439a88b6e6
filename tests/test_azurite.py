"""The Azurite harness: always in memory, telemetry off, loopback; a broken Azurite is an error, not a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from durable_storage.testing import Azurite, AzuriteError


def test_azurite_always_starts_in_memory_without_telemetry_on_loopback() -> None:
    command = Azurite()._command()
    for flag in ("--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck"):
        assert flag in command
    for service in ("blob", "queue", "table"):
        assert command[command.index(f"--{service}Host") + 1] == "127.0.0.1"
        assert command[command.index(f"--{service}Port") + 1] == "0"
    assert "--location" not in command


def test_an_azurite_that_cannot_start_raises_with_its_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "azurite.js"
    monkeypatch.setenv("DURABLE_STORAGE_AZURITE", str(missing))
    azurite = Azurite()
    with pytest.raises(AzuriteError, match="Azurite did not start") as caught:
        azurite.start()
    assert "azurite.js" in str(caught.value)
    assert not azurite.running


def test_a_second_azurite_on_free_ports_is_isolated_from_the_first(connection_string: str) -> None:
    with Azurite() as other:
        assert other.running
        assert other.connection_string != connection_string
        assert set(other.ports) == {"Blob", "Queue", "Table"}
    assert not other.running
