"""The storage floor under HelloCities5: its storage calls made with the Azure SDK alone, and how close we come.

    python -m benchmarks.storage_floor --run-hello           # hello_cities, then the floor, same Azurite: ratios
    python -m benchmarks.storage_floor                       # the floor of the mix in benchmarks/.last_mix.json
    python -m benchmarks.storage_floor --mix PATH --orchestrations 500 --json
    python -m benchmarks.storage_floor --run-hello --connection "$CONN"

The mix is the number of storage calls of each kind one HelloCities5 orchestration cost in ``benchmarks.hello_cities``
(worker and client start together, e.g. 11 ``put_message``, 11 ``delete_message``, 6 ``batch``, 4-11 ``get_messages``
depending on how often idle queues were polled, ...), read from ``--mix`` or, with ``--run-hello``, measured first in
the same invocation on the same Azurite (and written to ``--mix``). The floor then performs that mix for N
"orchestration-equivalents" with the async clients of azure-storage-queue and azure-data-tables only (built like
durable_storage builds its own: one service client per service, SDK retries off) and none of durable_storage's
logic, on fresh queues and tables of its own (4 "control" queues and a "workitems" queue, a History and an
Instances table; deleted afterwards):

* Each equivalent runs its calls one after another, as an orchestration's steps follow each other, and all N run at
  once (``--concurrency`` to bound them), as hello_cities starts all N at once. Fractional rates are spread over
  the equivalents (error diffusion) so the totals match N times the mix; the kinds are interleaved evenly.
* ``put_message``: a 1 KiB text message, alternately to the equivalent's control queue and to "workitems".
  ``get_messages``: up to 32 messages, visibility 300 s, from the queue of its oldest put not yet fetched.
  ``delete_message``: one message it received (a receive may return others' messages: whoever received a message
  deletes it; messages left at the end are received and deleted in a final drain, counted too).
* ``batch``: an entity-group transaction of 4 new History rows (~300 B each) and an upsert of the partition's
  ``sentinel`` row, as a checkpoint; ``query_entities``: the equivalent's whole History partition (0 to ~25 rows,
  growing as in an orchestration's history loads).
* ``insert_entity`` (first), ``get_entity``, ``merge_entity`` (upsert-merge of 3 properties), ``update_entity``
  (upsert-replace of the whole row), ``delete_entity``: the equivalent's ~500 B Instances row.
* Kinds it does not know (blob calls, queue or table creation) are listed as not replayed.

Figures: wall seconds from the first call to the end of the drain (a warm-up of 10 equivalents runs first, not
timed), orchestration-equivalents/s, this process's CPU ms per equivalent (``time.process_time()``), Azurite's CPU
when this script started it, and the calls performed per equivalent next to the mix. With ``--run-hello``:
hello_cities throughput / floor throughput (the issue asks for >= 0.70) and hello_cities CPU per orchestration /
floor CPU per equivalent (the issue asks for <= 1.3). Nothing is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import os
import sys
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from benchmarks import hello_cities
from benchmarks._bench import Meter, emit, parser_for, progress, run_on_storage
from durable_storage.testing import unique_hub_name

CONTROL_QUEUES = 4
BATCH_ROWS = 4  # new History rows per checkpoint, besides the sentinel (HelloCities5 writes 4 per episode)
BODY_BYTES = 1024
RECEIVE_BATCH = 32
VISIBILITY = 300  # seconds a received message stays hidden (the worker's default)
WARM_UP = 10
SUPPORTED = {
    "queue put_message",
    "queue get_messages",
    "queue delete_message",
    "queue update_message",
    "table batch",
    "table query_entities",
    "table get_entity",
    "table insert_entity",
    "table merge_entity",
    "table update_entity",
    "table delete_entity",
}
TARGET_THROUGHPUT_RATIO = 0.70
TARGET_CPU_RATIO = 1.3


@dataclass(frozen=True, slots=True)
class FloorResult:
    """The figures of one floor run."""

    orchestrations: int  # orchestration-equivalents
    concurrency: int
    seconds: float
    orchestrations_per_s: float
    cpu_ms_per_orchestration: float
    cpu_s: float
    azurite_cpu_s: float | None
    calls_per_orchestration: float
    performed: dict[str, float]  # calls per equivalent, by "service operation"
    mix: dict[str, float]  # the mix replayed
    not_replayed: dict[str, float]


# --- the plan -------------------------------------------------------------------------------------------------------


def plans(mix: Mapping[str, float], count: int) -> list[list[str]]:
    """Each equivalent's calls, in order: the supported kinds of ``mix``, totals N x rate, interleaved evenly."""
    result: list[list[str]] = []
    for index in range(count):
        placed: list[tuple[float, str]] = []
        for kind, rate in mix.items():
            if kind not in SUPPORTED:
                continue
            # Error diffusion: equivalent i does floor((i+1)r) - floor(ir) calls, so N of them do floor(Nr).
            times = math.floor((index + 1) * rate + 1e-9) - math.floor(index * rate + 1e-9)
            for k in range(times):
                # The row must exist before it is merged or replaced: inserts go first, as a client start's.
                position = -1.0 if kind == "table insert_entity" else (k + 0.5) / times
                placed.append((position, kind))
        result.append([kind for _, kind in sorted(placed, key=lambda item: item[0])])
    return result


