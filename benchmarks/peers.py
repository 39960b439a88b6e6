"""HelloCities5 on DBOS, the peer a Python team would pick instead of us: a reference point, not a bar.

    python -m benchmarks.peers                                   # SQLite, and PostgreSQL if one listens: a table
    python -m benchmarks.peers --json                            # the same figures as JSON
    python -m benchmarks.peers --n 500 --mode queue              # more workflows, started through a DBOS queue
    python -m benchmarks.peers --postgres postgresql://user:pw@127.0.0.1:5432/bench

What it measures: DBOS (the ``dbos`` package from PyPI, durable workflows checkpointed in a SQL "system database")
running the same workload as ``benchmarks.scale``: N ``hello_cities`` workflows, each calling five trivial
``say_hello`` steps in sequence and returning their greetings as a list, all started at once, timed from the first
start until the last result is in, and every result checked. The figures are wall seconds, workflows/s, steps/s,
the CPU seconds of the DBOS process over that window (user+sys from its own ``getrusage``) and CPU ms per
workflow, and the SQL statements and commits per workflow, counted with SQLAlchemy events on DBOS's engine.

Why a reference point and not a bar: DBOS keeps its state in a local database, SQLite in-process here, or a
PostgreSQL on this host; we keep ours in Azure Storage, where every checkpoint is an HTTP round trip to a remote
service (to Azurite in our benchmarks). A local database commit costs microseconds to a millisecond; a storage call
costs milliseconds even locally. So DBOS's rate shows what the durable-workflow work itself costs in Python when
the store is nearly free: how much of our time goes to the store versus to our own code, and what a team comparing
the two sees on one machine. Beating it is not the goal, and losing to it says little about a remote deployment.

How the workflows start (``--mode``): DBOS documents ``DBOS.start_workflow`` as the way to run a workflow in the
background (it returns once the workflow is durably recorded), ``DBOS.start_workflow_async`` for async workflows on
the caller's event loop, and queues for flow control. ``start_workflow`` is the default: it has no queue polling in
the path, and in our runs on this 2-core machine it was as fast as or faster than the other two and used the least
CPU per workflow (async: about 40 % more CPU; the queue: up to 50 % more wall time).

Caveat: DBOS on SQLite serializes writers (``BEGIN IMMEDIATE`` with a busy timeout) and commits about 12 times per
workflow to a rollback journal with fsync, so wall time is about twice the CPU time: the workflows wait on the
database lock and the disk, not on Python. PostgreSQL takes concurrent writers but adds a socket round trip per
statement.

DBOS is installed by this script into its own venv, ``.bench-venvs/dbos``, pinned to ``DBOS_VERSION`` (only when
the venv is missing or holds another version), and the workload runs there as a subprocess
(``benchmarks/peers_dbos_app.py``), so the project's environment never sees it. SQLite gets a fresh temporary
database file each run. PostgreSQL runs only with ``--postgres URL`` or when something listens on 127.0.0.1:5432
(then with DBOS's local default URL, user postgres, password ``$PGPASSWORD`` or "dbos"); each run uses a schema of
its own that it drops at the end. No PostgreSQL server is installed or started here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DBOS_VERSION = "3.4.0"
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench-venvs" / "dbos"
APP = Path(__file__).resolve().with_name("peers_dbos_app.py")
STEPS_PER_WORKFLOW = 5
MODES = {
    "start_workflow": "DBOS.start_workflow: synchronous workflows, each on a DBOS executor thread",
    "async": "DBOS.start_workflow_async: async workflows on one asyncio event loop",
    "queue": "DBOS queue enqueue (worker_concurrency=N, polled every 0.05 s)",
}
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_PROBE_TIMEOUT = 1.0
# The whole run must stay well under two minutes; a child past this is hung, not slow.
RUN_TIMEOUT = 90.0
INSTALL_TIMEOUT = 600.0


@dataclass(frozen=True)
class Row:
    """One backend's figures, or why it has none (``status`` is "ok" when it has)."""

    backend: str
    status: str
    url: str | None = None
    wall_s: float | None = None
    workflows_per_s: float | None = None
    steps_per_s: float | None = None
    cpu_s: float | None = None
    cpu_ms_per_workflow: float | None = None
    statements_per_workflow: float | None = None
    commits_per_workflow: float | None = None
    start_s: float | None = None
    launch_s: float | None = None
    verified: int | None = None
    db_version: str | None = None


