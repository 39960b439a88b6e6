"""Fault-test fixtures: the end-to-end worker processes (``worker_process``), their ledger and dequeue trace."""

from tests.e2e.conftest import dequeue_trace, ledger, worker_process  # noqa: F401
