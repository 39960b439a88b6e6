"""Runnable samples: the Durable Functions application patterns, one module each.

``python -m samples.<name>`` runs one end to end: a worker in the same process, on the storage account of
``AzureWebJobsStorage`` (by default a local Azurite, started if none listens) and a task hub of its own
(``SampleFanOutFanIn``; ``DURABLE_TASK_HUB`` names another). It prints the outcome and exits with 0 when it is the
expected one.

* ``quickstart``: function chaining.
* ``fan_out_fan_in``: fan-out/fan-in.
* ``monitor``: polling with durable timers until a condition or a deadline.
* ``human_interaction``: an approval event raced against a durable timer.
* ``aggregator``: a durable entity aggregating signals.
* ``sub_orchestrations``: orchestrations run as steps of another one.
* ``eternal``: an eternal orchestration with ``continue_as_new``.
* ``retries_and_compensation``: automatic retries, and compensation of a step that failed for good.
"""