def note(message: str) -> None:
    """Progress on stderr, so stdout holds only the table or the JSON document."""
    print(message, file=sys.stderr, flush=True)


def venv_python() -> Path:
    return VENV / "bin" / "python"


def installed_dbos_version(python: Path) -> str | None:
    """The dbos version in the venv, or None when there is no venv or no dbos in it."""
    if not python.exists():
        return None
    probe = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [str(python), "-c", "import importlib.metadata as m; print(m.version('dbos'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_venv() -> Path:
    """The venv's python, with dbos ``DBOS_VERSION`` installed; creates the venv and installs only when needed."""
    python = venv_python()
    found = installed_dbos_version(python)
    if found == DBOS_VERSION:
        return python
    if not python.exists():
        note(f"dbos: creating venv {VENV}")
        # python3 from PATH, as a developer would; this interpreter's own is the fallback.
        base = shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)  # noqa: S603 - fixed argument list, no shell
    note(f"dbos: installing dbos=={DBOS_VERSION} (found {found or 'none'}), once")
    # pip's chatter goes to stderr: stdout may be carrying the JSON document.
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [str(python), "-m", "pip", "install", "--quiet", f"dbos=={DBOS_VERSION}"],
        stdout=sys.stderr,
        check=True,
        timeout=INSTALL_TIMEOUT,
    )
    found = installed_dbos_version(python)
    if found != DBOS_VERSION:
        raise SystemExit(f"dbos {DBOS_VERSION} was installed into {VENV}, but the venv reports {found}")
    return python


def listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there (the only sign of a local PostgreSQL we look for)."""
    try:
        with socket.create_connection((host, port), timeout=PG_PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def postgres_target(given: str | None) -> tuple[str | None, str]:
    """The PostgreSQL URL to run on, or None and why not."""
    if given is not None:
        return given, "given"
    if not listening(PG_HOST, PG_PORT):
        return None, f"not reachable (nothing listens on {PG_HOST}:{PG_PORT})"
    # DBOS's own local default (its docker helper): user postgres, password $PGPASSWORD or "dbos".
    password = os.environ.get("PGPASSWORD", "dbos")
    return f"postgresql://postgres:{password}@{PG_HOST}:{PG_PORT}/dbos_peers_bench", "found"


def run_app(python: Path, backend: str, url: str, *, n: int, mode: str, workdir: Path, schema: str | None) -> Row:
    """Run the workload in the venv and turn its JSON line into a Row (or a failed one)."""
    label = f"dbos {backend}"
    command = [str(python), str(APP), "--url", url, "--n", str(n), "--mode", mode, "--label", label]
    if schema is not None:
        command += ["--schema", schema]
    note(f"{label}: running {n} workflows ({mode})")
    try:
        # stderr is inherited: the child's progress lines reach the terminal as they come.
        finished = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            command, stdout=subprocess.PIPE, text=True, cwd=workdir, timeout=RUN_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return Row(backend=backend, status=f"failed: no result within {RUN_TIMEOUT:g} s")
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    if finished.returncode != 0 or not lines:
        return Row(backend=backend, status=f"failed: exit code {finished.returncode}, see stderr")
    figures: dict[str, Any] = json.loads(lines[-1])
    wall_s = float(figures["wall_s"])
    statements = figures.get("statements")
    commits = figures.get("commits")
    return Row(
        backend=backend,
        status="ok",
        url=figures["url"],
        wall_s=wall_s,
        workflows_per_s=n / wall_s,
        steps_per_s=n * STEPS_PER_WORKFLOW / wall_s,
        cpu_s=float(figures["cpu_s"]),
        cpu_ms_per_workflow=float(figures["cpu_s"]) * 1000 / n,
        statements_per_workflow=statements / n if statements is not None else None,
        commits_per_workflow=commits / n if commits is not None else None,
        start_s=float(figures["start_s"]),
        launch_s=float(figures["launch_s"]),
        verified=int(figures["verified"]),
        db_version=f"sqlite {figures['sqlite_version']}" if figures.get("sqlite_version") else None,
    )


def _figure(value: float | None, width: int, decimals: int) -> str:
    return f"{value:>{width}.{decimals}f}" if value is not None else f"{'n/a':>{width}}"


def render(rows: Sequence[Row], n: int, mode: str, cpus: int) -> str:
    """The figures as a plain-text table."""
    header = (
        f"{'backend':<11} {'wall s':>7} {'wf/s':>7} {'steps/s':>8} {'CPU s':>6} {'CPU ms/wf':>9} "
        f"{'stmts/wf':>8} {'commits/wf':>10} {'verified':>8}"
    )
    lines = [
        f"HelloCities5 on DBOS {DBOS_VERSION}: {n} workflows x {STEPS_PER_WORKFLOW} steps, all started at once",
        f"started with {MODES[mode]}",
        header,
        "-" * len(header),
    ]
    for row in rows:
        if row.status != "ok":
            lines.append(f"{row.backend:<11} {row.status}")
            continue
        lines.append(
            f"{row.backend:<11} {_figure(row.wall_s, 7, 2)} {_figure(row.workflows_per_s, 7, 1)} "
            f"{_figure(row.steps_per_s, 8, 1)} {_figure(row.cpu_s, 6, 2)} {_figure(row.cpu_ms_per_workflow, 9, 1)} "
            f"{_figure(row.statements_per_workflow, 8, 1)} {_figure(row.commits_per_workflow, 10, 1)} "
            f"{row.verified:>8}"
        )
    lines.append(
        f"({cpus} CPUs; workload window only: launch and migrations excluded; statements counted from every DBOS "
        "thread, its pollers included)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Install DBOS if needed, run HelloCities5 on each backend, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="workflows started at once (default 200)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--postgres", metavar="URL", default=None, help="also run on this PostgreSQL database")
    parser.add_argument("--mode", choices=sorted(MODES), default="start_workflow", help="how workflows are started")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")

    began = time.perf_counter()
    python = ensure_venv()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="peers-dbos-") as scratch:
        workdir = Path(scratch)
        # A fresh file per run: DBOS would otherwise recover (and we would count) an earlier run's workflows.
        sqlite_url = f"sqlite:///{workdir / 'dbos_system.sqlite'}"
        rows.append(run_app(python, "sqlite", sqlite_url, n=args.n, mode=args.mode, workdir=workdir, schema=None))
        postgres_url, reason = postgres_target(args.postgres)
        if postgres_url is None:
            note(f"dbos postgresql: {reason}, skipped")
            rows.append(Row(backend="postgresql", status=reason))
        else:
            schema = f"dbos_peers_{os.getpid()}_{int(time.time())}"
            rows.append(
                run_app(python, "postgresql", postgres_url, n=args.n, mode=args.mode, workdir=workdir, schema=schema)
            )
    note(f"peers: done in {time.perf_counter() - began:.1f} s")

    if args.json:
        document = {
            "benchmark": "HelloCities5",
            "peer": "dbos",
            "dbos_version": DBOS_VERSION,
            "n": args.n,
            "steps_per_workflow": STEPS_PER_WORKFLOW,
            "mode": args.mode,
            "started_with": MODES[args.mode],
            "cpus": os.cpu_count(),
            "rows": [asdict(row) for row in rows],
        }
        print(json.dumps(document, indent=2))
    else:
        print(render(rows, args.n, args.mode, os.cpu_count() or 0))
    if any(row.status.startswith("failed") for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