# --- the replay -----------------------------------------------------------------------------------------------------


@dataclass
class _Equivalent:
    """What one orchestration-equivalent has done so far."""

    index: int
    partition: str = field(default_factory=lambda: uuid.uuid4().hex)
    rows: int = 0
    puts: int = 0
    unfetched: deque[str] = field(default_factory=deque)  # queues it put to, oldest first
    received: list[tuple[str, QueueMessage]] = field(default_factory=list)  # (queue, message)


class Floor:
    """Fresh queues and tables, and the SDK calls of the mix on them."""

    def __init__(self, connection: str) -> None:
        prefix = unique_hub_name("floor")
        self._queue_service = QueueServiceClient.from_connection_string(connection, retry_total=0)
        self._table_service = TableServiceClient.from_connection_string(connection, retry_total=0)
        self.queue_names = [f"{prefix}-control-{n:02d}" for n in range(CONTROL_QUEUES)] + [f"{prefix}-workitems"]
        self.queues: dict[str, QueueClient] = {
            name: self._queue_service.get_queue_client(name) for name in self.queue_names
        }
        self.history_name, self.instances_name = f"{prefix}History", f"{prefix}Instances"
        self.history: TableClient = self._table_service.get_table_client(self.history_name)
        self.instances: TableClient = self._table_service.get_table_client(self.instances_name)
        self.calls: Counter[str] = Counter()
        self.body = json.dumps({"payload": "x" * (BODY_BYTES - 16)})[:BODY_BYTES]

    async def create(self) -> None:
        await asyncio.gather(
            *(queue.create_queue() for queue in self.queues.values()),
            self._table_service.create_table(self.history_name),
            self._table_service.create_table(self.instances_name),
        )

    async def delete(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.gather(
                *(queue.delete_queue() for queue in self.queues.values()),
                self._table_service.delete_table(self.history_name),
                self._table_service.delete_table(self.instances_name),
            )
        for queue in self.queues.values():
            await queue.close()
        await self.history.close()
        await self.instances.close()
        await self._queue_service.close()
        await self._table_service.close()

    def _count(self, kind: str) -> None:
        self.calls[kind] += 1

    def _instance_row(self, eq: _Equivalent) -> dict[str, Any]:
        now = datetime.now(timezone.utc)
        return {
            "PartitionKey": eq.partition,
            "RowKey": "",
            "Name": "hello_cities5",
            "Input": "null",
            "CustomStatus": "null",
            "CreatedTime": now,
            "LastUpdatedTime": now,
            "RuntimeStatus": "Running",
            "ExecutionId": eq.partition,
            "Generation": 0,
            "TaskHubName": self.history_name[: -len("History")],
            "Output": json.dumps([f"Hello {city}!" for city in hello_cities.CITIES]),
        }

    def _history_row(self, eq: _Equivalent) -> dict[str, Any]:
        row = {
            "PartitionKey": eq.partition,
            "RowKey": f"{eq.rows:016X}",
            "EventType": "TaskScheduled",
            "EventId": eq.rows,
            "IsPlayed": False,
            "_Timestamp": datetime.now(timezone.utc),
            "ExecutionId": eq.partition,
            "Name": "say_hello",
            "Input": '"Seattle"',
            "ParentTraceContext": "null",
            "Tags": "null",
        }
        eq.rows += 1
        return row

    async def _receive(self, queue: str) -> list[tuple[str, QueueMessage]]:
        self._count("queue get_messages")
        pager = self.queues[queue].receive_messages(messages_per_page=RECEIVE_BATCH, visibility_timeout=VISIBILITY)
        async for page in pager.by_page():  # the first page only: one request
            return [(queue, message) async for message in page]
        return []

    async def _delete(self, received: tuple[str, QueueMessage]) -> None:
        self._count("queue delete_message")
        queue, message = received
        await self.queues[queue].delete_message(message)

    async def _put(self, eq: _Equivalent) -> None:
        control = self.queue_names[eq.index % CONTROL_QUEUES]
        queue = control if eq.puts % 2 == 0 else self.queue_names[-1]
        eq.puts += 1
        self._count("queue put_message")
        await self.queues[queue].send_message(self.body)
        eq.unfetched.append(queue)

    async def _get(self, eq: _Equivalent) -> None:
        queue = eq.unfetched.popleft() if eq.unfetched else self.queue_names[eq.index % CONTROL_QUEUES]
        eq.received += await self._receive(queue)

    async def _delete_received(self, eq: _Equivalent) -> None:
        # Every message in hand, at once: a receive may have taken several (others' too), and holding them until
        # later slots would let messages pile up in the account, which slows Azurite's queue calls (performance.md §2.2)
        # in a way the worker, which deletes what it consumed at each checkpoint, does not pay. None in hand: another
        # equivalent received ours and deletes them, or the drain does.
        held, eq.received = eq.received, []
        await asyncio.gather(*(self._delete(message) for message in held))

    async def _update(self, eq: _Equivalent) -> None:
        if eq.received:
            self._count("queue update_message")
            queue, message = eq.received.pop(0)
            updated = await self.queues[queue].update_message(message, visibility_timeout=VISIBILITY)
            eq.received.append((queue, updated))

    async def _batch(self, eq: _Equivalent) -> None:
        operations: list[Any] = [("create", self._history_row(eq)) for _ in range(BATCH_ROWS)]
        sentinel = {"PartitionKey": eq.partition, "RowKey": "sentinel", "IsCheckpointComplete": True}
        operations.append(("upsert", sentinel, {"mode": UpdateMode.MERGE}))
        self._count("table batch")
        await self.history.submit_transaction(operations)

    async def _query(self, eq: _Equivalent) -> None:
        self._count("table query_entities")
        pager = self.history.query_entities("PartitionKey eq @pk", parameters={"pk": eq.partition})
        _ = [row async for row in pager]

    async def _get_entity(self, eq: _Equivalent) -> None:
        self._count("table get_entity")
        with contextlib.suppress(ResourceNotFoundError):
            await self.instances.get_entity(eq.partition, "")

    async def _insert(self, eq: _Equivalent) -> None:
        self._count("table insert_entity")
        await self.instances.create_entity(self._instance_row(eq))

    async def _merge(self, eq: _Equivalent) -> None:
        self._count("table merge_entity")
        update = {
            "PartitionKey": eq.partition,
            "RowKey": "",
            "RuntimeStatus": "Running",
            "LastUpdatedTime": datetime.now(timezone.utc),
            "CustomStatus": "null",
        }
        await self.instances.upsert_entity(update, mode=UpdateMode.MERGE)

    async def _replace(self, eq: _Equivalent) -> None:
        self._count("table update_entity")
        await self.instances.upsert_entity(self._instance_row(eq), mode=UpdateMode.REPLACE)

    async def _delete_entity(self, eq: _Equivalent) -> None:
        self._count("table delete_entity")
        with contextlib.suppress(ResourceNotFoundError):
            await self.instances.delete_entity(eq.partition, "")

    async def call(self, kind: str, eq: _Equivalent) -> None:
        """One call of ``kind`` (a delete or update with no received message in hand is skipped).

        A request the connection dropped (Azurite closes idle keep-alive connections under load) is sent again, as
        the SDK's own retry policy would do, and counted again, as our counter counts every request sent.
        """
        for attempt in range(3):
            try:
                await self._operations[kind](eq)
                return
            except (ServiceRequestError, ServiceResponseError):
                if attempt == 2:
                    raise

    @functools.cached_property
    def _operations(self) -> dict[str, Callable[[_Equivalent], Awaitable[None]]]:
        return {
            "queue put_message": self._put,
            "queue get_messages": self._get,
            "queue delete_message": self._delete_received,
            "queue update_message": self._update,
            "table batch": self._batch,
            "table query_entities": self._query,
            "table get_entity": self._get_entity,
            "table insert_entity": self._insert,
            "table merge_entity": self._merge,
            "table update_entity": self._replace,
            "table delete_entity": self._delete_entity,
        }

    async def equivalent(self, index: int, plan: Sequence[str], gate: asyncio.Semaphore) -> None:
        """One orchestration-equivalent: its calls in order, then the deletes of messages it still holds."""
        async with gate:
            eq = _Equivalent(index)
            for kind in plan:
                await self.call(kind, eq)
            for message in eq.received:
                await self._delete(message)

    async def drain(self) -> None:
        """Receive and delete what nobody received (every put message is deleted once, as in the worker)."""

        async def drain_one(queue: str) -> None:
            while messages := await self._receive(queue):
                await asyncio.gather(*(self._delete(message) for message in messages))

        await asyncio.gather(*(drain_one(queue) for queue in self.queue_names))

    async def run(self, all_plans: Sequence[Sequence[str]], concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(self.equivalent(i, plan, gate) for i, plan in enumerate(all_plans)))
        await self.drain()


async def measure(connection: str, mix: Mapping[str, float], orchestrations: int, concurrency: int) -> FloorResult:
    """A warm-up, then the floor of N orchestration-equivalents, on fresh queues and tables."""
    floor = Floor(connection)
    try:
        await floor.create()
        progress(f"storage_floor: warm-up, {WARM_UP} orchestration-equivalents")
        await floor.run(plans(mix, WARM_UP), concurrency)
        floor.calls.clear()
        all_plans = plans(mix, orchestrations)
        progress(f"storage_floor: {orchestrations} orchestration-equivalents, {concurrency} at once")
        meter = Meter()
        await floor.run(all_plans, concurrency)
        span = meter.stop()
    finally:
        await floor.delete()
    n = orchestrations
    performed = {kind: round(count / n, 3) for kind, count in floor.calls.most_common()}
    result = FloorResult(
        orchestrations=n,
        concurrency=concurrency,
        seconds=round(span.wall_s, 3),
        orchestrations_per_s=round(n / span.wall_s, 2),
        cpu_ms_per_orchestration=round(span.cpu_s * 1000 / n, 2),
        cpu_s=round(span.cpu_s, 2),
        azurite_cpu_s=round(span.azurite_cpu_s, 2) if span.azurite_cpu_s is not None else None,
        calls_per_orchestration=round(sum(floor.calls.values()) / n, 2),
        performed=performed,
        mix=dict(mix),
        not_replayed={kind: rate for kind, rate in mix.items() if kind not in SUPPORTED},
    )
    progress(f"storage_floor: {result.orchestrations_per_s} orchestration-equivalents/s")
    return result


# --- output ---------------------------------------------------------------------------------------------------------


def ratios(hello: hello_cities.HelloResult, floor: FloorResult) -> dict[str, float]:
    return {
        "throughput": round(hello.orchestrations_per_s / floor.orchestrations_per_s, 3),
        "throughput_target_min": TARGET_THROUGHPUT_RATIO,
        "cpu": round(hello.cpu_ms_per_orchestration / floor.cpu_ms_per_orchestration, 3),
        "cpu_target_max": TARGET_CPU_RATIO,
    }


def render(floor: FloorResult, hello: hello_cities.HelloResult | None) -> str:
    """The figures as plain text: hello_cities' table first when it ran, then the floor's."""
    lines = [hello_cities.render(hello), ""] if hello is not None else []
    header = (
        f"{'':<26} {'orchestrations':>14} {'seconds':>8} {'orch/s':>7} {'calls/orch':>10} {'CPU ms/orch':>11} "
        f"{'CPU s':>6} {'azurite CPU s':>13}"
    )
    lines += [header, "-" * len(header)]
    rows: list[tuple[str, int, float, float, float, float, float, float | None]] = [
        (
            "storage floor (SDK alone)",
            floor.orchestrations,
            floor.seconds,
            floor.orchestrations_per_s,
            floor.calls_per_orchestration,
            floor.cpu_ms_per_orchestration,
            floor.cpu_s,
            floor.azurite_cpu_s,
        )
    ]
    if hello is not None:
        rows.append(
            (
                "hello_cities (worker)",
                hello.orchestrations,
                hello.seconds,
                hello.orchestrations_per_s,
                hello.calls_per_orchestration,
                hello.cpu_ms_per_orchestration,
                hello.cpu_s,
                hello.azurite_cpu_s,
            )
        )
    for name, n, seconds, rate, calls, cpu_ms, cpu_s, azurite in rows:
        shown = f"{azurite:.1f}" if azurite is not None else "-"
        lines.append(
            f"{name:<26} {n:>14,} {seconds:>8.2f} {rate:>7.2f} {calls:>10.2f} {cpu_ms:>11.1f} {cpu_s:>6.1f} {shown:>13}"
        )
    lines.append(f"(floor: {floor.concurrency} orchestration-equivalents at once, {os.cpu_count()} CPUs on this host)")
    lines += ["", f"{'calls per orchestration':<32}{'mix':>10}{'floor did':>12}", "-" * 54]
    for kind in dict.fromkeys([*floor.mix, *floor.performed]):
        mark = "  (not replayed)" if kind in floor.not_replayed else ""
        lines.append(f"{kind:<32}{floor.mix.get(kind, 0.0):>10.2f}{floor.performed.get(kind, 0.0):>12.2f}{mark}")
    if hello is not None:
        r = ratios(hello, floor)
        lines += [
            "",
            f"throughput, hello_cities / floor: {r['throughput']:.2f} (issue: >= {TARGET_THROUGHPUT_RATIO})",
            f"CPU per orchestration, hello_cities / floor: {r['cpu']:.2f}x (issue: <= {TARGET_CPU_RATIO}x)",
        ]
    return "\n".join(lines)


def read_mix(path: Path) -> dict[str, float]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        sys.exit(f"no mix at {path}: run `python -m benchmarks.hello_cities` first, or pass --run-hello")
    return {str(kind): float(rate) for kind, rate in document["per_orchestration"].items()}


def main(argv: Sequence[str] | None = None) -> None:
    """Measure the floor (after hello_cities with --run-hello) and print the figures."""
    parser = parser_for(__doc__)
    hello_cities.add_options(parser)
    parser.add_argument("--run-hello", action="store_true", help="run hello_cities first, on the same storage")
    parser.add_argument(
        "--mix",
        type=Path,
        default=hello_cities.DEFAULT_MIX,
        metavar="PATH",
        help=f"the call mix to read (written with --run-hello; default: {hello_cities.DEFAULT_MIX})",
    )
    parser.add_argument("--concurrency", type=int, metavar="C", help="equivalents at once (default: all N)")
    args = parser.parse_args(argv)
    hello_cities.check_options(parser, args)
    concurrency = args.concurrency or args.orchestrations
    if concurrency < 1:
        parser.error("--concurrency must be at least 1")

    async def work(connection: str) -> tuple[hello_cities.HelloResult | None, FloorResult]:
        hello = None
        if args.run_hello:
            hello = await hello_cities.measure(
                connection,
                args.orchestrations,
                warm_up=args.warm_up,
                max_polling_interval=args.max_polling_interval,
                timeout=args.timeout,
            )
            hello_cities.write_mix(hello, args.mix)
            mix = hello.mix
        else:
            mix = read_mix(args.mix)
        return hello, await measure(connection, mix, args.orchestrations, concurrency)

    hello, floor = run_on_storage(args.connection, work)
    figures: dict[str, Any] = {"cpus": os.cpu_count(), "floor": asdict(floor)}
    if hello is not None:
        figures |= {"hello_cities": asdict(hello), "ratios": ratios(hello, floor)}
    emit(figures, render(floor, hello), args.json)


if __name__ == "__main__":
    main()
