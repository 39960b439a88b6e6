"""Compatibility with the real azure-functions-durable 1.7.0, measured (issue 4, acceptance point 7).

Each scenario (an orchestrator plus a history in our event model, split into past and new events) runs through the
real SDK and through our :func:`durable_storage.replay.replay`; both results are normalised to a
:class:`~.harness.Record` and compared. ``python -m tests.replay.compat.report`` prints the tally.
"""
