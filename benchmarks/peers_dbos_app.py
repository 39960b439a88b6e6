"""The DBOS side of ``benchmarks.peers``: HelloCities5 on DBOS, run with the benchmark's own venv.

    .bench-venvs/dbos/bin/python benchmarks/peers_dbos_app.py --url sqlite:////tmp/x/dbos.sqlite --n 200

This file is executed as a script by the interpreter of ``.bench-venvs/dbos`` (where ``dbos`` is installed), never
imported by the project, so it uses nothing from ``durable_storage``. It launches DBOS on the system database given
by ``--url``, starts ``--n`` ``hello_cities`` workflows at once (five ``say_hello`` steps in sequence), waits for all,
checks every result and prints one JSON line with its raw figures on stdout. Progress goes to stderr.

Only the workload window is measured: from the first start until the last result is in. Interpreter start-up,
imports, ``DBOS.launch()`` (schema migrations) and shutdown are outside it, as the worker start-up is in the other
benchmarks. CPU is this process's ``getrusage(RUSAGE_SELF)`` user+sys over that window; with SQLite that is all
the work there is, since the database engine runs in-process.

Database statements are counted with SQLAlchemy's ``before_cursor_execute`` event, registered on the ``Engine``
class so it covers the engine DBOS creates without reaching into DBOS internals. Every statement any thread sends
during the window counts, DBOS's background pollers included (a few per second, well under one per workflow).
Transactions are counted with the ``commit`` event; the drivers' implicit BEGINs are not statements SQLAlchemy sees.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import resource
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, WorkflowHandle

CITIES = ("Tokyo", "Seattle", "London", "Cairo", "Lima")
EXPECTED = [f"Hello {city}!" for city in CITIES]
MODES = ("start_workflow", "async", "queue")
QUEUE_NAME = "hello_cities_queue"
# DBOS polls a queue once a second by default; at that pace the poll, not the workflows, would set the figure.
QUEUE_POLLING_INTERVAL = 0.05
PROGRESS_STEPS = 5  # progress lines per run: enough to see it move, few enough not to drown the output


class SqlCounter:
    """Statements and commits on every SQLAlchemy engine in this process, counted only while ``active``."""

    def __init__(self) -> None:
        # DBOS runs each workflow on its own executor thread: the counts are shared, so they need a lock.
        self._lock = threading.Lock()
        self.active = False
        self.statements = 0
        self.commits = 0
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._on_statement)
        sa.event.listen(sa.engine.Engine, "commit", self._on_commit)

    def _on_statement(self, *_: Any) -> None:
        if self.active:
            with self._lock:
                self.statements += 1

    def _on_commit(self, *_: Any) -> None:
        if self.active:
            with self._lock:
                self.commits += 1


@DBOS.step()
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@DBOS.workflow()
def hello_cities() -> list[str]:
    return [say_hello(city) for city in CITIES]


@DBOS.step()
async def say_hello_async(city: str) -> str:
    return f"Hello {city}!"


@DBOS.workflow()
async def hello_cities_async() -> list[str]:
    return [await say_hello_async(city) for city in CITIES]


class Progress:
    """Prints "label: k/n started" and "label: k/n done" to stderr about ``PROGRESS_STEPS`` times each per run."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.counts = {"started": 0, "done": 0}
        self.every = max(1, total // PROGRESS_STEPS)

    def one(self, what: str) -> None:
        self.counts[what] += 1
        count = self.counts[what]
        if count % self.every == 0 or count == self.total:
            print(f"{self.label}: {count}/{self.total} {what}", file=sys.stderr, flush=True)


def run_threads(n: int, start: Callable[[], WorkflowHandle[list[str]]], progress: Progress) -> tuple[list[Any], float]:
    """Start n synchronous workflows, then collect their results; returns them and the seconds the starts took."""
    began = time.perf_counter()
    handles = []
    # Workflows run while later ones are still being started, so with many of them the starts take most of the time.
    for _ in range(n):
        handles.append(start())
        progress.one("started")
    started = time.perf_counter() - began
    results = []
    # In start order: the last result is in once every workflow has ended, which is all the timing needs.
    for handle in handles:
        results.append(handle.get_result())
        progress.one("done")
    return results, started


async def run_async(n: int, progress: Progress) -> tuple[list[Any], float]:
    """Start n async workflows on this event loop, then gather their results."""
    began = time.perf_counter()
    handles = []
    for _ in range(n):
        handles.append(await DBOS.start_workflow_async(hello_cities_async))
        progress.one("started")
    started = time.perf_counter() - began

    async def result(handle: Any) -> Any:
        value = await handle.get_result()
        progress.one("done")
        return value

    return list(await asyncio.gather(*(result(handle) for handle in handles))), started


def printable_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def drop_schema(url: str, schema: str) -> None:
    """Remove this run's DBOS schema from a PostgreSQL database, so runs leave nothing behind."""
    # SQLAlchemy's default PostgreSQL driver is psycopg2; DBOS brings psycopg (3).
    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="DBOS system database URL (sqlite:///... or postgresql://...)")
    parser.add_argument("--n", type=int, default=200, help="workflows to run at once")
    parser.add_argument("--mode", choices=MODES, default="start_workflow", help="how the workflows are started")
    parser.add_argument("--schema", default=None, help="PostgreSQL schema for DBOS's tables (dropped at the end)")
    parser.add_argument("--label", default="dbos", help="prefix of the progress lines")
    args = parser.parse_args(argv)

    counter = SqlCounter()
    is_sqlite = args.url.startswith("sqlite")
    config: DBOSConfig = {
        "name": "peers-hello-cities",
        "system_database_url": args.url,
        # DBOS logs every launch step at INFO; the progress lines are all the benchmark wants on stderr.
        "log_level": "WARNING",
    }
    if args.schema is not None and not is_sqlite:
        config["dbos_system_schema"] = args.schema
    launch_began = time.perf_counter()
    DBOS(config=config)
    DBOS.launch()
    launch_s = time.perf_counter() - launch_began
    print(f"{args.label}: launched in {launch_s:.2f} s, starting {args.n} workflows", file=sys.stderr, flush=True)
    progress = Progress(args.label, args.n)

    try:
        start: Callable[[], WorkflowHandle[list[str]]]
        if args.mode == "queue":
            # One executor may run every workflow at once: the queue only adds the dequeue path, no limit.
            queue = DBOS.register_queue(
                QUEUE_NAME, worker_concurrency=args.n, polling_interval_sec=QUEUE_POLLING_INTERVAL
            )

            def start() -> WorkflowHandle[list[str]]:
                return queue.enqueue(hello_cities)
        else:

            def start() -> WorkflowHandle[list[str]]:
                return DBOS.start_workflow(hello_cities)

        before = resource.getrusage(resource.RUSAGE_SELF)
        counter.active = True
        began = time.perf_counter()
        if args.mode == "async":
            results, start_s = asyncio.run(run_async(args.n, progress))
        else:
            results, start_s = run_threads(args.n, start, progress)
        wall_s = time.perf_counter() - began
        counter.active = False
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        DBOS.destroy()
        if args.schema is not None and not is_sqlite:
            drop_schema(args.url, args.schema)

    wrong = [result for result in results if result != EXPECTED]
    if wrong:
        print(f"{args.label}: {len(wrong)} of {args.n} results are wrong, e.g. {wrong[0]!r}", file=sys.stderr)
        return 1
    figures = {
        "backend": "sqlite" if is_sqlite else "postgresql",
        "url": printable_url(args.url),
        "mode": args.mode,
        "dbos_version": importlib.metadata.version("dbos"),
        "sqlalchemy_version": sa.__version__,
        "sqlite_version": sqlite3.sqlite_version if is_sqlite else None,
        "n": args.n,
        "verified": len(results),
        "launch_s": round(launch_s, 4),
        "start_s": round(start_s, 4),
        "wall_s": round(wall_s, 4),
        "cpu_s": round(
            (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            4,
        ),
        "statements": counter.statements,
        "commits": counter.commits,
    }
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
