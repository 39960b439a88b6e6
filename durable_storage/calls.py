"""Count the storage requests this process makes, by service and operation (performance.md §5.2).

Off by default. ``count_calls()`` turns on the process-wide tally; ``counting()`` counts one block of code (and
the tasks it starts)::

    from durable_storage.calls import count_calls, counting

    tally = count_calls()
    before = tally.snapshot()
    ...                                   # run a workload
    print(tally.since(before))            # Counter({("queue", "get_messages"): 812, ("table", "batch"): 1200, ...})

    with counting() as episode:           # only the requests made inside the block
        await client.start_new("hello_cities")
    assert episode.total == 2

Operations are named as in ``durable_storage.testing.faults.classify`` (``put_message``, ``get_messages``,
``delete_message``, ``update_message``, ``batch``, ``query_entities``, ``update_entity``, ``merge_entity``,
``put_blob``, ...). Every request sent is counted, retries included, as on a storage bill.
"""

from durable_storage._storage.calls import StorageCalls, count_calls, counting, process_calls

__all__ = ["StorageCalls", "count_calls", "counting", "process_calls"]
