"""The README's Python runs as pasted: every ```python block compiles, and each marked ```python run runs on Azurite.

A block meant to run as a program says so in its info string, with optional words after ``run``:
``worker=MODULE:APP`` starts ``durable-storage worker MODULE:APP`` on the block's hub while it runs (for a block
that only starts or queries instances), and ``expect=TEXT`` requires TEXT in what it prints. Markdown renderers
read only the first word (``python``). Each block runs in its own process with ``AzureWebJobsStorage`` set to the
test's Azurite, and with two literals replaced: ``"UseDevelopmentStorage=true"`` by that Azurite's connection
string (it listens on other ports) and the hub ``"MyHub"`` by a fresh hub name, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name
from tests.e2e.support import REPO_ROOT, die_with_parent, run_program

README = REPO_ROOT / "README.md"
_FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    line: int
    words: tuple[str, ...]
    code: str

    def option(self, name: str) -> str | None:
        return next((w.partition("=")[2] for w in self.words if w.startswith(f"{name}=")), None)


def _blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(text.count("\n", 0, match.start()) + 1, tuple(match[1].split()), match[2])
        for match in _FENCE.finditer(text)
    ]


_RUNNABLE = [block for block in _blocks() if block.words[:1] == ("run",)]


def test_the_readme_has_runnable_blocks_and_every_python_block_compiles() -> None:
    assert len(_RUNNABLE) >= 2  # the top example and "Connecting"
    for block in _blocks():
        compile(block.code, f"README.md, the block at line {block.line}", "exec")


@pytest.mark.parametrize("block", _RUNNABLE, ids=[f"line{b.line}" for b in _RUNNABLE])
async def test_a_runnable_block_runs_as_pasted(block: Block, connection_string: str, tmp_path: Path) -> None:
    hub_name = unique_hub_name()
    program = tmp_path / "block.py"
    code = block.code.replace('"UseDevelopmentStorage=true"', repr(connection_string))
    program.write_text(code.replace('"MyHub"', repr(hub_name)), encoding="utf-8")
    environment = {**os.environ, "AzureWebJobsStorage": connection_string, "DURABLE_TASK_HUB": hub_name}
    worker = await _start_worker(block.option("worker"), environment)
    try:
        code, stdout, stderr = await run_program(
            sys.executable, str(program), cwd=tmp_path, env=environment, timeout=120
        )
    finally:
        if worker is not None:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), timeout=60)
        async with TaskHub.from_connection_string(connection_string, task_hub=hub_name) as hub:
            await hub.delete()

    assert code == 0, f"README.md line {block.line}:\n{stderr}"
    expected = block.option("expect")
    assert expected is None or expected in stdout, stdout


async def _start_worker(target: str | None, environment: dict[str, str]) -> asyncio.subprocess.Process | None:
    if target is None:
        return None
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "durable_storage", "worker", target),
        cwd=REPO_ROOT,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
