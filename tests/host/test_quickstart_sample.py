"""``samples/function_app_quickstart``, the README's first example, run by ``durable-storage host`` as it says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.support import REPO_ROOT
from tests.host.support import RunningHost, running_host

SAMPLE = REPO_ROOT / "samples" / "function_app_quickstart"


@pytest.fixture(scope="module")
async def quickstart(connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHost]:
    async with running_host(SAMPLE, connection_string, tmp_path_factory.mktemp("quickstart")) as host:
        yield host


async def test_the_quickstart_app_starts_over_http_and_its_status_url_gives_the_greetings(
    quickstart: RunningHost,
) -> None:
    assert f"http_start: [POST] {quickstart.url}/api/orchestrators/{{functionName}}" in quickstart.output

    code, payload, response = await quickstart.request("POST", "/api/orchestrators/hello_orchestrator")

    assert code == 202, (payload, quickstart.output[-3000:])
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].startswith(f"{quickstart.url}/runtime/webhooks/durabletask/instances/")
    status = await quickstart.finished(payload["statusQueryGetUri"])
    assert (status["runtimeStatus"], status["output"]) == ("Completed", ["Hello Tokyo!", "Hello Seattle!"])


def test_the_app_is_written_on_the_published_packages_only_and_the_readme_shows_it_as_it_is() -> None:
    code = (SAMPLE / "function_app.py").read_text()
    body = code[code.index("\nimport ") + 1 :]  # the module without its docstring

    assert "durable_storage" not in body  # nothing to change for our host
    assert body in (REPO_ROOT / "README.md").read_text()
