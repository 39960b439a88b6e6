"""Tests of the replay engine (durable_storage.replay)."""
